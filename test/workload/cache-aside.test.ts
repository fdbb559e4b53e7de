import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApi } from '../../workload/src/app';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { CircuitBreaker, type BreakerState } from '../../workload/src/circuit-breaker';
import { inTransaction } from '../../workload/src/idempotency';
import { invalidateItem, ItemCache, itemKey, jitteredTtl, type VersionedItem } from '../../workload/src/item-cache';
import { createJob } from '../../workload/src/jobs';
import { Metrics } from '../../workload/src/metrics';
import { Worker } from '../../workload/src/worker';
import { createHarness, eventually, serviceEnv, type Harness } from './harness';

// Against the shared PostgreSQL and Redis (scripts/services.sh), each run under its own database and key prefix.
const TTL = 300;
const JITTER_PERCENT = 10;
const NEGATIVE_TTL = 7;

let h: Harness;
let server: FastifyInstance;
let base: string;
const lines: string[] = [];
const metrics = new Metrics({ environment: 'test', service: 'api' }, (l) => lines.push(l), 0);

beforeAll(async () => {
  // A long command timeout: these tests are about what the cache holds, and on a loaded machine a 250 ms one fails
  // a command now and then (the request then goes on without the cache, which cache-faults.test.ts covers).
  h = await createHarness({ env: { CACHE_COMMAND_TIMEOUT_MS: '2000', CACHE_TTL_SECONDS: String(TTL), CACHE_TTL_JITTER_PERCENT: String(JITTER_PERCENT), CACHE_NEGATIVE_TTL_SECONDS: String(NEGATIVE_TTL) } });
  server = buildApi({ db: h.db, cache: h.cache, sqs: h.sqs, settings: h.settings, metrics });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server.close();
  await h.close();
});

const request = async (method: 'GET' | 'POST', url: string, payload?: object) => {
  const res = await fetch(`${base}${url}`, { method, body: payload && JSON.stringify(payload), headers: payload && { 'content-type': 'application/json' } });
  return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: JSON.parse(await res.text()) };
};
const key = (id: string) => itemKey(h.settings.cache.keyPrefix, id);
/** Counts the item SELECTs the pools run from now on (reader and writer are one pool locally). */
function countItemSelects() {
  const seen = { n: 0 };
  const original = h.db.reader.query.bind(h.db.reader) as (...args: unknown[]) => unknown;
  const spy = jest.spyOn(h.db.reader, 'query').mockImplementation(((...args: unknown[]) => {
    if (typeof args[0] === 'string' && /^SELECT .* FROM items WHERE id/.test(args[0])) seen.n++;
    return original(...args);
  }) as never);
  return { get n() { return seen.n; }, restore: () => spy.mockRestore() };
}
const metric = (name: string) => {
  metrics.flush();
  return lines.map((l) => JSON.parse(l)).filter((l) => l[name]).reduce((n, l) => n + l[name].length, 0);
};

test('concurrent misses of one item make one database read and one refill (single-flight), and count as misses then hits', async () => {
  const { body: item } = await request('POST', '/items', { name: 'hot' });
  await h.cache.del(key(item.id));
  const [misses, hits] = [metric('CacheMiss'), metric('CacheHit')];
  const selects = countItemSelects();
  try {
    const answers = await Promise.all(Array.from({ length: 25 }, () => request('GET', `/items/${item.id}`)));
    expect(answers.map((a) => [a.statusCode, a.body])).toEqual(Array(25).fill([200, item]));
    expect(selects.n).toBe(1);
    expect(metric('CacheMiss') - misses + metric('CacheHit') - hits).toBe(25);
    expect(lines.map((l) => JSON.parse(l)).find((l) => l.CacheMiss)?.Route).toBe('GET /items/:id');
  } finally {
    selects.restore();
  }
});

test('TTLs are jittered: entries filled together expire over the last JITTER_PERCENT of the TTL', async () => {
  const ttls: number[] = [];
  for (let i = 0; i < 20; i++) {
    const { body: item } = await request('POST', '/items', { name: `jitter-${i}` });
    ttls.push(await h.cache.ttl(key(item.id)));
  }
  for (const ttl of ttls) {
    expect(ttl).toBeGreaterThanOrEqual(Math.floor(TTL * (1 - JITTER_PERCENT / 100)) - 1);
    expect(ttl).toBeLessThanOrEqual(TTL);
  }
  expect(new Set(ttls).size).toBeGreaterThan(1);
  expect([jitteredTtl(300, 10, () => 0), jitteredTtl(300, 10, () => 0.999), jitteredTtl(1, 50, () => 0.999), jitteredTtl(300, 0, () => 0.5)]).toEqual([300, 270, 1, 300]);
});

