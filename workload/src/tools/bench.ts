import autocannon from 'autocannon';
import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { SQSClient } from '@aws-sdk/client-sqs';
import { buildApi } from '../app';
import { connectCache } from '../cache';
import { connectDatabase } from '../db';
import { migrate } from '../migrations';
import { readSettings } from '../settings';
import { createLocalQueue, startLocalServices } from './local';

/**
 * `npm run bench:workload`: requests/s and latency of the reference API on loopback, against the local
 * PostgreSQL and Redis: a bare /healthz, GET /items/:id answered from the cache, and GET /items/:id with
 * the cache off (every request reads PostgreSQL). Bounded: each run lasts DURATION seconds, to 127.0.0.1 only.
 */
const DURATION = Number(process.env.BENCH_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const ITEMS = 2000;

async function main(): Promise<void> {
  const env = startLocalServices();
  const dbName = `sb_bench_${randomBytes(3).toString('hex')}`;
  const admin = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: 'postgres' });
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
  const queueUrl = await createLocalQueue(env, `bench-${randomBytes(3).toString('hex')}`);
  const base = { ...process.env, ...env, DB_NAME: dbName, QUEUE_URL: queueUrl, DB_POOL_SIZE: '20', CACHE_KEY_PREFIX: `${dbName}:` };

  const servers: Array<{ app: ReturnType<typeof buildApi>; db: ReturnType<typeof connectDatabase>; cache: ReturnType<typeof connectCache> }> = [];
  const start = async (cacheTtl: string) => {
    const settings = readSettings({ ...base, CACHE_TTL_SECONDS: cacheTtl });
    const db = connectDatabase(settings.db, settings.region);
    const cache = connectCache(settings.cache);
    const app = buildApi({ db, cache, sqs: new SQSClient({ region: settings.region }), settings });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push({ app, db, cache });
    return { url, db };
  };
  const cached = await start('300');
  await migrate(cached.db.writer);
  await cached.db.writer.query(`INSERT INTO items (name, data) SELECT 'item ' || g, jsonb_build_object('n', g) FROM generate_series(1, ${ITEMS}) g`);
  const uncached = await start('0');
  await fetch(`${cached.url}/items/1`); // warm the one cached item

  const runs: Array<[string, string, string]> = [
    ['GET /healthz', cached.url, '/healthz'],
    ['GET /items/:id (cache hit)', cached.url, '/items/1'],
    ['GET /items/:id (cache miss: PostgreSQL)', uncached.url, '/items/:random'],
  ];
  const rows = [];
  for (const [name, url, path] of runs) {
    const result = await autocannon({
      url,
      connections: CONNECTIONS,
      duration: DURATION,
      requests: [{ method: 'GET', setupRequest: (req) => ({ ...req, path: path === '/items/:random' ? `/items/${1 + Math.floor(Math.random() * ITEMS)}` : path }) }],
    });
    rows.push({ name, rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors + result.non2xx });
  }

  process.stdout.write(`node ${process.version}, ${CONNECTIONS} connections, ${DURATION} s per run, loopback\n`);
  process.stdout.write('| request | req/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |\n`);

  for (const s of servers) {
    await s.app.close();
    s.cache.disconnect();
    await s.db.close();
  }
  await admin.query(`DROP DATABASE ${dbName} WITH (FORCE)`);
  await admin.end();
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
