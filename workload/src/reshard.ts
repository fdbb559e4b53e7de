import { Pool, type PoolClient } from 'pg';
// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { SHARD_OWNERSHIP_TABLE, type ShardState } from '../contracts/sharding';
import { DIRECTORY_LOCK, readDirectory, readOwnership } from './shards';

/**
 * The shard mover (`clusters` mode; lib/contracts/sharding.ts has the design, ./shards.ts the primitives):
 * moves one logical shard, every row of it in every table, from the cluster that holds it to another,
 * while the API and the worker keep writing.
 *
 *   lock    DIRECTORY_LOCK on cluster 0: one move (or seeding) at a time
 *   freeze  source: ownership row `owned` → `frozen`. The UPDATE waits for the writes in flight (they hold the
 *           row FOR SHARE, the write fence) and every later write fails the fence with ShardMovedError, reads
 *           the directory again and retries: from here on the source's rows of the shard do not change.
 *   copy    target, ONE transaction: every row of the shard, table by table; then count + checksum per table,
 *           compared with the source's (same snapshot as the copy); then the target's ownership row `owned`
 *           (the switch: readDirectory prefers `owned`), and the items id sequence above the copied ids.
 *           A failed verification rolls it all back: the target never holds half a shard.
 *   grace   readers that still route to the source read its (frozen, complete) rows; they re-read the
 *           directory when they next miss or refresh.
 *   clean   source, ONE transaction: the shard's rows and its ownership row. A reader that then finds no
 *           ownership row (heldSql) knows the shard moved; it never sees a half-deleted shard.
 *
 * Every step is decided from what the clusters hold, not from memory, so a move stopped at any point (a
 * crash, a timeout, a lost connection) converges when run again with the same or another target:
 * a pending clean-up is finished first, a frozen shard nobody owns is copied on (or thawed, when the
 * target is where it is). A move that fails by itself before the switch (the freeze times out, a row
 * does not copy, the checksums differ) thaws the source, so writes resume where they were.
 */

/** One table of a logical shard, in copy order (parents before children: jobs → items, outbox → jobs). */
export interface ShardedTable {
  readonly table: string;
  /**
   * Columns the target gives values to itself (its default): outbox.id is a per-cluster BIGSERIAL nothing
   * refers to, so copying it could collide with the target's own rows. Left out of the checksum too.
   */
  readonly reassigned?: readonly string[];
  /** A BIGSERIAL id that carries its logical shard (lib/contracts/sharding.ts itemIdOf): its sequence is raised on the target. */
  readonly shardCarryingId?: string;
}

export const SHARDED_TABLES: readonly ShardedTable[] = [
  { table: 'items', shardCarryingId: 'id' },
  { table: 'jobs' },
  { table: 'outbox', reassigned: ['id'] },
  { table: 'idempotency_keys' },
];

export type MoveStep = 'locked' | 'cleanedStale' | 'frozen' | 'switched' | 'graceOver' | 'cleaned' | 'thawed';

export interface MoveOptions {
  /** How long after the switch the source keeps its copy for readers still routed to it (ms). @default 60000 */
  readonly graceMs?: number;
  /** Longest wait for the freeze: writes in flight hold the ownership row (ms). @default 5000 */
  readonly freezeTimeoutMs?: number;
  /** Longest wait for another move or seeding holding DIRECTORY_LOCK (ms). @default 60000 */
  readonly lockTimeoutMs?: number;
  /** Rows per batch of the copy. @default 1000 */
  readonly batchRows?: number;
  /**
   * Told after each step that has committed. A step it throws in stops the move there, as a crash would
   * (nothing is rolled back or thawed): the tests stop a move after each step with it and run it again.
   */
  readonly onStep?: (step: MoveStep, detail: Record<string, unknown>) => void | Promise<void>;
}

export interface TableCheck {
  readonly table: string;
  readonly rows: number;
  readonly checksum: string;
}

export interface MoveResult {
  readonly shard: number;
  readonly to: number;
  /** The cluster it was copied from; undefined when nothing had to be copied. */
  readonly from?: number;
  /** What this run did, in order. */
  readonly steps: MoveStep[];
  /** Rows copied, and their counts and checksums (equal on both sides), per table. */
  readonly tables: TableCheck[];
  /** From the freeze's commit to the switch's commit: how long writes to the shard were refused (ms). */
  readonly writePauseMs?: number;
  /** Nothing to do: the shard was already on the target and nowhere else. */
  readonly alreadyThere: boolean;
  readonly summary: string;
}

