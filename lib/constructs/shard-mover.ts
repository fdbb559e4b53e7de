import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import type { StatefulConfig } from '../config/schema';
import type { AuroraDatabase } from './aurora-database';
import { closeDefaultEgress } from './egress';
import { decryptSecretsStatement, encryptedLogGroup } from './encryption';
import { vpcFunctionRole, vpcNodejsFunction, type VpcFunctionsProps } from './vpc-function';

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
    const { vpc, clusters } = props;
    if (clusters.length < 2) throw new Error(`${this.node.path}: the shard mover needs at least 2 clusters to move shards between, got ${clusters.length}`);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Shard mover: HTTPS to Secrets Manager, PostgreSQL to every cluster',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the Secrets Manager API (through NAT)');
    closeDefaultEgress(this.securityGroup);
    // On the port as a number: the cluster's own connections carry it as a token (its Endpoint.Port).
    clusters.forEach((db, i) => db.cluster.connections.allowFrom(this.securityGroup, ec2.Port.tcp(db.port), `Shard mover to cluster ${i}`));

    const logs = encryptedLogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
      retentionKey: props.logRetentionKey,
      removalPolicy: props.removalPolicy,
      deleteOnCreateRollback: true,
    });
    const secretArns = clusters.map((db) => db.secret.secretArn);
    const role = vpcFunctionRole(this, 'Role', logs, [
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: secretArns }),
      decryptSecretsStatement(props.secretsKey, secretArns),
    ]);
    const [first] = clusters;
    this.function = vpcNodejsFunction(this, 'Function', {
      lambdaDir: 'reshard',
      handler: 'handler',
      description: 'Moves one logical shard between Aurora clusters (npm run reshard), as the master users',
      // Lambda's longest: a move copies one logical shard (1/logicalShards of the data) and waits out its grace.
      timeout: Duration.minutes(15),
      role,
      vpc,
      securityGroup: this.securityGroup,
      logGroup: logs,
      environment: {
        RESHARD_CLUSTERS: first.cluster.stack.toJsonString(clusters.map((db) => ({ host: db.cluster.clusterEndpoint.hostname, port: db.port, secretArn: db.secret.secretArn }))),
        RESHARD_DATABASE: first.databaseName,
        // Aurora's certificate chains to an RDS CA, in this file of the Node.js runtimes (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html).
        NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
      },
      externalModules: ['@aws-sdk/*', 'pg-native'],
    });
  }
}
