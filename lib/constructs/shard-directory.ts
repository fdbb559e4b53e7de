import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { StatefulConfig } from '../config/schema';
import type { AuroraDatabase } from './aurora-database';
import { databaseAdminFunction, masterUserAccess } from './database-admin-function';
import type { VpcFunctionsProps } from './vpc-function';

export interface ShardDirectoryProps extends VpcFunctionsProps {
  /** Every cluster of `clusters` mode, index = cluster number. */
  readonly clusters: readonly AuroraDatabase[];
  /** `database.sharding.logicalShards`. */
  readonly logicalShards: number;
  /** Encrypts the master secrets (decrypted through Secrets Manager only). */
  readonly secretsKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** The handler and what it runs, hashed: a change to any of them seeds again (a no-op once seeded) on the next deploy. */
const SOURCES = [
  ['workload', 'src', 'shards.ts'],
  ['lib', 'contracts', 'sharding.ts'],
  ['lambda', 'shard-directory', 'seed.ts'],
  ['lambda', 'shard-directory', 'index.ts'],
  ['lambda', 'shared', 'master-connection.ts'],
  ['lambda', 'shared', 'database-custom-resource.ts'],
].map((parts) => join(__dirname, '..', '..', ...parts));

function sourcesHash(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

/**
 * The shard directory's first layout (`clusters` mode, lib/contracts/sharding.ts): a custom resource
 * (Custom::ShardDirectory, lambda/shard-directory) that, once every cluster's migrations have run, creates the
 * ownership tables and seeds which cluster holds each logical shard (workload/src/shards.ts, seedDirectory),
 * as each cluster's master user against its writer endpoint (not the proxy, as the migrations). Seeded once:
 * later deploys find the layout and keep it, so a deploy never undoes a shard move.
 *
 * Its function may read the clusters' master secrets and nothing else, and reach each cluster on its port.
 */
export class ShardDirectory extends Construct {
  readonly resource: CustomResource;
  readonly handler: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ShardDirectoryProps) {
    super(scope, id);
    const { clusters } = props;
    if (clusters.length === 0) throw new Error(`${this.node.path}: no cluster to seed the shard directory on`);
    const [first] = clusters;
    const admin = databaseAdminFunction(this, {
      ...props,
      securityGroupDescription: 'Shard directory seeding: HTTPS to Secrets Manager and Lambda, PostgreSQL to every cluster',
      ...masterUserAccess(clusters, 'Shard directory seeding'),
      ids: { role: 'HandlerRole', function: 'Handler' },
      lambdaDir: 'shard-directory',
      handler: 'onEvent',
      description: 'Seeds the first layout of the logical shards over the Aurora clusters, as their master users',
      timeout: Duration.minutes(5),
      provider: true,
    });
    this.securityGroup = admin.securityGroup;
    this.handler = admin.function;
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: admin.provider.serviceToken,
      resourceType: 'Custom::ShardDirectory',
      properties: {
        Clusters: clusters.map((db) => ({ Host: db.cluster.clusterEndpoint.hostname, MasterSecretArn: db.secret.secretArn })),
        Port: String(first.port),
        Database: first.databaseName,
        LogicalShards: String(props.logicalShards),
        Hash: sourcesHash(),
      },
      // Delete does nothing: the directory lives in the clusters' tables, with the data.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The tables it seeds (items on cluster 0 above all) exist once every cluster's migrations have run.
    // DependsOn: CloudFormation creates a resource only after the ones it depends on
    // (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html);
    // test/stacks/sharding-clusters.test.ts asserts the DependsOn on every cluster's migrations.
    this.resource.node.addDependency(...clusters.map((db) => db.roles.migrations));
  }
}
