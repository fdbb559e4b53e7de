import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import type { NetworkConfig, StatefulConfig } from '../config/schema';
import { encryptedLogGroup, EncryptionKey } from './encryption';

export interface NetworkProps {
  readonly config: NetworkConfig;
  /** Removal of the flow-log group and its key. */
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Subnet group names; other constructs select subnets by type, these names only label them. */
export const SUBNET_GROUPS = { public: 'Public', app: 'App', data: 'Data' } as const;

/**
 * The VPC: public subnets (load balancer, NAT), private subnets with egress (tasks), isolated subnets (data).
 * Zones are named in config, so synth makes no lookup. All traffic is logged to an encrypted log group, and
 * S3 is reached through a gateway endpoint (image layers from ECR are served from S3, so this also cuts NAT cost).
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;

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
          destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
          trafficType: ec2.FlowLogTrafficType.ALL,
        },
      },
    });
  }
}
