import { z } from 'zod';
import { int, logRetentionDays, num } from './common';
import { LOGICAL_SHARD_COUNTS, MAX_SHARD_CLUSTERS, SHARDING_MODES } from '../../contracts/sharding';

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
      .describe('How writes scale past one writer. `none`: one cluster. `clusters`: `clusters` Aurora clusters, each with this section\'s writer, readers, proxy and alarms, the data split by shard key over `logicalShards` logical shards that a directory maps to clusters (docs/sharding.md). `limitless`: Aurora PostgreSQL Limitless Database, one endpoint over a DB shard group that shards the tables itself.'),
    clusters: int(1, MAX_SHARD_CLUSTERS)
      .describe('`clusters` mode: Aurora clusters (at least 2). Adding one later gives it no data: move logical shards to it (docs/sharding.md, re-sharding); removing one that holds shards loses them, so the loader refuses fewer than were deployed only by this rule: move its shards off first.'),
    logicalShards: z.literal(LOGICAL_SHARD_COUNTS)
      .describe('`clusters` mode: logical shards a shard key hashes to (a power of two, many times `clusters`). Fixed once data is written: item ids carry theirs.'),
    hotShardFactor: num(1.1, 100)
      .describe('`clusters` mode: the hot-shard alarm fires when one cluster\'s writer CPU exceeds the mean over the clusters by this factor.'),
    limitless: z.strictObject({
      minCapacityAcu: num(16, 6144)
        .describe('`limitless` mode: the DB shard group\'s minimum capacity (ACU): its cost floor, billed while it runs.'),
      maxCapacityAcu: num(16, 6144)
        .describe('`limitless` mode: the DB shard group\'s maximum capacity (ACU); fixes how many shards it can grow to.'),
      computeRedundancy: z.literal([0, 1, 2])
        .describe('`limitless` mode: standby compute per shard group node (0: none, 1: one standby in another AZ, 2: two); at least 1 in production.'),
    }).describe('Aurora Limitless Database (mode `limitless`).'),
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
