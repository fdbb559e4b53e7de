import { Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';
import type { ImageConfig, NetworkConfig, StatefulConfig } from '../config/schema';
import { imageResources } from '../constructs/interface-endpoints';
import { Network } from '../constructs/network';

export interface NetworkStackProps extends StackProps {
  readonly network: NetworkConfig;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** Every configured image: its ECR repository and registry secret pass the interface endpoints by ARN. */
  readonly images?: readonly ImageConfig[];
}

/** The VPC every other stack runs in. */
export class NetworkStack extends Stack {
  readonly vpc: ec2.IVpc;

  constructor(scope: Construct, id: string, props: NetworkStackProps) {
    super(scope, id, props);
    this.vpc = new Network(this, 'Network', {
      config: props.network, removalPolicy: props.removalPolicy, images: imageResources(props.images ?? []),
    }).vpc;
  }
}
