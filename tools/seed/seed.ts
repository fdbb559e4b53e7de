/**
 * Seeding: the items the load test's request mix reads (`GET /items/{{rand:N}}`), so that the reads measure
 * cache hits and misses rather than 404s. Items are created through the API, never the database: what is
 * seeded is what the API would hold, on a laptop or on a deployed stack.
 *
 * Each id i of 1…N is created with `PUT /items/{i}` (the id is the client's), so ids 1…N exist in every
 * sharding mode: with `database.sharding.mode: clusters` the ids POST allocates are sparse (sequence × logical
 * shards + shard, lib/contracts/sharding.ts itemIdOf) and would never be 1…N, while any id routes (its
 * logical shard is id mod L). The API raises its id sequence above a PUT's id, so later POSTs do not collide.
 * Each PUT carries `If-None-Match: *`: an id that exists answers 412 and is left as it is (an item someone
 * wrote is never overwritten). That makes every request safe to retry: a PUT whose reply was lost, retried,
 * finds the row its first attempt wrote (412), and cannot create a second item, since the id is the request's.
 *
 * Resumable and idempotent: ids are written in ascending batches of SEED_BATCH, each finished before the next
 * starts, so a run stopped half-way leaves every batch below the one it was in complete. The next run finds
 * the highest id that holds a seeded item (a binary search of GETs; items of other origin do not count) and
 * starts again at the beginning of its batch: a second run with the same N sends at most SEED_BATCH PUTs, all
 * answered 412, and creates nothing.
 */

export interface SeedOptions {
  /** Base URL of the API (`http://127.0.0.1:8080`, `https://…elb.amazonaws.com`). */
  readonly target: string;
  /** Ids 1…items must exist. */
  readonly items: number;
  /** Requests in flight at most. */
  readonly concurrency: number;
  readonly timeoutMs: number;
  /** Ids of 1…items read back at the end. */
  readonly verify: number;
  /**
   * A sampled id that does not answer is read again after this long (ms): reads go to the readers, which may
   * lag the writer by the replica lag (usually under 100 ms on Aurora:
   * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Replication.html; a lagging replica is
   * reproduced for the API in test/workload/replica-lag.test.ts, not for the seed). @default 1000
   */
  readonly recheckMs?: number;
  readonly log?: (line: string) => void;
}

export interface SeedResult {
  readonly target: string;
  readonly items: number;
  /** The highest id that held a seeded item before seeding (ids below its batch were all seeded). */
  readonly found: number;
  /** Items this run created (PUT answered 201). */
  readonly created: number;
  /** PUTs answered 412: the id existed already (written before, or by this PUT's own attempt whose reply was lost). */
  readonly existed: number;
  /** Sampled ids that answered 200, of those sampled. */
  readonly verified: { readonly sampled: number; readonly found: number; readonly missing: readonly number[] };
}

/** Ids written per batch: a batch is finished before the next starts (what makes a stopped run resumable). */
export const SEED_BATCH = 256;
/** A request that fails (a network error, a 5xx, a 429) is tried this many times. */
export const ATTEMPTS = 3;
/** The API refuses more than this in one run: a mistyped --items should not write a million rows. */
export const MAX_ITEMS = 1_000_000;

export class SeedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SeedError';
  }
}

/** The longest Retry-After the seed honours (s): a larger one is a server asking for more than a seed should wait. */
export const MAX_RETRY_AFTER_SECONDS = 30;

/**
 * How long to wait before attempt `attempt + 1`: the server's Retry-After where it sent one (the reference API
 * sends it with every 503 and 429: workload/src/http.ts), in seconds or as an HTTP date (RFC 9110 §10.2.3),
 * at most MAX_RETRY_AFTER_SECONDS; otherwise a short back-off (a connection reset, a 5xx without it).
 */
export function retryDelayMs(attempt: number, retryAfter: string | null, now = Date.now()): number {
  const backoff = 200 * attempt;
  if (!retryAfter) return backoff;
  const seconds = /^\d+$/.test(retryAfter.trim()) ? Number(retryAfter) : (Date.parse(retryAfter) - now) / 1000;
  if (!Number.isFinite(seconds)) return backoff;
  return Math.max(backoff, Math.min(seconds, MAX_RETRY_AFTER_SECONDS) * 1000);
}

