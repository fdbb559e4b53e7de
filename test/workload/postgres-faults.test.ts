import type { FastifyInstance } from 'fastify';
import type { PoolClient } from 'pg';
import { buildApi } from '../../workload/src/app';
import { connectDatabase, type Database } from '../../workload/src/db';
import { readSettings } from '../../workload/src/settings';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { createHarness, type Harness } from './harness';

// PostgreSQL faults, as the API meets them: the shared server is never touched. "Stopped" and "not answering"
// are a TCP proxy in front of it that refuses or holds traffic (test/workload/fault-proxy.ts); "a table locked"
// is a real LOCK TABLE from a second connection. Each asserts a 503 with Retry-After where the database is at
// fault (never a 500), an answer within its bound (never a hang), and recovery without a restart.
const BOUND_MS = 4000; // generous: the API's own bounds below are 300-1500 ms
let h: Harness;
let proxy: FaultProxy;
let db: Database;
let server: FastifyInstance;
let base: string;
let itemId: string;

beforeAll(async () => {
  h = await createHarness({ env: { CACHE_TTL_SECONDS: '0' } });
  proxy = await startFaultProxy({ port: Number(h.env.DB_PORT) });
  const settings = readSettings({
    ...h.env, DB_PORT: String(proxy.port), DB_POOL_SIZE: '4', DB_CONNECT_TIMEOUT_MS: '500',
    DB_STATEMENT_TIMEOUT_MS: '1000', DB_LOCK_TIMEOUT_MS: '300', HTTP_HANDLER_TIMEOUT_MS: '3000', HTTP_READYZ_CACHE_MS: '0',
  });
  db = connectDatabase(settings.db, settings.region, { timeouts: settings.db.timeouts });
  server = buildApi({ db, cache: h.cache, sqs: h.sqs, settings });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
  itemId = String((await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('fault') RETURNING id")).rows[0].id);
});
afterAll(async () => {
  proxy.setMode('pass');
  await server.close();
  await db.close();
  await proxy.close();
  await h.close();
});
afterEach(() => proxy.setMode('pass'));

/** One request and how long it took; a hang fails the test at BOUND_MS instead of at jest's timeout. */
async function timed(path: string, init: RequestInit = {}) {
  const start = Date.now();
  const r = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(BOUND_MS) });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json() as Record<string, unknown>, ms: Date.now() - start };
}
const getItem = () => timed(`/items/${itemId}`);
const postItem = () => timed('/items', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"during a fault"}' });

function expectUnavailable(r: Awaited<ReturnType<typeof timed>>) {
  expect(r.status).toBe(503);
  expect(r.retryAfter).toMatch(/^\d+$/);
  expect(r.body).toMatchObject({ statusCode: 503, code: expect.stringMatching(/unavailable|timeout/) });
  expect(r.ms).toBeLessThan(BOUND_MS);
}

test('PostgreSQL stopped (connections refused): 503 + Retry-After at once, /healthz 200, /readyz 503; back to 200 when it returns', async () => {
  expect((await getItem()).status).toBe(200);
  proxy.setMode('refuse');
  expectUnavailable(await getItem());
  expectUnavailable(await postItem());
  expect((await timed('/healthz')).status).toBe(200);
  const ready = await timed('/readyz');
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ code: 'not_ready', details: { writer: false, reader: false, cache: true } });

  proxy.setMode('pass');
  expect((await getItem()).status).toBe(200);
  expect((await postItem()).status).toBe(201);
});

test('PostgreSQL not answering (connections up, no replies): 503 within the bounds, not a hang; recovers', async () => {
  expect((await getItem()).status).toBe(200); // a pooled connection exists: the query is sent and never answered
  proxy.setMode('pause');
  const [read, write] = await Promise.all([getItem(), postItem()]);
  expectUnavailable(read);
  expectUnavailable(write);
  proxy.setMode('pass');
  expect((await getItem()).status).toBe(200);
});

describe('a table locked by another session', () => {
  let locker: PoolClient;
  beforeEach(async () => {
    locker = await h.db.writer.connect();
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  });
  afterEach(async () => {
    await locker.query('ROLLBACK').catch(() => undefined);
    locker.release();
  });

  test('requests on it fail fast (lock_timeout: 503), the pool is not drained: /readyz and other tables still answer', async () => {
    // More requests at once than the pool has connections (4): without lock_timeout they would all wait.
    const onLocked = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? postItem() : getItem())));
    for (const r of onLocked) expectUnavailable(r);
    const ready = await timed('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.ms).toBeLessThan(1000);
    expect((await timed('/jobs/00000000-0000-4000-8000-000000000000')).status).toBe(404);

    await locker.query('ROLLBACK');
    expect((await getItem()).status).toBe(200);
  });
});
