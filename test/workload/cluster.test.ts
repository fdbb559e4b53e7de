import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync } from 'fs';
import * as http from 'http';
import * as net from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import type { PoolClient } from 'pg';
import { answeringPids, freePort, get } from '../../workload/src/tools/api-process';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';
import { workloadBundle } from './workload-bundle';

// The API in cluster mode (WORKLOAD_PROCESSES > 1), run as the image runs it: the esbuild bundle, against the
// local PostgreSQL, Redis and SQS endpoint. One cluster serves the first three tests, in order; the SIGTERM
// test ends it.
const PROCESSES = 2;
let h: Harness;
let dir: string;
let bundle: string;
let api: ReturnType<typeof spawnCollecting>;
let base: string;
const pids = new Set<number>();

/** Lines of the cluster's JSON log (pino's and main.ts's), parsed; not the EMF lines (metrics, flushed every 10 s). */
const logLines = (output: string) => output.split('\n').filter((l) => l.startsWith('{') && !l.startsWith('{"_aws"')).map((l) => JSON.parse(l) as Record<string, unknown>);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-cluster-'));
  [h, bundle] = await Promise.all([createHarness(), workloadBundle()]);
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawnCollecting(process.execPath, [bundle, 'api'], { ...process.env, ...h.env, PORT: String(port), HOST: '127.0.0.1', WORKLOAD_PROCESSES: String(PROCESSES) });
});
afterAll(async () => {
  api?.child.kill('SIGKILL');
  for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test(`WORKLOAD_PROCESSES=${PROCESSES}: every process answers on the one port, each with its own database connections`, async () => {
  // /readyz runs a query on each process's pools: 200 from a pid means that process reached PostgreSQL itself.
  // A bound, not a wait: the bundle's start (migrations, two forks) takes seconds on a loaded 2-core machine.
  for (const pid of await answeringPids(`${base}/readyz`, PROCESSES, { timeoutMs: 30_000 })) pids.add(pid);
  expect(pids.size).toBe(PROCESSES);
  expect(pids.has(api.child.pid!)).toBe(false); // the primary serves nothing

  const { rows } = await h.db.writer.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database()');
  // Processes share no connection: at least one per process besides the harness's own.
  const harnessOwn = h.db.writer.totalCount + (h.db.reader === h.db.writer ? 0 : h.db.reader.totalCount);
  expect(rows[0].n - harnessOwn).toBeGreaterThanOrEqual(PROCESSES);

  // Every log line names its process: the primary's and each worker's (pino's lines carry `pid`).
  const lines = logLines(api.output);
  expect(lines.filter((l) => typeof l.pid !== 'number')).toEqual([]);
  expect(lines.filter((l) => l.event === 'worker_listening').map((l) => l.workerPid).sort()).toEqual([...pids].sort());
  expect(lines.find((l) => l.event === 'cluster_started')).toMatchObject({ role: 'primary', pid: api.child.pid, processes: PROCESSES });
});

test('a worker killed with SIGKILL is replaced; the others keep serving', async () => {
  const [victim] = pids;
  process.kill(victim, 'SIGKILL');
  // Until the primary has seen the exit it may still hand the dead process a connection, which then hangs
  // (as connections a crashing process held are lost): wait for it.
  await eventually(async () => (logLines(api.output).some((l) => l.event === 'worker_died' && l.workerPid === victim) ? true : undefined), 10_000, 'the death noticed');
  // Bounds, not waits: a fork loads the 4-MB bundle and migrates, seconds on a loaded 2-core machine (10 s was short).
  const [replacement] = await answeringPids(`${base}/healthz`, 1, { timeoutMs: 30_000, except: pids });
  pids.delete(victim);
  pids.add(replacement);
  expect(logLines(api.output).find((l) => l.event === 'worker_died')).toMatchObject({ workerPid: victim, signal: 'SIGKILL' });
  expect(await answeringPids(`${base}/healthz`, PROCESSES, { timeoutMs: 30_000 })).toEqual(pids);
});

test('SIGTERM: the primary stops accepting, the request in flight completes on its kept-alive connection, exit 0', async () => {
  const { rows: [item] } = await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('slow') RETURNING id");
  // A lock the item's read must wait for: the request stays in flight until this test lets it go.
  const locker: PoolClient = await h.db.writer.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  const agent = new http.Agent({ keepAlive: true }); // as the load balancer connects
  let settled = false;
  const slow = get(`${base}/items/${item.id}`, agent).finally(() => (settled = true));
  try {
    await eventually(async () => {
      const { rows } = await h.db.writer.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      return rows[0].n > 0 ? true : undefined;
    }, 10_000, 'the read waiting on the lock');

    api.child.kill('SIGTERM');
    // Every worker closed its server, so the primary closed the shared listening socket.
    await eventually(() => new Promise<true | undefined>((resolve) => {
      const socket = net.connect(Number(new URL(base).port), '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(undefined)));
      socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED' ? true : undefined));
    }), 10_000, 'new connections refused');
    expect(settled).toBe(false);
    expect(alive(api.child.pid!)).toBe(true);
  } finally {
    await locker.query('COMMIT');
    locker.release();
  }
  const answer = await slow;
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.body)).toMatchObject({ id: item.id, name: 'slow' });
  // Draining, the response ends its connection: an idle kept-alive one would hold the worker open.
  expect(answer.headers.connection).toBe('close');
  expect(await api.exited).toBe(0);
  agent.destroy();

  const lines = logLines(api.output);
  expect(lines.find((l) => l.event === 'draining')).toMatchObject({ reason: 'SIGTERM' });
  expect(lines.filter((l) => l.event === 'worker_stopped').map((l) => [l.workerPid, l.code])).toEqual(expect.arrayContaining([...pids].map((p) => [p, 0])));
  expect(lines.find((l) => l.event === 'stopped')).toMatchObject({ exitCode: 0 });
  for (const pid of pids) expect(alive(pid)).toBe(false);
});

// The supervisor's failure paths, with workers that misbehave on purpose: a program of the same
// runPrimary/runWorker with short deadlines, bundled from src/cluster.ts.
describe('supervisor', () => {
  let program: string;
  beforeAll(() => {
    program = join(dir, 'supervised.js');
    buildSync({
      stdin: {
        resolveDir: join(__dirname, '..', '..', 'workload', 'src'), loader: 'ts', contents: `
          import cluster from 'cluster';
          import { runPrimary, runWorker } from './cluster';
          const log = (event: string, fields = {}) => process.stdout.write(JSON.stringify({ pid: process.pid, event, ...fields }) + '\\n');
          if (cluster.isPrimary) {
            runPrimary({ processes: 2, drainTimeoutMs: 300, restartDelayMs: { first: 20, max: 80 }, crashLoop: { deaths: 3, windowMs: 60_000 }, log })
              .then((code) => process.exit(code));
          } else if (process.env.MODE === 'crash') {
            process.exit(3);
          } else {
            // Serves "forever": its in-flight work never finishes.
            runWorker(async () => (log('ready'), { close: () => new Promise<void>(() => undefined) }), log);
          }`,
      },
      bundle: true, platform: 'node', target: 'node20', outfile: program, tsconfigRaw: {}, logLevel: 'error',
    });
  });

  test('a worker that does not drain by the deadline is killed, and the primary exits 1', async () => {
    const proc = spawnCollecting(process.execPath, [program], { ...process.env, MODE: 'stuck' });
    try {
      const ready = await eventually(async () => {
        const r = logLines(proc.output).filter((l) => l.event === 'ready').map((l) => l.pid as number);
        return r.length === 2 ? r : undefined;
      }, 10_000, 'two workers ready');
      proc.child.kill('SIGTERM');
      expect(await proc.exited).toBe(1);
      expect(logLines(proc.output).find((l) => l.event === 'drain_timeout')).toMatchObject({ killedPids: expect.arrayContaining(ready) });
      for (const pid of ready) expect(alive(pid)).toBe(false);
    } finally {
      proc.child.kill('SIGKILL');
    }
  });

  test('a crash loop ends the primary (exit 1) after the allowed deaths, with backoff between restarts', async () => {
    const proc = spawnCollecting(process.execPath, [program], { ...process.env, MODE: 'crash' });
    try {
      expect(await proc.exited).toBe(1);
    } finally {
      proc.child.kill('SIGKILL');
    }
    const lines = logLines(proc.output);
    expect(lines.filter((l) => l.event === 'worker_died').map((l) => l.restartInMs)).toEqual([20, 40, 80]);
    expect(lines.find((l) => l.event === 'crash_loop')).toMatchObject({ code: 3, deaths: 4 });
    expect(lines.at(-1)).toMatchObject({ event: 'stopped', exitCode: 1 });
  });
});
