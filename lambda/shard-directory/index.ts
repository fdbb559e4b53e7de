import { databaseCustomResource, log, masterConnection } from '../shared/database-custom-resource';
import { seedShards } from './seed';

/** The custom resource's properties (lib/constructs/shard-directory.ts writes them). */
interface Properties {
  /** Index = cluster number: each cluster's writer endpoint and master secret. */
  readonly Clusters: ReadonlyArray<{ readonly Host: string; readonly MasterSecretArn: string }>;
  readonly Port: string;
  readonly Database: string;
  readonly LogicalShards: string;
  /** Changes with the seeding code, so an update runs it again. */
  readonly Hash: string;
}

/**
 * Handler of the ShardDirectory custom resource (CDK Provider framework, onEvent only). Create and Update seed
 * the first layout of the logical shards over the clusters (./seed.ts) as each cluster's master user, after
 * every cluster's migrations; a layout that exists is kept, and a changed logical shard count is refused
 * (the update fails and rolls back). Delete does nothing: the directory lives in the clusters, with the data.
 */
export const onEvent = databaseCustomResource<Properties>('shard-directory', async (p) => {
  const clusters = await Promise.all(p.Clusters.map((c) => masterConnection(c.MasterSecretArn, { host: c.Host, port: Number(p.Port), database: p.Database })));
  const result = await seedShards(clusters, Number(p.LogicalShards));
  log('shard directory', { result, clusters: clusters.length, logicalShards: Number(p.LogicalShards), hash: p.Hash });
  return { Result: result };
});
