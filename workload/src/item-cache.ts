import type { CacheClient } from './cache';
import { CircuitBreaker } from './circuit-breaker';
import { jsonLog, throttled, type Log } from './log';
import type { Metrics } from './metrics';
import type { Settings } from './settings';

type CacheSettings = Settings['cache'];
export type ItemRow = Record<string, unknown>;

/**
 * An item's version: its `updated_at` in microseconds since the epoch, as a decimal string (pg returns bigint
 * as a string; JavaScript's Date would keep milliseconds only, and two updates can fall in one millisecond).
 */
export const ITEM_VERSION_SQL = '(extract(epoch FROM updated_at) * 1000000)::bigint';

/**
 * The SET clause every UPDATE of an item uses, so that versions only grow: `now()` is the transaction's start,
 * and a transaction that started first can commit its update last (it waited for the other's row lock), which
 * would give the newer row the older timestamp. Under the row lock `updated_at` is the latest committed one.
 */
export const ITEM_TOUCH_SQL = "updated_at = GREATEST(clock_timestamp(), updated_at + interval '1 microsecond')";

/** The columns an item is answered with, and its version (stripped before it reaches a client). */
export const ITEM_SELECT_SQL = `id, name, data, processed_count, created_at, updated_at, ${ITEM_VERSION_SQL} AS version`;

/** A row as read from the database, with its version apart. */
export interface VersionedItem {
  readonly version: string;
  readonly row: ItemRow;
}

/** Splits the `version` column off a row selected with ITEM_SELECT_SQL. */
export function versioned(row: ItemRow): VersionedItem {
  const { version, ...rest } = row;
  return { version: String(version), row: rest };
}

/**
 * What a key holds: the row at version `v`; or no row with `v` > 0 (a tombstone: "version v exists, read it
 * from the database", written by invalidations); or no row with `v` = 0 (the item did not exist: a cached 404).
 */
interface Entry {
  readonly v: string;
  readonly row: ItemRow | null;
}

const NOT_FOUND: Entry = { v: '0', row: null };

function decode(raw: string | null | undefined): Entry | undefined {
  if (raw === null || raw === undefined) return undefined;
  try {
    const e = JSON.parse(raw) as Partial<Entry>;
    if (typeof e.v === 'string' && /^\d+$/.test(e.v) && e.row !== undefined) return { v: e.v, row: e.row };
  } catch {
    // not ours (or an older format): treated as absent, so it is overwritten
  }
  return undefined;
}

/** Order of entries: by version, and at one version the row above the tombstone that announced it. */
function compare(a: Entry, b: Entry): number {
  const d = BigInt(a.v) - BigInt(b.v);
  if (d !== 0n) return d < 0n ? -1 : 1;
  return (a.row ? 1 : 0) - (b.row ? 1 : 0);
}

/** Runs one cache command; resolves `{ ok: false }` when it failed, timed out or was not sent at all. */
type Exec = <T>(op: () => Promise<T>) => Promise<{ ok: true; value: T } | { ok: false }>;

/**
 * Writes `entry` unless the key holds a newer one, with SET only (the ACL allows no scripts, and WATCH needs a
 * connection of its own): the key is a register whose value only grows, while every writer follows two rules.
 * 1. `SET NX GET` first: absent, it is stored; present, the reply is what is there, unchanged, and if that is as
 *    new, we are done. That is the common case for refills, and it never overwrites anything.
 * 2. Older: `SET GET` swaps ours in and returns what it replaced. If that was newer than ours (someone stored it
 *    between our two commands), we now hold it and swap it back in, and so on; what we hold only grows, so this
 *    ends, and the newest value anyone stored is always held by the key or by a writer who will put it back.
 * A reader can meet the older value between a swap and its repair (one round trip); a writer that dies or
 * whose command fails in that moment leaves it until its TTL. Returns false when a command failed.
 * SET's GET option is Redis 6.2+, with NX 7.0+ (https://valkey.io/commands/set/); every engine this project
 * deploys is 7.0+, and ElastiCache supports SET on node-based and serverless caches
 * (https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/SupportedCommands.html).
 */
