import { DeleteQueueCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { randomBytes, randomUUID } from 'crypto';
import { EventEmitter } from 'events';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { logicalShardOf } from '../../lib/contracts/sharding';
import { buildApi } from '../../workload/src/app';
import { connectCache, type CacheClient } from '../../workload/src/cache';
import { connectDatabase, type Database } from '../../workload/src/db';
import { ITEM_SELECT_SQL } from '../../workload/src/item-cache';
import { Metrics } from '../../workload/src/metrics';
import { migrate, MIGRATIONS } from '../../workload/src/migrations';
import { jobIdOf as jobIdOfShard, jobShardOf, ShardRouter } from '../../workload/src/router';
import { readSettings, type Settings } from '../../workload/src/settings';
import { seedDirectory } from '../../workload/src/shards';
import { startJobKeepers } from '../../workload/src/sweeper';
import { createLocalQueues, localSqs } from '../../workload/src/tools/local';
import { Worker } from '../../workload/src/worker';
import { createHarness, eventually, serviceEnv } from './harness';

// DB_SHARDING_MODE=clusters over THREE real PostgreSQL databases (on the shared local server, one per cluster,
// named for this file): routing, every endpoint, jobs through the outbox (per cluster), moto's SQS and the
// worker, the cross-shard list, migrations on every cluster, and a write meeting a frozen, then moved, shard.
const L = 1024;
const CLUSTERS = 3;
const MOVE_WAIT_MS = 2000;
const suffix = randomBytes(4).toString('hex');
const names = Array.from({ length: CLUSTERS }, (_, n) => `sb_shard_${suffix}_${n}`);
const base = serviceEnv();
const server = () => new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: 'postgres', max: 1 });
/** One admin pool per cluster database: what the test reads and changes behind the API's back. */
let admins: Pool[];
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
/** Every metric the API and the worker put, as events. */
const puts = new EventEmitter();
const counted: Record<string, number> = {};

beforeAll(async () => {
  const admin = server();
  for (const name of names) await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  await admin.end();
  admins = names.map((database) => new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database, max: 3 }));
  sqs = localSqs(base);
  queues = await createLocalQueues(sqs, `shards-${suffix}`, 3);
  settings = readSettings({
    ...base, DB_NAME: names[0], QUEUE_URL: queues.queueUrl, CACHE_KEY_PREFIX: `s${suffix}:`,
    DB_SHARDING_MODE: 'clusters', DB_LOGICAL_SHARDS: String(L),
    DB_SHARDS: JSON.stringify(names.map((database) => ({ writerHost: base.DB_WRITER_HOST, readerHost: base.DB_READER_HOST, database }))),
    DB_SHARD_MOVE_WAIT_MS: String(MOVE_WAIT_MS), DB_SHARD_QUERY_TIMEOUT_MS: '500',
    WORKER_WAIT_SECONDS: '1', JOB_CPU_MS: '1', JOB_IO_MS: '1',
  });
  const metrics = new Metrics({ environment: 'test', service: 'api' }, () => undefined, 0);
  const put = metrics.put.bind(metrics);
  metrics.put = (name, value, dims) => {
    const key = [name, ...Object.values(dims ?? {})].join(':');
    counted[key] = (counted[key] ?? 0) + value;
    puts.emit(name, dims);
    put(name, value, dims);
  };
  db = connectDatabase(settings.db, settings.region, { metrics });
  // What main.ts does with DB_MIGRATE_ON_START: every cluster, then the first layout.
  for (const { writer } of db.clusters) await migrate(writer);
  expect(await seedDirectory(db.clusters.map((c) => c.writer), L)).toBe('seeded');
  router = await ShardRouter.open(db, { sharding: settings.db.sharding, metrics });
  cache = connectCache(settings.cache);
  api = buildApi({ db, router, cache, settings, metrics });
  url = await api.listen({ port: 0, host: '127.0.0.1' });
  // The relays' SQS client (as in the task) takes its endpoint and credentials from the environment.
  Object.assign(process.env, { AWS_ENDPOINT_URL: base.AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  keepers = startJobKeepers(db.clusters.map((c) => c.writer), settings, metrics);
  worker = new Worker({ sqs, writer: db.writer, router, settings, metrics });
  worker.start();
});

