import { createServer, connect, type Server, type Socket } from 'net';
import { once } from 'events';
import { startFaultProxy, type FaultProxy } from './fault-proxy';

/** An echo server that counts the requests it served. */
async function echo(): Promise<{ server: Server; port: number; served: () => number }> {
  let served = 0;
  const server = createServer((s) => s.on('data', (d) => { served++; s.write(d); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as { port: number }).port, served: () => served };
}

/** Resolves when the socket closes, however (a reset is what some modes are for). */
const closed = (s: Socket) => new Promise<void>((resolve) => s.on('error', () => undefined).on('close', () => resolve()));

async function open(port: number): Promise<Socket> {
  const s = connect(port, '127.0.0.1');
  await once(s, 'connect');
  return s;
}

describe('fault proxy (test helper)', () => {
  let target: Awaited<ReturnType<typeof echo>>;
  let proxy: FaultProxy;
  beforeEach(async () => {
    target = await echo();
    proxy = await startFaultProxy({ port: target.port });
  });
  afterEach(async () => {
    await proxy.close();
    await new Promise((r) => target.server.close(r));
  });

  test('pass forwards; pause holds until pass again', async () => {
    const s = await open(proxy.port);
    s.write('a');
    expect(String((await once(s, 'data'))[0])).toBe('a');
    proxy.setMode('pause');
    s.write('b');
    const late = once(s, 'data');
    await new Promise((r) => setImmediate(r));
    expect(target.served()).toBe(1);
    proxy.setMode('pass');
    expect(String((await late)[0])).toBe('b');
    s.destroy();
  });

  test('refuse resets open and new connections', async () => {
    const s = await open(proxy.port);
    const gone = closed(s);
    proxy.setMode('refuse');
    await gone;
    await closed(connect(proxy.port, '127.0.0.1'));
  });

  test('drop-replies lets the server do the work and loses its answer', async () => {
    proxy.setMode('drop-replies');
    const s = await open(proxy.port);
    const gone = closed(s);
    let got = '';
    s.on('data', (d) => { got += String(d); });
    s.write('x');
    await gone;
    expect(target.served()).toBe(1);
    expect(got).toBe('');
    expect(proxy.droppedReplies).toBe(1);
  });
});
