import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../workload/src/app';
import { MIGRATIONS, migrate } from '../../workload/src/migrations';
import { createHarness, type Harness } from './harness';

// Against real PostgreSQL, Redis and an SQS endpoint on 127.0.0.1 (scripts/services.sh), not mocks.
let h: Harness;
let server: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await createHarness();
  server = buildApi({ db: h.db, cache: h.cache, sqs: h.sqs, settings: h.settings });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server.close();
  await h.close();
});

/** A real HTTP request over loopback. */
const api = {
  async inject(req: { method: 'GET' | 'POST'; url: string; payload?: object | string; headers?: Record<string, string> }) {
    const body = req.payload === undefined ? undefined : typeof req.payload === 'string' ? req.payload : JSON.stringify(req.payload);
    const res = await fetch(`${base}${req.url}`, {
      method: req.method,
      body,
      headers: body === undefined ? req.headers : { 'content-type': 'application/json', ...req.headers },
    });
    return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
  },
};
const json = (r: { body: string }) => JSON.parse(r.body);

test('GET /healthz answers without touching a dependency', async () => {
  const r = await api.inject({ method: 'GET', url: '/healthz' });
  expect(r.statusCode).toBe(200);
  expect(json(r)).toEqual({ status: 'ok' });
});

test('GET /readyz checks the writer, the reader and the cache', async () => {
  const r = await api.inject({ method: 'GET', url: '/readyz' });
  expect(r.statusCode).toBe(200);
  expect(json(r)).toEqual({ writer: true, reader: true, cache: true });
});

test('an item round-trips through the cache: a miss fills it, the next read is a hit', async () => {
  const created = await api.inject({ method: 'POST', url: '/items', payload: { name: 'widget', data: { colour: 'blue' } } });
  expect(created.statusCode).toBe(201);
  const { id } = json(created);
  // POST writes the committed row through (test/workload/cache-consistency.test.ts); start from a miss here.
  await h.cache.del(`${h.settings.cache.keyPrefix}item:${id}`);

  const first = await api.inject({ method: 'GET', url: `/items/${id}` });
  expect(first.statusCode).toBe(200);
  expect(first.headers['x-cache']).toBe('miss');
  expect(json(first)).toMatchObject({ id: String(id), name: 'widget', data: { colour: 'blue' }, processed_count: 0 });
  const ttl = await h.cache.ttl(`${h.settings.cache.keyPrefix}item:${id}`);
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(h.settings.cache.ttlSeconds);

  const second = await api.inject({ method: 'GET', url: `/items/${id}` });
  expect(second.headers['x-cache']).toBe('hit');
  expect(json(second)).toEqual(json(first));
});

test('a cache hit does not go to the database', async () => {
  const { id } = json(await api.inject({ method: 'POST', url: '/items', payload: { name: 'cached' } }));
  await api.inject({ method: 'GET', url: `/items/${id}` });
  await h.db.writer.query('UPDATE items SET name = $1 WHERE id = $2', ['changed underneath', id]);
  expect(json(await api.inject({ method: 'GET', url: `/items/${id}` })).name).toBe('cached');
});

test('POST /jobs records the job and its message (the outbox relay sends it); GET /jobs/:id reports it', async () => {
  const r = await api.inject({ method: 'POST', url: '/jobs', payload: {} });
  expect(r.statusCode).toBe(202);
  const { jobId } = json(r);
  expect(jobId).toMatch(/^[0-9a-f-]{36}$/);
  const status = await api.inject({ method: 'GET', url: `/jobs/${jobId}` });
  expect(json(status)).toMatchObject({ id: jobId, status: 'queued', attempts: 0 });
  // Nothing reaches SQS from the request (tested with faults in jobs-outbox.test.ts).
  expect((await h.db.writer.query('SELECT body FROM outbox WHERE job_id = $1', [jobId])).rows).toEqual([{ body: JSON.stringify({ jobId }) }]);
  expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });
});

test.each([
  ['GET', '/items/abc', undefined, 400],
  ['GET', '/items/0', undefined, 400],
  ['GET', '/items/-3', undefined, 400],
  ['GET', '/items/99999999', undefined, 404],
  ['POST', '/items', {}, 400],
  ['POST', '/items', { name: '' }, 400],
  ['POST', '/items', { name: 'x', extra: 1 }, 400],
  ['POST', '/items', { name: 'x'.repeat(201) }, 400],
  ['POST', '/jobs', { cpuMs: -1 }, 400],
  ['POST', '/jobs', { ioMs: 'slow' }, 400],
  ['POST', '/jobs', { itemId: 99999999 }, 404],
  ['GET', '/jobs/not-a-uuid', undefined, 400],
  ['GET', '/jobs/00000000-0000-4000-8000-000000000000', undefined, 404],
  ['GET', '/nowhere', undefined, 404],
])('%s %s %j → %i with a JSON error, never a 500', async (method, url, payload, status) => {
  const r = await api.inject({ method: method as 'GET' | 'POST', url, payload: payload as object | undefined });
  expect(r.statusCode).toBe(status);
  expect(json(r)).toEqual(expect.objectContaining({ error: expect.any(String) }));
});

test('malformed JSON is a 400, not a 500', async () => {
  const r = await api.inject({ method: 'POST', url: '/items', payload: '{"name":', headers: { 'content-type': 'application/json' } });
  expect(r.statusCode).toBe(400);
  expect(json(r).error).toEqual(expect.any(String));
});

test('migrations run once however many tasks start together', async () => {
  const results = await Promise.all(Array.from({ length: 6 }, () => migrate(h.db.writer)));
  // the harness already migrated this database: nobody applies anything again, nobody fails
  expect(results.flat()).toEqual([]);
  const { rows } = await h.db.writer.query('SELECT id FROM schema_migrations ORDER BY id');
  expect(rows).toEqual(MIGRATIONS.map((m) => ({ id: m.id })));
});
