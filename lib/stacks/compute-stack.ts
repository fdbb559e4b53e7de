import { Aspects, CfnOutput, Stack, type CfnResource, type IAspect, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct, IConstruct } from 'constructs';
import type { AlbConfig, ApiConfig, ComputeConfig, StatefulConfig, WorkerConfig } from '../config/schema';
import type { DataTier } from '../constructs/data-access';
import { EncryptionKey } from '../constructs/encryption';
import { guardException } from '../constructs/guard';
import { QueueWorker } from '../constructs/queue-worker';
import { WebService } from '../constructs/web-service';
import { STACK_OUTPUTS } from '../contracts/stacks';

export interface ComputeStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  readonly tier: DataTier;
  readonly compute: ComputeConfig;
  readonly alb: AlbConfig;
  readonly api: ApiConfig;
  readonly worker: WorkerConfig;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  readonly production: boolean;
}

/** Stateless: the ECS cluster, the API behind the ALB and the queue workers. Safe to destroy and recreate. */
export class ComputeStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly web: WebService;
  readonly worker: QueueWorker;

  constructor(scope: Construct, id: string, props: ComputeStackProps) {
    super(scope, id, props);
    const logKey = new EncryptionKey(this, 'LogKey', {
      description: 'Encrypts the container logs',
      removalPolicy: props.removalPolicy,
      allowCloudWatchLogs: true,
    }).key;
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: props.vpc,
      containerInsightsV2: props.compute.containerInsights === 'enhanced' ? ecs.ContainerInsights.ENHANCED : ecs.ContainerInsights.ENABLED,
      enableFargateCapacityProviders: true,
    });
    if (props.compute.containerInsights === 'enhanced') {
      guardException(this.cluster, 'CT.ECS.PR.2',
        'Container Insights is "enhanced" (compute.containerInsights), which collects everything "enabled" does plus task and container metrics; the control only knows the value "enabled".');
    }
    const shared = { cluster: this.cluster, tier: props.tier, compute: props.compute, logKey, removalPolicy: props.removalPolicy };
    this.web = new WebService(this, 'Web', { ...shared, api: props.api, alb: props.alb, production: props.production });
    this.worker = new QueueWorker(this, 'Worker', { ...shared, worker: props.worker });
    Aspects.of(this.cluster).add(new ServicesAfterCapacityProviders([this.web.service, this.worker.service]));
    if (props.tier.database.proxy) {
      for (const service of [this.web.service, this.worker.service]) proxyConnectLintException(service);
    }
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, {
      value: `${props.alb.certificateArn ? 'https' : 'http'}://${this.web.loadBalancer.loadBalancerDnsName}`,
      description: 'Base URL of the API (the default target of npm run loadtest)',
    });
  }
}

/**
 * Makes every service that places tasks by capacity-provider strategy depend on the cluster's capacity-provider
 * association. "A capacity provider must be associated with the cluster to be used in a capacity provider
 * strategy" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html), and with no
 * DependsOn CloudFormation may create the service first; on deletion it could remove the association while
 * tasks still run on FARGATE_SPOT, which ECS refuses ("You can only disassociate an existing capacity provider
 * from a cluster if it's not being used by any existing tasks":
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html).
 * ecs.Cluster creates the association in an aspect at synth (`enableFargateCapacityProviders`), so the
 * dependency is added by an aspect too, once the association exists.
 */
class ServicesAfterCapacityProviders implements IAspect {
  constructor(private readonly services: readonly ecs.FargateService[]) {}

  visit(node: IConstruct): void {
    if (!(node instanceof ecs.CfnClusterCapacityProviderAssociations)) return;
    for (const service of this.services) {
      const strategy = (service.node.defaultChild as ecs.CfnService).capacityProviderStrategy;
      if (Array.isArray(strategy) && strategy.length > 0) service.node.addDependency(node);
    }
  }
}

/**
 * The task role's rds-db:connect names the proxy by its resource id, which the policy cuts out of the proxy's
 * ARN ({"Fn::Select": [6, {"Fn::Split": [":", arn]}]}, CDK's DatabaseProxy.grantConnect); the ARN comes from
 * the Data stack through Fn::GetStackOutput. cfn-lint (1.51) does not list Fn::GetStackOutput among the
 * functions Fn::Split takes and reports E1022 there; CDK itself writes Fn::Split over Fn::GetStackOutput for
 * every weak list reference (aws-cdk-lib core/lib/private/refs.js). Ignored on this one policy, with the
 * reason next to it (cfn-lint reads `Metadata.cfn-lint.config.ignore_checks` of a resource).
 */
function proxyConnectLintException(service: ecs.FargateService): void {
  const policy = service.taskDefinition.taskRole.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  if (!policy) throw new Error(`${service.node.path}: the task role has no default policy to hold rds-db:connect`);
  policy.addMetadata('cfn-lint', {
    config: { ignore_checks: ['E1022'] },
    reasons: { E1022: 'rds-db:connect is scoped to the proxy resource id, split out of the proxy ARN read with Fn::GetStackOutput from the Data stack; cfn-lint does not list Fn::GetStackOutput among the functions Fn::Split takes.' },
  });
}