/** A move the mover refuses before touching anything: the message says why and what to do. */
export class ReshardRefusal extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReshardRefusal';
  }
}

/** A crash requested by onStep: passed through untouched (no thaw), as a dead process would leave it. */
class StoppedByObserver extends Error {
  constructor(readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'StoppedByObserver';
  }
}

export interface Layout {
  readonly logicalShards: number;
  readonly clusters: number;
  readonly state: string;
}

/** The layout row on cluster 0 (./shards.ts SHARD_LAYOUT_DDL), or a refusal when there is none or it is not seeded. */
export async function readLayout(cluster0: Pick<Pool, 'query'>): Promise<Layout> {
  const { rows } = await cluster0.query<{ logical_shards: number; clusters: number; state: string }>(
    `SELECT logical_shards, clusters, state FROM shard_layout`).catch((e: Error & { code?: string }) => {
    // 42P01 undefined_table: the migrations that create the layout have not run on cluster 0.
    if (e.code === '42P01') return { rows: [] };
    throw e;
  });
  const layout = rows[0];
  if (!layout || layout.state !== 'seeded') {
    throw new ReshardRefusal(`the shard layout is not seeded on cluster 0 (${layout ? `state ${layout.state}` : 'no layout'}): the first layout is written when the API or worker starts in clusters mode. Fix: deploy, let a task start, then move shards.`);
  }
  return { logicalShards: layout.logical_shards, clusters: layout.clusters, state: layout.state };
}

/** Who holds one logical shard: the clusters where it is owned, and where it is frozen. */
async function holders(clusters: readonly Pick<Pool, 'query'>[], shard: number): Promise<{ owned: number[]; frozen: number[] }> {
  const states = await Promise.all(clusters.map(async (c) => {
    const { rows } = await c.query<{ state: ShardState }>(`SELECT state FROM ${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = $1`, [shard]);
    return rows[0]?.state;
  }));
  return {
    owned: states.flatMap((s, i) => (s === 'owned' ? [i] : [])),
    frozen: states.flatMap((s, i) => (s === 'frozen' ? [i] : [])),
  };
}

/** Session settings that make a row's text form the same on every cluster (the checksum compares text). */
const CANONICAL_TEXT = `SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL IntervalStyle = 'postgres'; SET LOCAL extra_float_digits = 3`;

