import { mkdtempSync, rmSync } from 'fs';
import { randomBytes } from 'crypto';
import { spawn } from 'child_process';
import { cpus, loadavg, tmpdir } from 'os';
import { join } from 'path';
// A development tool run from the project root: it shares the operator CLIs' argument rules.
import { helpRequested, parseFlags } from '../../../tools/common/args';
import { UsageError, usageErrorText } from '../../../tools/common/errors';

/**
 * `npm run bench:workload`: requests/s and latency of the reference API on loopback, against the local
 * PostgreSQL and Redis: a bare /healthz, GET /items/:id answered from the cache, and GET /items/:id with
 * the cache off (every request reads PostgreSQL). The API runs as the image runs it (the esbuild bundle, in
 * its own process, WORKLOAD_PROCESSES processes); the load generator (autocannon) runs in this process, on
 * the same machine. Bounded: each run lasts --seconds, to 127.0.0.1 only.
 */
export const USAGE = `Usage: npm run bench:workload [-- --seconds 10 --connections 50 --processes 1,2 --pool-size 20]

Requests/s and latency of the reference API on loopback (the esbuild bundle, in its own process), against a
local PostgreSQL, Redis and SQS endpoint that it starts (scripts/services.sh): GET /healthz, GET /items/:id
from the cache, and GET /items/:id with the cache off (every request reads PostgreSQL). autocannon drives it
from this process. Figures, not assertions. Creates a database of its own and drops it at the end.

  --seconds N        length of each run (default 10; BENCH_SECONDS)
  --connections N    autocannon connections (default 50; BENCH_CONNECTIONS)
  --processes LIST   API processes per run, comma-separated, to see what vertical scaling buys (default 1;
                     BENCH_PROCESSES)
  --pool-size N      DB_POOL_SIZE per process (default 20; BENCH_POOL_SIZE)
  -h, --help         this text

Exit status: 0 measured; 1 the benchmark failed half-way; 2 bad arguments.`;

/** Items seeded for the cache-miss run (its GET /items/:id picks among them). */
const ITEMS = 2000;

const FLAGS = {
  seconds: { type: 'string' },
  connections: { type: 'string' },
  processes: { type: 'string' },
  'pool-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The settings from the flags, else the BENCH_* variables, else the defaults; a bad one is a UsageError. */
function settings(argv: readonly string[]) {
  const v = parseFlags(argv, FLAGS);
  const whole = (flag: string, value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`${flag} = "${value}": must be a whole number ≥ 1`, true);
    return n;
  };
  return {
    duration: whole('--seconds', v.seconds ?? process.env.BENCH_SECONDS ?? '10'),
    connections: whole('--connections', v.connections ?? process.env.BENCH_CONNECTIONS ?? '50'),
    processCounts: (v.processes ?? process.env.BENCH_PROCESSES ?? '1').split(',').map((n) => whole('--processes', n)),
    poolSize: String(whole('--pool-size', v['pool-size'] ?? process.env.BENCH_POOL_SIZE ?? '20')),
  };
}
async function main(s: ReturnType<typeof settings>): Promise<void> {
  const { duration: DURATION, connections: CONNECTIONS, processCounts: PROCESS_COUNTS, poolSize: POOL_SIZE } = s;
  const autocannon = require('autocannon') as typeof import('autocannon');
  const { Pool } = require('pg') as typeof import('pg');
  const { answeringPids, bundleWorkload, freePort } = require('./api-process') as typeof import('./api-process');
  const { createLocalQueue, startLocalServices } = require('./local') as typeof import('./local');
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

if (require.main === module) {
  // --help and bad arguments answer before anything loads or starts (the servers, the bundle, the database).
  if (helpRequested(process.argv.slice(2))) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  let s: ReturnType<typeof settings>;
  try {
    s = settings(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(e instanceof UsageError ? usageErrorText('bench:workload', e) : `bench:workload: ${String(e)}\n`);
    process.exit(2);
  }
  main(s).catch((err) => {
    process.stderr.write(`bench:workload: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
