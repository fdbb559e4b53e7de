import { createServer, type Server, type Socket } from 'net';
import { ssmStopReader, stopReaderClient } from '../../lambda/load-generator/stop';

describe('load generator: the stop reader is bounded', () => {
  let server: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Accepts connections and never answers: a Parameter Store endpoint that has gone silent.
    server = createServer((s) => { sockets.add(s); s.on('error', () => undefined); });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  test('a read that never ends fails with a timeout in seconds, so the next poll can try again', async () => {
    const { port } = server.address() as { port: number };
    const client = stopReaderClient({
      region: 'us-east-1', endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const read = ssmStopReader('/sb/dev/loadtest/stop', client);
    const started = Date.now();
    await expect(read('run-1')).rejects.toMatchObject({ name: 'TimeoutError' });
    // Generous bound: the request timeout is 2 s, one attempt; without throwOnRequestTimeout this waits for ever.
    expect(Date.now() - started).toBeLessThan(10_000);
    client.destroy();
  }, 15_000);
});