afterAll(async () => {
  await worker?.stop();
  await keepers?.stop();
  await api?.close();
  router?.close();
  cache?.disconnect();
  await db?.close();
  await Promise.all((admins ?? []).map((a) => a.end()));
  if (queues) for (const q of [queues.queueUrl, queues.dlqUrl]) await sqs.send(new DeleteQueueCommand({ QueueUrl: q }));
  sqs?.destroy();
  const admin = server();
  for (const name of names) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
  });
  return { status: res.status, headers: res.headers, body: await res.json() as Record<string, unknown> };
}

/** The clusters whose database holds a row of `table` with this id (straight from each database). */
async function holders(table: string, id: string | number): Promise<number[]> {
  const found = await Promise.all(admins.map((a) => a.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])));
  return found.flatMap((r, cluster) => (r.rowCount ? [cluster] : []));
}

/** A key whose logical shard the directory places on `cluster` (the first of `prefix`-0, -1, ...). */
function keyOn(cluster: number, prefix: string): string {
  for (let i = 0; ; i++) if (router.clusterOf(router.shardOfKey(`${prefix}-${i}`)) === cluster) return `${prefix}-${i}`;
}

test('routing is stable and even: 100k keys over 1024 logical shards and 3 clusters, the same hash as PostgreSQL computes', async () => {
  const n = 100_000;
  const perShard = new Array<number>(L).fill(0);
  const perCluster = new Array<number>(CLUSTERS).fill(0);
  for (let i = 0; i < n; i++) {
    const shard = router.shardOfKey(`customer-${i}`);
    perShard[shard]++;
    perCluster[router.clusterOf(shard)]++;
  }
  // Binomial: a shard's count has mean n/L and std-dev sqrt(n p (1-p)) ≈ 9.9; every one of the 1024 within
  // 5 std-devs (a fair hash strays that far in one run of ~1700).
  const p = 1 / L;
  const sd = Math.sqrt(n * p * (1 - p));
  expect(Math.min(...perShard)).toBeGreaterThanOrEqual(n * p - 5 * sd);
  expect(Math.max(...perShard)).toBeLessThanOrEqual(n * p + 5 * sd);
  // A cluster's share: within ±2 % of 1/3 (relative: ±0.0067, 4.5 std-devs of sqrt(p(1-p)/n) ≈ 0.0015).
  for (const c of perCluster) expect(Math.abs(c / n - 1 / 3)).toBeLessThanOrEqual(0.02 / 3);
  // The directory's first layout: shard s on cluster s mod 3, read back from the three databases.
  const held = await Promise.all(admins.map(async (a) => (await a.query<{ n: number }>('SELECT count(*)::int AS n FROM shard_ownership WHERE state = \'owned\'')).rows[0].n));
  expect(held).toEqual([342, 341, 341]);
  // Stable: a second router (another process) routes alike; PostgreSQL's sha256 gives the same shards.
  const other = await ShardRouter.open(db, { sharding: settings.db.sharding });
  other.close();
  const keys = ['a', 'customer-42', 'ü-ñ', randomBytes(8).toString('hex')];
  const inSql = (await admins[0].query<{ s: number }>(
    "SELECT (('x' || substr(encode(sha256(convert_to(k, 'UTF8')), 'hex'), 1, 8))::bit(32)::bigint % $2)::int AS s FROM unnest($1::text[]) WITH ORDINALITY AS t(k, o) ORDER BY o",
    [keys, L])).rows.map((r) => r.s);
  expect(keys.map((k) => logicalShardOf(k, L))).toEqual(inSql);
  expect(keys.map((k) => other.clusterOf(other.shardOfKey(k)))).toEqual(keys.map((k) => router.clusterOf(router.shardOfKey(k))));
});

test('migrations are applied on every cluster, once, and the layout is seeded once', async () => {
  for (const a of admins) {
    expect((await a.query('SELECT id FROM schema_migrations ORDER BY id')).rows).toEqual(MIGRATIONS.map((m) => ({ id: m.id })));
  }
  expect(await Promise.all(db.clusters.map((c) => migrate(c.writer)))).toEqual([[], [], []]);
  expect(await seedDirectory(db.clusters.map((c) => c.writer), L)).toBe('present');
  await expect(seedDirectory(db.clusters.map((c) => c.writer), 256)).rejects.toThrow('the shard layout was created with 1024 logical shards, not 256');
});

