import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { buildApi } from '../../workload/src/app';
import { connectCache } from '../../workload/src/cache';
import { ITEM_SELECT_SQL, ITEM_TOUCH_SQL, ItemCache, itemKey, versioned } from '../../workload/src/item-cache';
import { Metrics } from '../../workload/src/metrics';
import type { Settings } from '../../workload/src/settings';
import { startFaultProxy, type FaultProxy } from './fault-proxy';
import { createHarness, eventually, serviceEnv, type Harness } from './harness';

// The cache's faults, made by a TCP proxy in front of the shared Redis (never the server itself): `refuse` is a
// stopped Redis (connections reset), `pause` a hung one (the connection stays up, nothing answers). The API and
// its client go through the proxy; `admin` looks at the real server directly.
/** Short, so that the faults cost little time; long enough that a loaded machine does not time out a healthy Redis. */
const COMMAND_TIMEOUT_MS = 500;
const BREAKER_FAILURES = 3;
/** Generous bound for "did not hang": several command timeouts, far below the 15 s (or forever) of before. */
const NO_HANG_MS = 3000;

let proxy: FaultProxy;
let h: Harness;
let admin: Redis;

beforeAll(async () => {
  proxy = await startFaultProxy({ port: Number(serviceEnv().CACHE_PORT) });
  h = await createHarness({
    env: { CACHE_PORT: String(proxy.port), CACHE_COMMAND_TIMEOUT_MS: String(COMMAND_TIMEOUT_MS), CACHE_BREAKER_FAILURES: String(BREAKER_FAILURES), CACHE_BREAKER_OPEN_MS: '300' },
  });
  admin = new Redis({ host: '127.0.0.1', port: Number(serviceEnv().CACHE_PORT) });
  // Connected (through the proxy) before the first test: waited for as the event, not with a command. A
  // command sent now waits in the offline queue for the connection, and its 500-ms timeout runs from the
  // moment it was sent: on a busy machine the connection (TCP, the proxy on this same event loop, the ready
  // check) took longer, and "Command timed out" in this hook failed all four tests.
  if (h.cache.status !== 'ready') await new Promise((resolve) => h.cache.once('ready', resolve));
});
afterEach(() => proxy.setMode('pass'));
// After a fault the client reconnects on its own (ioredis backs off up to 2 s): each test starts connected.
beforeEach(async () => {
  if (h.cache.status !== 'ready') await new Promise((resolve) => h.cache.once('ready', resolve));
});
afterAll(async () => {
  admin.disconnect();
  await h.close();
  await proxy.close();
});

const json = (r: { body: string }) => JSON.parse(r.body);

/** An API on its own port (real HTTP over loopback), with its cache settings changed by `cache`, and its metrics. */
async function startApi(cache: Partial<Settings['cache']> = {}) {
  const lines: string[] = [];
  const metrics = new Metrics({ environment: 'test', service: 'api' }, (l) => lines.push(l), 0);
  const server: FastifyInstance = buildApi({ db: h.db, cache: h.cache, sqs: h.sqs, settings: { ...h.settings, cache: { ...h.settings.cache, ...cache } }, metrics });
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  const request = async (method: 'GET' | 'POST', url: string, payload?: object) => {
    const started = Date.now();
    const res = await fetch(`${base}${url}`, { method, body: payload && JSON.stringify(payload), headers: payload && { 'content-type': 'application/json' } });
    return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: await res.text(), ms: Date.now() - started };
  };
  /** How many values of `name` the API has recorded. */
  const count = (name: string) => {
    metrics.flush();
    return lines.map((l) => JSON.parse(l)).filter((l) => l[name]).reduce((n, l) => n + l[name].length, 0);
  };
  return { request, count, close: () => server.close() };
}

test('Redis stopped: item reads answer 200 from the database, every POST commits once and answers 201, nothing waits, the breaker then skips the cache', async () => {
  // A long open period, so that "skipped" below is not a probe that happened to fall in the test.
  const api = await startApi({ breakerOpenMs: 60_000 });
  try {
    const cached = json(await api.request('POST', '/items', { name: 'cached' }));
    expect((await api.request('GET', `/items/${cached.id}`)).headers['x-cache']).toBe('hit');
    const uncached = json(await api.request('POST', '/items', { name: 'uncached' }));
    await admin.del(itemKey(h.settings.cache.keyPrefix, uncached.id));

    const dropped = new Promise((resolve) => h.cache.once('close', resolve));
    proxy.setMode('refuse');
    await dropped;
    // The client itself: a command while disconnected fails at once instead of waiting in the offline queue.
    const started = Date.now();
    await expect(h.cache.get(itemKey(h.settings.cache.keyPrefix, cached.id))).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(NO_HANG_MS);

    const burst = await Promise.all([
      ...Array.from({ length: 10 }, () => api.request('GET', `/items/${cached.id}`)),
      ...Array.from({ length: 10 }, () => api.request('GET', `/items/${uncached.id}`)),
      ...Array.from({ length: 10 }, (_, i) => api.request('POST', '/items', { name: `outage-${i}` })),
    ]);
    expect(burst.map((r) => r.statusCode)).toEqual([...Array(20).fill(200), ...Array(10).fill(201)]);
    expect(burst.slice(0, 10).map(json)).toEqual(Array(10).fill(cached));
    expect(Math.max(...burst.map((r) => r.ms))).toBeLessThan(NO_HANG_MS);
    // Each 201 is one row, and each row had its 201: nothing a client would retry, nothing doubled.
    const created = burst.slice(20).map((r) => json(r).id).sort();
    const { rows } = await h.db.writer.query("SELECT id FROM items WHERE name LIKE 'outage-%' ORDER BY id");
    expect(rows.map((r) => r.id).sort()).toEqual(created);

    // The breaker is open: the requests that follow skip the cache (a miss, no cache error, no wait).
    const errors = api.count('CacheError');
    expect(errors).toBeGreaterThanOrEqual(BREAKER_FAILURES);
    const misses = api.count('CacheMiss');
    for (let i = 0; i < 5; i++) expect((await api.request('GET', `/items/${cached.id}`)).statusCode).toBe(200);
    expect(api.count('CacheError')).toBe(errors);
    expect(api.count('CacheMiss')).toBe(misses + 5);
  } finally {
    await api.close();
  }
});

