import type { ClientBase, Pool } from 'pg';
// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { initialOwnerOf, SHARD_OWNERSHIP_TABLE, type ShardState } from '../contracts/sharding';

/**
 * The shard directory's primitives (`clusters` mode; lib/contracts/sharding.ts has the design): the tables,
 * the write fence, reading the directory from the clusters, and seeding the first layout. The API, the
 * worker and the shard mover (./reshard.ts) all go through these, so that a move and a write agree on who
 * holds a shard.
 */

/** Each cluster's own logical shards (lib/contracts/sharding.ts, SHARD_OWNERSHIP_TABLE). Idempotent DDL. */
export const SHARD_OWNERSHIP_DDL = `
  CREATE TABLE IF NOT EXISTS ${SHARD_OWNERSHIP_TABLE} (
    logical_shard INTEGER PRIMARY KEY CHECK (logical_shard >= 0),
    state TEXT NOT NULL CHECK (state IN ('owned', 'frozen')),
    changed_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`;

/**
 * On cluster 0 only: the layout's one row, written before the first seeding starts and marked `seeded` once
 * every cluster holds its shards. Its logical shard count is the one item ids were written with: a process
 * configured with another count refuses to start.
 */
export const SHARD_LAYOUT_DDL = `
  CREATE TABLE IF NOT EXISTS shard_layout (
    id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id),
    logical_shards INTEGER NOT NULL,
    clusters INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('seeding', 'seeded')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
  )`;

/**
 * The write fence as a function: it locks the shard's ownership row FOR SHARE and returns its state (NULL: not
 * held). A row lock FOR SHARE needs UPDATE privilege on the table ("The use of FOR NO KEY UPDATE, FOR UPDATE,
 * FOR SHARE or FOR KEY SHARE requires UPDATE privilege as well (for at least one column of each table so
 * selected)", https://www.postgresql.org/docs/current/sql-select.html, Description), and a service that may
 * UPDATE shard_ownership could change who holds a shard. Run as its owner (SECURITY DEFINER, with a fixed
 * search_path as the docs advise: https://www.postgresql.org/docs/current/sql-createfunction.html#SQL-CREATEFUNCTION-SECURITY),
 * it lets the services take the lock with EXECUTE alone (test/workload/sharding-roles.test.ts). The lock is
 * the calling transaction's: it is held until that transaction ends, as a SELECT … FOR SHARE of its own would be.
 */
export const SHARD_FENCE_FUNCTION = 'shard_fence(integer)';
export const SHARD_FENCE_DDL = `
  CREATE OR REPLACE FUNCTION shard_fence(shard integer) RETURNS text
    LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
    AS $fence$ SELECT state FROM public.${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = shard FOR SHARE $fence$;
  REVOKE ALL ON FUNCTION ${SHARD_FENCE_FUNCTION} FROM PUBLIC`;

/** Arbitrary, fixed key of the advisory lock (on cluster 0) that serialises seeding and shard moves. */
export const DIRECTORY_LOCK = 7_314_022;

/**
 * A cluster does not hold (or no longer takes writes for) a logical shard: a move froze it or took it away.
 * The caller reads the directory again and retries on the shard's new cluster; while the shard is frozen
 * that is a short wait (one logical shard's copy), after which the directory names its new cluster.
 */
export class ShardMovedError extends Error {
  constructor(readonly shard: number, readonly cluster: number, readonly state: ShardState | 'absent') {
    super(`logical shard ${shard} is ${state === 'absent' ? 'not held' : state} on cluster ${cluster}`);
    this.name = 'ShardMovedError';
  }
}

/**
 * The write fence: in a write's transaction, before its first write, lock the shard's ownership row FOR SHARE.
 * Writes to the same shard share the lock; a move's freeze (UPDATE of the row) waits for them to commit and
 * makes every later one fail here. Throws ShardMovedError where the cluster does not own the shard.
 * https://www.postgresql.org/docs/current/explicit-locking.html#LOCKING-ROWS (FOR SHARE blocks UPDATE)
 */
export async function fence(tx: ClientBase, shard: number, cluster: number): Promise<void> {
  // Through SHARD_FENCE_DDL's function: the same lock, without UPDATE privilege on the table.
  const { rows } = await tx.query<{ state: ShardState | null }>('SELECT shard_fence($1) AS state', [shard]);
  const state = rows[0]?.state ?? 'absent';
  if (state !== 'owned') throw new ShardMovedError(shard, cluster, state);
}

/**
 * A condition for reads: true while the cluster holds the shard (owned or frozen). A move deletes the
 * ownership row and the shard's rows in one transaction, so on a replica both go together, and a read that
 * finds no ownership row is a moved shard (read the directory again), never a missing item.
 * `param` is the placeholder of the logical shard, e.g. "$2".
 */
export const heldSql = (param: string): string =>
  `EXISTS (SELECT 1 FROM ${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = ${param})`;

/** The logical shards one cluster holds, with their state. */
export async function readOwnership(pool: Pick<Pool, 'query'>): Promise<Map<number, ShardState>> {
  const { rows } = await pool.query<{ logical_shard: number; state: ShardState }>(
    `SELECT logical_shard, state FROM ${SHARD_OWNERSHIP_TABLE}`);
  return new Map(rows.map((r) => [r.logical_shard, r.state]));
}

