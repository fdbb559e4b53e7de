import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { buildApi } from '../../workload/src/app';
import { connectDatabase, type Database } from '../../workload/src/db';
import { applyDatabaseRoles, SERVICE_PRIVILEGES } from '../../workload/src/migrations';
import { OutboxRelay } from '../../workload/src/outbox';
import { Sweeper } from '../../workload/src/sweeper';
import { Worker } from '../../workload/src/worker';
import { cloneOf, privilegesRoleOf } from '../../lib/contracts/database-roles';
import { createHarness, eventually, type Harness } from './harness';

// The services' database users as the migration custom resource makes them (applyDatabaseRoles), on the real
// local PostgreSQL: what each may not do, and every flow of the API and the worker connected as them.
// Roles are global to the server, so their names carry this file's suffix; `rds_iam` exists only on RDS, so a
// stand-in of that name is created here (shared by every file that needs one: created if missing, never dropped).

const suffix = randomBytes(3).toString('hex');
const users = { api: { name: `sb_api_${suffix}` }, worker: { name: `sb_worker_${suffix}` } };
let h: Harness;
let admin: Pool;
let asApi: Database;
let asWorker: Database;

/** SQLSTATE insufficient_privilege. */
const DENIED = { code: '42501' };

beforeAll(async () => {
  h = await createHarness();
  admin = new Pool({ host: h.settings.db.writerHost, port: h.settings.db.port, user: h.settings.db.user, database: h.settings.db.name, max: 2 });
  await admin.query("DO $$ BEGIN CREATE ROLE rds_iam NOLOGIN; EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$");
  // A user that was made an IAM user by hand: the proxy could no longer log in as it with the password.
  await admin.query(`CREATE ROLE ${users.api.name} LOGIN`);
  await admin.query(`GRANT rds_iam TO ${users.api.name}`);
  const client = await admin.connect();
  try {
    expect(await applyDatabaseRoles(client, users)).toEqual({
      created: [privilegesRoleOf(users.api.name), privilegesRoleOf(users.worker.name), users.worker.name],
      revokedRdsIam: [users.api.name],
    });
  } finally {
    client.release();
  }
  asApi = connectDatabase({ ...h.settings.db, user: users.api.name }, h.settings.region);
  asWorker = connectDatabase({ ...h.settings.db, user: users.worker.name }, h.settings.region);
});

afterAll(async () => {
  await asApi?.close();
  await asWorker?.close();
  await admin?.end();
  if (!h) return;
  await h.close();
  // The database is gone with its grants; the roles are the server's.
  const server = new Pool({ host: h.settings.db.writerHost, port: h.settings.db.port, user: h.settings.db.user, database: 'postgres', max: 1 });
  for (const u of [users.api.name, users.worker.name, cloneOf(users.api.name)]) await server.query(`DROP ROLE IF EXISTS ${u}`);
  for (const u of [users.api.name, users.worker.name]) await server.query(`DROP ROLE IF EXISTS ${privilegesRoleOf(u)}`);
  await server.end();
});

test('the API user cannot run DDL or touch what its SQL does not need', async () => {
  const q = (sql: string) => asApi.writer.query(sql);
  await expect(q('CREATE TABLE intruder (id int)')).rejects.toMatchObject(DENIED);
  await expect(q('ALTER TABLE items ADD COLUMN x int')).rejects.toMatchObject({ code: '42501' });
  await expect(q('DROP TABLE outbox')).rejects.toMatchObject(DENIED);
  await expect(q('DELETE FROM jobs')).rejects.toMatchObject(DENIED);
  await expect(q('DELETE FROM items')).rejects.toMatchObject(DENIED);
  await expect(q('UPDATE items SET processed_count = 99')).rejects.toMatchObject(DENIED);
  await expect(q('UPDATE jobs SET cpu_ms = 600000')).rejects.toMatchObject(DENIED);
  await expect(q('SELECT * FROM schema_migrations')).rejects.toMatchObject(DENIED);
  await expect(q('TRUNCATE idempotency_keys')).rejects.toMatchObject(DENIED);
  await expect(q(`GRANT ${privilegesRoleOf(users.worker.name)} TO ${users.api.name}`)).rejects.toMatchObject(DENIED);
});

test('the worker user cannot run DDL, insert or delete, change a job\'s cost, or read the outbox and idempotency keys', async () => {
  const q = (sql: string) => asWorker.writer.query(sql);
  await expect(q('CREATE TABLE intruder (id int)')).rejects.toMatchObject(DENIED);
  await expect(q("INSERT INTO items (name) VALUES ('x')")).rejects.toMatchObject(DENIED);
  await expect(q("INSERT INTO jobs (id, status, cpu_ms, io_ms) VALUES (gen_random_uuid(), 'queued', 1, 1)")).rejects.toMatchObject(DENIED);
  await expect(q('DELETE FROM jobs')).rejects.toMatchObject(DENIED);
  await expect(q('UPDATE jobs SET cpu_ms = 600000')).rejects.toMatchObject(DENIED);
  await expect(q("UPDATE items SET name = 'renamed'")).rejects.toMatchObject(DENIED);
  await expect(q('SELECT * FROM outbox')).rejects.toMatchObject(DENIED);
  await expect(q('SELECT * FROM idempotency_keys')).rejects.toMatchObject(DENIED);
  await expect(q('SELECT * FROM schema_migrations')).rejects.toMatchObject(DENIED);
});

