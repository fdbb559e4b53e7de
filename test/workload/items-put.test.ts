import { randomBytes } from 'crypto';
import type { FastifyInstance } from 'fastify';
import type { Pool } from 'pg';
import { shardOfItemId } from '../../lib/contracts/sharding';
import { seed } from '../../tools/seed/seed';
import { buildApi } from '../../workload/src/app';
import { connectCache, type CacheClient } from '../../workload/src/cache';
import { connectDatabase, type Database } from '../../workload/src/db';
import { moveShard } from '../../workload/src/reshard';
import { ShardRouter } from '../../workload/src/router';
import { readSettings } from '../../workload/src/settings';
import { serviceEnv } from './harness';
import { createClusters, type Clusters } from './reshard-clusters';

// PUT /items/:id with DB_SHARDING_MODE=clusters over three real PostgreSQL databases (one per cluster, on the
// shared local server, named for this file), and `npm run seed` against it: client-chosen ids 1…N land on the
// cluster the directory names for their logical shard (id mod L), POSTs stay clear of them, replaces are read back.
const L = 1024;
const CLUSTERS = 3;
const suffix = randomBytes(4).toString('hex');
const base = serviceEnv();
let clusters: Clusters;
let admins: Pool[];
let db: Database;
let router: ShardRouter;
let cache: CacheClient;
let api: FastifyInstance;
let url: string;