async function storeNewest(client: CacheClient, exec: Exec, key: string, entry: Entry, ttlSeconds: () => number): Promise<boolean> {
  const first = await exec(() => client.set(key, JSON.stringify(entry), 'EX', ttlSeconds(), 'NX', 'GET'));
  if (!first.ok) return false;
  let held = entry;
  let found = decode(first.value);
  if (first.value === null || (found && compare(found, held) >= 0)) return true;
  // A 404 is never worth an overwrite: anything already there is at least as new.
  if (held.row === null && held.v === NOT_FOUND.v) return true;
  // No cap on the rounds: a writer that stopped while holding a newer value than the key's would lose it. Each
  // round takes back a value someone stored that is newer than the last one, so the rounds end once the writes
  // racing on this key do.
  for (;;) {
    const swapped = await exec(() => client.set(key, JSON.stringify(held), 'EX', ttlSeconds(), 'GET'));
    if (!swapped.ok) return false;
    found = decode(swapped.value);
    if (!found || compare(found, held) <= 0) return true;
    held = found;
  }
}

/** `ttl` seconds shortened by a random 0..`jitterPercent` %, never below 1. */
export function jitteredTtl(ttl: number, jitterPercent: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(ttl * (1 - (jitterPercent / 100) * random())));
}

export const itemKey = (prefix: string, id: string | number) => `${prefix}item:${id}`;

