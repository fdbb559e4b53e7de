import { seedDirectory } from '../../workload/src/shards';
import { masterPool, type MasterConnection } from '../shared/master-connection';

/**
 * The shard directory custom resource's work (`clusters` mode), against any PostgreSQL whose migrations have
 * run (they create the ownership and layout tables, workload/src/migrations.ts): the first layout (seedDirectory,
 * workload/src/shards.ts: once, under its advisory lock on cluster 0; a layout already seeded is left as the
 * shard moves have made it). Index = cluster number, cluster 0 first.
 *
 * Two connections to cluster 0: seedDirectory holds one for its lock while it writes cluster 0's shards
 * through the pool.
 */
export async function seedShards(clusters: readonly MasterConnection[], logicalShards: number): Promise<'seeded' | 'completed' | 'present'> {
  if (clusters.length === 0) throw new Error('no cluster to seed the shard directory on');
  const pools = clusters.map((c, i) => masterPool(c, i === 0 ? 2 : 1));
  try {
    return await seedDirectory(pools, logicalShards);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}
