/**
 * Seeding: the items the load test's request mix reads (`GET /items/{{rand:N}}`), so that the reads measure
 * cache hits and misses rather than 404s. Items are created through the API (POST /items), never the database:
 * what is seeded is what the API would hold, on a laptop or on a deployed stack.
 *
 * The reference API gives items serial ids (workload/src/routes/items.ts), so "ids 1…N exist" is "the highest
 * id reached N". Seeding finds the highest id that answers (a binary search of GETs), creates the difference,
 * and repeats until N answers: a second run finds N and creates nothing (idempotent), a run stopped half-way
 * goes on from what it finds (resumable). Each POST carries an Idempotency-Key made of where its pass started
 * and its index, so a retried request (a timeout whose insert did commit) does not create a second item.
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
  /** The highest id that answered before seeding. */
  readonly found: number;
  /** Items this run created. */
  readonly created: number;
  /** POSTs answered as replays of an earlier one (Idempotency-Key). */
  readonly replayed: number;
  /** Sampled ids that answered 200, of those sampled. */
  readonly verified: { readonly sampled: number; readonly found: number; readonly missing: readonly number[] };
}

/** At most this many passes of create-then-look: each makes up for ids a failed insert left out. */
export const MAX_PASSES = 5;
/** A request that fails (a network error, a 5xx, a 429) is tried this many times, with the same key. */
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

/** Whether item `id` answers 200 (404: no; anything else is an error). */
async function exists(target: string, id: number, timeoutMs: number): Promise<boolean> {
  const res = await request(`${target}/items/${id}`, { method: 'GET' }, timeoutMs);
  await res.arrayBuffer();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw new SeedError(`GET ${target}/items/${id}: HTTP ${res.status}`);
}

/** The highest id in 1…n that answers, assuming ids below an existing one exist (serial ids): a binary search. */
export async function highestExisting(target: string, n: number, timeoutMs: number): Promise<number> {
  let lo = 0;
  let hi = n;
  if (await exists(target, n, timeoutMs)) return n;
  hi = n - 1;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (await exists(target, mid, timeoutMs)) lo = mid;
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
  const found = await highestExisting(target, o.items, o.timeoutMs);
  log(`${target}: items 1…${found} answer${found === o.items ? ': nothing to create' : `; creating up to ${o.items}`}`);
  let have = found;
  let created = 0;
  let replayed = 0;
  for (let pass = 1; have < o.items; pass++) {
    if (pass > MAX_PASSES) {
      throw new SeedError(`after ${MAX_PASSES} passes ids only answer up to ${have} of ${o.items}: the API's ids are not serial from 1 (were items deleted, or is this another API?).`);
    }
    const from = have;
    const count = o.items - from;
    let maxId = from;
    await pool(count, o.concurrency, async (i) => {
      const index = from + i + 1;
      const res = await request(`${target}/items`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `seed-${from}-${index}` },
        body: JSON.stringify({ name: `seed-${index}`, data: { source: 'seed', index } }),
      }, o.timeoutMs);
      const text = await res.text();
      if (res.status !== 201 && res.status !== 200) throw new SeedError(`POST ${target}/items: HTTP ${res.status} ${text.slice(0, 200)}`);
      if (res.headers.get('idempotent-replayed') === 'true') replayed++;
      else created++;
      const id = Number((JSON.parse(text) as { id: unknown }).id);
      if (Number.isFinite(id)) maxId = Math.max(maxId, id);
    });
    // Ids a failed insert skipped leave holes: look again from what the API answers now.
    have = maxId >= o.items ? o.items : await highestExisting(target, o.items, o.timeoutMs);
    log(`pass ${pass}: ${count} POSTs, ids answer up to ${have}`);
  }
  const sample = sampleIds(o.items, o.verify);
  const check = async (ids: readonly number[]) => {
    const miss: number[] = [];
    await pool(ids.length, o.concurrency, async (i) => {
      if (!(await exists(target, ids[i], o.timeoutMs))) miss.push(ids[i]);
    });
    return miss;
  };
  let missing = await check(sample);
  if (missing.length > 0) {
    await new Promise((r) => setTimeout(r, o.recheckMs ?? 1000));
    missing = await check(missing);
  }
  missing.sort((a, b) => a - b);
  return { target, items: o.items, found, created, replayed, verified: { sampled: sample.length, found: sample.length - missing.length, missing } };
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
