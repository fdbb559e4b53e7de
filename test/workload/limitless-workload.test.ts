import { DeleteQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes } from 'crypto';
import type { FastifyInstance } from 'fastify';
import { Pool, type PoolClient } from 'pg';
import { logicalShardOf } from '../../lib/contracts/sharding';
import { buildApi } from '../../workload/src/app';
import { connectCache, type CacheClient } from '../../workload/src/cache';
import { connectDatabase, type Database } from '../../workload/src/db';
import { LIMITLESS_MIGRATIONS, LIMITLESS_SHARDED_TABLES } from '../../workload/src/limitless';
import { Metrics } from '../../workload/src/metrics';
import { migrate } from '../../workload/src/migrations';
import { jobShardOf, ShardRouter } from '../../workload/src/router';
import { readSettings, type Settings } from '../../workload/src/settings';
import { startJobKeepers, Sweeper } from '../../workload/src/sweeper';
import { createLocalQueues, localSqs } from '../../workload/src/tools/local';
import { Worker } from '../../workload/src/worker';
import { eventually, serviceEnv } from './harness';

// DB_SHARDING_MODE=limitless: the SQL the workload issues in this mode, and the endpoints end to end.
//
// Aurora PostgreSQL Limitless Database itself CANNOT run here (it exists only as an Aurora DB shard group).
// What runs instead: the API, the outbox relay, the sweeper and the worker against a local PostgreSQL database
// created with the Limitless schema (workload/src/limitless.ts LIMITLESS_MIGRATIONS: stock PostgreSQL accepts
// the rds_aurora.* settings as custom ones and ignores them, so the tables are plain ones with Limitless's
// keys: every primary key starts with logical_shard, which is NOT NULL), the local SQS (moto). Every statement
// sent through the workload's pools is recorded, and checked against what Limitless needs to keep a request on
// one shard: rows written with their shard key, and every statement on a row naming it
// (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-query.single-shard.html). Whether
// Limitless then routes each one to a single shard (EXPLAIN's "Single Shard Optimized") is not testable here.

const L = 256;
const suffix = randomBytes(4).toString('hex');
const name = `sb_limitless_${suffix}`;
const base = serviceEnv();
const conn = { host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME };
const SHARDED = new RegExp(`\\b(${LIMITLESS_SHARDED_TABLES.join('|')})\\b`);

let admin: Pool;
let settings: Settings;
let db: Database;
let router: ShardRouter;
let cache: CacheClient;
let sqs: SQSClient;
let queues: { queueUrl: string; dlqUrl: string };
let api: FastifyInstance;
let url: string;
let worker: Worker;
let keepers: { stop(): Promise<void> };
/** Every statement the workload sent, as sent (whitespace collapsed). */
const sent: string[] = [];

/** Records every statement of a client of the workload's pools (pool.query and transactions alike). */
function record(client: PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    const q = args[0] as string | { text: string };
    sent.push((typeof q === 'string' ? q : q.text).replace(/\s+/g, ' ').trim());
    return query(...args);
  };
}

beforeAll(async () => {
  const server = new Pool({ ...conn, database: 'postgres', max: 1 });
  await server.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  await server.end();
  admin = new Pool({ ...conn, database: name, max: 2 });
  sqs = localSqs(base);
  queues = await createLocalQueues(sqs, `limitless-${suffix}`, 3);
  settings = readSettings({
    ...base, DB_NAME: name, QUEUE_URL: queues.queueUrl, CACHE_KEY_PREFIX: `l${suffix}:`,
    DB_SHARDING_MODE: 'limitless', DB_LOGICAL_SHARDS: String(L),
    WORKER_WAIT_SECONDS: '1', JOB_CPU_MS: '1', JOB_IO_MS: '1',
  });
  db = connectDatabase(settings.db, settings.region);
  for (const pool of new Set([db.writer, db.reader])) pool.on('connect', record);
  // What main.ts does with DB_MIGRATE_ON_START in this mode: the Limitless schema, no directory to seed.
  expect(await migrate(db.writer, LIMITLESS_MIGRATIONS)).toEqual([1]);
  router = await ShardRouter.open(db, { sharding: settings.db.sharding });
  cache = connectCache(settings.cache);
  api = buildApi({ db, router, cache, settings, logger: false });
  url = await api.listen({ port: 0, host: '127.0.0.1' });
  Object.assign(process.env, { AWS_ENDPOINT_URL: base.AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  // With metrics, as in the task: the relay samples OutboxLag too.
  keepers = startJobKeepers(db.clusters.map((c) => c.writer), settings, new Metrics({ environment: 'test', service: 'api' }, () => undefined, 0));
  worker = new Worker({ sqs, writer: db.writer, router, settings });
  worker.start();
}, 30_000);

afterAll(async () => {
  await worker?.stop();
  await keepers?.stop();
  await api?.close();
  router?.close();
  cache?.disconnect();
  await db?.close();
  await admin?.end();
  if (queues) for (const q of [queues.queueUrl, queues.dlqUrl]) await sqs.send(new DeleteQueueCommand({ QueueUrl: q }));
  sqs?.destroy();
  const server = new Pool({ ...conn, database: 'postgres', max: 1 });
  await server.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await server.end();
}, 30_000);

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
  });
  return { status: res.status, headers: res.headers, body: await res.json() as Record<string, unknown> };
}

