import { build } from 'esbuild';
import * as http from 'http';
import * as net from 'net';
import { join } from 'path';

const WORKLOAD = join(__dirname, '..', '..');

/**
 * Bundles src/main.ts into `outfile` as the image's build does (workload's `npm run build`: symlinks kept, so
 * contracts/ resolves its packages from workload/node_modules; no tsconfig), so what runs is what ships.
 */
export async function bundleWorkload(outfile: string): Promise<void> {
  await build({
    entryPoints: [join(WORKLOAD, 'src', 'main.ts')], bundle: true, platform: 'node', target: 'node20', outfile,
    preserveSymlinks: true, tsconfigRaw: {}, absWorkingDir: WORKLOAD, logLevel: 'error',
  });
}

/** A TCP port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export interface Answer {
  readonly status: number;
  /** The process that answered (the API's `x-worker-pid` header). */
  readonly pid: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

/**
 * One GET on a connection of its own, so that node:cluster's primary hands it to the next process
 * (a kept-alive connection stays with the process that accepted it). `agent` reuses connections instead.
 */
export function get(url: string, agent: http.Agent | false = false, timeoutMs = 30_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, pid: Number(res.headers['x-worker-pid']), headers: res.headers, body }));
      res.on('error', reject);
    }).on('error', reject);
    request.on('timeout', () => request.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
  });
}

/**
 * Sends GET `url` on new connections until `count` different processes have answered 200 (ignoring those in
 * `except`); their pids. Connection errors count as "not yet" (the server may still be starting).
 */
export async function answeringPids(url: string, count: number, opts: { timeoutMs: number; except?: ReadonlySet<number> }): Promise<Set<number>> {
  const pids = new Set<number>();
  const until = Date.now() + opts.timeoutMs;
  let last = 'no answer';
  while (pids.size < count) {
    if (Date.now() > until) throw new Error(`${pids.size} of ${count} processes answered ${url} (${[...pids].join(', ')}); last: ${last}`);
    // An error may come from another realm (jest's), where instanceof Error fails: tell answers by their status.
    const answer: Answer | Error = await get(url, false, 5_000).catch((err: Error) => err);
    if (!('status' in answer) || answer.status !== 200) {
      last = 'status' in answer ? `${answer.status} ${answer.body}` : String(answer.message);
      await new Promise((r) => setTimeout(r, 50));
    } else if (!opts.except?.has(answer.pid)) {
      pids.add(answer.pid);
    }
  }
  return pids;
}
