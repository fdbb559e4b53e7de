import { InvokeCommand } from '@aws-sdk/client-lambda';
import { createServer, type AddressInfo, type Socket } from 'net';
import { invokerClient } from '../../../tools/loadtest/lambda-invoker';

// An invocation whose reply never comes (the endpoint accepts and stays silent): the client ends it at its
// request timeout, once (no retry), instead of waiting for ever. The timeout is shortened here from its 16 minutes.
test('an invocation that is never answered fails at the request timeout, without a retry', async () => {
  const sockets = new Set<Socket>();
  const silent = createServer((socket) => { sockets.add(socket); });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const { port } = silent.address() as AddressInfo;
  const client = invokerClient('us-east-1', 1, { endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }, 300);
  try {
    const err = await client.send(new InvokeCommand({ FunctionName: 'sb-load-generator', Payload: Buffer.from('{}') })).catch((e: Error) => e);
    expect((err as Error).name).toBe('TimeoutError');
    expect(sockets.size).toBe(1);
  } finally {
    client.destroy();
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  }
}, 8_000);