beforeAll(async () => {
  // Migrated and seeded as the workload does it (migrations on every cluster, then the first layout).
  clusters = await createClusters(CLUSTERS, { logicalShards: L });
  admins = clusters.pools;
  const settings = readSettings({
    // No job is created here, so nothing reads QUEUE_URL (jobs go through the outbox relays, not started).
    ...base, DB_NAME: clusters.names[0], CACHE_KEY_PREFIX: `p${suffix}:`, QUEUE_URL: `${base.AWS_ENDPOINT_URL}/000000000000/unused-${suffix}`,
    DB_SHARDING_MODE: 'clusters', DB_LOGICAL_SHARDS: String(L), DB_SHARDS: clusters.shardsEnv,
  });
  db = connectDatabase(settings.db, settings.region);
  router = await ShardRouter.open(db, { sharding: settings.db.sharding });
  cache = connectCache(settings.cache);
  api = buildApi({ db, router, cache, settings });
  url = await api.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await api?.close();
  router?.close();
  cache?.disconnect();
  await db?.close();
  await clusters?.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}${path}`, {
    method, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    headers: { ...(body !== undefined && { 'content-type': 'application/json' }), ...headers },
  });
  return { status: res.status, headers: res.headers, body: await res.json() as Record<string, unknown> };
}

/** The clusters whose database holds item `id`, with its logical_shard column (straight from each database). */
async function holders(id: number): Promise<Array<{ cluster: number; shard: number }>> {
  const found = await Promise.all(admins.map((a) => a.query<{ logical_shard: number }>('SELECT logical_shard FROM items WHERE id = $1', [id])));
  return found.flatMap((r, cluster) => r.rows.map((row) => ({ cluster, shard: row.logical_shard })));
}

/** An Idempotency-Key whose logical shard is `shard` (a POST with it is written there). */
function keyOfShard(shard: number): string {
  for (let i = 0; ; i++) if (router.shardOfKey(`k${suffix}-${i}`) === shard) return `k${suffix}-${i}`;
}

test('seed N=50 in clusters mode: every id 1…50 answers 200, each row on the cluster the directory names for id mod L', async () => {
  const result = await seed({ target: url, items: 50, concurrency: 8, timeoutMs: 5_000, verify: 5 });
  expect(result).toMatchObject({ found: 0, created: 50, existed: 0, verified: { missing: [] } });
  const gets = await Promise.all(Array.from({ length: 50 }, (_, i) => call('GET', `/items/${i + 1}`)));
  expect(gets.map((g) => g.status)).toEqual(Array(50).fill(200));
  expect(gets.map((g) => g.body.name)).toEqual(Array.from({ length: 50 }, (_, i) => `seed-${i + 1}`));
  for (let id = 1; id <= 50; id++) {
    const shard = shardOfItemId(id, L);
    expect({ id, at: await holders(id) }).toEqual({ id, at: [{ cluster: router.clusterOf(shard), shard }] });
  }
  // The three clusters all took some (ids 1…50 are logical shards 1…50, round robin over the clusters).
  expect(new Set(Array.from({ length: 50 }, (_, i) => router.clusterOf(shardOfItemId(i + 1, L)))).size).toBe(CLUSTERS);
});

test('a POST after a PUT of a high id on the same cluster gets an id above it', async () => {
  const shard = 77;
  const high = 5000 * L + shard;
  expect((await call('PUT', `/items/${high}`, { name: 'high' })).status).toBe(201);
  // Another logical shard of the same cluster: its ids come from the same sequence.
  const sibling = shard + CLUSTERS;
  expect(router.clusterOf(sibling)).toBe(router.clusterOf(shard));
  const posted = await call('POST', '/items', { name: 'after' }, { 'idempotency-key': keyOfShard(sibling) });
  expect(posted.status).toBe(201);
  expect(BigInt(posted.body.id as string)).toBeGreaterThan(BigInt(high));
  expect(shardOfItemId(posted.body.id as string, L)).toBe(sibling);
});

test('a POST meeting an id a PUT took (the sequence behind it, as a race can leave it) draws the next one', async () => {
  const shard = 101;
  const cluster = router.clusterOf(shard);
  const taken = 9000 * L + shard;
  expect((await call('PUT', `/items/${taken}`, { name: 'taken' })).status).toBe(201);
  // What a POST's nextval racing the PUT's raise leaves: the sequence just below the taken id.
  await admins[cluster].query("SELECT setval('items_id_seq', 8999)");
  const posted = await call('POST', '/items', { name: 'next' }, { 'idempotency-key': keyOfShard(shard) });
  expect(posted.status).toBe(201);
  expect(posted.body.id).toBe(String(9001 * L + shard));
  expect((await call('GET', `/items/${taken}`)).body.name).toBe('taken');
});

test('PUT replacing an item: 200, and GET answers the new one from the database and then from the cache', async () => {
  const id = 2 * L + 9;
  expect((await call('PUT', `/items/${id}`, { name: 'first', data: { v: 1 } })).status).toBe(201);
  // Read once, so the cache holds the first version.
  expect((await call('GET', `/items/${id}`)).body).toMatchObject({ name: 'first', data: { v: 1 } });
  expect((await call('GET', `/items/${id}`)).headers.get('x-cache')).toBe('hit');
  const replaced = await call('PUT', `/items/${id}`, { name: 'second', data: { v: 2 } });
  expect(replaced).toMatchObject({ status: 200, body: { id: String(id), name: 'second', data: { v: 2 } } });
  const read = await call('GET', `/items/${id}`);
  expect(read.body).toMatchObject({ name: 'second', data: { v: 2 } });
  expect(read.headers.get('x-cache')).toBe('hit');
  // If-None-Match: * only creates: the existing item is a 412 and stays as it is.
  expect((await call('PUT', `/items/${id}`, { name: 'third' }, { 'if-none-match': '*' })).status).toBe(412);
  expect((await call('GET', `/items/${id}`)).body.name).toBe('second');
  expect(await holders(id)).toEqual([{ cluster: router.clusterOf(9), shard: 9 }]);
});

test('a shard holding a PUT\'s id moved to another cluster: the target\'s sequence is raised above it too (the mover)', async () => {
  const shard = 203;
  const from = router.clusterOf(shard);
  const to = (from + 1) % CLUSTERS;
  const high = 7000 * L + shard;
  expect((await call('PUT', `/items/${high}`, { name: 'moved' })).status).toBe(201);
  // The target's own sequence is far below: only the mover's raise puts its next id above the PUT's.
  expect(Number((await admins[to].query('SELECT last_value FROM items_id_seq')).rows[0].last_value)).toBeLessThan(7000);
  await moveShard(admins, shard, to, { graceMs: 0 });
  await router.refresh();
  expect(router.clusterOf(shard)).toBe(to);
  const posted = await call('POST', '/items', { name: 'after the move' }, { 'idempotency-key': keyOfShard(shard) });
  expect(posted.status).toBe(201);
  expect(BigInt(posted.body.id as string)).toBeGreaterThan(BigInt(high));
  expect(await holders(Number(posted.body.id))).toEqual([{ cluster: to, shard }]);
  expect((await call('GET', `/items/${high}`)).body.name).toBe('moved');
}, 15_000);

test('PUT validates its id as GET does', async () => {
  expect((await call('PUT', '/items/0', { name: 'x' })).status).toBe(400);
  expect((await call('PUT', '/items/abc', { name: 'x' })).status).toBe(400);
  expect((await call('PUT', '/items/12345678901234567', { name: 'x' })).status).toBe(400);
});
