import { randomBytes, randomInt } from 'crypto';
import type { Pool, PoolClient, QueryConfig, QueryResult, QueryResultRow } from 'pg';
import { setTimeout as sleep } from 'timers/promises';
// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { logicalShardOf } from '../contracts/sharding';
import type { ClusterPools, Database } from './db';
import { asDependencyError, DependencyUnavailableError } from './http';
import { inTransaction } from './idempotency';
import type { Log } from './log';
import type { Metrics } from './metrics';
import type { Settings } from './settings';
import { fence, heldSql, readDirectory, ShardMovedError } from './shards';

/**
 * A statement bounded by `timeoutMs` on the client: pg's per-query `query_timeout` (pg/lib/client.js reads it
 * from the query's config; its types do not list it), which fails it with "Query read timeout" and drops the
 * connection it was sent on.
 */
export function boundedQuery<R extends QueryResultRow>(pool: Pool, text: string, values: unknown[], timeoutMs: number): Promise<QueryResult<R>> {
  return pool.query<R>({ text, values, query_timeout: timeoutMs } as QueryConfig);
}

/** Where a statement runs on its cluster: the writer, or the reader endpoint (replicas). */
export type Access = 'reader' | 'writer';

/** One shard's data, as idempotency.ts `once` needs it: reads that check the shard is held, and fenced writes. */
export interface ShardTarget {
  /** The logical shard (NULL in the rows of mode none). */
  readonly shard: number | null;
  /** Limitless mode: statements name the shard key (`logical_shard`) so the router sends them to one shard. */
  readonly limitless?: boolean;
  query<R extends QueryResultRow>(sql: string, params: unknown[]): Promise<R[]>;
  transaction<T>(fn: (tx: PoolClient) => Promise<T>): Promise<T>;
}

/** Hidden columns the held-check wrapper adds (readRows strips them). */
const HELD = 'sb_held';
const FOUND = 'sb_found';

/**
 * A job id that carries its logical shard, as an item id does (itemIdOf): a random UUID with version 8
 * (RFC 9562, "custom") whose last 16 bits are the shard. 106 random bits remain. GET /jobs/:id and the worker
 * route by it; a version 4 id (written unsharded) carries no shard (jobShardOf reads its last 16 bits
 * anyway, as SHARD_BACKFILL_SQL does for jobs without an item).
 */
