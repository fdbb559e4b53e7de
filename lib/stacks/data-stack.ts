import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { CacheConfig, DatabaseConfig, QueueConfig, StatefulConfig } from '../config/schema';
import { AuroraDatabase } from '../constructs/aurora-database';
import { Cache } from '../constructs/cache';
import { EncryptionKey } from '../constructs/encryption';
import { JobQueue } from '../constructs/job-queue';

export interface DataStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly database: DatabaseConfig;
  readonly cache: CacheConfig;
  readonly queue: QueueConfig;
  readonly stateful: StatefulConfig;
  readonly production: boolean;
}

/**
 * The stateful tier: Aurora, the cache and the jobs queues, all encrypted with one customer-managed key.
 * Construct ids here are a contract (tests pin the logical ids): renaming one replaces the resource.
 */
export class DataStack extends Stack {
  readonly encryptionKey: kms.IKey;
  readonly database: AuroraDatabase;
  readonly cache: Cache;
  readonly jobs: JobQueue;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, { ...props, terminationProtection: props.stateful.terminationProtection });
    const removalPolicy = props.stateful.removalPolicy;
    this.encryptionKey = new EncryptionKey(this, 'DataKey', {
      description: 'Encrypts the database, cache, queues, their secrets and the database log',
      removalPolicy,
      // Everything it encrypts is created by this stack and, where it would be kept, goes too when the
      // deploy that created it rolls back: a retried first deploy starts clean.
      deleteOnCreateRollback: true,
      allowCloudWatchLogs: true,
    }).key;
    const shared = { encryptionKey: this.encryptionKey, removalPolicy };
    this.database = new AuroraDatabase(this, 'Database', {
      ...shared,
      vpc: props.vpc,
      config: props.database,
      // Protected wherever the data is meant to outlive the stack; `destroy` environments stay deletable.
      deletionProtection: props.production || props.stateful.removalPolicy !== 'destroy',
    });
    this.cache = new Cache(this, 'Cache', { ...shared, vpc: props.vpc, config: props.cache });
    this.jobs = new JobQueue(this, 'Jobs', { ...shared, config: props.queue });
  }
}
