import { createServer, connect, type Server, type Socket } from 'net';

/**
 * What the proxy does to traffic, switchable while connections are open:
 * - `pass`: forwards both ways;
 * - `pause`: accepts and holds bytes both ways without forwarding (a server that stopped answering, as a
 *   SIGSTOPped Redis or a network partition looks to the client: the TCP connection stays up);
 * - `refuse`: destroys every connection, open or new (a stopped server: connection refused/reset);
 * - `drop-replies`: forwards requests, discards what the server answers, and resets the client's connection
 *   once the server has answered (the server did the work; the client never hears it: a lost reply).
 */
export type FaultMode = 'pass' | 'pause' | 'refuse' | 'drop-replies';

export interface FaultProxy {
  readonly port: number;
  /** Bytes the server sent back while in `drop-replies` (each one a reply the client lost). */
  readonly droppedReplies: number;
  setMode(mode: FaultMode): void;
  close(): Promise<void>;
}

interface Pair {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly held: Array<{ to: Socket; data: Buffer }>;
}

/** A TCP proxy on 127.0.0.1 in front of `target`, to break the path to a server without touching the server. */
export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  let mode: FaultMode = 'pass';
  let droppedReplies = 0;
  const pairs = new Set<Pair>();

  const forward = (pair: Pair, to: Socket, data: Buffer, fromServer: boolean) => {
    if (mode === 'pause') pair.held.push({ to, data });
    else if (mode === 'drop-replies' && fromServer) {
      droppedReplies++;
      pair.client.resetAndDestroy();
    } else if (!to.destroyed) to.write(data);
  };

  const server: Server = createServer((client) => {
    if (mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const upstream = connect(target.port, target.host ?? '127.0.0.1');
    const pair: Pair = { client, upstream, held: [] };
    pairs.add(pair);
    client.on('data', (d) => forward(pair, upstream, d, false));
    upstream.on('data', (d) => forward(pair, client, d, true));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  return {
    port,
    get droppedReplies() { return droppedReplies; },
    setMode(next) {
      mode = next;
      for (const pair of [...pairs]) {
        if (mode === 'refuse') {
          pair.client.resetAndDestroy();
          pair.upstream.destroy();
        } else if (mode === 'pass') {
          for (const { to, data } of pair.held.splice(0)) if (!to.destroyed) to.write(data);
        }
      }
    },
    async close() {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