test('the router: one endpoint, the configured logical shards, no directory, rows keyed', () => {
  expect({ clusters: router.clusters.length, sharded: router.sharded, limitless: router.limitless, logicalShards: router.logicalShards })
    .toEqual({ clusters: 1, sharded: false, limitless: true, logicalShards: L });
  expect(router.rowShard(7)).toBe(7);
  expect(router.shardKey(7, 2)).toEqual({ sql: ' AND logical_shard = $2', params: [7] });
});

test('items and jobs end to end: each row on its logical shard, a job through the outbox, SQS and the worker', async () => {
  const key = `item-${suffix}`;
  const created = await call('POST', '/items', { name: 'limitless', data: { a: 1 } }, { 'idempotency-key': key });
  expect(created.status).toBe(201);
  const itemId = String(created.body.id);
  const shard = logicalShardOf(key, L);
  // The id carries the Idempotency-Key's shard (sequence × L + shard), and the row has it as its shard key.
  expect(Number(BigInt(itemId) % BigInt(L))).toBe(shard);
  expect((await admin.query('SELECT logical_shard FROM items WHERE id = $1', [itemId])).rows).toEqual([{ logical_shard: shard }]);
  // A retry with the key is answered from its row (on the same shard), not inserted again.
  const again = await call('POST', '/items', { name: 'limitless', data: { a: 1 } }, { 'idempotency-key': key });
  expect({ status: again.status, replayed: again.headers.get('idempotent-replayed'), id: String(again.body.id) }).toEqual({ status: 201, replayed: 'true', id: itemId });
  expect((await call('POST', '/items', { name: 'other body' }, { 'idempotency-key': key })).status).toBe(422);
  expect((await admin.query('SELECT logical_shard FROM idempotency_keys WHERE key = $1', [key])).rows).toEqual([{ logical_shard: shard }]);

  const read = await call('GET', `/items/${itemId}`);
  expect(read).toMatchObject({ status: 200, body: { id: itemId, name: 'limitless', processed_count: 0 } });
  expect((await call('GET', `/items/${BigInt(itemId) + BigInt(L)}`)).status).toBe(404);
  const plain = await call('POST', '/items', { name: 'no key' });
  expect(plain.status).toBe(201);
  const list = await call('GET', '/items?limit=5');
  expect((list.body.items as Array<{ id: string }>).map((i) => i.id)).toEqual([String(plain.body.id), itemId]);

  // PUT: an item at an id the client chose, on the shard its id carries; then replaced there.
  const putId = String(BigInt(10_000_000) * BigInt(L) + BigInt(shard));
  expect((await call('PUT', `/items/${putId}`, { name: 'put' })).status).toBe(201);
  expect(await call('PUT', `/items/${putId}`, { name: 'put again' })).toMatchObject({ status: 200, body: { id: putId, name: 'put again' } });
  expect((await admin.query('SELECT logical_shard, name FROM items WHERE id = $1', [putId])).rows).toEqual([{ logical_shard: shard, name: 'put again' }]);

  const job = await call('POST', '/jobs', { itemId: Number(itemId) });
  expect(job.status).toBe(202);
  const jobId = String(job.body.jobId);
  expect(jobShardOf(jobId, L)).toBe(shard);
  const lone = await call('POST', '/jobs', {});
  expect(lone.status).toBe(202);
  expect((await call('POST', '/jobs', { itemId: 999_999 * L + 3 })).status).toBe(404);
  for (const id of [jobId, String(lone.body.jobId)]) {
    await eventually(async () => ((await call('GET', `/jobs/${id}`)).body.status === 'done' ? true : undefined), 15_000, `job ${id} done`);
  }
  expect((await admin.query('SELECT logical_shard, processed_count FROM items WHERE id = $1', [itemId])).rows).toEqual([{ logical_shard: shard, processed_count: 1 }]);
  expect((await admin.query('SELECT logical_shard FROM jobs WHERE id = $1', [jobId])).rows).toEqual([{ logical_shard: shard }]);
  await eventually(async () => ((await admin.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n === 0 ? true : undefined), 5000, 'outbox relayed');
  expect(worker.counts.failed).toBe(0);
}, 30_000);

test('the sweeper: a stuck job is sent again, an expired key deleted, each by its shard key', async () => {
  const item = await call('POST', '/items', { name: 'stuck' });
  const job = await call('POST', '/jobs', { itemId: Number(item.body.id) });
  const jobId = String(job.body.jobId);
  await eventually(async () => ((await call('GET', `/jobs/${jobId}`)).body.status === 'done' ? true : undefined), 15_000, 'job done');
  // As a job whose message was lost: back to queued, long unchanged, nothing in the outbox.
  await admin.query("UPDATE jobs SET status = 'queued', updated_at = now() - interval '1 hour' WHERE id = $1", [jobId]);
  await admin.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'");
  const sweeper = new Sweeper({ writer: db.writer, limitless: true, stuckAfterSeconds: 60, maxEnqueues: 5, intervalMs: 60_000 });
  expect(await sweeper.sweepOnce()).toEqual({ requeued: [jobId], failed: [] });
  expect((await admin.query('SELECT count(*)::int AS n FROM idempotency_keys')).rows[0].n).toBe(0);
  // Sent again through the outbox: the worker finds it done already (its effect applies once).
  await eventually(async () => ((await admin.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n === 0 ? true : undefined), 5000, 'outbox relayed');
}, 30_000);

describe('the SQL the workload sent in this mode (every statement of the tests above)', () => {
  const onTables = () => sent.filter((s) => SHARDED.test(s) && !/^(CREATE|ALTER|SET|INSERT INTO schema_migrations)/i.test(s) && !s.includes('rds_aurora'));

  test('was recorded: inserts, reads, updates and deletes of every table', () => {
    const kinds = new Set(onTables().map((s) => `${/^(WITH|SELECT|INSERT|UPDATE|DELETE)/i.exec(s)?.[1].toUpperCase()} ${SHARDED.exec(s)![1]}`));
    for (const k of ['INSERT items', 'INSERT jobs', 'INSERT outbox', 'INSERT idempotency_keys', 'SELECT items', 'SELECT jobs', 'SELECT idempotency_keys', 'UPDATE jobs', 'DELETE outbox', 'DELETE idempotency_keys', 'WITH outbox', 'WITH jobs']) {
      expect([...kinds]).toContain(k);
    }
  });

  test('every INSERT sets logical_shard; every ON CONFLICT names the full primary key (shard key first)', () => {
    const inserts = onTables().filter((s) => /INSERT INTO (items|jobs|outbox|idempotency_keys)\b/i.test(s));
    expect(inserts.length).toBeGreaterThan(0);
    for (const s of inserts) expect({ s, keyed: /INSERT INTO \w+ \([^)]*\blogical_shard\b[^)]*\)/i.test(s) }).toEqual({ s, keyed: true });
    for (const s of onTables().filter((x) => /ON CONFLICT/i.test(x))) expect(s).toMatch(/ON CONFLICT \(logical_shard, /);
  });

  test('every SELECT, UPDATE and DELETE on a sharded table names logical_shard, but for the two bounded scans of every shard', () => {
    // The scans that cannot name one shard, by design: the newest items (a distributed query bounded by its
    // LIMIT, ordered by created_at first) and the outbox lag sample (one aggregate).
    const scans = [
      /^SELECT id, name, data, processed_count, created_at, updated_at, .* FROM items ORDER BY created_at DESC, id DESC LIMIT \$1$/,
      /^SELECT \(EXTRACT\(EPOCH FROM now\(\) - min\(created_at\)\) \* 1000\)::float8 AS lag_ms FROM outbox$/,
    ];
    const unkeyed = onTables().filter((s) => !/\blogical_shard\b/.test(s));
    expect([...new Set(unkeyed.filter((s) => !scans.some((r) => r.test(s))))]).toEqual([]);
    expect(scans.every((r) => unkeyed.some((s) => r.test(s)))).toBe(true);
  });

  test('statements on one row give its shard key as a value: `logical_shard = $n` beside the row\'s key', () => {
    const byId = onTables().filter((s) => /^(SELECT|UPDATE) .*WHERE (key|id) = \$1/i.test(s));
    expect(byId.length).toBeGreaterThan(0);
    for (const s of byId) expect(s).toMatch(/ AND logical_shard = \$\d+/);
  });

  test('no directory, fence, held check or seeding; no ctid; nothing ordered by id alone', () => {
    const all = sent.join('\n');
    expect(all).not.toMatch(/shard_ownership|shard_fence|shard_layout|FOR SHARE/i);
    expect(all).not.toMatch(/\bctid\b/);
    expect(sent.filter((s) => /ORDER BY (\w+\.)?id\b/i.test(s))).toEqual([]);
  });
});
