import { randomBytes, randomUUID } from 'crypto';
import { Pool, type PoolClient } from 'pg';
import { migrate } from '../../workload/src/migrations';
import { fence, readDirectory, seedDirectory, ShardMovedError, SHARD_LAYOUT_DDL, SHARD_OWNERSHIP_DDL } from '../../workload/src/shards';
import { serviceEnv } from './harness';

/**
 * N "clusters" for the shard mover's tests: a database each on the shared local server, migrated as the
 * workload migrates them, the first layout seeded as the workload seeds it.
 */
export interface Clusters {
  readonly pools: Pool[];
  readonly names: string[];
  readonly urls: string[];
  close(): Promise<void>;
}

/**
 * The sharding columns and tables, for as long as the workload's migrations do not add them themselves
 * (its migration 3): added only where migrate() left them out, so the tests run against the real
 * migrated schema as soon as it has them.
 */
async function shardingSchema(pool: Pool): Promise<void> {
  await pool.query(SHARD_OWNERSHIP_DDL);
  await pool.query(SHARD_LAYOUT_DDL);
  for (const table of ['items', 'jobs', 'outbox', 'idempotency_keys']) {
    await pool.query(`ALTER TABLE ${table} ADD COLUMN IF NOT EXISTS logical_shard INTEGER NOT NULL DEFAULT 0`);
  }
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
  for (const p of pools) {
    await migrate(p);
    await shardingSchema(p);
  }
  if (opts.logicalShards) await seedDirectory(pools.slice(0, opts.seed ?? n), opts.logicalShards);
  return {
    pools, names,
    urls: names.map((database) => `postgres://${conn.user}@${conn.host}:${conn.port}/${database}`),
    async close() {
      await Promise.all(pools.map((p) => p.end()));
      const drop = new Pool({ ...conn, database: 'postgres' });
      for (const name of names) await drop.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await drop.end();
    },
  };
}

/**
 * A writer of the workload's kind: each write in a transaction that starts with the fence on the cluster
 * the directory names; on ShardMovedError it reads the directory again and retries (as the API does).
 * `retries` counts those.
 */
export class FencedWriter {
  private directory: number[] | undefined;
  retries = 0;

  constructor(private readonly pools: Pool[], private readonly logicalShards: number) {}

  async refresh(): Promise<number[]> {
    this.directory = await readDirectory(this.pools, this.logicalShards);
    return this.directory;
  }

  async write<T>(shard: number, body: (tx: PoolClient) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const directory = this.directory ?? (await this.refresh());
      const cluster = directory[shard];
      const tx = await this.pools[cluster].connect();
      try {
        await tx.query('BEGIN');
        await fence(tx, shard, cluster);
        const result = await body(tx);
        await tx.query('COMMIT');
        return result;
      } catch (e) {
        await tx.query('ROLLBACK').catch(() => undefined);
        if (!(e instanceof ShardMovedError) || attempt > 2000) throw e;
        this.retries++;
        await this.refresh();
        // A frozen shard is owned by no cluster while it is copied: back off a little rather than spin on it.
        if (e.state === 'frozen') await new Promise((r) => setTimeout(r, 10));
      } finally {
        tx.release();
      }
    }
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

/** `n` items of one logical shard, with a job, an outbox row and a key each, written straight to `pool` (test setup: one statement per table). */
export async function fillShard(pool: Pool, shard: number, n: number, logicalShards: number): Promise<void> {
  await pool.query(`
    WITH i AS (
      INSERT INTO items (id, logical_shard, name) SELECT nextval('items_id_seq') * $3 + $1, $1, 'item-' || g FROM generate_series(1, $2) g RETURNING id
    ), j AS (
      INSERT INTO jobs (id, logical_shard, status, item_id, cpu_ms, io_ms) SELECT gen_random_uuid(), $1, 'queued', id, 1, 1 FROM i RETURNING id
    ), o AS (
      INSERT INTO outbox (logical_shard, job_id, body) SELECT $1, id, '{}' FROM j
    )
    INSERT INTO idempotency_keys (key, route, logical_shard, request_hash, status_code, body, expires_at)
      SELECT 'k-' || id, 'POST /items', $1, 'h', 201, '{}', now() + interval '1 day' FROM j`, [shard, n, logicalShards]);
}