test('items: created on the shard of their key (or any), their id carries it, read back from the cluster that holds it', async () => {
  for (let cluster = 0; cluster < CLUSTERS; cluster++) {
    const key = keyOn(cluster, 'item');
    const created = await call('POST', '/items', { name: `on ${cluster}` }, { 'idempotency-key': key });
    expect(created.status).toBe(201);
    const id = String(created.body.id);
    expect(Number(BigInt(id) % BigInt(L))).toBe(router.shardOfKey(key));
    expect(await holders('items', id)).toEqual([cluster]);
    // The retry lands on the same shard, where the key is stored: the same item, not a second one.
    const again = await call('POST', '/items', { name: `on ${cluster}` }, { 'idempotency-key': key });
    expect({ status: again.status, replayed: again.headers.get('idempotent-replayed'), body: again.body }).toEqual({ status: 201, replayed: 'true', body: created.body });
    const keyRows = await Promise.all(admins.map((a) => a.query('SELECT logical_shard FROM idempotency_keys WHERE key = $1', [key])));
    expect(keyRows.map((r) => r.rows)).toEqual(admins.map((_, c) => (c === cluster ? [{ logical_shard: router.shardOfKey(key) }] : [])));
    expect((await call('GET', `/items/${id}`)).body).toMatchObject({ id, name: `on ${cluster}` });
  }
  const anyShard = await call('POST', '/items', { name: 'no key' });
  expect(anyShard.status).toBe(201);
  expect(await holders('items', String(anyShard.body.id))).toEqual([router.clusterOf(Number(BigInt(String(anyShard.body.id)) % BigInt(L)))]);
  expect((await call('GET', `/items/${String(anyShard.body.id)}`)).status).toBe(200);
  expect((await call('GET', `/items/${999_999 * L + 5}`)).status).toBe(404);
  // Ready only with every cluster's writer and reader answering.
  expect((await call('GET', '/readyz')).body).toEqual({ writer: true, reader: true, cache: true });
  // Every cluster answered statements of both kinds (ShardQueries per cluster and access).
  for (let c = 0; c < CLUSTERS; c++) {
    expect(counted[`ShardQueries:${c}:write`]).toBeGreaterThan(0);
    expect(counted[`ShardQueries:${c}:read`]).toBeGreaterThan(0);
  }
});

test('jobs: on their item\'s shard (or their key\'s), relayed per cluster, run by the worker on the right cluster', async () => {
  const jobs: Array<{ jobId: string; cluster: number; itemId?: string }> = [];
  for (let cluster = 0; cluster < CLUSTERS; cluster++) {
    const item = await call('POST', '/items', { name: `job target ${cluster}` }, { 'idempotency-key': keyOn(cluster, 'job-item') });
    const itemId = String(item.body.id);
    const job = await call('POST', '/jobs', { itemId: Number(itemId) }, { 'idempotency-key': `job-${suffix}-${cluster}` });
    expect(job.status).toBe(202);
    const jobId = String(job.body.jobId);
    expect(jobShardOf(jobId, L)).toBe(Number(BigInt(itemId) % BigInt(L)));
    jobs.push({ jobId, cluster, itemId });
  }
  const lone = await call('POST', '/jobs', {}, { 'idempotency-key': keyOn(1, 'lone-job') });
  expect(lone.status).toBe(202);
  jobs.push({ jobId: String(lone.body.jobId), cluster: 1 });
  expect((await call('POST', '/jobs', { itemId: 999_999 * L + 7 })).status).toBe(404);
  for (const j of jobs) {
    expect(await holders('jobs', j.jobId)).toEqual([j.cluster]);
    await eventually(async () => ((await call('GET', `/jobs/${j.jobId}`)).body.status === 'done' ? true : undefined), 15_000, `job ${j.jobId} done`);
    if (j.itemId) expect((await admins[j.cluster].query('SELECT processed_count FROM items WHERE id = $1', [j.itemId])).rows).toEqual([{ processed_count: 1 }]);
  }
  expect((await Promise.all(admins.map((a) => a.query('SELECT count(*)::int AS n FROM outbox')))).map((r) => r.rows[0].n)).toEqual([0, 0, 0]);
  expect(worker.counts.failed).toBe(0);
  expect((await call('GET', `/jobs/${jobIdOfShard(5)}`)).status).toBe(404);

  // A job written before sharding (a version 4 id, on its item's shard, which the id does not carry) is found
  // on whichever cluster holds it.
  const onTwo = jobs.find((j) => j.cluster === 2)!;
  let legacy: string;
  do legacy = randomUUID(); while (router.clusterOf(jobShardOf(legacy, L)) === 2);
  await admins[2].query("INSERT INTO jobs (id, status, item_id, cpu_ms, io_ms, logical_shard) VALUES ($1, 'done', $2, 1, 1, $3)",
    [legacy, onTwo.itemId, Number(BigInt(onTwo.itemId!) % BigInt(L))]);
  expect((await call('GET', `/jobs/${legacy}`)).body).toMatchObject({ id: legacy, status: 'done' });
});

