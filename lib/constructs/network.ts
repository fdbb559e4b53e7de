import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { NetworkConfig, StatefulConfig } from '../config/schema';
import { encryptedLogGroup, EncryptionKey } from './encryption';
import { InterfaceEndpoints, type OtherAccountResources } from './interface-endpoints';

export interface NetworkProps {
  readonly config: NetworkConfig;
  /** The configured images' repositories and registry secrets, let through the ECR and Secrets Manager endpoints. */
  readonly images?: OtherAccountResources;
  /** Removal of the flow-log group and its key. */
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Subnet group names; other constructs select subnets by type, these names only label them. */
const SUBNET_GROUPS = { public: 'Public', app: 'App', data: 'Data' } as const;

/**
 * The VPC: public subnets (load balancer, NAT), private subnets with egress (tasks), isolated subnets (data).
 * Zones are named in config, so synth makes no lookup. All traffic is logged to an encrypted log group, and
 * S3 is reached through a gateway endpoint (image layers from ECR are served from S3, so this also cuts NAT cost),
 * and the AWS APIs named in `network.interfaceEndpoints` through interface endpoints (InterfaceEndpoints).
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  /** Only where `network.interfaceEndpoints` names some. */
  readonly interfaceEndpoints?: InterfaceEndpoints;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    const { config } = props;
    const key = new EncryptionKey(this, 'FlowLogKey', {
      description: 'Encrypts the VPC flow logs',
      removalPolicy: props.removalPolicy,
      allowCloudWatchLogs: true,
    }).key;
    const flowLogGroup = encryptedLogGroup(this, 'FlowLogGroup', {
      encryptionKey: key,
      retentionDays: config.flowLogRetentionDays,
      retentionKey: 'network.flowLogRetentionDays',
      removalPolicy: props.removalPolicy,
    });

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(config.cidr),
      availabilityZones: config.availabilityZones.slice(0, config.maxAzs),
      natGateways: config.natGateways,
      subnetConfiguration: [
        { name: SUBNET_GROUPS.public, subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: SUBNET_GROUPS.app, subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
        { name: SUBNET_GROUPS.data, subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
      ],
      restrictDefaultSecurityGroup: true,
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      flowLogs: {
        All: {
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup, flowLogRole(this, flowLogGroup)),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
    const s3 = this.vpc.node.findChild('S3') as ec2.GatewayVpcEndpoint;
    for (const statement of s3GatewayEndpointStatements()) s3.addToPolicy(statement);
    if (config.interfaceEndpoints.length > 0) {
      this.interfaceEndpoints = new InterfaceEndpoints(this, 'Endpoints', {
        vpc: this.vpc, vpcCidr: config.cidr, services: config.interfaceEndpoints, images: props.images, basePolicy: thisAccountEndpointPolicy,
      });
    }
  }
}

/**
 * What the S3 gateway endpoint lets through, and nothing else (a gateway endpoint without a policy allows
 * any request to any bucket of any account: a path out of the VPC for anything that can reach S3):
 * - this account's buckets (aws:ResourceAccount);
 * - the layers of ECR images: ECR serves them from its own bucket, `prod-<region>-starport-layer-bucket`
 *   (https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html#ecr-minimum-s3-perms);
 * - CloudFormation's custom resource responses: the Provider framework's functions run in the app subnets
 *   and PUT their answer to the pre-signed S3 URL CloudFormation gives them, in one of its
 *   `cloudformation-custom-resource-response-<region>` buckets
 *   (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/crpg-ref-responses.html); refused, a
 *   deploy would wait an hour for a response that never comes. PutObject only, on that name prefix.
 */
function s3GatewayEndpointStatements(): iam.PolicyStatement[] {
  const anyone = [new iam.AnyPrincipal()];
  return [
    new iam.PolicyStatement({
      sid: 'ThisAccountsBuckets',
      principals: anyone,
      actions: ['s3:*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:ResourceAccount': Aws.ACCOUNT_ID } },
    }),
    new iam.PolicyStatement({
      sid: 'EcrImageLayers',
      principals: anyone,
      actions: ['s3:GetObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::prod-${Aws.REGION}-starport-layer-bucket/*`],
    }),
    new iam.PolicyStatement({
      sid: 'CloudFormationCustomResourceResponses',
      principals: anyone,
      actions: ['s3:PutObject'],
      resources: [`arn:${Aws.PARTITION}:s3:::cloudformation-custom-resource-response-*/*`],
    }),
  ];
}

/**
 * The policy of an interface endpoint: requests only by principals of this account (aws:PrincipalAccount)
 * to resources of this account (aws:ResourceAccount). The base of every interface endpoint's policy
 * (InterfaceEndpoints; test/constructs/network.spec.ts checks every endpoint of every environment has a policy).
 */
export function thisAccountEndpointPolicy(): iam.PolicyDocument {
  return new iam.PolicyDocument({
    statements: [new iam.PolicyStatement({
      sid: 'ThisAccountOnly',
      principals: [new iam.AnyPrincipal()],
      actions: ['*'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID, 'aws:ResourceAccount': Aws.ACCOUNT_ID } },
    })],
  });
}

/**
 * The role VPC Flow Logs publishes with: write to this one log group, assumed only for this account's flow
 * logs (aws:SourceAccount, aws:SourceArn: the confused-deputy conditions the VPC User Guide gives for this
 * role, https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html).
 */
function flowLogRole(scope: Construct, group: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, 'FlowLogRole', {
    assumedBy: new iam.ServicePrincipal('vpc-flow-logs.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:ec2:${Aws.REGION}:${Aws.ACCOUNT_ID}:vpc-flow-log/*` },
    }),
  });
  group.grantWrite(role);
  return role;
}
