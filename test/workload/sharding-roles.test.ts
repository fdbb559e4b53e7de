import { randomBytes } from 'crypto';
import type { FastifyInstance } from 'fastify';
import { Pool } from 'pg';
import { cloneOf, privilegesRoleOf } from '../../lib/contracts/database-roles';
import { buildApi } from '../../workload/src/app';
import { connectCache, type CacheClient } from '../../workload/src/cache';
import { connectDatabase, type Database } from '../../workload/src/db';
import { processJob } from '../../workload/src/jobs';
import { applyDatabaseRoles, migrate } from '../../workload/src/migrations';
import { jobShardOf, ShardRouter } from '../../workload/src/router';
import { readSettings, type Settings } from '../../workload/src/settings';
import { seedDirectory } from '../../workload/src/shards';
import { serviceEnv } from './harness';

// The services' users on a sharded cluster (applyDatabaseRoles, as the migration custom resource runs it): they
// read the directory and take the write fence, and cannot change who holds a shard. A row lock FOR SHARE needs
// UPDATE privilege, so the fence runs as shard_fence (SECURITY DEFINER) with EXECUTE alone: both reproduced here.
const suffix = randomBytes(3).toString('hex');
const dbName = `sb_shard_roles_${suffix}`;
const users = { api: { name: `sb_sapi_${suffix}` }, worker: { name: `sb_swork_${suffix}` } };
const base = serviceEnv();
const L = 16;
const DENIED = { code: '42501' };
let admin: Pool;
let settings: Settings;
const opened: Database[] = [];
let cache: CacheClient;

const connectAs = (user: string) => {
  const db = connectDatabase({ ...settings.db, user }, settings.region);
  opened.push(db);
  return db;
};

beforeAll(async () => {
  const server = new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: 'postgres', max: 1 });
  await server.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
  await server.end();
  settings = readSettings({
    ...base, DB_NAME: dbName, QUEUE_URL: 'http://127.0.0.1:1/none', CACHE_KEY_PREFIX: `r${suffix}:`,
    DB_SHARDING_MODE: 'clusters', DB_LOGICAL_SHARDS: String(L),
    DB_SHARDS: JSON.stringify([{ writerHost: base.DB_WRITER_HOST, readerHost: base.DB_READER_HOST, database: dbName }]),
  });
  admin = new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: dbName, max: 3 });
  await migrate(admin);
  await seedDirectory([admin], L);
  const client = await admin.connect();
  try {
    await client.query("DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
    await applyDatabaseRoles(client, users);
  } finally {
    client.release();
  }
  cache = connectCache(settings.cache);
});

afterAll(async () => {
  cache?.disconnect();
  for (const db of opened) await db.close();
  await admin?.end();
  const server = new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: 'postgres', max: 1 });
  await server.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  for (const u of [users.api.name, users.worker.name, cloneOf(users.api.name), cloneOf(users.worker.name)]) await server.query(`DROP ROLE IF EXISTS ${u}`);
  for (const u of [users.api.name, users.worker.name]) await server.query(`DROP ROLE IF EXISTS ${privilegesRoleOf(u)}`);
  await server.end();
});

test.each(['api', 'worker'] as const)('the %s user reads the directory and takes the fence, and cannot lock FOR SHARE itself or change ownership', async (service) => {
  const db = connectAs(users[service].name);
  expect((await db.writer.query('SELECT count(*)::int AS n FROM shard_ownership')).rows[0].n).toBe(L);
  // PostgreSQL's rule (sql-select.html: FOR SHARE "requires UPDATE privilege as well"): the plain lock is refused.
  await expect(db.writer.query('SELECT state FROM shard_ownership WHERE logical_shard = 3 FOR SHARE')).rejects.toMatchObject(DENIED);
  await expect(db.writer.query("UPDATE shard_ownership SET state = 'frozen' WHERE logical_shard = 3")).rejects.toMatchObject(DENIED);
  await expect(db.writer.query('DELETE FROM shard_ownership WHERE logical_shard = 3')).rejects.toMatchObject(DENIED);
  await expect(db.writer.query("INSERT INTO shard_ownership (logical_shard, state) VALUES (99, 'owned')")).rejects.toMatchObject(DENIED);
  await expect(db.writer.query('UPDATE shard_layout SET clusters = 2')).rejects.toMatchObject(DENIED);
  // Through shard_fence the lock is the caller's transaction's: a freeze (the mover's UPDATE) waits for it.
  const tx = await db.writer.connect();
  try {
    await tx.query('BEGIN');
    expect((await tx.query('SELECT shard_fence(3) AS state')).rows).toEqual([{ state: 'owned' }]);
    const freeze = await admin.connect();
    try {
      await freeze.query('BEGIN');
      await freeze.query("SET LOCAL lock_timeout = '200ms'");
      await expect(freeze.query("UPDATE shard_ownership SET state = 'frozen' WHERE logical_shard = 3")).rejects.toMatchObject({ code: '55P03' });
      await freeze.query('ROLLBACK');
    } finally {
      freeze.release();
    }
    await tx.query('COMMIT');
  } finally {
    tx.release();
  }
});

test('as their own users, sharded: the API creates items and jobs (ids, logical shards, fence), the worker runs a job', async () => {
  const asApi = connectAs(users.api.name);
  const asWorker = connectAs(users.worker.name);
  const router = await ShardRouter.open(asApi, { sharding: settings.db.sharding });
  const workerRouter = await ShardRouter.open(asWorker, { sharding: settings.db.sharding });
  const api: FastifyInstance = buildApi({ db: asApi, router, cache, settings });
  try {
    const url = await api.listen({ port: 0, host: '127.0.0.1' });
    const post = async (path: string, body: unknown, key: string) => {
      const r = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) });
      return { status: r.status, body: await r.json() as Record<string, unknown> };
    };
    const item = await post('/items', { name: 'least privilege' }, `roles-item-${suffix}`);
    expect(item.status).toBe(201);
    expect(Number(item.body.id) % L).toBe(router.shardOfKey(`roles-item-${suffix}`));
    const job = await post('/jobs', { itemId: Number(item.body.id) }, `roles-job-${suffix}`);
    expect(job.status).toBe(202);
    const jobId = String(job.body.jobId);
    expect((await processJob(workerRouter, jobId, 100, jobShardOf(jobId, L))).outcome).toBe('done');
    expect((await admin.query('SELECT processed_count, logical_shard FROM items WHERE id = $1', [item.body.id])).rows)
      .toEqual([{ processed_count: 1, logical_shard: Number(item.body.id) % L }]);
    // PUT as the API user, sharded: the fenced insert with its logical shard, the sequence raised (setval), a replace.
    const putId = 5 * L + 7;
    const put = (name: string) => fetch(`${url}/items/${putId}`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
    expect((await put('put')).status).toBe(201);
    expect((await put('put again')).status).toBe(200);
    expect((await admin.query('SELECT name, logical_shard FROM items WHERE id = $1', [putId])).rows).toEqual([{ name: 'put again', logical_shard: 7 }]);
    const list = await fetch(`${url}/items?limit=10`);
    expect(((await list.json()) as { items: unknown[] }).items).toHaveLength(2);
  } finally {
    await api.close();
    router.close();
    workerRouter.close();
  }
});
