import { randomBytes, randomUUID } from 'crypto';
import { Pool, type PoolClient } from 'pg';
import { migrate } from '../../workload/src/migrations';
import { ShardRouter } from '../../workload/src/router';
import { seedDirectory } from '../../workload/src/shards';
import { serviceEnv } from './harness';

/**
 * N "clusters" for the shard mover's tests: a database each on the shared local server, migrated as the
 * workload migrates them, the first layout seeded as the workload seeds it.
 */
export interface Clusters {
  readonly pools: Pool[];
  readonly names: string[];
  readonly urls: string[];
  /** DB_SHARDS for a workload over these databases (cluster n = database n). */
  readonly shardsEnv: string;
  close(): Promise<void>;
}

export async function createClusters(n: number, opts: { logicalShards?: number; seed?: number } = {}): Promise<Clusters> {
  const env = serviceEnv();
  const conn = { host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME };
  const admin = new Pool({ ...conn, database: 'postgres' });
  const names = Array.from({ length: n }, () => `sb_reshard_${randomBytes(4).toString('hex')}`);
  try {
    // template0 takes no connections, so files creating databases at the same time do not collide.
    for (const name of names) await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  } finally {
    await admin.end();
  }
  const pools = names.map((database) => new Pool({ ...conn, database, max: 8 }));
  // DROP DATABASE … WITH (FORCE) ends idle connections; that is expected at the end.
  for (const p of pools) p.on('error', () => undefined);
  // The workload's migrations, as every cluster gets them (migration 3: ownership, layout, logical_shard columns).
  for (const p of pools) await migrate(p);
  if (opts.logicalShards) await seedDirectory(pools.slice(0, opts.seed ?? n), opts.logicalShards);
  return {
    pools, names,
    urls: names.map((database) => `postgres://${conn.user}@${conn.host}:${conn.port}/${database}`),
    shardsEnv: JSON.stringify(names.map((database) => ({ writerHost: env.DB_WRITER_HOST, readerHost: env.DB_READER_HOST, database }))),
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      const drop = new Pool({ ...conn, database: 'postgres' });
      for (const name of names) await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    },
  };
}

/**
 * Writes and reads through the workload's own router (workload/src/router.ts ShardRouter): each write in a
 * transaction that starts with the write fence on the cluster the directory names, each read checked against
 * the ownership row; a ShardMovedError re-reads the directory and retries (`retries` counts them).
 */
export class FencedWriter {
  retries = 0;
  private router!: ShardRouter;

  constructor(private readonly pools: Pool[], private readonly logicalShards: number) {}

  private async open(): Promise<ShardRouter> {
    this.router ??= await ShardRouter.open({ clusters: this.pools.map((p) => ({ writer: p, reader: p })) }, {
      // How long a write waits for a frozen shard: longer than any move here.
      sharding: { mode: 'clusters', clusters: [], logicalShards: this.logicalShards, moveWaitMs: 20_000, queryTimeoutMs: 5000, refreshMs: 60_000 },
      log: (event) => {
        if (event === 'shard_moved') this.retries++;
      },
    });
    return this.router;
  }

  async refresh(): Promise<void> {
    await (await this.open()).refresh();
  }

  async write<T>(shard: number, body: (tx: PoolClient) => Promise<T>): Promise<T> {
    return (await this.open()).write(shard, (tx) => body(tx));
  }

  /** An item as the API reads it (GET /items/{id}): through the held check; undefined when not found. */
  async readItem(shard: number, id: string): Promise<{ id: string; processed_count: number } | undefined> {
    const rows = await (await this.open()).readRows<{ id: string; processed_count: number }>(shard, 'writer',
      'SELECT id, processed_count FROM items WHERE id = $1 AND logical_shard = $2', [id, shard]);
    return rows[0];
  }

  close(): void {
    this.router?.close();
  }

  /** An item (id carrying its shard), a job for it, the job's outbox row and an idempotency key: a row in every table. */
  insertItem(shard: number, name: string): Promise<{ id: string; jobId: string; key: string }> {
    return this.write(shard, async (tx) => {
      const { rows } = await tx.query<{ id: string }>(
        `INSERT INTO items (id, logical_shard, name, data) VALUES (nextval('items_id_seq') * $1 + $2, $2, $3, $4) RETURNING id`,
        [this.logicalShards, shard, name, { name, at: new Date().toISOString() }]);
      const jobId = randomUUID();
      await tx.query(`INSERT INTO jobs (id, logical_shard, status, item_id, cpu_ms, io_ms) VALUES ($1, $2, 'queued', $3, 1, 1)`, [jobId, shard, rows[0].id]);
      await tx.query(`INSERT INTO outbox (logical_shard, job_id, body) VALUES ($1, $2, $3)`, [shard, jobId, JSON.stringify({ jobId })]);
      const key = `k-${jobId}`;
      await tx.query(
        `INSERT INTO idempotency_keys (key, route, logical_shard, request_hash, status_code, body, expires_at) VALUES ($1, 'POST /items', $2, 'h', 201, $3, now() + interval '1 day')`,
        [key, shard, JSON.stringify({ id: rows[0].id })]);
      return { id: rows[0].id, jobId, key };
    });
  }

  /** One more processed_count on an item; throws when the fenced cluster does not have it (a lost row). */
  bumpItem(shard: number, id: string): Promise<void> {
    return this.write(shard, async (tx) => {
      const r = await tx.query('UPDATE items SET processed_count = processed_count + 1, updated_at = now() WHERE id = $1 AND logical_shard = $2', [id, shard]);
      if (r.rowCount !== 1) throw new Error(`item ${id} of logical shard ${shard} is missing on the cluster that owns the shard`);
    });
  }
}

/** Rows of one logical shard per table on one cluster. */
export async function shardRows(pool: Pool, shard: number): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of ['items', 'jobs', 'outbox', 'idempotency_keys']) {
    out[t] = Number((await pool.query(`SELECT count(*) AS n FROM ${t} WHERE logical_shard = $1`, [shard])).rows[0].n);
  }
  return out;
}

/** `n` items of one logical shard, with a job, an outbox row and a key each, written straight to `pool` (test setup: one statement). */
export async function fillShard(pool: Pool, shard: number, n: number, logicalShards: number): Promise<Array<{ id: string; jobId: string; key: string }>> {
  const { rows } = await pool.query<{ id: string; job_id: string; key: string }>(`
    WITH i AS (
      INSERT INTO items (id, logical_shard, name) SELECT nextval('items_id_seq') * $3 + $1, $1, 'item-' || g FROM generate_series(1, $2) g RETURNING id
    ), j AS (
      INSERT INTO jobs (id, logical_shard, status, item_id, cpu_ms, io_ms) SELECT gen_random_uuid(), $1, 'queued', id, 1, 1 FROM i RETURNING id, item_id
    ), o AS (
      INSERT INTO outbox (logical_shard, job_id, body) SELECT $1, id, '{}' FROM j
    ), k AS (
      INSERT INTO idempotency_keys (key, route, logical_shard, request_hash, status_code, body, expires_at)
        SELECT 'k-' || id, 'POST /items', $1, 'h', 201, '{}', now() + interval '1 day' FROM j RETURNING key
    )
    SELECT j.item_id AS id, j.id AS job_id, 'k-' || j.id AS key FROM j`, [shard, n, logicalShards]);
  return rows.map((r) => ({ id: r.id, jobId: r.job_id, key: r.key }));
}