export function jobIdOf(shard: number): string {
  const b = randomBytes(16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  b.writeUInt16BE(shard, 14);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** The logical shard a job id carries (jobIdOf). */
export function jobShardOf(jobId: string, logicalShards: number): number {
  return parseInt(jobId.slice(-4), 16) % logicalShards;
}

/** True for ids jobIdOf makes (version 8); false for those written unsharded (version 4). */
export const carriesShard = (jobId: string): boolean => jobId[14] === '8';

export interface RouterOptions {
  readonly sharding: Settings['db']['sharding'];
  readonly metrics?: Metrics;
  readonly log?: Log;
}

/**
 * Routes a logical shard to its cluster (lib/contracts/sharding.ts has the design):
 *   key --hash--> logical shard --directory--> cluster.
 * The directory is read from the clusters at start (open), again every DB_DIRECTORY_REFRESH_SECONDS, and at
 * once when a cluster refuses a shard (ShardMovedError). Writes run in a transaction that takes the write fence
 * first; reads check, in the same statement, that the cluster still holds the shard (heldSql), so a moved shard
 * is a retry on its new cluster, never a false 404. A shard frozen by a move is waited for, re-reading the
 * directory with backoff, for at most DB_SHARD_MOVE_WAIT_MS; past that the request is a 503 with Retry-After.
 *
 * In mode none (one cluster, one logical shard) there is no directory, fence or held check: the statements are
 * the ones the workload always ran.
 *
 * In limitless mode (Aurora PostgreSQL Limitless Database) there is one endpoint and the database places the
 * rows itself, hashing the shard key `logical_shard` (workload/src/limitless.ts): no directory, fence, held
 * check or seeding. Rows still get their logical shard (`DB_LOGICAL_SHARDS` of them, computed as in clusters
 * mode, so an item, its jobs, their outbox rows and the key that created them share one), and every statement
 * on one row names it (`shardKey`), so that Limitless runs it on the one shard that holds it: when "all
 * relations are sharded tables with a filtered shard key on the same shard", the router pushes the whole query
 * down to that shard (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-query.html,
 * limitless-query.single-shard.html).
 */
export class ShardRouter {
  readonly sharded: boolean;
  /** DB_SHARDING_MODE=limitless (see the class comment). */
  readonly limitless: boolean;
  readonly logicalShards: number;
  private directory: number[];
  private refreshing?: Promise<void>;
  private timer?: NodeJS.Timeout;

  private constructor(readonly clusters: readonly ClusterPools[], private readonly o: RouterOptions, directory: number[]) {
    this.sharded = o.sharding.mode === 'clusters';
    this.limitless = o.sharding.mode === 'limitless';
    this.logicalShards = this.sharded || this.limitless ? o.sharding.logicalShards : 1;
    this.directory = directory;
  }

  /** The router of one unsharded database (mode none): routes everything to it. */
  static unsharded(db: Pick<Database, 'writer' | 'reader'>, o: Partial<RouterOptions> = {}): ShardRouter {
    const sharding = { mode: 'none' as const, clusters: [], logicalShards: 1, moveWaitMs: 5000, queryTimeoutMs: 2000, refreshMs: 30_000, ...o.sharding };
    if (sharding.mode !== 'none') throw new Error('ShardRouter.unsharded is for mode none: use ShardRouter.open');
    return new ShardRouter([{ writer: db.writer, reader: db.reader }], { ...o, sharding }, [0]);
  }

  /**
   * The router of `db`'s clusters: in clusters mode reads the directory (fails when it cannot: a process must
   * not serve without knowing where shards are) and re-reads it periodically until close().
   */
  static async open(db: Pick<Database, 'clusters'>, o: RouterOptions): Promise<ShardRouter> {
    if (o.sharding.mode !== 'clusters') return new ShardRouter(db.clusters.slice(0, 1), o, [0]);
    const directory = await readDirectory(db.clusters.map((c) => c.writer), o.sharding.logicalShards);
    const router = new ShardRouter(db.clusters, o, directory);
    router.timer = setInterval(() => void router.refresh().catch(() => undefined), o.sharding.refreshMs);
    router.timer.unref();
    return router;
  }

  close(): void {
    clearInterval(this.timer);
  }

  /** The logical shard rows written to `shard` carry: NULL in mode none (./shards.ts SHARD_BACKFILL_SQL). */
  rowShard(shard: number): number | null {
    return this.sharded || this.limitless ? shard : null;
  }

  /**
   * Limitless mode: ` AND logical_shard = $<param>` and its value, to append to a statement's WHERE on one
   * row of `shard` (the shard key in the WHERE clause keeps it on one Limitless shard); nothing in the other
   * modes, whose statements stay as they were. `table` qualifies the column where the statement joins.
   */
  shardKey(shard: number, param: number, table?: string): { sql: string; params: number[] } {
    if (!this.limitless) return { sql: '', params: [] };
    return { sql: ` AND ${table ? `${table}.` : ''}logical_shard = $${param}`, params: [shard] };
  }

  /** The logical shard of a shard key (an Idempotency-Key, say). */
  shardOfKey(key: string): number {
    return logicalShardOf(key, this.logicalShards);
  }

  /** A logical shard at random: where a new item without a key goes (evenly over the shards). */
  randomShard(): number {
    return randomInt(this.logicalShards);
  }

  /** The cluster the directory names for `shard` now. */
  clusterOf(shard: number): number {
    // Mode none and limitless: one endpoint for every logical shard.
    if (!this.sharded) return 0;
    const cluster = this.directory[shard];
    if (cluster === undefined) throw new Error(`logical shard ${shard} is not one of 0..${this.logicalShards - 1}`);
    return cluster;
  }

  /** The logical shards the directory places on each cluster (index = cluster). */
  shardsByCluster(): number[][] {
    const by: number[][] = this.clusters.map(() => []);
    this.directory.forEach((cluster, shard) => by[cluster].push(shard));
    return by;
  }

  /** Reads the directory again; concurrent callers share one read. Keeps the old one when the read fails. */
  refresh(): Promise<void> {
    if (!this.sharded) return Promise.resolve();
    this.refreshing ??= readDirectory(this.clusters.map((c) => c.writer), this.logicalShards)
      .then((d) => { this.directory = d; })
      .catch((err: Error) => {
        this.o.log?.('shard_directory_read_failed', { error: err.message });
        throw err;
      })
      .finally(() => { this.refreshing = undefined; });
    return this.refreshing;
  }

  /**
   * Runs `fn` in a transaction on the cluster that holds `shard`, after the write fence; a ShardMovedError
   * (the fence, or `fn` itself) re-reads the directory and runs it again on the shard's new cluster, within
   * DB_SHARD_MOVE_WAIT_MS. Nothing of a refused attempt committed: the fence is its first statement.
   */
  write<T>(shard: number, fn: (tx: PoolClient, cluster: number) => Promise<T>): Promise<T> {
    return this.retryingMoves(shard, (cluster) => {
      this.count(cluster, 'write');
      return inTransaction(this.clusters[cluster].writer, async (tx) => {
        if (this.sharded) await fence(tx, shard, cluster);
        return fn(tx, cluster);
      });
    });
  }

  /** One statement written to `shard`: in mode none sent as it is (no transaction), in clusters mode fenced (write). */
  async writeQuery<R extends QueryResultRow>(shard: number, sql: string, params: unknown[]): Promise<{ rows: R[]; rowCount: number }> {
    const run = async (q: (sql: string, params: unknown[]) => Promise<{ rows: R[]; rowCount: number | null }>) => {
      const r = await q(sql, params);
      return { rows: r.rows, rowCount: r.rowCount ?? 0 };
    };
    if (!this.sharded) return run((s, p) => this.clusters[0].writer.query<R>(s, p));
    return this.write(shard, (tx) => run((s, p) => tx.query<R>(s, p)));
  }

  /**
   * The rows of `sql` (a SELECT, its parameters `params`) on the cluster that holds `shard`. In clusters mode
   * the statement is wrapped so that the same snapshot says whether the cluster holds the shard: a move deletes
   * the ownership row with the shard's rows, so "not held" means "read the directory again and retry there".
   */
  readRows<R extends QueryResultRow>(shard: number, access: Access, sql: string, params: unknown[]): Promise<R[]> {
    if (!this.sharded) return this.clusters[0][access].query<R>(sql, params).then((r) => r.rows);
    const wrapped = `SELECT h.${HELD}, q.* FROM (SELECT ${heldSql(`$${params.length + 1}`)} AS ${HELD}) h
      LEFT JOIN (SELECT true AS ${FOUND}, q0.* FROM (${sql}) q0) q ON h.${HELD}`;
    return this.retryingMoves(shard, async (cluster) => {
      this.count(cluster, 'read');
      const { rows } = await this.clusters[cluster][access].query<R & { [HELD]: boolean; [FOUND]: boolean | null }>(wrapped, [...params, shard]);
      if (!rows[0]?.[HELD]) throw new ShardMovedError(shard, cluster, 'absent');
      return rows.filter((r) => r[FOUND]).map(({ [HELD]: _h, [FOUND]: _f, ...row }) => row as unknown as R);
    });
  }

  /** `shard` as idempotency.ts `once` uses it: its key is read and stored where the effect is written. */
  at(shard: number): ShardTarget {
    return {
      shard: this.rowShard(shard),
      limitless: this.limitless,
      query: <R extends QueryResultRow>(sql: string, params: unknown[]) => this.readRows<R>(shard, 'writer', sql, params),
      transaction: <T>(fn: (tx: PoolClient) => Promise<T>) => this.write(shard, (tx) => fn(tx)),
    };
  }

  /**
   * Runs `fn` on every cluster at once (scatter-gather), each bounded by DB_SHARD_QUERY_TIMEOUT_MS (given to
   * `fn` for its statement: pg's query_timeout). Any cluster failing fails the whole: a 503 (see GET /items).
   */
  async scatter<T>(fn: (cluster: number, pools: ClusterPools, timeoutMs: number) => Promise<T>): Promise<T[]> {
    const timeoutMs = this.o.sharding.queryTimeoutMs;
    return Promise.all(this.clusters.map(async (pools, cluster) => {
      if (this.sharded) this.count(cluster, 'read');
      try {
        return await fn(cluster, pools, timeoutMs);
      } catch (err) {
        // A cluster timed out ("Query read timeout"), down or out of connections is the whole answer's 503.
        throw asDependencyError('database', err);
      }
    }));
  }

  private async retryingMoves<T>(shard: number, attempt: (cluster: number) => Promise<T>): Promise<T> {
    const deadline = Date.now() + this.o.sharding.moveWaitMs;
    let backoffMs = 10;
    for (;;) {
      const cluster = this.clusterOf(shard);
      try {
        return await attempt(cluster);
      } catch (err) {
        if (!(err instanceof ShardMovedError)) throw err;
        this.o.metrics?.put('ShardMoved', 1);
        this.o.log?.('shard_moved', { shard, cluster, state: err.state });
        if (Date.now() >= deadline) throw new DependencyUnavailableError('database', err);
        // A shard taken away is found on its new cluster by the next read; a frozen one is still where it was
        // until the move switches the directory: wait a little, then look again.
        await this.refresh().catch(() => undefined);
        if (this.clusterOf(shard) === cluster) await sleep(Math.min(backoffMs, Math.max(0, deadline - Date.now())));
        backoffMs = Math.min(backoffMs * 2, 250);
      }
    }
  }

  private count(cluster: number, access: 'read' | 'write'): void {
    if (this.sharded) this.o.metrics?.put('ShardQueries', 1, { ShardCluster: String(cluster), Access: access });
  }
}