async function columnsOf(c: Pick<Pool, 'query'>, table: string): Promise<string[]> {
  const { rows } = await c.query<{ column_name: string }>(
    `SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, [table]);
  return rows.map((r) => r.column_name);
}

/**
 * The columns copied and checksummed for each table: the same on both clusters (same migrations), with a
 * logical_shard column, else a refusal naming the cluster to migrate.
 */
async function copyColumns(source: Pick<Pool, 'query'>, target: Pick<Pool, 'query'>, from: number, to: number): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const t of SHARDED_TABLES) {
    const [a, b] = await Promise.all([columnsOf(source, t.table), columnsOf(target, t.table)]);
    if (!a.includes('logical_shard') || !b.includes('logical_shard')) {
      const which = !a.includes('logical_shard') ? from : to;
      throw new ReshardRefusal(`table ${t.table} on cluster ${which} has no logical_shard column: its migrations are behind. Fix: deploy the current release (it migrates every cluster), then move again.`);
    }
    if (a.join(',') !== b.join(',')) {
      throw new ReshardRefusal(`table ${t.table} has other columns on cluster ${from} (${a.join(', ')}) than on cluster ${to} (${b.join(', ')}): the clusters are at different migrations. Fix: deploy the current release (it migrates every cluster), then move again.`);
    }
    out.set(t.table, a.filter((col) => !(t.reassigned ?? []).includes(col)));
  }
  return out;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Count and checksum of one table's rows of the shard: md5 of the rows' text, sorted bytewise. */
async function check(tx: PoolClient, table: string, columns: readonly string[], shard: number): Promise<TableCheck> {
  const { rows } = await tx.query<{ n: string; sum: string }>(
    `SELECT count(*) AS n, md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text COLLATE "C"), '')) AS sum
       FROM (SELECT ${columns.map(ident).join(', ')} FROM ${ident(table)} WHERE logical_shard = $1) r`, [shard]);
  return { table, rows: Number(rows[0].n), checksum: rows[0].sum };
}

/**
 * Moves logical shard `shard` to cluster `to`. `clusters`: a pool per cluster (index = cluster number,
 * DB_SHARDS order), each as a user that may write every table and the ownership table (the migrations'
 * user). Resolves when the shard is on `to` only; see the module comment for the steps and how a re-run
 * converges.
 */
export async function moveShard(clusters: readonly Pool[], shard: number, to: number, options: MoveOptions = {}): Promise<MoveResult> {
  const graceMs = options.graceMs ?? 60_000;
  const steps: MoveStep[] = [];
  const step = async (s: MoveStep, detail: Record<string, unknown> = {}) => {
    steps.push(s);
    try {
      await options.onStep?.(s, { shard, to, ...detail });
    } catch (e) {
      throw new StoppedByObserver(e);
    }
  };
  if (!Number.isInteger(to) || to < 0 || to >= clusters.length) {
    throw new ReshardRefusal(`cluster ${to} is not a cluster: there are ${clusters.length} (0 to ${clusters.length - 1}, in DB_SHARDS order). Fix: name one of them, or add the cluster (database.sharding.shards) and deploy first.`);
  }
  const layout = await readLayout(clusters[0]);
  if (!Number.isInteger(shard) || shard < 0 || shard >= layout.logicalShards) {
    throw new ReshardRefusal(`logical shard ${shard} does not exist: the layout has ${layout.logicalShards} (0 to ${layout.logicalShards - 1}). Fix: pick one from \`status\`.`);
  }

  const lock = await clusters[0].connect();
  try {
    // lock_timeout bounds the wait for the advisory lock too (https://www.postgresql.org/docs/current/runtime-config-client.html#GUC-LOCK-TIMEOUT,
    // https://www.postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS); reshard-resume.test.ts has a second move refused.
    await lock.query(`SET lock_timeout = ${options.lockTimeoutMs ?? 60_000}`);
    try {
      await lock.query('SELECT pg_advisory_lock($1)', [DIRECTORY_LOCK]);
    } catch (e) {
      if ((e as { code?: string }).code === '55P03') throw new ReshardRefusal(`another shard move (or the layout's seeding) held the directory lock on cluster 0 for ${options.lockTimeoutMs ?? 60_000} ms. Fix: wait for it to finish, then move again.`);
      throw e;
    }
    try {
      await step('locked');
      return await moveLocked(clusters, shard, to, layout.logicalShards, graceMs, options, steps, step);
    } finally {
      await lock.query('SELECT pg_advisory_unlock($1)', [DIRECTORY_LOCK]).catch(() => undefined);
    }
  } catch (e) {
    throw e instanceof StoppedByObserver ? e.cause : e;
  } finally {
    lock.release();
  }
}