test('GET /items: the newest items over every cluster (scatter-gather), bounded; one cluster too slow makes it a 503', async () => {
  for (let i = 0; i < 6; i++) await call('POST', '/items', { name: `listed ${i}` }, { 'idempotency-key': keyOn(i % CLUSTERS, `list-${i}`) });
  const everything = (await Promise.all(admins.map((a) => a.query(`SELECT ${ITEM_SELECT_SQL} FROM items`)))).flatMap((r) => r.rows)
    .sort((a, b) => b.created_at - a.created_at || Number(BigInt(b.id) - BigInt(a.id)));
  const listed = await call('GET', '/items?limit=5');
  expect(listed.status).toBe(200);
  expect((listed.body.items as Array<{ id: string }>).map((r) => r.id)).toEqual(everything.slice(0, 5).map((r) => r.id));
  expect(new Set((listed.body.items as Array<{ name: string }>).map((r) => r.name))).toEqual(new Set(['listed 5', 'listed 4', 'listed 3', 'listed 2', 'listed 1']));
  expect((await call('GET', '/items?limit=101')).status).toBe(400);

  // Cluster 2 stops answering (its items table locked): the list is a 503 with Retry-After, not a partial list.
  const locker = await admins[2].connect();
  try {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
    const started = Date.now();
    const slow = await call('GET', '/items?limit=5');
    expect({ status: slow.status, retryAfter: slow.headers.get('retry-after') }).toEqual({ status: 503, retryAfter: '1' });
    expect(Date.now() - started).toBeLessThan(3000);
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  expect((await call('GET', '/items?limit=5')).status).toBe(200);
});

test('a write to a frozen shard waits and retries, then lands on the cluster the shard moved to; a read follows the move', async () => {
  const key = keyOn(0, 'moving');
  const shard = router.shardOfKey(key);
  await admins[0].query("UPDATE shard_ownership SET state = 'frozen' WHERE logical_shard = $1", [shard]);
  // Bounded: a write that never meets the fence would otherwise hang the test until jest's timeout.
  const refused = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no ShardMoved within 5 s: the write did not meet the fence')), 5000);
    puts.once('ShardMoved', () => resolve(clearTimeout(timer)));
  });
  const moved0 = counted.ShardMoved ?? 0;
  const pending = call('POST', '/items', { name: 'moved' }, { 'idempotency-key': key });
  await refused;
  // The move switches the directory: the shard is owned by cluster 1 and no longer held by cluster 0.
  await admins[1].query("INSERT INTO shard_ownership (logical_shard, state) VALUES ($1, 'owned')", [shard]);
  await admins[0].query('DELETE FROM shard_ownership WHERE logical_shard = $1', [shard]);
  const created = await pending;
  expect(created.status).toBe(201);
  expect(Number(BigInt(String(created.body.id)) % BigInt(L))).toBe(shard);
  expect(await holders('items', String(created.body.id))).toEqual([1]);
  expect(counted.ShardMoved).toBeGreaterThan(moved0);
  expect(router.clusterOf(shard)).toBe(1);

  // A read with a stale directory: the shard moved from cluster 2 to cluster 0 behind the router's back, and
  // its item is only there. Cluster 2 says it no longer holds the shard (not "no such item"): 200, not 404.
  const shard2 = router.shardOfKey(keyOn(2, 'read-moved'));
  const id = String(777 * L + shard2);
  await admins[0].query("INSERT INTO shard_ownership (logical_shard, state) VALUES ($1, 'owned')", [shard2]);
  await admins[0].query('INSERT INTO items (id, logical_shard, name) VALUES ($1, $2, $3)', [id, shard2, 'read after move']);
  await admins[2].query('DELETE FROM shard_ownership WHERE logical_shard = $1', [shard2]);
  expect(router.clusterOf(shard2)).toBe(2);
  expect((await call('GET', `/items/${id}`)).body).toMatchObject({ id, name: 'read after move' });
  expect(router.clusterOf(shard2)).toBe(0);
});

