import { z } from 'zod';
import { int, logRetentionDays, num } from './common';
import { LOGICAL_SHARD_COUNTS, MAX_SHARD_CLUSTERS, SHARDING_MODES } from '../../contracts/sharding';
import { LIMITLESS_MAX_ACU, LIMITLESS_MIN_ACU } from '../capacity';

export const queueSchema = z.strictObject({
  visibilityTimeoutSeconds: int(0, 43200)
    .describe('How long a received message stays invisible to other consumers (s); at least 2 × worker.maxProcessingSeconds.'),
  maxReceiveCount: int(1, 1000)
    .describe('Receives before a message moves to the dead-letter queue.'),
  retentionDays: int(1, 14)
    .describe('How long an unconsumed message is kept (days); the dead-letter queue always keeps 14.'),
  receiveWaitTimeSeconds: int(0, 20)
    .describe('Long polling: how long a ReceiveMessage call waits for a message (s).'),
}).describe('The SQS jobs queue and its dead-letter queue.');

export const databaseSchema = z.strictObject({
  engineVersion: z.string().regex(/^\d{2}\.\d{1,2}$/, 'a version such as "16.6"')
    .describe('Aurora PostgreSQL engine version, e.g. "16.6"; one aws-cdk-lib knows (lib/config/supported.ts).'),
  instanceClass: z.string().regex(/^db\.(serverless|[a-z0-9]+\.[a-z0-9]+)$/, 'a class such as "db.r6g.large" or "db.serverless"')
    .describe('DB instance class of the writer and the readers, e.g. "db.r6g.large" (one in the max_connections table), or "db.serverless" for Aurora Serverless v2 (then the serverlessV2 capacities apply).'),
  serverlessV2MinCapacityAcu: num(0, 256).multipleOf(0.5)
    .describe('Serverless v2 minimum capacity (ACU, steps of 0.5; 0 allows auto-pause).'),
  serverlessV2MaxCapacityAcu: num(1, 256).multipleOf(0.5)
    .describe('Serverless v2 maximum capacity (ACU, steps of 0.5); sets max_connections.'),
  readers: int(0, 15)
    .describe('Reader instances created with the cluster (Aurora allows 15 replicas); at least 1 in production.'),
  readerAutoscaling: z.strictObject({
    enabled: z.boolean()
      .describe('Application Auto Scaling of readers (rds:cluster:ReadReplicaCount, tracking RDSReaderAverageCPUUtilization).'),
    minReaders: int(0, 15)
      .describe('Fewest readers autoscaling keeps (it counts every reader, including `readers`).'),
    maxReaders: int(1, 15)
      .describe('Most readers autoscaling may run; at least `readers`.'),
    targetCpuUtilizationPercent: int(10, 90)
      .describe('Average reader CPU the policy holds (%).'),
    scaleOutCooldownSeconds: int(0, 86400)
      .describe('Wait after adding a reader before adding another (s).'),
    scaleInCooldownSeconds: int(0, 86400)
      .describe('Wait after removing a reader before removing another (s).'),
  }).describe('Readers added and removed by Application Auto Scaling; it only removes readers it added.'),
  proxy: z.strictObject({
    enabled: z.boolean()
      .describe('Put RDS Proxy (connection pooling, faster failover, IAM authentication) between the services and the cluster.'),
    maxConnectionsPercent: int(1, 100)
      .describe('Share of the writer\'s max_connections the proxy may open (%): the connection budget through the proxy.'),
    maxIdleConnectionsPercent: int(0, 100)
      .describe('Share of the writer\'s max_connections the proxy keeps idle (%); at most maxConnectionsPercent.'),
    borrowTimeoutSeconds: int(1, 3600)
      .describe('How long a client waits for a pooled connection before an error (s).'),
  }).describe('RDS Proxy, with a read-only endpoint for the readers.'),
  backupRetentionDays: int(1, 35)
    .describe('Automated backup retention (days).'),
  monitoringIntervalSeconds: z.literal([0, 1, 5, 10, 15, 30, 60])
    .describe('Enhanced monitoring interval (s); 0 turns it off.'),
  performanceInsightsRetentionDays: z.literal([7, ...Array.from({ length: 23 }, (_, m) => 31 * (m + 1)), 731])
    .describe('Performance Insights retention (days): 7 (free tier), or 31 × months up to 731.'),
  logRetentionDays: logRetentionDays
    .describe('Retention of the exported postgresql log in CloudWatch Logs (days; 365 or more in production).'),
  databaseName: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _, starting with a letter')
    .describe('Name of the database created in the cluster.'),
  secretRotationDays: int(1, 365)
    .describe('Days between automatic rotations of the master password (Secrets Manager single-user rotation Lambda in the app subnets).'),
  masterUsername: z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, 'lower-case letters, digits and _, starting with a letter, at most 16 characters')
    .describe('Master user name (kept in the generated secret). `postgres`, `rdsadmin` and `admin` are reserved or guessable.'),
  sharding: z.strictObject({
    mode: z.enum(SHARDING_MODES)
      .describe('How writes scale past one writer. `none`: one cluster. `clusters`: `clusters` Aurora clusters, each with this section\'s writer, readers, proxy and alarms, the data split by shard key over `logicalShards` logical shards that a directory maps to clusters (docs/sharding.md). `limitless`: Aurora PostgreSQL Limitless Database, one endpoint over a DB shard group that shards the tables itself; the cluster has no instances, so `instanceClass`, `serverlessV2*`, `readers` (must be 0), `readerAutoscaling` (must be off) and `proxy` (must be off) do not apply, and the database is always `postgres_limitless` (`databaseName` is ignored). Fixed at creation for `limitless`: a cluster cannot be turned into or out of Limitless (ClusterScalabilityType "can\'t be modified after you create the DB cluster"), so moving to or from it is a data migration to a new stack.'),
    clusters: int(1, MAX_SHARD_CLUSTERS)
      .describe(`\`clusters\` mode: Aurora clusters, 2 to ${MAX_SHARD_CLUSTERS} (1 in the other modes). Each cluster takes the whole connection demand of an unsharded one (every API and worker process opens its pools on every cluster), so the connection budget is checked per cluster. Adding one later gives it no data: move logical shards to it (docs/sharding.md, re-sharding); lowering it removes a cluster and the shards it holds: move them off first.`),
    logicalShards: z.literal(LOGICAL_SHARD_COUNTS)
      .describe('`clusters` mode: logical shards a shard key hashes to (a power of two, at least 8 × `clusters`, so that a cluster added later can take a fair share in whole logical shards). `limitless` mode: the values of the shard key `logical_shard` that Limitless spreads over its shards (keep it ≥ 256). Cannot change once data is written: item ids carry their logical shard; pick it for the most clusters you may ever run.'),
    hotShardFactor: num(1.1, 100)
      .describe('`clusters` mode (ignored otherwise): the hot-shard alarm fires when one cluster\'s writer CPU exceeds the mean over the clusters by this factor.'),
    limitless: z.strictObject({
      engineVersion: z.string().regex(/^\d+\.\d+-limitless$/, 'a Limitless version such as "16.6-limitless"')
        .describe('`limitless` mode: the cluster\'s engine version; Limitless runs only on its own versions, "<major>.<minor>-limitless", e.g. "16.6-limitless" (lib/config/supported.ts). `database.engineVersion` is ignored in this mode.'),
      minCapacityAcu: num(LIMITLESS_MIN_ACU, LIMITLESS_MAX_ACU)
        .describe(`\`limitless\` mode: the DB shard group's minimum capacity (ACU, at least ${LIMITLESS_MIN_ACU}, at most maxCapacityAcu): its cost floor, billed while it runs; standbys (computeRedundancy) come on top.`),
      maxCapacityAcu: num(LIMITLESS_MIN_ACU, LIMITLESS_MAX_ACU)
        .describe(`\`limitless\` mode: the DB shard group's maximum capacity (ACU, ${LIMITLESS_MIN_ACU} to ${LIMITLESS_MAX_ACU}), the sum over its routers and shards. The value at creation decides how many routers and shards it starts with; raising it later adds capacity, not shards (split shards for that).`),
      computeRedundancy: z.literal([0, 1, 2])
        .describe('`limitless` mode: compute standbys of each shard in other Availability Zones (0: none, a failed shard waits for its replacement; 1: one standby each, doubling the shards; 2: two, tripling them), scaled to the same capacity as the shard and billed like it. At least 1 in production. Can be changed later (ModifyDBShardGroup).'),
    }).describe('Aurora PostgreSQL Limitless Database (mode `limitless`): the DB shard group. AWS\'s requirements, which the loader checks: a `-limitless` engine version, a Region that offers it (not Asia Pacific (Taipei) or GovCloud; not us-east-1e), `performanceInsightsRetentionDays` at least 31 (the paid retention; Database Insights\' Advanced mode is not required), `monitoringIntervalSeconds` above 0, no readers, no reader autoscaling, no proxy. The construct applies the rest: I/O-Optimized storage (aurora-iopt1) and the postgresql log export (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html).'),
  }).describe('Sharding for write scale (docs/sharding.md): off by default.'),
}).describe('Aurora PostgreSQL: writer and readers (provisioned or Serverless v2), reader autoscaling, RDS Proxy.');