async function moveLocked(
  clusters: readonly Pool[], shard: number, to: number, logicalShards: number, graceMs: number, options: MoveOptions,
  steps: MoveStep[], step: (s: MoveStep, detail?: Record<string, unknown>) => Promise<void>,
): Promise<MoveResult> {
  let { owned, frozen } = await holders(clusters, shard);
  if (owned.length > 1) throw new ReshardRefusal(`logical shard ${shard} is owned by clusters ${owned.join(' and ')}: a layout no move leaves. Fix: find which holds the current rows and delete the other's ownership row by hand.`);

  // A switch that committed before a crash: the frozen copies are stale; finish their clean-up first.
  if (owned.length === 1 && frozen.length > 0) {
    await wait(graceMs);
    for (const c of frozen) await clean(clusters[c], shard, c);
    await step('cleanedStale', { clusters: frozen });
    frozen = [];
  }
  if (owned[0] === to) {
    const done = steps.includes('cleanedStale');
    return {
      shard, to, steps, tables: [], alreadyThere: !done,
      summary: done ? `logical shard ${shard} was switched to cluster ${to} by an earlier run; its old copy is now deleted` : `logical shard ${shard} is already on cluster ${to}: nothing to move`,
    };
  }
  if (frozen.length > 1) throw new ReshardRefusal(`logical shard ${shard} is frozen on clusters ${frozen.join(' and ')} and owned by none: a layout no move leaves. Fix: find which holds the current rows and delete the other's ownership row by hand.`);
  const from = owned[0] ?? frozen[0];
  if (from === undefined) throw new ReshardRefusal(`logical shard ${shard} is held by no cluster: the directory is broken. Fix: run \`status\` and restore the cluster that held it.`);
  // Frozen by a run that stopped before its switch, and the target is where it is: thawing is the move.
  if (from === to) {
    await thaw(clusters[from], shard);
    await step('thawed', { cluster: from });
    return { shard, to, from, steps, tables: [], alreadyThere: false, summary: `logical shard ${shard} was left frozen on cluster ${to} by an earlier run; it is owned (writable) again there` };
  }

  const source = clusters[from];
  const target = clusters[to];
  const columns = await copyColumns(source, target, from, to);
  let frozenAt = Date.now();
  if (owned[0] === from) {
    await freeze(source, shard, from, options.freezeTimeoutMs ?? 5000);
    frozenAt = Date.now();
    await step('frozen', { from });
  }
  let tables: TableCheck[];
  let switchedAt: number;
  try {
    tables = await copyAndSwitch(source, target, shard, from, to, columns, logicalShards, options.batchRows ?? 1000);
    switchedAt = Date.now();
  } catch (e) {
    // The target did not take the shard: thaw the source, so writes resume there. Only when the target
    // surely does not hold it (a lost reply to COMMIT may hide a switch that happened): two owners would
    // break the directory, a frozen shard only delays its writes until the next run.
    const after = await holders([target], shard).catch(() => undefined);
    if (after && after.owned.length === 0 && after.frozen.length === 0) {
      await thaw(source, shard).catch(() => undefined);
      throw new Error(`moving logical shard ${shard} from cluster ${from} to ${to} failed, nothing was switched, and the shard is writable on cluster ${from} again: ${(e as Error).message}`);
    }
    throw new Error(`moving logical shard ${shard} from cluster ${from} to ${to} failed, and whether the switch committed is unknown; the shard stays frozen (its writes wait) until the move is run again: ${(e as Error).message}`);
  }
  const writePauseMs = switchedAt - frozenAt;
  await step('switched', { from, writePauseMs, tables });
  await wait(graceMs);
  await step('graceOver', { from });
  await clean(source, shard, from);
  await step('cleaned', { from });
  const rows = tables.reduce((n, t) => n + t.rows, 0);
  return {
    shard, to, from, steps, tables, writePauseMs, alreadyThere: false,
    summary: `logical shard ${shard} moved from cluster ${from} to ${to}: ${rows} rows (${tables.map((t) => `${t.table} ${t.rows}`).join(', ')}), counts and checksums equal; writes paused ${writePauseMs} ms`,
  };
}

const wait = (ms: number) => (ms > 0 ? new Promise<void>((r) => setTimeout(r, ms)) : Promise.resolve());

/**
 * owned → frozen on the source. The UPDATE waits for the writes holding the row FOR SHARE; while it waits,
 * new writes queue behind it, so it is bounded: a transaction that stays open longer than `timeoutMs`
 * fails the move (nothing changed) rather than stalling every write to the shard.
 */
async function freeze(source: Pool, shard: number, from: number, timeoutMs: number): Promise<void> {
  const tx = await source.connect();
  try {
    await tx.query('BEGIN');
    await tx.query(`SET LOCAL lock_timeout = ${timeoutMs}`);
    const r = await tx.query(`UPDATE ${SHARD_OWNERSHIP_TABLE} SET state = 'frozen', changed_at = now() WHERE logical_shard = $1 AND state = 'owned'`, [shard]);
    if (r.rowCount !== 1) throw new Error(`logical shard ${shard} is no longer owned by cluster ${from}`);
    await tx.query('COMMIT');
  } catch (e) {
    await tx.query('ROLLBACK').catch(() => undefined);
    if ((e as { code?: string }).code === '55P03') {
      throw new ReshardRefusal(`could not freeze logical shard ${shard} on cluster ${from} within ${timeoutMs} ms: a transaction holding its ownership row (a write in flight) did not finish. Nothing changed; writes go on. Fix: move again (or raise the freeze timeout).`);
    }
    throw e;
  } finally {
    tx.release();
  }
}

async function thaw(c: Pool, shard: number): Promise<void> {
  await c.query(`UPDATE ${SHARD_OWNERSHIP_TABLE} SET state = 'owned', changed_at = now() WHERE logical_shard = $1 AND state = 'frozen'`, [shard]);
}