test('a 404 is cached for CACHE_NEGATIVE_TTL_SECONDS, answered from the cache, and a POST of that id replaces it', async () => {
  const { body: last } = await request('POST', '/items', { name: 'last' });
  const next = String(Number(last.id) + 1);
  expect((await request('GET', `/items/${next}`)).statusCode).toBe(404);
  const ttl = await h.cache.ttl(key(next));
  expect(ttl).toBeGreaterThan(0);
  expect(ttl).toBeLessThanOrEqual(NEGATIVE_TTL);

  const selects = countItemSelects();
  try {
    const again = await request('GET', `/items/${next}`);
    expect(again.statusCode).toBe(404);
    expect(again.body).toMatchObject({ error: `item ${next} not found` });
    expect(selects.n).toBe(0);
  } finally {
    selects.restore();
  }
  const { body: created } = await request('POST', '/items', { name: 'next' });
  expect(created.id).toBe(next);
  const read = await request('GET', `/items/${next}`);
  expect([read.statusCode, read.headers['x-cache'], read.body]).toEqual([200, 'hit', created]);
});

test('versions stored at once by many writers on four connections leave the newest, whatever the order they arrive in', async () => {
  // The property under test is the ordering, so no command may time out here (on a loaded machine one would):
  // a swap whose reply is lost can drop the newer value it took out, until the TTL (see storeNewest).
  const connections = [0, 1, 2, 3].map(() => new Redis({ host: '127.0.0.1', port: Number(serviceEnv().CACHE_PORT) }));
  const caches = connections.map((c) => new ItemCache(c, { ...h.settings.cache, commandTimeoutMs: 10_000 }));
  try {
    for (let round = 0; round < 10; round++) {
      const id = `race${round}`;
      const versions = Array.from({ length: 40 }, (_, i) => String(1_000_000 + i * 7 + round)).sort(() => Math.random() - 0.5);
      const item = (v: string): VersionedItem => ({ version: v, row: { id, v } });
      await Promise.all(versions.map((v, i) => (i % 3 === 0 ? caches[i % 4].invalidate(id, v) : caches[i % 4].written(id, item(v)))));
      const newest = [...versions].sort().pop()!;
      expect(JSON.parse((await h.cache.get(key(id)))!).v).toBe(newest);
    }
    // An older row stored after a newer one changes nothing; a tombstone of the same version does not hide the row.
    await caches[0].written('order', { version: '20', row: { n: 20 } });
    await caches[1].written('order', { version: '10', row: { n: 10 } });
    await caches[1].invalidate('order', '20');
    expect(JSON.parse((await h.cache.get(key('order')))!)).toEqual({ v: '20', row: { n: 20 } });
    await caches[1].invalidate('order', '21');
    expect(JSON.parse((await h.cache.get(key('order')))!)).toEqual({ v: '21', row: null });
  } finally {
    caches.forEach((c) => c.close());
    connections.forEach((c) => c.disconnect());
  }
});

test('every write path invalidates: an item cached before a job ran is read with the job\'s effect right after it (the worker as main.ts wires it)', async () => {
  const { body: item } = await request('POST', '/items', { name: 'worked on' });
  expect((await request('GET', `/items/${item.id}`)).headers['x-cache']).toBe('hit');
  const jobId = await inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(item.id), cpuMs: 1, ioMs: 1 }));
  await h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: JSON.stringify({ jobId }) }));
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings: h.settings, onItemChanged: (id, version) => invalidateItem(h.cache, h.settings.cache, id, version) });
  worker.start();
  try {
    await eventually(async () => (worker.processed.some((p) => p.jobId === jobId) ? true : undefined), 15_000, 'the job');
  } finally {
    await worker.stop();
  }
  const read = await request('GET', `/items/${item.id}`);
  expect([read.headers['x-cache'], read.body.processed_count]).toEqual(['miss', 1]);
  expect((await request('GET', `/items/${item.id}`)).headers['x-cache']).toBe('hit');
});

test('the circuit breaker: opens after N failures in a row, refuses until its open time has passed, lets one probe through, closes on its success', () => {
  let now = 0;
  const states: BreakerState[] = [];
  const b = new CircuitBreaker({ failureThreshold: 3, openMs: 1000, now: () => now, onStateChange: (s) => states.push(s) });
  b.failure();
  b.failure();
  b.success();
  b.failure();
  b.failure();
  expect(b.state).toBe('closed');
  b.failure();
  expect([b.state, b.allow(), b.msUntilProbe()]).toEqual(['open', false, 1000]);
  now = 999;
  expect(b.allow()).toBe(false);
  now = 1000;
  expect([b.allow(), b.state, b.allow()]).toEqual([true, 'half-open', false]);
  b.failure();
  expect([b.state, b.allow(), b.msUntilProbe()]).toEqual(['open', false, 1000]);
  now = 2000;
  expect(b.allow()).toBe(true);
  b.success();
  expect([b.state, b.allow()]).toEqual(['closed', true]);
  expect(states).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
});
