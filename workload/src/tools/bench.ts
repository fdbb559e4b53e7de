import autocannon from 'autocannon';
import { mkdtempSync, rmSync } from 'fs';
import { randomBytes } from 'crypto';
import { spawn } from 'child_process';
import { cpus, loadavg, tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { answeringPids, bundleWorkload, freePort } from './api-process';
import { createLocalQueue, startLocalServices } from './local';

/**
 * `npm run bench:workload`: requests/s and latency of the reference API on loopback, against the local
 * PostgreSQL and Redis: a bare /healthz, GET /items/:id answered from the cache, and GET /items/:id with
 * the cache off (every request reads PostgreSQL). The API runs as the image runs it (the esbuild bundle, in
 * its own process, WORKLOAD_PROCESSES processes); the load generator (autocannon) runs in this process, on
 * the same machine. Bounded: each run lasts BENCH_SECONDS, to 127.0.0.1 only.
 *
 * BENCH_PROCESSES=1,2 runs everything once per process count, to see what vertical scaling buys;
 * BENCH_POOL_SIZE sets DB_POOL_SIZE (per process, 20 by default).
 */
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const PROCESS_COUNTS = (process.env.BENCH_PROCESSES ?? '1').split(',').map(Number);
const POOL_SIZE = process.env.BENCH_POOL_SIZE ?? '20';
const ITEMS = 2000;

async function main(): Promise<void> {
  if (PROCESS_COUNTS.some((n) => !Number.isInteger(n) || n < 1)) throw new Error(`BENCH_PROCESSES=${process.env.BENCH_PROCESSES}: want counts such as 1,2`);
  const env = startLocalServices();
  const dbName = `sb_bench_${randomBytes(3).toString('hex')}`;
  const admin = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: 'postgres' });
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
  const dir = mkdtempSync(join(tmpdir(), 'sb-bench-'));
  const bundle = join(dir, 'main.js');
  await bundleWorkload(bundle);
  const queueUrl = await createLocalQueue(env, `bench-${randomBytes(3).toString('hex')}`);
  const base = { ...process.env, ...env, DB_NAME: dbName, QUEUE_URL: queueUrl, DB_POOL_SIZE: POOL_SIZE, CACHE_KEY_PREFIX: `${dbName}:`, HOST: '127.0.0.1' };

  /** The API with `processes` processes, until stop(); its first start migrates the database. */
  const start = async (processes: number, cacheTtl: string) => {
    const port = await freePort();
    const child = spawn(process.execPath, [bundle, 'api'], {
      env: { ...base, PORT: String(port), WORKLOAD_PROCESSES: String(processes), CACHE_TTL_SECONDS: cacheTtl },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = `http://127.0.0.1:${port}`;
    await answeringPids(`${url}/healthz`, processes, { timeoutMs: 60_000 });
    return {
      url,
      async stop() {
        child.kill('SIGTERM');
        const code = await exited;
        if (code !== 0) throw new Error(`the API (${processes} processes) exited ${code} on SIGTERM`);
      },
    };
  };

  const rows = [];
  const load = [loadavg()[0]];
  let seeded = false;
  for (const processes of PROCESS_COUNTS) {
    const cached = await start(processes, '300');
    if (!seeded) {
      const db = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: dbName });
      await db.query(`INSERT INTO items (name, data) SELECT 'item ' || g, jsonb_build_object('n', g) FROM generate_series(1, ${ITEMS}) g`);
      await db.end();
      seeded = true;
    }
    const uncached = await start(processes, '0');
    await fetch(`${cached.url}/items/1`); // warm the one cached item

    const runs: Array<[string, string, string]> = [
      ['GET /healthz', cached.url, '/healthz'],
      ['GET /items/:id (cache hit)', cached.url, '/items/1'],
      ['GET /items/:id (cache miss: PostgreSQL)', uncached.url, '/items/:random'],
    ];
    for (const [name, url, path] of runs) {
      const result = await autocannon({
        url,
        connections: CONNECTIONS,
        duration: DURATION,
        requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path === '/items/:random' ? `/items/${1 + Math.floor(Math.random() * ITEMS)}` : path }) }],
      });
      rows.push({ processes, name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx });
    }
    await cached.stop();
    await uncached.stop();
    load.push(loadavg()[0]);
  }

  process.stdout.write(`node ${process.version}, ${cpus().length} CPUs, ${CONNECTIONS} connections, ${DURATION} s per run, DB_POOL_SIZE ${POOL_SIZE} per process, loopback; `
    + `1-minute load average ${load.map((l) => l.toFixed(1)).join(' → ')} (start, after each process count)\n`);
  process.stdout.write('| processes | request | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.processes} | ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |\n`);

  await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  await admin.end();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
