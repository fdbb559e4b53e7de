import { type CfnElement, CustomResource, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { join } from 'path';
import type { NetworkConfig, StatefulConfig } from '../config/schema';
import { closeDefaultEgress } from './egress';
import { encryptedLogGroup } from './encryption';
import { vpcFunctionRole } from './vpc-function';

/** The construct id TaskEgress.of finds in a stack. */
const ID = 'TaskEgress';

export interface TaskEgressProps {
  readonly vpc: ec2.IVpc;
  /** `network.taskEgress`. */
  readonly mode: NetworkConfig['taskEgress'];
  /** `network.cidr`, as written (cdk-nag cannot read the VPC's CidrBlock attribute). */
  readonly vpcCidr: string;
  /** Encrypts the lookup functions' log group ("vpcEndpoints" only). */
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/**
 * The outbound HTTPS of the tasks' security groups (`network.taskEgress`), one per stack (the Compute stack
 * creates it before its services; serviceSecurityGroup finds it with TaskEgress.of).
 *
 * - "internet": 443 to 0.0.0.0/0, through the NAT gateways: AWS APIs with or without interface endpoints,
 *   images from any registry, APIs of your own image's choosing.
 * - "vpcEndpoints": no 0.0.0.0/0 rule at all. 443 to the VPC's CIDR, where the interface endpoints' network
 *   interfaces are (their groups accept 443 from that CIDR; with private DNS the services' public names resolve
 *   to them: https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html#interface-endpoint-private-dns),
 *   and 443 to the AWS-managed prefix list of S3 (`com.amazonaws.<region>.s3`), the destination a security
 *   group names for traffic through a gateway endpoint
 *   (https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html, "Security": "the security
 *   groups ... must allow traffic to the service ... you can reference the ID of the AWS-managed prefix list").
 *   ECR serves image layers from S3, so a Fargate pull needs that edge besides ecr.api and ecr.dkr
 *   (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-setting-up-s3-gateway);
 *   on Fargate platform 1.4.0 the pull, the secrets and the awslogs driver use the task's own network
 *   interface, so its group applies to them
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/platform-linux-fargate.html). The data tier's
 *   ports come from `connections` as before. DNS and the task metadata and credentials endpoint are not
 *   filtered by security groups (https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html).
 *
 * The prefix list's id differs by region and CloudFormation offers no attribute for it (AWS::EC2::VPCEndpoint
 * returns CreationTimestamp, DnsEntries, Id, NetworkInterfaceIds), and ec2.PrefixList.fromLookup would need
 * AWS credentials at synth: a custom resource reads it at deploy time (lambda/s3-prefix-list), with
 * ec2:DescribeManagedPrefixLists only, in the app subnets behind its own group: 443 out through NAT to the
 * EC2 API (no EC2 interface endpoint here). Synth stays offline.
 */
export class TaskEgress extends Construct {
  /** The egress of the stack's tasks, or undefined where the stack has none (the default: "internet"). */
  static of(scope: Construct): TaskEgress | undefined {
    return Stack.of(scope).node.tryFindChild(ID) as TaskEgress | undefined;
  }

  readonly mode: NetworkConfig['taskEgress'];
  /** The S3 prefix list's id, resolved at deploy time ("vpcEndpoints" only). */
  readonly s3PrefixListId?: string;
  private readonly vpcCidr: string;

  constructor(scope: Stack, props: TaskEgressProps) {
    super(scope, ID);
    this.mode = props.mode;
    this.vpcCidr = props.vpcCidr;
    if (props.mode === 'vpcEndpoints') this.s3PrefixListId = s3PrefixListLookup(this, props);
  }

  /** Adds the task's outbound HTTPS rules to `group`. */
  allowHttps(group: ec2.SecurityGroup): void {
    if (this.mode === 'internet') {
      allowHttpsAnywhere(group);
      return;
    }
    group.addEgressRule(ec2.Peer.ipv4(this.vpcCidr), ec2.Port.tcp(443), 'HTTPS to the interface endpoints in the VPC (network.taskEgress vpcEndpoints)');
    group.addEgressRule(ec2.Peer.prefixList(this.s3PrefixListId!), ec2.Port.tcp(443), 'HTTPS to S3 through the gateway endpoint: ECR image layers');
  }
}

/** Today's rule, and the one of a stack without a TaskEgress: HTTPS anywhere, through the NAT gateways. */
export function allowHttpsAnywhere(group: ec2.SecurityGroup): void {
  group.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and the image registry');
}

function s3PrefixListLookup(scope: Construct, props: TaskEgressProps): string {
  const vpcSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  const securityGroup = new ec2.SecurityGroup(scope, 'LookupSecurityGroup', {
    vpc: props.vpc,
    description: 'S3 prefix list lookup: HTTPS out to the EC2 API only',
    allowAllOutbound: false,
  });
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the EC2 and Lambda APIs (through NAT)');
  closeDefaultEgress(securityGroup);
  const logs = encryptedLogGroup(scope, 'LookupLogs', {
    encryptionKey: props.logKey,
    retentionDays: props.logRetentionDays,
    retentionKey: 'compute.logRetentionDays',
    removalPolicy: props.removalPolicy,
  });
  const handlerRole = vpcFunctionRole(scope, 'LookupRole', logs, [
    new iam.PolicyStatement({ actions: ['ec2:DescribeManagedPrefixLists'], resources: ['*'] }),
  ], 'ec2:DescribeManagedPrefixLists has no resource-level permissions (a read of prefix list ids).');
  const handler = new NodejsFunction(scope, 'LookupHandler', {
    entry: join(__dirname, '..', '..', 'lambda', 's3-prefix-list', 'index.ts'),
    handler: 'onEvent',
    description: 'Reads the id of the AWS-managed S3 prefix list of the region for the tasks\' security groups',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: Duration.minutes(1),
    role: handlerRole,
    vpc: props.vpc,
    vpcSubnets,
    securityGroups: [securityGroup],
    logGroup: logs,
    environment: { NODE_OPTIONS: '--enable-source-maps' },
    bundling: { minify: true, sourceMap: true, forceDockerBundling: false, externalModules: ['@aws-sdk/*'] },
  });
  const frameworkRole = vpcFunctionRole(scope, 'LookupFrameworkRole', logs);
  const provider = new cr.Provider(scope, 'LookupProvider', {
    onEventHandler: handler,
    // Control Tower's "Lambda inside a VPC" check covers the framework's function too.
    vpc: props.vpc,
    vpcSubnets,
    securityGroups: [securityGroup],
    logGroup: logs,
    frameworkOnEventRole: frameworkRole,
  });
  Validations.of(frameworkRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(scope).getLogicalId(handler.node.defaultChild as CfnElement)}.Arn>:*]`,
    reason: 'The CDK Provider framework grants lambda:InvokeFunction on the function and on `<arn>:*` (versions, aliases); it only invokes the unqualified function, and it has no versions.',
  });
  const resource = new CustomResource(scope, 'S3PrefixList', {
    serviceToken: provider.serviceToken,
    resourceType: 'Custom::S3PrefixList',
    properties: { Region: Stack.of(scope).region },
  });
  return resource.getAttString('PrefixListId');
}
