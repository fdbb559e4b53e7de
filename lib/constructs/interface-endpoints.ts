import { Aws } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import type { ImageConfig } from '../config/schema';
import { parseEcrImage } from '../config/schema/compute';
import type { InterfaceEndpointService } from '../config/schema/network';
import { closeDefaultEgress } from './egress';

/** The AWS service of each `network.interfaceEndpoints` entry, and the construct id of its endpoint. */
export const INTERFACE_ENDPOINTS: Record<InterfaceEndpointService, { id: string; service: ec2.InterfaceVpcEndpointAwsService }> = {
  sqs: { id: 'Sqs', service: ec2.InterfaceVpcEndpointAwsService.SQS },
  'ecr.api': { id: 'EcrApi', service: ec2.InterfaceVpcEndpointAwsService.ECR },
  'ecr.dkr': { id: 'EcrDocker', service: ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER },
  logs: { id: 'Logs', service: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS },
  secretsmanager: { id: 'SecretsManager', service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER },
  sts: { id: 'Sts', service: ec2.InterfaceVpcEndpointAwsService.STS },
  monitoring: { id: 'Monitoring', service: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING },
};

/** What the tasks read from another account, by exact ARN, through the ECR and Secrets Manager endpoints. */
export interface OtherAccountResources {
  /** Repositories of the configured ECR images (any account: this account's are harmless repeats). */
  readonly ecrRepositoryArns: readonly string[];
  /** Registry credentials secrets of the configured images (`image.credentialsSecretArn`). */
  readonly secretArns: readonly string[];
}

/** The repositories and registry secrets the configured images name, for the endpoint policies. */
export function imageResources(images: readonly ImageConfig[]): OtherAccountResources {
  const repositories = images.map((i) => parseEcrImage(i.uri)).filter((e) => e !== undefined)
    .map((e) => `arn:${Aws.PARTITION}:ecr:${e.region}:${e.account}:repository/${e.repositoryName}`);
  const secrets = images.map((i) => i.credentialsSecretArn).filter((arn) => arn !== '');
  return { ecrRepositoryArns: [...new Set(repositories)].sort(), secretArns: [...new Set(secrets)].sort() };
}

export interface InterfaceEndpointsProps {
  readonly vpc: ec2.IVpc;
  /**
   * The VPC's CIDR as configured (`network.cidr`), a literal: cdk-nag's open-ingress rule (AwsSolutions-EC23)
   * cannot read the VPC's CidrBlock attribute and reports an error on it.
   */
  readonly vpcCidr: string;
  readonly services: readonly InterfaceEndpointService[];
  /** The images' repositories and secrets, which may belong to other accounts. */
  readonly images?: OtherAccountResources;
  /**
   * The policy of every endpoint before the images' statements: this account's principals to this account's
   * resources (lib/constructs/network.ts thisAccountEndpointPolicy).
   */
  readonly basePolicy: () => iam.PolicyDocument;
}

/**
 * Interface VPC endpoints (AWS PrivateLink) for the AWS APIs the tasks call, in the app subnets (one network
 * interface per zone), so that those calls stay inside the VPC and do not depend on the NAT gateways.
 *
 * - Private DNS: the service's public name (sqs.<region>.amazonaws.com...) resolves to the endpoint inside
 *   the VPC, so the SDKs, the ECS agent and the awslogs driver use it unchanged
 *   (https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html#interface-endpoint-private-dns).
 *   The VPC has DNS support and hostnames on, which private DNS requires.
 * - A policy on each: only this account's principals, only to this account's resources; the image
 *   repositories and registry secrets the config names are let through by exact ARN, whatever their account.
 *   aws:ResourceAccount is in the request context of every action of these services (IAM's list of actions
 *   without it names none of them:
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceaccount),
 *   also of the actions without a resource (ecr:GetAuthorizationToken, cloudwatch:PutMetricData,
 *   sts:GetCallerIdentity), as AWS's own data-perimeter endpoint policies for ECR and STS rely on
 *   (github.com/aws-samples/data-perimeter-policy-examples, vpc_endpoint_policies/).
 * - A security group of its own for each endpoint: HTTPS (443) in from the VPC's CIDR only, nothing out (an
 *   endpoint answers; it never opens a connection). The CIDR, not the tasks' groups: those live in the
 *   Compute, Data and LoadTest stacks, which depend on this one, so naming them here would be a cycle; every
 *   caller in the VPC is one of ours.
 */
export class InterfaceEndpoints extends Construct {
  readonly endpoints: ReadonlyMap<InterfaceEndpointService, ec2.InterfaceVpcEndpoint>;

  constructor(scope: Construct, id: string, props: InterfaceEndpointsProps) {
    super(scope, id);
    const endpoints = new Map<InterfaceEndpointService, ec2.InterfaceVpcEndpoint>();
    for (const name of props.services) {
      const { id: endpointId, service } = INTERFACE_ENDPOINTS[name];
      const securityGroup = new ec2.SecurityGroup(this, `${endpointId}SecurityGroup`, {
        vpc: props.vpc,
        description: `Interface endpoint ${name}: HTTPS from the VPC only`,
        allowAllOutbound: false,
      });
      securityGroup.addIngressRule(ec2.Peer.ipv4(props.vpcCidr), ec2.Port.tcp(443), 'HTTPS from the VPC');
      closeDefaultEgress(securityGroup);
      const endpoint = new ec2.InterfaceVpcEndpoint(this, endpointId, {
        vpc: props.vpc,
        service,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        privateDnsEnabled: true,
        securityGroups: [securityGroup],
        // open would add ingress from the VPC CIDR itself, with its own description; the group above has it.
        open: false,
      });
      const policy = props.basePolicy();
      policy.addStatements(...imageStatements(name, props.images));
      (endpoint.node.defaultChild as ec2.CfnVPCEndpoint).policyDocument = policy;
      endpoints.set(name, endpoint);
    }
    this.endpoints = endpoints;
  }
}

/**
 * The configured images' repositories (ECR's pull actions: the registry API on ecr.dkr authorizes as these
 * actions on the repository, https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html) and
 * registry secrets, by ARN: they may belong to another account, which the base policy refuses. Still only for
 * this account's principals.
 */
function imageStatements(name: InterfaceEndpointService, images: OtherAccountResources | undefined): iam.PolicyStatement[] {
  const thisAccountsPrincipals = { StringEquals: { 'aws:PrincipalAccount': Aws.ACCOUNT_ID } };
  const principals = [new iam.AnyPrincipal()];
  if ((name === 'ecr.api' || name === 'ecr.dkr') && images && images.ecrRepositoryArns.length > 0) {
    return [new iam.PolicyStatement({
      sid: 'ConfiguredImageRepositories',
      principals,
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      resources: [...images.ecrRepositoryArns],
      conditions: thisAccountsPrincipals,
    })];
  }
  if (name === 'secretsmanager' && images && images.secretArns.length > 0) {
    return [new iam.PolicyStatement({
      sid: 'ConfiguredRegistrySecrets',
      principals,
      actions: ['secretsmanager:GetSecretValue'],
      resources: [...images.secretArns],
      conditions: thisAccountsPrincipals,
    })];
  }
  return [];
}