/** The source's rows of the shard and its ownership row, in one transaction (children first: the foreign keys). */
async function clean(c: Pool, shard: number, cluster: number): Promise<void> {
  const tx = await c.connect();
  try {
    await tx.query('BEGIN');
    const { rows } = await tx.query<{ state: ShardState }>(`SELECT state FROM ${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = $1 FOR UPDATE`, [shard]);
    if (rows[0]?.state === 'owned') throw new Error(`refusing to delete logical shard ${shard} on cluster ${cluster}: it owns it`);
    for (const t of [...SHARDED_TABLES].reverse()) await tx.query(`DELETE FROM ${ident(t.table)} WHERE logical_shard = $1`, [shard]);
    await tx.query(`DELETE FROM ${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = $1 AND state = 'frozen'`, [shard]);
    await tx.query('COMMIT');
  } catch (e) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    tx.release();
  }
}

/**
 * The copy, the verification and the switch. The source is read in one REPEATABLE READ snapshot (the copy
 * and its checksum see the same rows; the shard is frozen, so they are its last rows anyway); the target
 * writes, checks and switches in one transaction.
 * https://www.postgresql.org/docs/current/transaction-iso.html#XACT-REPEATABLE-READ (one snapshot for the
 * whole transaction); reproduced against local PostgreSQL under concurrent writers in test/workload/reshard.test.ts.
 */
async function copyAndSwitch(
  source: Pool, target: Pool, shard: number, from: number, to: number, columns: Map<string, string[]>, logicalShards: number, batchRows: number,
): Promise<TableCheck[]> {
  const src = await source.connect();
  const dst = await target.connect();
  try {
    await src.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await src.query(CANONICAL_TEXT);
    await dst.query('BEGIN');
    await dst.query(CANONICAL_TEXT);
    // Taken first: a concurrent seeding or a hand-made row shows here, not as a duplicate key at the end.
    const { rows: held } = await dst.query(`SELECT state FROM ${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = $1 FOR UPDATE`, [shard]);
    if (held.length) throw new Error(`cluster ${to} already has an ownership row for logical shard ${shard}`);
    const expected: TableCheck[] = [];
    for (const t of SHARDED_TABLES) {
      const cols = columns.get(t.table)!;
      const stray = await dst.query<{ n: string }>(`SELECT count(*) AS n FROM ${ident(t.table)} WHERE logical_shard = $1`, [shard]);
      if (Number(stray.rows[0].n) > 0) {
        throw new ReshardRefusal(`cluster ${to} holds ${stray.rows[0].n} rows of logical shard ${shard} in ${t.table} without holding the shard: rows no move or fenced write leaves. Fix: inspect them (status), delete them by hand if stale, then move again.`);
      }
      expected.push(await check(src, t.table, cols, shard));
      const list = cols.map(ident).join(', ');
      await src.query(`DECLARE copy_rows NO SCROLL CURSOR FOR SELECT row_to_json(r)::text AS j FROM (SELECT ${list} FROM ${ident(t.table)} WHERE logical_shard = $1) r`, [shard]);
      for (;;) {
        const batch = await src.query<{ j: string }>(`FETCH ${batchRows} FROM copy_rows`);
        if (batch.rows.length === 0) break;
        await dst.query(
          `INSERT INTO ${ident(t.table)} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${ident(t.table)}, $1::json)`,
          [`[${batch.rows.map((r) => r.j).join(',')}]`]);
      }
      await src.query('CLOSE copy_rows');
    }
    const got: TableCheck[] = [];
    for (const t of SHARDED_TABLES) got.push(await check(dst, t.table, columns.get(t.table)!, shard));
    const differ = got.filter((g, i) => g.rows !== expected[i].rows || g.checksum !== expected[i].checksum);
    if (differ.length) {
      throw new Error(`verification failed on cluster ${to}: ${differ.map((g) => {
        const e = expected.find((x) => x.table === g.table)!;
        return `${g.table} ${g.rows} rows (checksum ${g.checksum}) where cluster ${from} has ${e.rows} (checksum ${e.checksum})`;
      }).join('; ')}`);
    }
    for (const t of SHARDED_TABLES.filter((x) => x.shardCarryingId)) await raiseSequence(dst, t.table, t.shardCarryingId!, logicalShards);
    await dst.query(`INSERT INTO ${SHARD_OWNERSHIP_TABLE} (logical_shard, state) VALUES ($1, 'owned')`, [shard]);
    await dst.query('COMMIT');
    return got;
  } catch (e) {
    await dst.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await src.query('ROLLBACK').catch(() => undefined);
    src.release();
    dst.release();
  }
}

