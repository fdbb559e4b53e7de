import { Pool, type PoolConfig } from 'pg';
import { seedDirectory } from '../../workload/src/shards';

/** One cluster as the directory's custom resource reaches it: its writer, as the master user. */
export interface ClusterConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly password?: string;
  readonly ssl: PoolConfig['ssl'];
  /** Longest wait for a connection (ms). @default 10000 */
  readonly connectTimeoutMs?: number;
}

/**
 * The shard directory custom resource's work (`clusters` mode), against any PostgreSQL whose migrations have
 * run (they create the ownership and layout tables, workload/src/migrations.ts): the first layout (seedDirectory,
 * workload/src/shards.ts: once, under its advisory lock on cluster 0; a layout already seeded is left as the
 * shard moves have made it). Index = cluster number, cluster 0 first.
 *
 * Two connections to cluster 0: seedDirectory holds one for its lock while it writes cluster 0's shards
 * through the pool.
 */
export async function seedShards(clusters: readonly ClusterConnection[], logicalShards: number): Promise<'seeded' | 'completed' | 'present'> {
  if (clusters.length === 0) throw new Error('no cluster to seed the shard directory on');
  const pools = clusters.map((c, i) => {
    const pool = new Pool({
      host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, ssl: c.ssl,
      max: i === 0 ? 2 : 1, connectionTimeoutMillis: c.connectTimeoutMs ?? 10_000,
    });
    // An idle connection the server ends emits 'error' on the pool; the run itself sees its own errors.
    pool.on('error', () => undefined);
    return pool;
  });
  try {
    return await seedDirectory(pools, logicalShards);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}
