import type { FastifyInstance } from 'fastify';
import type { PoolClient } from 'pg';
import { buildApi } from '../../workload/src/app';
import { RateLimiter } from '../../workload/src/limits';
import { Metrics } from '../../workload/src/metrics';
import { readSettings } from '../../workload/src/settings';
import { createHarness, type Harness } from './harness';

// Load shedding and the per-client rate limit, on the real API over loopback (requests held in flight by a
// real table lock in the local PostgreSQL).
let h: Harness;
const servers: FastifyInstance[] = [];

beforeAll(async () => {
  h = await createHarness({ env: { CACHE_TTL_SECONDS: '0' } });
});
afterAll(async () => {
  for (const s of servers) await s.close();
  await h.close();
});

async function start(env: Record<string, string>, metrics?: Metrics): Promise<string> {
  const server = buildApi({ db: h.db, cache: h.cache, sqs: h.sqs, settings: readSettings({ ...h.env, ...env }), metrics });
  servers.push(server);
  return server.listen({ port: 0, host: '127.0.0.1' });
}

const get = async (url: string, headers: Record<string, string> = {}) => {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json() as Record<string, unknown> };
};

test('beyond HTTP_MAX_IN_FLIGHT a request gets 503 + Retry-After at once (LoadShed), /healthz is never shed', async () => {
  const lines: string[] = [];
  const metrics = new Metrics({ environment: 'test', service: 'api' }, (l) => lines.push(l), 0);
  const base = await start({ HTTP_MAX_IN_FLIGHT: '2', HTTP_RETRY_AFTER_SECONDS: '2' }, metrics);
  // Two items: concurrent reads of one item share one database read (single-flight in the item cache).
  const { rows } = await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('held'), ('held too') RETURNING id");
  const locker: PoolClient = await h.db.writer.connect();
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE items IN ACCESS EXCLUSIVE MODE');
  // Two requests wait on the lock (the harness's pools carry no lock_timeout): the process is at its cap.
  const held = [get(`${base}/items/${rows[0].id}`), get(`${base}/items/${rows[1].id}`)];
  await new Promise<void>((resolve, reject) => {
    const poll = async () => {
      const { rows: waiting } = await h.db.writer.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()");
      if (waiting[0].n >= 2) resolve();
      else setTimeout(() => poll().catch(reject), 20);
    };
    poll().catch(reject);
  });
  try {
    const shed = await get(`${base}/items/${rows[0].id}`);
    expect(shed).toEqual({ status: 503, retryAfter: '2', body: { statusCode: 503, code: 'overloaded', error: 'the service is busy, try again' } });
    expect((await get(`${base}/healthz`)).status).toBe(200);
  } finally {
    await locker.query('ROLLBACK');
    locker.release();
  }
  expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200]);
  expect((await get(`${base}/items/${rows[0].id}`)).status).toBe(200);
  metrics.flush();
  const shedLines = lines.map((l) => JSON.parse(l)).filter((d) => d.LoadShed !== undefined);
  expect(shedLines.flatMap((d) => d.LoadShed)).toEqual([1]);
});

describe('rate limit per client', () => {
  test('off by default', async () => {
    const base = await start({});
    const statuses = await Promise.all(Array.from({ length: 30 }, () => get(`${base}/readyz`).then((r) => r.status)));
    expect(statuses.every((s) => s === 200)).toBe(true);
  });

  test('X-Forwarded-For from an untrusted peer is ignored: a client cannot get a new bucket by inventing one', async () => {
    const base = await start({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2' });
    expect((await get(`${base}/readyz`, { 'x-forwarded-for': '203.0.113.1' })).status).toBe(200);
    expect((await get(`${base}/readyz`, { 'x-forwarded-for': '203.0.113.2' })).status).toBe(200);
    const limited = await get(`${base}/readyz`, { 'x-forwarded-for': '203.0.113.3' });
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ statusCode: 429, code: 'rate_limited', error: 'too many requests from this client, slow down' });
    expect(Number(limited.retryAfter)).toBeGreaterThanOrEqual(1);
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });

  test('from the load balancer (a trusted peer) only the right-most X-Forwarded-For entry, the one the ALB appended, names the client', async () => {
    const base = await start({ RATE_LIMIT_PER_SECOND: '1', RATE_LIMIT_BURST: '2', RATE_LIMIT_TRUSTED_PROXIES: '127.0.0.0/8, ::1/128' });
    const as = (xff: string) => get(`${base}/readyz`, { 'x-forwarded-for': xff }).then((r) => r.status);
    expect(await as('198.51.100.7')).toBe(200);
    expect(await as('198.51.100.7')).toBe(200);
    expect(await as('198.51.100.7')).toBe(429);
    // Entries the client wrote itself, left of the ALB's, change nothing.
    expect(await as('10.9.9.9, 198.51.100.7')).toBe(429);
    // Another client (another right-most address) has its own bucket.
    expect(await as('198.51.100.7, 198.51.100.8')).toBe(200);
  });
});

test('RateLimiter: refills at its rate, keeps at most maxClients buckets (least recently seen go first)', () => {
  let now = 0;
  const limiter = new RateLimiter({ perSecond: 2, burst: 2, maxClients: 100 }, () => now);
  expect([limiter.take('a'), limiter.take('a')]).toEqual([0, 0]);
  expect(limiter.take('a')).toBeCloseTo(0.5);
  now += 500;
  expect(limiter.take('a')).toBe(0);
  for (let i = 0; i < 1000; i++) limiter.take(`client-${i}`);
  expect(limiter.size).toBe(100);
  expect(limiter.take('a')).toBe(0); // forgotten, so a full bucket again: memory is bounded, not the limit exact
});
