import { Aspects, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import type { AlarmsConfig, AlbConfig, ApiConfig, ComputeConfig, HttpServiceConfig, NetworkConfig, NlbConfig, SloConfig, StatefulConfig, WorkerConfig } from '../config/schema';
import type { DataTier } from '../constructs/data-access';
import { EncryptionKey } from '../constructs/encryption';
import { guardException } from '../constructs/guard';
import { ServicesAfterCapacityProviders } from '../constructs/capacity-provider-order';
import { NetworkLoadBalancerFront } from '../constructs/network-load-balancer';
import { jobEnvironment, QueueWorker } from '../constructs/queue-worker';
import { TaskEgress } from '../constructs/task-egress';
import { WebService } from '../constructs/web-service';
import { STACK_OUTPUTS } from '../contracts/stacks';

export interface ComputeStackProps extends StackProps {
  readonly vpc: ec2.IVpc;
  /** `network.cidr`, as written: the VPC's own attribute would be a cross-stack export. */
  readonly vpcCidr: string;
  /** `network.taskEgress`: the tasks' outbound HTTPS (TaskEgress). */
  readonly taskEgress: NetworkConfig['taskEgress'];
  readonly tier: DataTier;
  readonly compute: ComputeConfig;
  readonly alb: AlbConfig;
  /** The opt-in NLB beside the ALB (`nlb.enabled`). */
  readonly nlb?: NlbConfig;
  readonly api: ApiConfig;
  /** The HTTP services besides the API (`services`). */
  readonly services: readonly HttpServiceConfig[];
  readonly worker: WorkerConfig;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  readonly production: boolean;
  /** Which KPI alarms exist: the deployment strategies roll back on them by name. */
  readonly alarms: AlarmsConfig;
  readonly slo: SloConfig;
}

/** Stateless: the ECS cluster, the API and the other HTTP services behind the ALB, the queue workers. Safe to destroy and recreate. */
export class ComputeStack extends Stack {
  readonly cluster: ecs.Cluster;
  readonly web: WebService;
  readonly worker: QueueWorker;
  /** Only where `nlb.enabled`. */
  readonly nlb?: NetworkLoadBalancerFront;

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
    // Before the services: their security groups take their HTTPS rules from it (serviceSecurityGroup).
    new TaskEgress(this, {
      vpc: props.vpc, mode: props.taskEgress, vpcCidr: props.vpcCidr, logKey,
      logRetentionDays: props.compute.logRetentionDays, removalPolicy: props.removalPolicy,
    });
    const shared = { cluster: this.cluster, tier: props.tier, compute: props.compute, logKey, removalPolicy: props.removalPolicy };
    this.web = new WebService(this, 'Web', { ...shared, api: props.api, services: props.services, alb: props.alb, vpcCidr: props.vpcCidr, production: props.production, alarms: props.alarms, slo: props.slo });
    this.worker = new QueueWorker(this, 'Worker', { ...shared, worker: props.worker });
    // The HTTP services record jobs with the cost and within the limit the worker is configured for.
    const httpServices = [...this.web.httpServices.values()];
    for (const http of httpServices) {
      for (const [name, value] of Object.entries(jobEnvironment(props.worker))) http.task.container.addEnvironment(name, value);
    }
    if (props.nlb?.enabled) {
      this.nlb = new NetworkLoadBalancerFront(this, 'Nlb', {
        vpc: props.vpc, service: this.web.service, containerName: this.web.service.taskDefinition.defaultContainer!.containerName,
        containerPort: props.api.containerPort, nlb: props.nlb, healthCheck: props.alb.healthCheck,
        accessLogBucket: this.web.accessLogBucket, production: props.production,
      });
      new CfnOutput(this, 'NlbEndpoint', { value: `${this.nlb.loadBalancer.loadBalancerDnsName}:${props.nlb.listenerPort}`, description: 'TLS endpoint of the Network Load Balancer (source-IP affinity) over the API tasks' });
    }
    Aspects.of(this.cluster).add(new ServicesAfterCapacityProviders([...httpServices.map((h) => h.service), this.worker.service]));
    new CfnOutput(this, STACK_OUTPUTS.apiUrl, {
      value: `${props.alb.certificateArn ? 'https' : 'http'}://${this.web.loadBalancer.loadBalancerDnsName}`,
      description: 'Base URL of the API (the default target of npm run loadtest)',
    });
  }
}
