import { Duration } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import type { StatefulConfig } from '../config/schema';
import type { AuroraDatabase } from './aurora-database';
import { databaseAdminFunction, masterUserAccess } from './database-admin-function';
import type { VpcFunctionsProps } from './vpc-function';

export interface ShardMoverProps extends VpcFunctionsProps {
  /** Every cluster of `clusters` mode, index = cluster number. */
  readonly clusters: readonly AuroraDatabase[];
  /** Encrypts the master secrets (decrypted through Secrets Manager only). */
  readonly secretsKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/**
 * The shard mover's function (`clusters` mode): lambda/reshard moves one logical shard from one cluster to
 * another (workload/src/reshard.ts), invoked by `npm run reshard` (tools/reshard) with the stack output
 * ReshardFunctionName. It runs in the application subnets, where it reaches every cluster's writer endpoint
 * directly (not the proxy: a move holds long transactions, and the proxy's initialization query bounds every
 * statement to 5 s) as the master user, the one user that may write the ownership tables and every shard's
 * rows. It may read the master secrets (kms:Decrypt only through Secrets Manager, for those secrets) and
 * nothing else of AWS.
 *
 * Environment: the handler's contract (reshardEnvSchema in lambda/reshard/index.ts): RESHARD_CLUSTERS, a JSON
 * array, index = cluster number, of `{ host, port, secretArn }` (writer endpoint, master secret), and
 * RESHARD_DATABASE; RESHARD_GRACE_SECONDS keeps the handler's default.
 */
export class ShardMover extends Construct {
  readonly function: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ShardMoverProps) {
    super(scope, id);
    const { clusters } = props;
    if (clusters.length < 2) throw new Error(`${this.node.path}: the shard mover needs at least 2 clusters to move shards between, got ${clusters.length}`);
    const [first] = clusters;
    const admin = databaseAdminFunction(this, {
      ...props,
      securityGroupDescription: 'Shard mover: HTTPS to Secrets Manager, PostgreSQL to every cluster',
      ...masterUserAccess(clusters, 'Shard mover'),
      ids: { role: 'Role', function: 'Function' },
      lambdaDir: 'reshard',
      handler: 'handler',
      description: 'Moves one logical shard between Aurora clusters (npm run reshard), as the master users',
      // Lambda's longest: a move copies one logical shard (1/logicalShards of the data) and waits out its grace.
      // 900 s is Lambda's maximum timeout (https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html);
      // a move cut off by it is finished by running it again (test/workload/reshard-resume.test.ts).
      timeout: Duration.minutes(15),
      environment: {
        RESHARD_CLUSTERS: first.cluster.stack.toJsonString(clusters.map((db) => ({ host: db.cluster.clusterEndpoint.hostname, port: db.port, secretArn: db.secret.secretArn }))),
        RESHARD_DATABASE: first.databaseName,
      },
      // Invoked by the CLI, not by a provider: no Lambda API to call.
      provider: false,
    });
    this.securityGroup = admin.securityGroup;
    this.function = admin.function;
  }
}
