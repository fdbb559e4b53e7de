import * as http from 'http';
import type { AddressInfo } from 'net';
import { monitorEventLoopDelay } from 'perf_hooks';
import { HttpClient } from '../../lib/load-engine/http-client';

/** One request as the test server saw it. */
export interface Seen {
  readonly method: string;
  readonly path: string;
  /** performance.now() when the request arrived. */
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
}

export interface TestServer {
  readonly url: string;
  readonly seen: Seen[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 (port 0) for the engine's tests. Paths:
 *   /slow/...          answers 200 after 300 ms
 *   /hang/...          never answers
 *   /status/NNN        answers status NNN
 *   /chunked           a chunked body in three pieces
 *   /close             200 with Connection: close
 *   /limited           503 while more than `limitRps` requests arrived over the last 200 ms, else 200
 *   anything else      200 "ok" with Content-Length
 */
export async function startServer(opts: { limitRps?: number } = {}): Promise<TestServer> {
  const seen: Seen[] = [];
  const recent: number[] = [];
  const hanging = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const path = req.url ?? '/';
    seen.push({ method: req.method ?? '', path, at: performance.now(), headers: req.headers });
    req.resume();
    req.on('end', () => {
      if (path.startsWith('/slow')) {
        setTimeout(() => res.end('slow'), 300);
      } else if (path.startsWith('/hang')) {
        hanging.add(res);
      } else if (path.startsWith('/status/')) {
        res.statusCode = Number(path.slice('/status/'.length, '/status/'.length + 3));
        res.end(res.statusCode === 204 || res.statusCode === 304 ? undefined : 'status');
      } else if (path.startsWith('/chunked')) {
        res.write('one,');
        res.write('two,');
        setImmediate(() => res.end('three'));
      } else if (path.startsWith('/limited')) {
        const now = performance.now();
        recent.push(now);
        while (recent[0] < now - 200) recent.shift();
        res.statusCode = recent.length > (opts.limitRps ?? Infinity) * 0.2 ? 503 : 200;
        res.end();
      } else if (path.startsWith('/close')) {
        res.setHeader('connection', 'close');
        res.end('bye');
      } else {
        res.setHeader('content-type', 'text/plain');
        res.end('ok');
      }
    });
  });
  server.keepAliveTimeout = 30_000;
  // A backlog for every connection a run may open at once (its maxConcurrency), within the kernel's cap
  // (net.core.somaxconn, 4096 here): the server shares the test's event loop, and when that loop is starved
  // (a busy machine) the generator's arrivals pile up on new connections faster than the loop accepts them.
  // With Node's default of 511 the kernel dropped the overflow's handshakes (TcpExtListenOverflows), and
  // each dropped connection waited for TCP's 1-s, 3-s, 7-s retransmissions: requests "timed out" after 5 s
  // that the generator had written on time.
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 }, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Arrival rate at the server (req/s): the median, over every run of `span` consecutive arrivals, of
 * span / time it took. A one-off stall of the (shared, busy) machine moves a few runs, not the median.
 */
export function serverRate(seen: readonly Seen[], span = Math.max(1, Math.floor(seen.length / 10))): number {
  if (seen.length <= span) return 0;
  const rates: number[] = [];
  for (let i = 0; i + span < seen.length; i++) rates.push((span / (seen[i + span].at - seen[i].at)) * 1000);
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1];
}

/** A port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Starts watching this process's event loop; the function returned stops and gives the longest it was late
 * (ms, its 10-ms sampling period included). A timer, a socket read or a send can be that late on a busy
 * machine (the server and the generator share the loop here), so a timing assertion allows for it: tight on
 * an idle machine, wider only by what the run itself measured.
 */
export function watchLoopLag(): () => number {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  return () => {
    delay.disable();
    return delay.max / 1e6;
  };
}

/**
 * Records every request the engine hands to its HTTP client: when it was due (the open model's intended
 * send time, the client's `tag`), when it was handed over, and to which client (one per run: a worker's
 * slice); `stop` puts the client back.
 */
export function recordSends() {
  const calls: Array<{ client: HttpClient; dueMs: number; atMs: number }> = [];
  const send = HttpClient.prototype.send;
  const spy = jest.spyOn(HttpClient.prototype, 'send').mockImplementation(function (this: HttpClient, ...args: Parameters<HttpClient['send']>) {
    calls.push({ client: this, dueMs: args[2], atMs: performance.now() });
    return send.apply(this, args);
  });
  return { calls, stop: () => spy.mockRestore() };
}