test('every endpoint, the outbox relay, the sweeper and the worker work as their own users', async () => {
  const server: FastifyInstance = buildApi({ db: asApi, cache: h.cache, sqs: h.sqs, settings: h.settings });
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  const relay = new OutboxRelay({ writer: asApi.writer, sqs: h.sqs, queueUrl: h.queueUrl, pollMs: 50, leaseSeconds: 30 });
  const worker = new Worker({ sqs: h.sqs, writer: asWorker.writer, settings: h.settings });
  relay.start();
  worker.start();
  try {
    const call = async (method: string, url: string, body?: object, headers: Record<string, string> = {}) => {
      const res = await fetch(`${base}${url}`, { method, body: body && JSON.stringify(body), headers: body ? { 'content-type': 'application/json', ...headers } : headers });
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    };
    expect((await call('GET', '/readyz')).status).toBe(200);
    const item = await call('POST', '/items', { name: 'widget' }, { 'idempotency-key': 'item-1' });
    expect(item.status).toBe(201);
    expect((await call('POST', '/items', { name: 'widget' }, { 'idempotency-key': 'item-1' })).body).toEqual(item.body);
    expect((await call('GET', `/items/${item.body.id}`)).body).toMatchObject({ name: 'widget', processed_count: 0 });
    // PUT as the API user: an insert that raises items_id_seq (setval: UPDATE on the sequence), then a replace
    // (UPDATE of name, data, updated_at); the next POST is above the PUT's id.
    expect((await call('PUT', '/items/900', { name: 'put' })).status).toBe(201);
    expect((await call('PUT', '/items/900', { name: 'put again' })).status).toBe(200);
    expect(Number((await call('POST', '/items', { name: 'after' })).body.id)).toBeGreaterThan(900);
    const job = await call('POST', '/jobs', { itemId: Number(item.body.id) }, { 'idempotency-key': 'job-1' });
    expect(job.status).toBe(202);
    const jobId = job.body.jobId as string;
    // The relay (API user) sends the outbox row and deletes it; the worker (its user) runs the job.
    await eventually(async () => ((await call('GET', `/jobs/${jobId}`)).body.status === 'done' ? true : undefined), 15_000, 'job done');
    expect((await admin.query('SELECT processed_count FROM items WHERE id = $1', [item.body.id])).rows).toEqual([{ processed_count: 1 }]);
    expect((await admin.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(0);

    // The sweeper (API user): a stuck job is sent again, one sent too often is failed, an expired key deleted.
    const stuck = async (enqueues: number) => (await admin.query<{ id: string }>(
      "INSERT INTO jobs (id, status, cpu_ms, io_ms, enqueues, updated_at) VALUES (gen_random_uuid(), 'running', 1, 1, $1, now() - interval '1 hour') RETURNING id", [enqueues])).rows[0].id;
    const again = await stuck(1);
    const given = await stuck(5);
    await admin.query("INSERT INTO idempotency_keys (key, route, request_hash, status_code, body, expires_at) VALUES ('old', 'POST /items', 'h', 201, '{}', now() - interval '1 second')");
    const swept = await new Sweeper({ writer: asApi.writer, stuckAfterSeconds: 60, maxEnqueues: 3, intervalMs: 60_000 }).sweepOnce();
    expect(swept).toEqual({ requeued: [again], failed: [given] });
    expect((await admin.query("SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'old'")).rows[0].n).toBe(0);
    await eventually(async () => ((await admin.query('SELECT status FROM jobs WHERE id = $1', [again])).rows[0].status === 'done' ? true : undefined), 15_000, 'requeued job done');
  } finally {
    await worker.stop();
    await relay.stop();
    await server.close();
  }
});

test('applying the roles again changes nothing, reaches a clone made by rotation, and takes back a privilege no longer listed', async () => {
  // What the alternating-users rotation does on its first run: a clone that is a member of the user.
  await admin.query(`CREATE ROLE ${cloneOf(users.worker.name)} LOGIN IN ROLE ${users.worker.name}`);
  // A privilege granted outside the list (by hand, or by an older release's list).
  await admin.query(`GRANT DELETE ON jobs TO ${privilegesRoleOf(users.worker.name)}`);
  const client = await admin.connect();
  try {
    expect(await applyDatabaseRoles(client, users)).toEqual({ created: [], revokedRdsIam: [] });
  } finally {
    client.release();
  }
  const privileges = async (user: string) => (await admin.query<{ table_name: string; privilege_type: string }>(
    `SELECT table_name, privilege_type FROM information_schema.table_privileges tp
     WHERE grantee = $1 ORDER BY 1, 2`, [privilegesRoleOf(user)])).rows.map((r) => `${r.table_name}:${r.privilege_type}`);
  expect(await privileges(users.worker.name)).toEqual(['items:SELECT', 'jobs:SELECT', 'shard_ownership:SELECT']);
  expect(Object.keys(SERVICE_PRIVILEGES.worker.tables).sort()).toEqual(['items', 'jobs', 'shard_ownership']);
  const member = await admin.query('SELECT pg_has_role($1, $2, \'USAGE\') AS m', [cloneOf(users.worker.name), privilegesRoleOf(users.worker.name)]);
  expect(member.rows[0].m).toBe(true);
  const clone = connectDatabase({ ...h.settings.db, user: cloneOf(users.worker.name) }, h.settings.region);
  try {
    await expect(clone.writer.query('DELETE FROM jobs')).rejects.toMatchObject(DENIED);
    await expect(clone.writer.query("UPDATE jobs SET status = status WHERE false")).resolves.toBeDefined();
  } finally {
    await clone.close();
  }
});