test('a shard frozen past DB_SHARD_MOVE_WAIT_MS: the write is a 503 with Retry-After, and nothing was written', async () => {
  const key = keyOn(2, 'frozen');
  const shard = router.shardOfKey(key);
  await admins[2].query("UPDATE shard_ownership SET state = 'frozen' WHERE logical_shard = $1", [shard]);
  const started = Date.now();
  const r = await call('POST', '/items', { name: 'never' }, { 'idempotency-key': key });
  expect({ status: r.status, retryAfter: r.headers.get('retry-after'), code: r.body.code }).toEqual({ status: 503, retryAfter: '1', code: 'dependency_unavailable' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(MOVE_WAIT_MS - 50);
  expect(Date.now() - started).toBeLessThan(MOVE_WAIT_MS + 3000);
  expect((await Promise.all(admins.map((a) => a.query("SELECT count(*)::int AS n FROM items WHERE name = 'never'")))).map((x) => x.rows[0].n)).toEqual([0, 0, 0]);
  await admins[2].query("UPDATE shard_ownership SET state = 'owned' WHERE logical_shard = $1", [shard]);
  expect((await call('POST', '/items', { name: 'now' }, { 'idempotency-key': key })).status).toBe(201);
});

test('mode none: GET /items lists the newest items of the one database', async () => {
  const h = await createHarness();
  const plain = buildApi({ db: h.db, cache: h.cache, settings: h.settings });
  try {
    const base1 = await plain.listen({ port: 0, host: '127.0.0.1' });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await fetch(`${base1}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `plain ${i}` }) });
      ids.push(String((await r.json() as { id: string }).id));
    }
    // Unsharded ids are the sequence itself, as before sharding; the rows' logical shard stays NULL.
    expect(ids.map(Number)).toEqual([1, 2, 3]);
    expect((await h.db.writer.query('SELECT DISTINCT logical_shard FROM items')).rows).toEqual([{ logical_shard: null }]);
    const listed = await (await fetch(`${base1}/items?limit=2`)).json() as { items: Array<{ id: string }> };
    expect(listed.items.map((r) => r.id)).toEqual(['3', '2']);
  } finally {
    await plain.close();
    await h.close();
  }
});

test('sharding a database that ran unsharded: every logical shard seeded on cluster 0, its rows given the shard their ids say', async () => {
  const h = await createHarness();
  const extra = `sb_shard_${suffix}_extra`;
  const admin = server();
  await admin.query(`CREATE DATABASE ${extra} TEMPLATE template0`);
  const second = new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: extra, max: 2 });
  try {
    await migrate(second);
    const w = h.db.writer;
    const items = (await w.query<{ id: string }>("INSERT INTO items (name) SELECT 'old ' || g FROM generate_series(1, 20) g RETURNING id")).rows.map((r) => r.id);
    const withItem = randomUUID();
    const lone = randomUUID();
    await w.query("INSERT INTO jobs (id, status, item_id, cpu_ms, io_ms) VALUES ($1, 'queued', $2, 1, 1), ($3, 'queued', NULL, 1, 1)", [withItem, items[18], lone]);
    await w.query('INSERT INTO outbox (job_id, body) VALUES ($1, $2), ($3, $4)', [withItem, JSON.stringify({ jobId: withItem }), lone, JSON.stringify({ jobId: lone })]);

    expect(await seedDirectory([w, second], 16)).toBe('seeded');
    expect((await w.query('SELECT count(*)::int AS n FROM shard_ownership WHERE state = \'owned\'')).rows[0].n).toBe(16);
    expect((await second.query('SELECT count(*)::int AS n FROM shard_ownership')).rows[0].n).toBe(0);
    expect((await w.query('SELECT logical_shards, clusters, state FROM shard_layout')).rows).toEqual([{ logical_shards: 16, clusters: 1, state: 'seeded' }]);
    expect((await w.query('SELECT id, logical_shard FROM items ORDER BY id')).rows).toEqual(items.map((id) => ({ id, logical_shard: Number(id) % 16 })));
    const shards = Object.fromEntries((await w.query<{ id: string; logical_shard: number }>('SELECT id, logical_shard FROM jobs')).rows.map((r) => [r.id, r.logical_shard]));
    expect(shards).toEqual({ [withItem]: Number(items[18]) % 16, [lone]: jobShardOf(lone, 16) });
    expect(Object.fromEntries((await w.query<{ job_id: string; logical_shard: number }>('SELECT job_id, logical_shard FROM outbox')).rows.map((r) => [r.job_id, r.logical_shard]))).toEqual(shards);
  } finally {
    await second.end();
    await admin.query(`DROP DATABASE IF EXISTS ${extra} WITH (FORCE)`);
    await admin.end();
    await h.close();
  }
});
