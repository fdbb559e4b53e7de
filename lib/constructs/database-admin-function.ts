import type { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as cr from 'aws-cdk-lib/custom-resources';
import type { Construct } from 'constructs';
import type { StatefulConfig } from '../config/schema';
import type { AuroraDatabase } from './aurora-database';
import { closeDefaultEgress } from './egress';
import { decryptSecretsStatement, encryptedLogGroup } from './encryption';
import { vpcFunctionRole, vpcNodejsFunction, vpcProvider, type VpcFunctionsProps } from './vpc-function';

/** A cluster the function connects to, on `port`: a number, where the cluster's own connections carry a token. */
export interface DatabaseAdminTarget {
  readonly connections: ec2.Connections;
  readonly port: ec2.Port;
  /** The ingress rule's description. */
  readonly description: string;
}

/**
 * The targets and secrets of a function that connects to each of `clusters` (index = cluster number) as its
 * master user; `who` starts each ingress rule's description.
 */
export function masterUserAccess(clusters: readonly AuroraDatabase[], who: string): Pick<DatabaseAdminFunctionProps, 'targets' | 'secretArns'> {
  return {
    // On the port as a number: the cluster's own connections carry it as a token (its Endpoint.Port).
    targets: clusters.map((db, i) => ({ connections: db.cluster.connections, port: ec2.Port.tcp(db.port), description: `${who} to cluster ${i}` })),
    secretArns: clusters.map((db) => db.secret.secretArn),
  };
}

export interface DatabaseAdminFunctionProps extends VpcFunctionsProps {
  /** The security group's description. */
  readonly securityGroupDescription: string;
  readonly targets: readonly DatabaseAdminTarget[];
  /** The master secrets (and any other) the function reads. */
  readonly secretArns: string[];
  /** Encrypts `secretArns` (decrypted through Secrets Manager only). */
  readonly secretsKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** The construct ids of the execution role and of the function. */
  readonly ids: { readonly role: string; readonly function: string };
  /** The folder under lambda/, its index.ts's exported handler, and the function's description and timeout. */
  readonly lambdaDir: string;
  readonly handler: string;
  readonly description: string;
  readonly timeout: Duration;
  /** Variables besides NODE_OPTIONS and NODE_EXTRA_CA_CERTS. @default - none */
  readonly environment?: Record<string, string>;
  /**
   * Whether the function is a custom resource's onEvent handler, behind the CDK Provider framework
   * (vpcProvider), which then also needs HTTPS to the Lambda API to invoke it.
   */
  readonly provider: boolean;
}

export interface DatabaseAdminFunction {
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.ILogGroup;
  readonly function: NodejsFunction;
}

/**
 * A function in the VPC that talks to Aurora clusters as their master user (migrations, shard directory,
 * shard mover): a security group with HTTPS out (Secrets Manager, and Lambda for a provider, through NAT) and
 * into each cluster on its port, an encrypted log group, and a role that may read `secretArns` and nothing
 * else of AWS. Its constructs are children of `scope`, under fixed ids, so the constructs keep their logical ids.
 */
export function databaseAdminFunction(scope: Construct, props: DatabaseAdminFunctionProps & { provider: true }): DatabaseAdminFunction & { provider: cr.Provider };
export function databaseAdminFunction(scope: Construct, props: DatabaseAdminFunctionProps & { provider: false }): DatabaseAdminFunction;
export function databaseAdminFunction(scope: Construct, props: DatabaseAdminFunctionProps): DatabaseAdminFunction & { provider?: cr.Provider } {
  const { vpc } = props;
  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc,
    description: props.securityGroupDescription,
    allowAllOutbound: false,
  });
  securityGroup.addEgressRule(
    ec2.Peer.anyIpv4(),
    ec2.Port.tcp(443),
    props.provider ? 'HTTPS to the Secrets Manager and Lambda APIs (through NAT)' : 'HTTPS to the Secrets Manager API (through NAT)',
  );
  closeDefaultEgress(securityGroup);
  for (const target of props.targets) target.connections.allowFrom(securityGroup, target.port, target.description);

  const logGroup = encryptedLogGroup(scope, 'Logs', {
    encryptionKey: props.encryptionKey,
    retentionDays: props.logRetentionDays,
    retentionKey: props.logRetentionKey,
    removalPolicy: props.removalPolicy,
    deleteOnCreateRollback: true,
  });
  const role = vpcFunctionRole(scope, props.ids.role, logGroup, [
    new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: props.secretArns }),
    decryptSecretsStatement(props.secretsKey, props.secretArns),
  ]);
  const fn = vpcNodejsFunction(scope, props.ids.function, {
    lambdaDir: props.lambdaDir,
    handler: props.handler,
    description: props.description,
    timeout: props.timeout,
    role,
    vpc,
    securityGroup,
    logGroup,
    environment: {
      ...props.environment,
      // Aurora's certificate chains to an RDS CA: Lambda's Node.js runtimes ship the Amazon CA certificates
      // (RDS included) in this file and load them only when asked to
      // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-nodejs.html).
      NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem',
    },
    // The runtime's AWS SDK v3 (GetSecretValue); pg's optional native binding is never loaded.
    externalModules: ['@aws-sdk/*', 'pg-native'],
  });
  const provider = props.provider ? vpcProvider(scope, fn, { vpc, securityGroup, logGroup }) : undefined;
  return { securityGroup, logGroup, function: fn, provider };
}