test('Redis paused: item requests answer within their bound, the breaker opens, then a probe finds it back and reads are hits again', async () => {
  const api = await startApi();
  try {
    const item = json(await api.request('POST', '/items', { name: 'paused' }));
    expect((await api.request('GET', `/items/${item.id}`)).headers['x-cache']).toBe('hit');

    proxy.setMode('pause');
    const started = Date.now();
    await expect(h.cache.get(itemKey(h.settings.cache.keyPrefix, item.id))).rejects.toThrow(/timed? ?out/i);
    expect(Date.now() - started).toBeLessThan(NO_HANG_MS);
    for (let i = 0; i < BREAKER_FAILURES + 2; i++) {
      const r = await api.request('GET', `/items/${item.id}`);
      expect([r.statusCode, r.headers['x-cache'], json(r)]).toEqual([200, 'miss', item]);
      expect(r.ms).toBeLessThan(NO_HANG_MS);
    }
    const posted = await api.request('POST', '/items', { name: 'posted while paused' });
    expect(posted.statusCode).toBe(201);
    expect(posted.ms).toBeLessThan(NO_HANG_MS);
    expect(api.count('CacheError')).toBeGreaterThanOrEqual(BREAKER_FAILURES);

    proxy.setMode('pass');
    await eventually(async () => ((await api.request('GET', `/items/${item.id}`)).headers['x-cache'] === 'hit' ? true : undefined), 10_000, 'a cache hit after the pause');
  } finally {
    await api.close();
  }
});

test('an invalidation the cache did not take is kept and made once the cache answers again', async () => {
  const api = await startApi();
  const items = new ItemCache(h.cache, { ...h.settings.cache, breakerOpenMs: 100 });
  try {
    const item = json(await api.request('POST', '/items', { name: 'before' }));
    const key = itemKey(h.settings.cache.keyPrefix, item.id);
    const { rows } = await h.db.writer.query(`UPDATE items SET name = 'after', ${ITEM_TOUCH_SQL} WHERE id = $1 RETURNING ${ITEM_SELECT_SQL}`, [item.id]);

    const dropped = new Promise((resolve) => h.cache.once('close', resolve));
    proxy.setMode('refuse');
    await dropped;
    await items.invalidate(item.id, versioned(rows[0]).version);
    expect(items.pendingInvalidations).toBe(1);
    // The server never got it (refused, not delayed): it still holds the old row.
    expect(JSON.parse((await admin.get(key))!).row.name).toBe('before');

    proxy.setMode('pass');
    await eventually(async () => (items.pendingInvalidations === 0 ? true : undefined), 10_000, 'the pending invalidation to be made');
    expect(JSON.parse((await admin.get(key))!)).toEqual({ v: versioned(rows[0]).version, row: null });
    expect(json(await api.request('GET', `/items/${item.id}`)).name).toBe('after');
  } finally {
    items.close();
    await api.close();
  }
});

test('a client whose server is down has an error listener (ioredis would print "Unhandled error event" without one) that logs one line, not one per attempt', async () => {
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  // A proxy of its own, so that the log lines counted are this client's.
  const down = await startFaultProxy({ port: Number(serviceEnv().CACHE_PORT) });
  down.setMode('refuse');
  const client = connectCache({ ...h.settings.cache, port: down.port });
  try {
    expect(client.listenerCount('error')).toBeGreaterThan(0);
    let attempts = 0;
    await new Promise<void>((resolve) => client.on('reconnecting', () => { if (++attempts === 3) resolve(); }));
    expect(stderr.mock.calls.filter(([line]) => String(line).includes('"event":"cache_connection_error"'))).toHaveLength(1);
  } finally {
    client.disconnect();
    await down.close();
    stderr.mockRestore();
  }
});