/**
 * The target's id sequence above every copied id. Ids carry their logical shard (id = sequence × L + shard,
 * lib/contracts/sharding.ts itemIdOf; ids from before sharding are the sequence itself, shard id mod L):
 * with the sequence at ⌊max id / L⌋ or more, the next id of any shard, (⌊max/L⌋ + 1) × L + s, is above
 * every copied one. Never lowered (GREATEST with its current value); setval is not rolled back with the
 * transaction, which only leaves a gap (https://www.postgresql.org/docs/current/functions-sequence.html).
 */
async function raiseSequence(tx: PoolClient, table: string, column: string, logicalShards: number): Promise<void> {
  const { rows } = await tx.query<{ seq: string | null }>('SELECT pg_get_serial_sequence($1, $2) AS seq', [table, column]);
  const seq = rows[0].seq;
  if (!seq) return;
  await tx.query(
    `SELECT setval($1::regclass, GREATEST((SELECT last_value FROM ${seq}), (SELECT coalesce(max(${ident(column)}), 0) / $2 FROM ${ident(table)}), 1))`,
    [seq, logicalShards]);
}

export interface ClusterStatus {
  readonly cluster: number;
  readonly owned: number;
  readonly frozen: number[];
  /** Rows per table on this cluster. */
  readonly rows: Record<string, number>;
  readonly totalRows: number;
}

export interface ShardRows {
  readonly shard: number;
  readonly cluster: number;
  readonly state: ShardState;
  readonly rows: number;
}

export interface ReshardStatus {
  readonly logicalShards: number;
  readonly clusters: ClusterStatus[];
  /** logical shard → cluster, as the API reads it; null with the reason when it cannot be built. */
  readonly directory: number[] | null;
  readonly directoryProblem?: string;
  /** Every held logical shard with its rows (all tables), on each cluster that holds it. */
  readonly shards: ShardRows[];
  readonly hot: {
    /** Mean rows per logical shard. */
    readonly meanRows: number;
    /** The biggest logical shards, with their rows over the mean. */
    readonly top: Array<ShardRows & { readonly timesMean: number }>;
    /** Largest cluster's rows over the mean cluster's. */
    readonly clusterImbalance: number;
  };
}

/** The directory, and rows per logical shard per cluster: what `status` prints. */
export async function reshardStatus(clusters: readonly Pick<Pool, 'query'>[]): Promise<ReshardStatus> {
  const layout = await readLayout(clusters[0]);
  let directory: number[] | null = null;
  let directoryProblem: string | undefined;
  try {
    directory = await readDirectory(clusters, layout.logicalShards);
  } catch (e) {
    directoryProblem = (e as Error).message;
  }
  const shards: ShardRows[] = [];
  const out: ClusterStatus[] = [];
  for (const [cluster, c] of clusters.entries()) {
    const held = await readOwnership(c);
    const perShard = new Map<number, number>();
    const rows: Record<string, number> = {};
    for (const t of SHARDED_TABLES) {
      const r = await c.query<{ s: number; n: string }>(`SELECT logical_shard AS s, count(*) AS n FROM ${ident(t.table)} GROUP BY 1`);
      rows[t.table] = r.rows.reduce((n, x) => n + Number(x.n), 0);
      for (const x of r.rows) perShard.set(x.s, (perShard.get(x.s) ?? 0) + Number(x.n));
    }
    for (const [shard, state] of [...held].sort((a, b) => a[0] - b[0])) shards.push({ shard, cluster, state, rows: perShard.get(shard) ?? 0 });
    out.push({
      cluster,
      owned: [...held.values()].filter((s) => s === 'owned').length,
      frozen: [...held].filter(([, s]) => s === 'frozen').map(([s]) => s).sort((a, b) => a - b),
      rows, totalRows: Object.values(rows).reduce((a, b) => a + b, 0),
    });
  }
  const owned = shards.filter((s) => s.state === 'owned');
  const meanRows = owned.reduce((n, s) => n + s.rows, 0) / layout.logicalShards;
  const clusterMean = out.reduce((n, c) => n + c.totalRows, 0) / out.length;
  return {
    logicalShards: layout.logicalShards, clusters: out, directory, directoryProblem, shards,
    hot: {
      meanRows,
      top: [...owned].sort((a, b) => b.rows - a.rows).slice(0, 5).map((s) => ({ ...s, timesMean: meanRows > 0 ? s.rows / meanRows : 0 })),
      clusterImbalance: clusterMean > 0 ? Math.max(...out.map((c) => c.totalRows)) / clusterMean : 1,
    },
  };
}

