import { createHash } from 'crypto';
import { z } from 'zod';

/**
 * Database sharding (`database.sharding` in config), the contract between the config, the stacks and the
 * workload. Plain data and node:crypto only: the workload imports it through its contracts symlink.
 *
 * `clusters` mode spreads the data over N Aurora clusters by a shard key:
 *
 *   key --hash--> logical shard (0 .. logicalShards-1) --directory--> cluster (0 .. N-1)
 *
 * - The number of logical shards is fixed when the data is first written (item ids carry their logical shard,
 *   itemIdOf), and is much larger than the number of clusters, so that adding a cluster moves whole logical
 *   shards from cluster to cluster (re-sharding) and no key is ever hashed again.
 * - The directory (logical shard → cluster) is held by the clusters themselves: each cluster's
 *   `shard_ownership` table lists the logical shards it holds (SHARD_OWNERSHIP_TABLE). A process builds the
 *   directory by reading every cluster's table at start (workload/src/shards.ts, readDirectory) and again
 *   whenever a cluster says it no longer holds a shard. The stack publishes the clusters (DB_SHARDS) and the
 *   logical shard count (DB_LOGICAL_SHARDS); the first layout is seeded once (initialOwnerOf), and from then on
 *   only a shard move changes it. Keeping it in the databases, not in a parameter the stack writes, means no
 *   later `cdk deploy` can overwrite a layout that moves have changed.
 * - Every write to a logical shard runs, in its transaction, a check that its cluster still holds the shard
 *   (a row lock FOR SHARE on its ownership row): a move freezes the shard by updating that row, which waits
 *   for the writes in flight and fails every later one, so no write lands on a cluster after its copy.
 */
export const SHARDING_MODES = ['none', 'clusters', 'limitless'] as const;
export type ShardingMode = (typeof SHARDING_MODES)[number];

/** Allowed logical shard counts: powers of two, so a hash modulo the count is unbiased. */
export const LOGICAL_SHARD_COUNTS = [16, 32, 64, 128, 256, 512, 1024, 2048, 4096] as const;

/** Most clusters `clusters` mode allows (the scatter-gather of a list query opens one query per cluster). */
export const MAX_SHARD_CLUSTERS = 16;

/**
 * The logical shard of a shard key: the first 32 bits of its SHA-256, modulo the count. Stable across
 * processes, versions and languages (PostgreSQL can compute the same from `sha256(convert_to(key, 'UTF8'))`).
 */
export function logicalShardOf(key: string, logicalShards: number): number {
  return createHash('sha256').update(key, 'utf8').digest().readUInt32BE(0) % logicalShards;
}

/**
 * An item id that carries its logical shard: `sequence × logicalShards + shard`. With one logical shard (mode
 * `none`) the id is the sequence itself, so ids written before sharding stay valid; they then all belong to
 * logical shard `id mod logicalShards` of the cluster that holds them (see initialOwnerOf). Ids stay below
 * 2^53 (JavaScript's exact integers) for 2^41 items per shard with 4096 logical shards.
 */
export function itemIdOf(sequence: number, shard: number, logicalShards: number): number {
  return sequence * logicalShards + shard;
}

/** The logical shard an item id carries. */
export function shardOfItemId(id: number | string, logicalShards: number): number {
  return Number(BigInt(id) % BigInt(logicalShards));
}

/**
 * The first layout: logical shard `shard` on cluster `shard mod clusters` (round robin, so each cluster gets
 * the same number of logical shards). Used once, when no cluster holds any shard and no item exists yet.
 * Data written before sharding (one cluster, mode `none`) stays where it is: every logical shard is seeded
 * on cluster 0, and moves spread them out.
 */
export function initialOwnerOf(shard: number, clusters: number): number {
  return shard % clusters;
}

/** The table each cluster holds its own logical shards in. */
export const SHARD_OWNERSHIP_TABLE = 'shard_ownership';
/**
 * `owned`: the cluster holds the shard and takes its reads and writes. `frozen`: a move is copying it away;
 * it takes reads, refuses writes (they wait and retry), until the move switches the directory and deletes it.
 */
export const SHARD_STATES = ['owned', 'frozen'] as const;
export type ShardState = (typeof SHARD_STATES)[number];

/** One cluster of DB_SHARDS: where its writes and reads go, and the service's secret on it (without IAM auth). */
export const shardClusterSchema = z.strictObject({
  writerHost: z.string().min(1),
  readerHost: z.string().min(1),
  secretArn: z.string().regex(/^arn:[\w-]+:secretsmanager:/, 'a Secrets Manager secret ARN').optional(),
  /** Local runs and tests only (several databases on one server); unset, the cluster's database is DB_NAME. */
  database: z.string().min(1).optional(),
});
export type ShardCluster = z.infer<typeof shardClusterSchema>;

/** DB_SHARDS: a JSON array of clusters, index = cluster number; cluster 0 is DB_WRITER_HOST / DB_READER_HOST. */
export const shardClustersSchema = z.array(shardClusterSchema).min(1).max(MAX_SHARD_CLUSTERS);

/**
 * Aurora PostgreSQL Limitless Database (mode `limitless`): the database the shard group serves (the
 * cluster's DatabaseName must not be set; "postgres_limitless" is created by Aurora), and the session settings
 * that make the next CREATE TABLE a sharded or a reference table.
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-creating-config.html
 */
export const LIMITLESS_DATABASE = 'postgres_limitless';