/** A deadline on one command, whatever the client does with it (a cluster client that is not ready queues it). */
function withDeadline<T>(op: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`cache command timed out after ${ms} ms`)), ms);
  });
  return Promise.race([op, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Marks item `id` as changed in the cache, for writers without an ItemCache of their own (the worker, after it
 * updates an item). With `version` (the updated row's ITEM_VERSION_SQL, from `RETURNING`), it stores a tombstone
 * of that version: the next read goes to the database, and a refill from a replica that has not caught up yet
 * (Aurora replicas lag the writer, usually by under 100 ms:
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Replication.html; a lagging replica is
 * reproduced in test/workload/replica-lag.test.ts)
 * cannot cache the older row (the read sees the tombstone's version and asks the writer). Without it, the key is
 * deleted, and such a refill could cache the old row until the TTL. Never throws; one attempt bounded by
 * `timeoutMs`: false when the cache did not take it, and the entry is then left to its TTL.
 */
export async function invalidateItem(
  cache: CacheClient, settings: Pick<CacheSettings, 'keyPrefix' | 'ttlSeconds' | 'commandTimeoutMs'>, id: string | number, version?: string,
): Promise<boolean> {
  if (settings.ttlSeconds === 0) return true;
  const key = itemKey(settings.keyPrefix, id);
  const exec: Exec = async (op) => {
    try {
      return { ok: true, value: await withDeadline(op(), settings.commandTimeoutMs) };
    } catch {
      return { ok: false };
    }
  };
  if (version === undefined) return (await exec(() => cache.del(key))).ok;
  return storeNewest(cache, exec, key, { v: version, row: null }, () => settings.ttlSeconds);
}

const stderrLog = jsonLog();

/** Invalidations that failed, kept for when the cache answers again; past this many the oldest is left to its TTL. */
export const MAX_PENDING_INVALIDATIONS = 10_000;
/** At most one `cache_error` log line per this long (the breaker's own lines say when it opens and closes). */
const ERROR_LOG_INTERVAL_MS = 10_000;

export interface ItemRead {
  /** The item, or null when there is none (404). */
  readonly item: ItemRow | null;
  readonly cache: 'hit' | 'miss';
}

export interface ItemLoaders {
  /** The row from the reader (a replica, possibly behind the writer). */
  readonly reader: () => Promise<VersionedItem | null>;
  /** The row from the writer. */
  readonly writer: () => Promise<VersionedItem | null>;
}

/**
 * Cache-aside for items that fails open:
 * - every command has a deadline (CACHE_COMMAND_TIMEOUT_MS) and goes through a circuit breaker: after
 *   CACHE_BREAKER_FAILURES failures in a row requests skip the cache for CACHE_BREAKER_OPEN_MS, then one
 *   command (a request's, or a PING of our own when no request comes) probes it; reads then come from the database;
 * - concurrent misses of one key in this process share one database read and one refill (single-flight);
 * - TTLs are jittered; a 404 is cached for CACHE_NEGATIVE_TTL_SECONDS;
 * - writes store the committed row (write-through); an invalidation that fails is kept and retried once the
 *   cache answers again (at most MAX_PENDING_INVALIDATIONS, then the oldest is left to its TTL);
 * - a refill never replaces a newer entry (storeNewest), and a read that finds a tombstone newer than the
 *   replica's row reads the writer instead: a lagging replica cannot put an old row back in the cache.
 */
export class ItemCache {
  private readonly breaker: CircuitBreaker;
  private readonly flights = new Map<string, Promise<ItemRead>>();
  private readonly pending = new Map<string, Entry>();
  private flushing = false;
  private probeTimer?: NodeJS.Timeout;
  /** One `cache_error` line per ERROR_LOG_INTERVAL_MS (the breaker's own lines say when it opens and closes). */
  private readonly logError = throttled(ERROR_LOG_INTERVAL_MS, (suppressed, err: unknown) => {
    this.log('cache_error', { error: err instanceof Error ? err.message : String(err), suppressed, breaker: this.breaker.state });
  });
  private closed = false;
  readonly enabled: boolean;

  constructor(
    private readonly client: CacheClient,
    private readonly settings: CacheSettings,
    private readonly options: { readonly metrics?: Metrics; readonly log?: Log; readonly random?: () => number } = {},
  ) {
    this.enabled = settings.ttlSeconds > 0;
    this.breaker = new CircuitBreaker({
      failureThreshold: settings.breakerFailures,
      openMs: settings.breakerOpenMs,
      onStateChange: (state) => {
        if (state === 'open') {
          this.log('cache_breaker_open', { openMs: settings.breakerOpenMs, pendingInvalidations: this.pending.size });
          this.scheduleProbe();
        } else if (state === 'closed') {
          this.log('cache_breaker_closed', { pendingInvalidations: this.pending.size });
        }
      },
    });
  }

  /** The breaker's state: `open` while requests skip the cache. */
  get state() {
    return this.breaker.state;
  }

  /** Invalidations waiting for the cache to answer again. */
  get pendingInvalidations(): number {
    return this.pending.size;
  }

  /**
   * Item `id`: from the cache, else (one load per key at a time) from the reader, or from the writer when
   * `fresh` (the client's own recent write) or when the cache knows of a newer version than the reader has.
   * The database's errors propagate; the cache's never do.
   */
  async read(id: string, load: ItemLoaders, opts: { readonly fresh: boolean; readonly route: string }): Promise<ItemRead> {
    let floor: string | undefined;
    if (this.enabled && !opts.fresh) {
      const got = await this.exec(() => this.client.get(this.key(id)));
      const entry = got.ok ? decode(got.value) : undefined;
      if (entry && (entry.row !== null || entry.v === NOT_FOUND.v)) {
        this.options.metrics?.put('CacheHit', 1, { Route: opts.route });
        return { item: entry.row, cache: 'hit' };
      }
      floor = entry?.v;
    }
    if (this.enabled) this.options.metrics?.put('CacheMiss', 1, { Route: opts.route });
    const flightKey = `${id}|${opts.fresh ? 'writer' : floor ?? ''}`;
    let flight = this.flights.get(flightKey);
    if (!flight) {
      flight = this.load(id, load, opts.fresh, floor).finally(() => this.flights.delete(flightKey));
      this.flights.set(flightKey, flight);
    }
    return flight;
  }

  /** After a committed write: the row becomes the cached one unless a newer one is there. Never throws. */
  async written(id: string, item: VersionedItem): Promise<void> {
    await this.put(id, { v: item.version, row: item.row });
  }

  /** After a committed update whose row is not at hand: a tombstone of its version. Never throws. */
  async invalidate(id: string, version: string): Promise<void> {
    await this.put(id, { v: version, row: null });
  }

  /** Stops the probe timer (the client is closed by its owner). */
  close(): void {
    this.closed = true;
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  private async load(id: string, load: ItemLoaders, fresh: boolean, floor: string | undefined): Promise<ItemRead> {
    let found = fresh ? await load.writer() : await load.reader();
    // The cache has seen version `floor` committed: a replica without it (or without the row) is behind.
    if (!fresh && floor !== undefined && (found === null || BigInt(found.version) < BigInt(floor))) found = await load.writer();
    if (this.enabled) {
      const entry = found ? { v: found.version, row: found.row } : NOT_FOUND;
      if (found || this.settings.negativeTtlSeconds > 0) await storeNewest(this.client, this.exec, this.key(id), entry, () => this.ttl(entry));
    }
    return { item: found?.row ?? null, cache: 'miss' };
  }

  private async put(id: string, entry: Entry): Promise<void> {
    if (!this.enabled) return;
    const stored = await storeNewest(this.client, this.exec, this.key(id), entry, () => this.ttl(entry));
    if (!stored) this.remember(id, entry);
  }

  private remember(id: string, entry: Entry): void {
    const known = this.pending.get(id);
    if (known && compare(known, entry) >= 0) return;
    this.pending.delete(id);
    if (this.pending.size >= MAX_PENDING_INVALIDATIONS) this.pending.delete(this.pending.keys().next().value!);
    this.pending.set(id, entry);
    this.scheduleProbe();
  }

  /** Retries the failed invalidations, oldest first, until one fails again (the timer of scheduleProbe tries later). */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (const [id, entry] of [...this.pending]) {
        if (!(await storeNewest(this.client, this.exec, this.key(id), entry, () => this.ttl(entry)))) break;
        // A newer one may have failed meanwhile: that one stays.
        if (this.pending.get(id) === entry) this.pending.delete(id);
      }
    } finally {
      this.flushing = false;
    }
  }

  private readonly exec: Exec = async (op) => {
    if (!this.breaker.allow()) return { ok: false };
    try {
      const value = await withDeadline(op(), this.settings.commandTimeoutMs);
      this.breaker.success();
      if (this.pending.size > 0 && !this.flushing) void this.flush();
      return { ok: true, value };
    } catch (err) {
      this.breaker.failure();
      this.options.metrics?.put('CacheError', 1);
      this.logError(err);
      return { ok: false };
    }
  };

  /**
   * Without waiting for traffic: while the breaker is open, a PING probes the cache when the time comes; while
   * invalidations are pending, they are retried (every CACHE_BREAKER_OPEN_MS until the cache takes them).
   */
  private scheduleProbe(): void {
    if (this.closed || this.probeTimer) return;
    const delay = this.breaker.state === 'open' ? this.breaker.msUntilProbe() : this.settings.breakerOpenMs;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      void (async () => {
        if (this.pending.size > 0) await this.flush();
        else if (this.breaker.state === 'open') await this.exec(() => this.client.ping());
        if (this.breaker.state === 'open' || this.pending.size > 0) this.scheduleProbe();
      })();
    }, delay);
    this.probeTimer.unref();
  }

  private ttl(entry: Entry): number {
    const base = entry.row === null && entry.v === NOT_FOUND.v ? this.settings.negativeTtlSeconds : this.settings.ttlSeconds;
    return jitteredTtl(base, this.settings.ttlJitterPercent, this.options.random);
  }

  private key(id: string): string {
    return itemKey(this.settings.keyPrefix, id);
  }

  private log(event: string, fields?: Record<string, unknown>): void {
    (this.options.log ?? stderrLog)(event, fields);
  }
}