export interface PlannedMove {
  readonly shard: number;
  readonly from: number;
  readonly to: number;
  readonly rows: number;
}

export interface ReshardPlan {
  readonly moves: PlannedMove[];
  /** Per cluster: logical shards and rows before and after the moves. */
  readonly before: Array<{ cluster: number; shards: number; rows: number }>;
  readonly after: Array<{ cluster: number; shards: number; rows: number }>;
}

/**
 * Which logical shards to move so that every cluster holds its share, e.g. after a new, empty cluster joined.
 * Keys hash evenly over logical shards, so a cluster's share of future writes is its share of logical shards:
 * the plan first evens the counts (each cluster ⌊L/N⌋ or ⌈L/N⌉, the extra ones to the clusters that hold
 * most already, so the fewest shards move), and within that picks the shards whose rows best even out the
 * rows of the two clusters (ties: the smaller shard, the cheaper move). A hot shard stays whole: moving it
 * alone to a cluster of its own is the operator's `move`. A dry run: it reads `status` and changes nothing.
 */
export function planMoves(status: Pick<ReshardStatus, 'shards' | 'clusters' | 'logicalShards'>): ReshardPlan {
  const owned = status.shards.filter((s) => s.state === 'owned');
  const on = new Map<number, ShardRows[]>(status.clusters.map((c) => [c.cluster, owned.filter((s) => s.cluster === c.cluster)]));
  const rowsOn = (c: number) => on.get(c)!.reduce((n, s) => n + s.rows, 0);
  const summary = () => status.clusters.map(({ cluster }) => ({ cluster, shards: on.get(cluster)!.length, rows: rowsOn(cluster) }));
  const before = summary();
  const n = status.clusters.length;
  const share = Math.floor(owned.length / n);
  const extra = owned.length - share * n;
  const byHolding = [...on.keys()].sort((a, b) => on.get(b)!.length - on.get(a)!.length || a - b);
  const target = new Map(byHolding.map((c, i) => [c, share + (i < extra ? 1 : 0)]));
  const surplus = (c: number) => on.get(c)!.length - target.get(c)!;
  const moves: PlannedMove[] = [];
  for (;;) {
    const donors = [...on.keys()].filter((c) => surplus(c) > 0).sort((a, b) => surplus(b) - surplus(a) || rowsOn(b) - rowsOn(a) || a - b);
    const receivers = [...on.keys()].filter((c) => surplus(c) < 0).sort((a, b) => surplus(a) - surplus(b) || rowsOn(a) - rowsOn(b) || a - b);
    if (!donors.length || !receivers.length) break;
    const [from, to] = [donors[0], receivers[0]];
    const ideal = Math.max(0, (rowsOn(from) - rowsOn(to)) / 2);
    const pick = on.get(from)!.reduce((best, s) => {
      const d = Math.abs(s.rows - ideal) - Math.abs(best.rows - ideal);
      return d < 0 || (d === 0 && (s.rows < best.rows || (s.rows === best.rows && s.shard < best.shard))) ? s : best;
    });
    on.set(from, on.get(from)!.filter((s) => s !== pick));
    on.get(to)!.push({ ...pick, cluster: to });
    moves.push({ shard: pick.shard, from, to, rows: pick.rows });
  }
  return { moves, before, after: summary() };
}

/**
 * A pool per cluster from PostgreSQL URLs (cluster 0 first), for `npm run reshard -- --local`: opened here,
 * where the workload's pg resolves, so the operator tools need no database driver of their own.
 */
export function poolsFromUrls(urls: readonly string[]): Pool[] {
  return urls.map((connectionString) => {
    const pool = new Pool({ connectionString, max: 4, connectionTimeoutMillis: 10_000 });
    // An idle connection the server ends emits 'error' on the pool; the mover sees its own errors.
    pool.on('error', () => undefined);
    return pool;
  });
}
