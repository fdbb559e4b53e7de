import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'crypto';
import { buildApi } from '../../workload/src/app';
import { connectDatabase, type Database } from '../../workload/src/db';
import { Sweeper } from '../../workload/src/sweeper';
import { createHarness, type Harness } from './harness';

// Idempotency-Key on POST /items and POST /jobs, against real PostgreSQL: what a retry gets, and how many
// effects (rows) there are. Two API instances with pools of their own stand for two API tasks.
let h: Harness;
let second: Database;
const servers: FastifyInstance[] = [];
const bases: string[] = [];

beforeAll(async () => {
  h = await createHarness({ env: { IDEMPOTENCY_TTL_SECONDS: '60' } });
  second = connectDatabase(h.settings.db, h.settings.region);
  for (const db of [h.db, second]) {
    const server = buildApi({ db, cache: h.cache, sqs: h.sqs, settings: h.settings });
    bases.push(await server.listen({ port: 0, host: '127.0.0.1' }));
    servers.push(server);
  }
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await second.close();
  await h.close();
});

async function post(url: string, payload: unknown, key?: string, base = bases[0]) {
  const res = await fetch(`${base}${url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key !== undefined && { 'idempotency-key': key }) },
    body: JSON.stringify(payload),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.text() };
}
const count = async (sql: string, params: unknown[] = []) => (await h.db.writer.query<{ n: number }>(sql, params)).rows[0].n;

test('POST /items twice with one key: the same 201 and body, one item', async () => {
  const key = randomUUID();
  const name = `idem-${key}`;
  const first = await post('/items', { name }, key);
  const retry = await post('/items', { name }, key);
  expect(first.status).toBe(201);
  expect(first.replayed).toBeNull();
  expect(retry).toEqual({ ...first, replayed: 'true' });
  expect(await count('SELECT count(*)::int AS n FROM items WHERE name = $1', [name])).toBe(1);
});

test('POST /jobs twice with one key: the same job id, one job, one message in the outbox', async () => {
  const key = randomUUID();
  const itemId = Number(JSON.parse((await post('/items', { name: 'job target' })).body).id);
  const first = await post('/jobs', { itemId }, key);
  const retry = await post('/jobs', { itemId }, key);
  expect(first.status).toBe(202);
  expect(retry).toEqual({ ...first, replayed: 'true' });
  const { jobId } = JSON.parse(first.body);
  expect(await count('SELECT count(*)::int AS n FROM jobs WHERE item_id = $1', [itemId])).toBe(1);
  expect(await count('SELECT count(*)::int AS n FROM outbox WHERE job_id = $1', [jobId])).toBe(1);
});

test('without a key every POST applies (the header is what makes a retry safe)', async () => {
  const name = `no-key-${randomUUID()}`;
  await post('/items', { name });
  await post('/items', { name });
  expect(await count('SELECT count(*)::int AS n FROM items WHERE name = $1', [name])).toBe(2);
});

test('the same key with another body: 422 in the service\'s error shape, nothing applied', async () => {
  const key = randomUUID();
  const name = `first-${key}`;
  await post('/items', { name }, key);
  const other = await post('/items', { name: `other-${key}` }, key);
  expect(other.status).toBe(422);
  expect(JSON.parse(other.body)).toEqual({ statusCode: 422, code: 'unprocessable', error: expect.stringContaining('another request body') });
  expect(await count('SELECT count(*)::int AS n FROM items WHERE name = $1', [`other-${key}`])).toBe(0);
});

test('one key on two routes: two independent requests', async () => {
  const key = randomUUID();
  const item = await post('/items', { name: `shared-${key}` }, key);
  const job = await post('/jobs', {}, key);
  expect([item.status, item.replayed, job.status, job.replayed]).toEqual([201, null, 202, null]);
});

test('20 concurrent requests with one key, spread over two API tasks: one item, every answer the same', async () => {
  const key = randomUUID();
  const name = `race-${key}`;
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => post('/items', { name }, key, bases[i % 2])));
  expect(await count('SELECT count(*)::int AS n FROM items WHERE name = $1', [name])).toBe(1);
  expect(new Set(answers.map((a) => `${a.status} ${a.body}`)).size).toBe(1);
  expect(answers[0].status).toBe(201);
  expect(answers.filter((a) => a.replayed === null)).toHaveLength(1);
});

test('a request that failed stored nothing: its retry with the same key runs again', async () => {
  const key = randomUUID();
  const missing = await post('/jobs', { itemId: 987654321 }, key);
  expect(missing.status).toBe(404);
  expect(await count('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [key])).toBe(0);
});

test('keys expire after IDEMPOTENCY_TTL_SECONDS: then the key is new again; the sweeper deletes expired keys', async () => {
  const key = randomUUID();
  const name = `ttl-${key}`;
  await post('/items', { name }, key);
  expect(await count("SELECT (expires_at - created_at = interval '60 seconds')::int AS n FROM idempotency_keys WHERE key = $1", [key])).toBe(1);
  await h.db.writer.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [key]);
  const again = await post('/items', { name }, key);
  expect([again.status, again.replayed]).toEqual([201, null]);
  expect(await count('SELECT count(*)::int AS n FROM items WHERE name = $1', [name])).toBe(2);

  await h.db.writer.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [key]);
  await new Sweeper({ writer: h.db.writer, stuckAfterSeconds: 3600, maxEnqueues: 3, intervalMs: 60_000 }).sweepOnce();
  expect(await count('SELECT count(*)::int AS n FROM idempotency_keys WHERE key = $1', [key])).toBe(0);
});

test.each([['x'.repeat(256)], ['has space'], ['']])('a malformed key (%j) is a 400', async (key) => {
  const r = await post('/items', { name: 'bad key' }, key);
  expect(r.status).toBe(400);
  expect(JSON.parse(r.body)).toMatchObject({ statusCode: 400, error: expect.stringContaining('idempotency-key') });
});