async function request(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  let last: unknown;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let retryAfter: string | null = null;
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
      if (res.status < 500 && res.status !== 429) return res;
      retryAfter = res.headers.get('retry-after');
      last = new Error(`HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    } catch (e) {
      last = e;
    }
    if (attempt < ATTEMPTS) await new Promise((r) => setTimeout(r, retryDelayMs(attempt, retryAfter)));
  }
  const why = last instanceof Error ? `${last.name === 'TimeoutError' ? 'timed out' : last.message}${(last as { cause?: Error }).cause ? ` (${(last as { cause?: Error }).cause!.message})` : ''}` : String(last);
  throw new SeedError(`${init.method ?? 'GET'} ${url}: ${why} after ${ATTEMPTS} attempts`);
}

/** What GET /items/{id} answers: no item (404), the item the seed writes for it, or another. */
async function probe(target: string, id: number, timeoutMs: number): Promise<'absent' | 'seeded' | 'other'> {
  const res = await request(`${target}/items/${id}`, { method: 'GET' }, timeoutMs);
  const text = await res.text();
  if (res.status === 404) return 'absent';
  if (res.status !== 200) throw new SeedError(`GET ${target}/items/${id}: HTTP ${res.status}`);
  return (JSON.parse(text) as { name?: unknown }).name === seedName(id) ? 'seeded' : 'other';
}

const seedName = (id: number) => `seed-${id}`;

/**
 * The highest id in 1…n that holds a seeded item, 0 when none does: a binary search, right because the seed
 * writes ids in ascending batches (one seeded id means every batch below its own is complete).
 */
export async function highestSeeded(target: string, n: number, timeoutMs: number): Promise<number> {
  const seeded = async (id: number) => (await probe(target, id, timeoutMs)) === 'seeded';
  if (await seeded(n)) return n;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (await seeded(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once; the first error stops the rest. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: unknown;
  const runners = Array.from({ length: Math.min(concurrency, count) }, async () => {
    while (failed === undefined && next < count) {
      const i = next++;
      try {
        await work(i);
      } catch (e) {
        failed ??= e;
      }
    }
  });
  await Promise.all(runners);
  if (failed !== undefined) throw failed;
}

export async function seed(o: SeedOptions): Promise<SeedResult> {
  const log = o.log ?? (() => undefined);
  const target = o.target.replace(/\/+$/, '');
  const found = await highestSeeded(target, o.items, o.timeoutMs);
  // A stopped run may have left holes in the batch of the highest seeded id (even when that id is N: the batch's
  // other requests go on while a failing one is retried), never below it: that batch is written again.
  const start = found === 0 ? 1 : Math.floor((found - 1) / SEED_BATCH) * SEED_BATCH + 1;
  log(`${target}: items 1…${found} seeded; writing ids ${start}…${o.items}`);
  let created = 0;
  let existed = 0;
  for (let from = start; from <= o.items; from += SEED_BATCH) {
    const count = Math.min(SEED_BATCH, o.items - from + 1);
    await pool(count, o.concurrency, async (i) => {
      const id = from + i;
      const res = await request(`${target}/items/${id}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'if-none-match': '*' },
        body: JSON.stringify({ name: seedName(id), data: { source: 'seed', index: id } }),
      }, o.timeoutMs);
      const text = await res.text();
      if (res.status === 201) created++;
      else if (res.status === 412) existed++;
      else throw new SeedError(`PUT ${target}/items/${id}: HTTP ${res.status} ${text.slice(0, 200)}`);
    });
  }
  log(`ids ${start}…${o.items}: ${created} created, ${existed} existed already`);
  const sample = sampleIds(o.items, o.verify);
  const check = async (ids: readonly number[]) => {
    const miss: number[] = [];
    await pool(ids.length, o.concurrency, async (i) => {
      if ((await probe(target, ids[i], o.timeoutMs)) === 'absent') miss.push(ids[i]);
    });
    return miss;
  };
  let missing = await check(sample);
  if (missing.length > 0) {
    await new Promise((r) => setTimeout(r, o.recheckMs ?? 1000));
    missing = await check(missing);
  }
  missing.sort((a, b) => a - b);
  return { target, items: o.items, found, created, existed, verified: { sampled: sample.length, found: sample.length - missing.length, missing } };
}

/** Up to `k` distinct ids of 1…n, spread over the range (the first, the last, and evenly between). */
export function sampleIds(n: number, k: number): number[] {
  if (k <= 0) return [];
  if (k >= n) return Array.from({ length: n }, (_, i) => i + 1);
  const ids = new Set<number>();
  for (let i = 0; i < k; i++) ids.add(1 + Math.round((i * (n - 1)) / Math.max(1, k - 1)));
  return [...ids];
}

/** The N of the request mix's `/items/{{rand:N}}` reads: what the load test expects to exist. */
export function itemsReadByMix(mix: ReadonlyArray<{ readonly method: string; readonly path: string }>): number | undefined {
  const ns = mix.filter((m) => m.method === 'GET').flatMap((m) => [...m.path.matchAll(/^\/items\/\{\{rand:(\d+)\}\}/g)].map((x) => Number(x[1])));
  return ns.length > 0 ? Math.max(...ns) : undefined;
}