/**
 * The directory: for each logical shard, the cluster that takes its writes. Built from every cluster's
 * ownership table. During a move a shard may be `frozen` on its old cluster and `owned` on its new one for a
 * moment: `owned` wins. Throws when a shard is held by no cluster or owned by two (a layout no move leaves:
 * an operator's edit or a lost cluster), naming the shards.
 */
export async function readDirectory(pools: ReadonlyArray<Pick<Pool, 'query'>>, logicalShards: number): Promise<number[]> {
  const held = await Promise.all(pools.map((p) => readOwnership(p)));
  const owner: number[] = new Array(logicalShards).fill(-1);
  const twice: number[] = [];
  for (let shard = 0; shard < logicalShards; shard++) {
    const owners = held.flatMap((m, cluster) => (m.get(shard) === 'owned' ? [cluster] : []));
    const frozen = held.flatMap((m, cluster) => (m.get(shard) === 'frozen' ? [cluster] : []));
    if (owners.length > 1) twice.push(shard);
    owner[shard] = owners[0] ?? frozen[0] ?? -1;
  }
  const missing = owner.flatMap((c, shard) => (c < 0 ? [shard] : []));
  if (missing.length || twice.length) {
    throw new Error(`shard directory is broken: ${[
      missing.length ? `no cluster holds logical shard(s) ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` (${missing.length} in all)` : ''}` : '',
      twice.length ? `two clusters own logical shard(s) ${twice.slice(0, 10).join(', ')}` : '',
    ].filter(Boolean).join('; ')}`);
  }
  return owner;
}

/**
 * Seeds the first layout, once, however many processes start at once (an advisory lock on cluster 0), as a
 * user that may write the tables (the migrations' user). With no layout yet:
 * - if cluster 0 already holds items or jobs (a deployment that ran unsharded), every logical shard is seeded
 *   on cluster 0, where that data is, and moves spread them out; its rows get their logical shard (SHARD_BACKFILL_SQL);
 * - otherwise logical shard s goes to cluster initialOwnerOf(s, clusters).
 * An interrupted seeding (layout `seeding`) is completed with the layout's own numbers (no move runs before
 * `seeded`). A layout with another logical shard count is refused: ids were written with it.
 * Returns what it did.
 */
export async function seedDirectory(pools: ReadonlyArray<Pool>, logicalShards: number): Promise<'seeded' | 'completed' | 'present'> {
  const first = await pools[0].connect();
  try {
    await first.query('SELECT pg_advisory_lock($1)', [DIRECTORY_LOCK]);
    try {
      const { rows } = await first.query<{ logical_shards: number; clusters: number; state: string }>(
        'SELECT logical_shards, clusters, state FROM shard_layout');
      const layout = rows[0];
      if (layout && layout.logical_shards !== logicalShards) {
        throw new Error(`the shard layout was created with ${layout.logical_shards} logical shards, not ${logicalShards}: item ids carry their logical shard, so the count cannot change (set database.sharding.logicalShards back to ${layout.logical_shards})`);
      }
      if (layout?.state === 'seeded') return 'present';
      let clusters = layout?.clusters;
      if (!layout) {
        const { rows: items } = await first.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM items) OR EXISTS (SELECT 1 FROM jobs) AS any');
        clusters = items[0].any ? 1 : pools.length;
        await first.query('INSERT INTO shard_layout (logical_shards, clusters, state) VALUES ($1, $2, $3)', [logicalShards, clusters, 'seeding']);
      }
      for (let cluster = 0; cluster < clusters!; cluster++) {
        const shards = Array.from({ length: logicalShards }, (_, s) => s).filter((s) => initialOwnerOf(s, clusters!) === cluster);
        await pools[cluster].query(
          `INSERT INTO ${SHARD_OWNERSHIP_TABLE} (logical_shard, state) SELECT s, 'owned' FROM unnest($1::int[]) AS s ON CONFLICT (logical_shard) DO NOTHING`,
          [shards]);
      }
      if (clusters === 1) await first.query(SHARD_BACKFILL_SQL, [logicalShards]);
      await first.query(`UPDATE shard_layout SET state = 'seeded'`);
      return layout ? 'completed' : 'seeded';
    } finally {
      await first.query('SELECT pg_advisory_unlock($1)', [DIRECTORY_LOCK]);
    }
  } finally {
    first.release();
  }
}

/**
 * Rows written unsharded (mode none leaves logical_shard NULL) get the logical shard their ids say, so a move
 * selects them like any other: an item `id mod logicalShards` (itemIdOf with sequence = id), a job its item's
 * (the foreign key keeps them together) or, with no item, the one its id carries (jobShardOf), an outbox row its
 * job's. Idempotency keys are left NULL: they expire (IDEMPOTENCY_TTL_SECONDS) where they are.
 */
export const SHARD_BACKFILL_SQL = `
  WITH i AS (UPDATE items SET logical_shard = id % $1 WHERE logical_shard IS NULL),
       j AS (UPDATE jobs SET logical_shard = COALESCE(item_id % $1, ('x' || right(id::text, 4))::bit(16)::int % $1)
             WHERE logical_shard IS NULL RETURNING id, logical_shard)
  UPDATE outbox o SET logical_shard = j.logical_shard FROM j WHERE o.job_id = j.id AND o.logical_shard IS NULL`;
