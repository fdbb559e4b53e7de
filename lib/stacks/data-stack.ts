import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { CacheConfig, DatabaseConfig, QueueConfig, StatefulConfig } from '../config/schema';
import { AuroraDatabase } from '../constructs/aurora-database';
import { Cache } from '../constructs/cache';
import { EncryptionKey, type EncryptionKeyProps } from '../constructs/encryption';
import { JobQueue } from '../constructs/job-queue';
import { ShardDirectory } from '../constructs/shard-directory';
import { ShardMover } from '../constructs/shard-mover';
import { STACK_OUTPUTS } from '../contracts/stacks';

export interface DataStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly database: DatabaseConfig;
  readonly cache: CacheConfig;
  readonly queue: QueueConfig;
  readonly stateful: StatefulConfig;
  readonly production: boolean;
}

/** The Data stack's keys, one per class of data, so that a grant on one reveals nothing of the others. */
export interface DataKeys {
  /**
   * Aurora storage, its snapshots and Performance Insights, and the cache (used through RDS and ElastiCache
   * only). The cache shares it: it holds copies of the database's rows, the same class of data, and changing
   * the key of an existing cluster or replication group replaces it (KmsKeyId: "Update requires: Replacement"),
   * so the key these were created with stays theirs (`DataKey`, the logical id it always had).
   */
  readonly database: kms.IKey;
  /** The database secrets (used through Secrets Manager only). */
  readonly secrets: kms.IKey;
  /** The jobs queue and its dead-letter queue (used through SQS only). */
  readonly queues: kms.IKey;
  /** This stack's log groups (CloudWatch Logs only: no principal of the account may use it). */
  readonly logs: kms.IKey;
}

/**
 * The stateful tier: Aurora, the cache and the jobs queues, encrypted with customer-managed keys per class of
 * data (DataKeys). Construct ids here are a contract (tests pin the logical ids): renaming one replaces the resource.
 */
export class DataStack extends Stack {
  readonly keys: DataKeys;
  /** The database: cluster 0 in `clusters` mode (DB_WRITER_HOST), the only one otherwise. */
  readonly database: AuroraDatabase;
  /**
   * Every Aurora cluster, index = cluster number: `database.sharding.clusters` of them in `clusters` mode, each
   * sized by the whole `database` section (writer, readers, autoscaling, proxy); `[database]` otherwise.
   */
  readonly databases: readonly AuroraDatabase[];
  /** Seeds the logical shards' first layout over the clusters (`clusters` mode only). */
  readonly shardDirectory?: ShardDirectory;
  /** The shard mover's function for `npm run reshard` (`clusters` mode only). */
  readonly shardMover?: ShardMover;
  readonly cache: Cache;
  readonly jobs: JobQueue;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: props.stateful.terminationProtection });
    const removalPolicy = props.stateful.removalPolicy;
    // Everything they encrypt is created by this stack and, where it would be kept, goes too when the deploy
    // that created it rolls back: a retried first deploy starts clean.
    const encryptionKey = (keyId: string, description: string, more: Partial<EncryptionKeyProps>) =>
      new EncryptionKey(this, keyId, { description, removalPolicy, deleteOnCreateRollback: true, ...more });
    const key = (...args: Parameters<typeof encryptionKey>) => encryptionKey(...args).key;
    // DataKey encrypted this stack's log groups before LogKey did: CloudWatch Logs still needs it for the events
    // written then (a log group's new key applies to new events only: "Only the log events ingested after the key
    // is associated are encrypted with that key", https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html),
    // until the longest retention has passed.
    const dataKey = encryptionKey('DataKey', 'Encrypts the Aurora cluster, its Performance Insights and the cache', {
      usedThrough: ['rds', 'elasticache'],
      allowCloudWatchLogs: true,
    });
    this.keys = {
      database: dataKey.key,
      secrets: key('SecretsKey', 'Encrypts the database secrets', { usedThrough: ['secretsmanager'] }),
      queues: key('QueueKey', 'Encrypts the jobs queue and its dead-letter queue', { usedThrough: ['sqs'] }),
      logs: key('LogKey', "Encrypts the Data stack's log groups", { allowCloudWatchLogs: true }),
    };
    const sharding = props.database.sharding;
    // Cluster 0 keeps the single cluster's construct id (and so its logical ids and names): turning `clusters`
    // mode on adds clusters beside it and replaces nothing.
    this.databases = Array.from({ length: sharding.mode === 'clusters' ? sharding.clusters : 1 }, (_, shard) =>
      new AuroraDatabase(this, shard === 0 ? 'Database' : `DatabaseShard${shard}`, {
        vpc: props.vpc,
        config: props.database,
        encryptionKey: this.keys.database,
        secretsKey: this.keys.secrets,
        logKey: this.keys.logs,
        removalPolicy,
        // Protected wherever the data is meant to outlive the stack; `destroy` environments stay deletable.
        deletionProtection: props.production || props.stateful.removalPolicy !== 'destroy',
        shard,
        ...(sharding.mode === 'limitless' && { limitless: sharding.limitless }),
      }));
    this.database = this.databases[0];
    for (const db of this.databases) dataKey.allowLogGroupName(db.postgresLogGroupName);
    if (sharding.mode === 'clusters') {
      const helpers = {
        vpc: props.vpc, clusters: this.databases, logicalShards: sharding.logicalShards, secretsKey: this.keys.secrets,
        encryptionKey: this.keys.logs, logRetentionDays: props.database.logRetentionDays, logRetentionKey: 'database.logRetentionDays', removalPolicy,
      };
      this.shardDirectory = new ShardDirectory(this, 'ShardDirectory', helpers);
      this.shardMover = new ShardMover(this, 'ShardMover', helpers);
      new CfnOutput(this, STACK_OUTPUTS.reshardFunctionName, {
        value: this.shardMover.function.functionName,
        description: 'The function npm run reshard invokes to move one logical shard between clusters',
      });
    }
    this.cache = new Cache(this, 'Cache', { encryptionKey: this.keys.database, removalPolicy, vpc: props.vpc, config: props.cache });
    this.jobs = new JobQueue(this, 'Jobs', { encryptionKey: this.keys.queues, removalPolicy, config: props.queue });
  }
}