export const cacheSchema = z.strictObject({
  mode: z.enum(['replication-group', 'serverless'])
    .describe('`replication-group` (node-based, sharded when shards > 1) or `serverless` (ElastiCache Serverless).'),
  engine: z.enum(['valkey', 'redis'])
    .describe('Cache engine: Valkey or Redis OSS.'),
  engineVersion: z.string().regex(/^\d+\.\d+$/, 'a version such as "8.0"')
    .describe('Engine major.minor version, e.g. "8.0" for Valkey or "7.1" for Redis OSS; one in lib/config/supported.ts.'),
  nodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'a node type such as "cache.t4g.micro"')
    .describe('Node type of the replication group, e.g. "cache.r7g.large"; a current generation.'),
  shards: int(1, 500)
    .describe('Node groups (shards); more than 1 turns on cluster mode.'),
  replicas: int(0, 5)
    .describe('Replicas per shard; at least 1 for Multi-AZ and automatic failover (and in production).'),
  port: int(1024, 65535)
    .describe('TCP port of the replication group (not the default 6379, so scanners looking for open Redis find nothing).'),
  snapshotRetentionDays: int(0, 35)
    .describe('Daily snapshots kept (days); 0 turns them off.'),
  serverlessMaxDataStorageGb: int(1, 5000)
    .describe('Serverless only: most data the cache may hold (GB).'),
  serverlessMaxEcpuPerSecond: int(1000, 15_000_000)
    .describe('Serverless only: most ElastiCache Processing Units per second.'),
}).describe('ElastiCache (Valkey or Redis OSS): a replication group or a serverless cache, RBAC with IAM authentication.');

export type QueueConfig = z.infer<typeof queueSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type CacheConfig = z.infer<typeof cacheSchema>;
