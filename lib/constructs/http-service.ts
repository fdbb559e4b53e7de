import { Duration, TimeZone, type CfnResource } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { processesForCpu } from '../config/capacity';
import type { ApiConfig, ComputeConfig, HttpServiceConfig, StatefulConfig, TargetGroupConfig } from '../config/schema';
import { apiTimeoutsForAlb } from '../contracts/container-env';
import { AppTask, serviceDefaults } from './app-task';
import { connectToDataTier, dataTierSettings, type DataTier } from './data-access';

export interface HttpServiceProps {
  readonly cluster: ecs.ICluster;
  readonly tier: DataTier;
  readonly compute: ComputeConfig;
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** "api", or the `name` of an entry in `services`: the workload's `Service` metric dimension (METRICS_SERVICE). */
  readonly name: string;
  /** Where its keys are in config ("api", "services.0"), for the reasons written next to exceptions. */
  readonly configPath: string;
  /** The service's keys: `api`, or an entry of `services` (both with the request target resolved to a number). */
  readonly service: ApiConfig | HttpServiceConfig;
  /** Its target group's keys: `alb` for the API, `targetGroup` of an entry in `services`. */
  readonly targetGroup: TargetGroupConfig;
  /** The load balancer's idle timeout (s), which the service's keep-alive must outlast. */
  readonly albIdleTimeoutSeconds: number;
  /** The VPC's CIDR (`network.cidr`): the load balancer's nodes are in its public subnets. */
  readonly vpcCidr: string;
  /** Construct id of the task (also its log stream prefix): "Api" keeps the API's logical ids. */
  readonly taskId: string;
  /** Prefix of the predictive policy's name, unique per scalable target. */
  readonly policyNamePrefix: string;
  /** The security group's description. */
  readonly securityGroupDescription: string;
}

/**
 * The reference workload's per-client rate limit (workload/src/limits.ts). Only connections from the VPC's CIDR
 * may name the client in X-Forwarded-For: the load balancer's nodes take addresses in the public subnets
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#subnets-load-balancer),
 * and in its default `append` mode it adds the address of the peer it saw as the header's right-most entry
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html), which the
 * workload takes as the client. Nothing outside the VPC reaches a task directly (its security group admits the
 * load balancers only), so the VPC's CIDR is a superset of the ALB's nodes that never includes a client.
 */
export function rateLimitEnvironment(perSecond: number, vpcCidr: string): Record<'RATE_LIMIT_PER_SECOND' | 'RATE_LIMIT_TRUSTED_PROXIES', string> {
  return { RATE_LIMIT_PER_SECOND: String(perSecond), RATE_LIMIT_TRUSTED_PROXIES: perSecond > 0 ? vpcCidr : '' };
}

export const ALGORITHMS: Record<TargetGroupConfig['routingAlgorithm'], elbv2.TargetGroupLoadBalancingAlgorithmType> = {
  round_robin: elbv2.TargetGroupLoadBalancingAlgorithmType.ROUND_ROBIN,
  least_outstanding_requests: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
  weighted_random: elbv2.TargetGroupLoadBalancingAlgorithmType.WEIGHTED_RANDOM,
};

/**
 * One HTTP service behind the load balancer: its task definition, its Fargate service, its own target group
 * and its autoscaling. The API is one (keys `api` and `alb`), every entry of `services` another. The load
 * balancer and the listener rules that send a service requests are WebService's; it records here the rules
 * that forward to this service (`listenerRules`), so that a deployment strategy can take them over.
 *
 * - Target group from its keys: health check, routing algorithm, anomaly mitigation, stickiness, slow start,
 *   deregistration delay.
 * - Autoscaling: target tracking on CPU, memory and requests per target of ITS target group (a service never
 *   scales on another's requests), separate cooldowns, scheduled ranges; CPU and memory on 20-second metrics
 *   where `metricResolutionSeconds` is 20; predictive scaling where `predictiveScaling` is on.
 * - One Node.js process per vCPU in each task (WORKLOAD_PROCESSES), the count the connection budget uses, and
 *   the service's name as its metrics' `Service` dimension (METRICS_SERVICE).
 * - Rolling deploys with the circuit breaker rolling back a deploy that does not stabilise; no desired count
 *   in the template, so a deploy does not reset what autoscaling chose.
 */
export class HttpService extends Construct {
  readonly name: string;
  readonly task: AppTask;
  readonly service: ecs.FargateService;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly scaling: ecs.ScalableTaskCount;
  /** The listener rules whose action forwards to this service (WebService adds them); the listener's default action is not a rule. */
  readonly listenerRules: elbv2.ApplicationListenerRule[] = [];
  private readonly policyNamePrefix: string;
  private readonly configPath: string;
  private readonly requestsPerTarget: number;
  private readonly cooldowns: { readonly scaleOutCooldown: Duration; readonly scaleInCooldown: Duration };

  constructor(scope: Construct, id: string, props: HttpServiceProps) {
    super(scope, id);
    const { service: svc, targetGroup: tg, cluster } = props;
    this.name = props.name;
    this.policyNamePrefix = props.policyNamePrefix;
    this.configPath = props.configPath;

    const dataTier = dataTierSettings(this, props.tier, svc.dbPoolSize, 'api');
    this.task = new AppTask(this, props.taskId, {
      service: 'api',
      // The reference image forks this many processes on one port; each opens its own pools, which is why the
      // loader's connection budget multiplies by the same function of the service's cpu.
      environment: {
        ...dataTier.environment,
        WORKLOAD_PROCESSES: String(processesForCpu(svc.cpu)),
        ...apiTimeoutsForAlb(props.albIdleTimeoutSeconds),
        METRICS_SERVICE: props.name,
        ...rateLimitEnvironment(svc.rateLimitPerClientPerSecond, props.vpcCidr),
      },
      cpu: svc.cpu,
      memoryMiB: svc.memoryMiB,
      image: svc.image,
      compute: props.compute,
      logKey: props.logKey,
      removalPolicy: props.removalPolicy,
      containerPort: svc.containerPort,
      healthCheckCommand: svc.containerHealthCheckCommand,
    });

    this.service = new ecs.FargateService(this, 'Service', {
      ...serviceDefaults(this, cluster, this.task.taskDefinition, props.securityGroupDescription),
      minHealthyPercent: svc.minHealthyPercent,
      maxHealthyPercent: svc.maxHealthyPercent,
      healthCheckGracePeriod: Duration.seconds(svc.healthCheckGracePeriodSeconds),
    });
    connectToDataTier(this.service, props.tier, props.name === 'api' ? 'API' : `Service ${props.name}`, 'api');
    props.tier.jobs.grantSend(this.task.taskDefinition.taskRole);

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc: cluster.vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: svc.containerPort,
      targets: [this.service.loadBalancerTarget({ containerName: this.task.container.containerName, containerPort: svc.containerPort })],
      healthCheck: {
        path: tg.healthCheck.path,
        interval: Duration.seconds(tg.healthCheck.intervalSeconds),
        timeout: Duration.seconds(tg.healthCheck.timeoutSeconds),
        healthyThresholdCount: tg.healthCheck.healthyThresholdCount,
        unhealthyThresholdCount: tg.healthCheck.unhealthyThresholdCount,
        healthyHttpCodes: tg.healthCheck.healthyHttpCodes,
      },
      loadBalancingAlgorithmType: ALGORITHMS[tg.routingAlgorithm],
      enableAnomalyMitigation: tg.anomalyMitigation || undefined,
      slowStart: tg.slowStartSeconds > 0 ? Duration.seconds(tg.slowStartSeconds) : undefined,
      deregistrationDelay: Duration.seconds(tg.deregistrationDelaySeconds),
      ...(tg.stickiness.mode !== 'off' && { stickinessCookieDuration: Duration.seconds(tg.stickiness.durationSeconds) }),
      ...(tg.stickiness.mode === 'app_cookie' && { stickinessCookieName: tg.stickiness.cookieName }),
    });

    this.requestsPerTarget = svc.requestsPerTarget;
    this.cooldowns = { scaleOutCooldown: Duration.seconds(svc.scaleOutCooldownSeconds), scaleInCooldown: Duration.seconds(svc.scaleInCooldownSeconds) };
    this.scaling = this.addAutoscaling(svc);
  }

  /**
   * The third target-tracking policy: ALBRequestCountPerTarget of this service's own target group, at
   * `requestsPerTarget`. The metric's dimension names the load balancer, so the group must be in a listener
   * action first: WebService calls this once its listener and rules exist (the config loader refuses a
   * service that no route and no default action reaches).
   */
  scaleOnRequests(): void {
    this.scaling.scaleOnRequestCount('RequestTracking', { requestsPerTarget: this.requestsPerTarget, targetGroup: this.targetGroup, ...this.cooldowns });
  }

  /**
   * Target tracking on CPU and memory (with the request policy, scaleOnRequests, the largest desired count
   * wins), predictive scaling when configured, and the scheduled ranges.
   */
  private addAutoscaling(svc: ApiConfig | HttpServiceConfig): ecs.ScalableTaskCount {
    const scaling = this.service.autoScaleTaskCount({ minCapacity: svc.minTasks, maxCapacity: svc.maxTasks });
    // ScalableTaskCount keeps its scalable target to itself; its policies are created on it (scaling/Target/<id>),
    // so tracking a metric the L2 enum does not name, on the same target, keeps the policies' logical ids.
    const target = scaling.node.findChild('Target') as appscaling.ScalableTarget;
    const cooldowns = this.cooldowns;
    const highResolution = svc.metricResolutionSeconds === HIGH_RESOLUTION_SECONDS;
    if (highResolution) this.publishHighResolutionMetrics();
    const metrics = highResolution ? HIGH_RESOLUTION_METRICS : STANDARD_METRICS;
    const cpu = target.scaleToTrackMetric('CpuTracking', { predefinedMetric: metrics.cpu, targetValue: svc.targetCpuUtilizationPercent, ...cooldowns });
    const memory = target.scaleToTrackMetric('MemoryTracking', { predefinedMetric: metrics.memory, targetValue: svc.targetMemoryUtilizationPercent, ...cooldowns });
    if (highResolution) {
      for (const [policy, type] of [[cpu, metrics.cpu], [memory, metrics.memory]] as const) {
        lintException(policy.node.defaultChild as CfnResource, 'E3030',
          `PredefinedMetricType ${type} (${this.configPath}.metricResolutionSeconds 20) is documented by Application Auto Scaling (API_PredefinedMetricSpecification); cfn-lint 1.51's enum of the property does not list it yet.`);
      }
    }
    if (svc.predictiveScaling !== 'off') this.addPredictiveScaling(target, svc.predictiveScaling, svc.targetCpuUtilizationPercent);
    for (const entry of svc.scheduledScaling) {
      scaling.scaleOnSchedule(`Schedule-${entry.name}`, {
        schedule: appscaling.Schedule.expression(entry.schedule),
        timeZone: TimeZone.of(entry.timeZone),
        minCapacity: entry.minTasks,
        maxCapacity: entry.maxTasks,
      });
    }
    return scaling;
  }

  /**
   * Has ECS publish the service's CPUUtilization and MemoryUtilization every 20 seconds, for the CPU and memory
   * policies to track with HIGH_RESOLUTION_METRICS. ECS: "By default, Amazon ECS publishes CPUUtilization and
   * MemoryUtilization metrics at 60-second resolution. You can configure 20-second resolution to drive faster
   * service auto scaling", through the service's MonitoringConfiguration, and target tracking then uses
   * ECSServiceAverageCPUUtilizationHighResolution / ECSServiceAverageMemoryUtilizationHighResolution
   * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/target-tracking-faster-auto-scaling.html).
   * Application Auto Scaling: "You must enable high-resolution metrics in Amazon ECS before creating a scaling
   * policy with this metric type"
   * (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html):
   * the policies reference the scalable target, which references the service, so CloudFormation creates and
   * updates the service first.
   *
   * Neither has a place in the L2 yet: the service's `Monitoring` is set on the L1 (CfnService.monitoring),
   * and the two metric types, absent from appscaling.PredefinedMetric, are passed as that type. cfn-lint
   * (1.51) knows neither; each finding is ignored on exactly the resource that has it, with the reason.
   */
  private publishHighResolutionMetrics(): void {
    const service = this.service.node.defaultChild as ecs.CfnService;
    service.monitoring = { metricConfigurations: [{ metricNames: ['CPUUtilization', 'MemoryUtilization'], resolutionSeconds: HIGH_RESOLUTION_SECONDS }] };
    lintException(service, 'E3002',
      `Monitoring (20-second CPUUtilization and MemoryUtilization, ${this.configPath}.metricResolutionSeconds 20) is a property of AWS::ECS::Service in the CloudFormation resource schema (aws-cdk-lib CfnService.monitoring); cfn-lint 1.51's schema of the resource does not list it yet.`);
  }

  /**
   * A predictive scaling policy on the service's scalable target (`predictiveScaling`). From up to 14 days of
   * the service's history (24 hours at least) it forecasts the next 48 hours, hourly, and in ForecastAndScale
   * mode raises the task count ahead of the forecast; it never scales in, the target-tracking policies do
   * (https://docs.aws.amazon.com/autoscaling/application/userguide/aas-predictive-scaling-how-it-works.html).
   * ForecastOnly publishes the forecast without acting, so it can be checked against what happened first.
   *
   * The metric pair ECSServiceCPUUtilization: the service's total CPU as the load, its average CPU per task as
   * the scaling metric, held at the CPU policy's target (the policy's shape:
   * https://docs.aws.amazon.com/autoscaling/application/userguide/aas-create-predictive-scaling-policy.html;
   * CloudFormation's properties:
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-applicationautoscaling-scalingpolicy-predictivescalingpolicyconfiguration.html,
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-applicationautoscaling-scalingpolicy-predictivescalingpredefinedmetricpair.html).
   * HonorMaxCapacity: a forecast never takes the service past its maxTasks, the ceiling the connection budget
   * was checked at. The L2 has no predictive policy for Application Auto Scaling, hence the L1.
   */
  private addPredictiveScaling(target: appscaling.ScalableTarget, mode: PredictiveMode, targetCpuUtilizationPercent: number): appscaling.CfnScalingPolicy {
    return new appscaling.CfnScalingPolicy(this, 'PredictiveScaling', {
      policyName: `${this.policyNamePrefix}PredictiveScaling`,
      policyType: 'PredictiveScaling',
      scalingTargetId: target.scalableTargetId,
      predictiveScalingPolicyConfiguration: {
        mode: PREDICTIVE_MODES[mode],
        maxCapacityBreachBehavior: 'HonorMaxCapacity',
        metricSpecifications: [{
          targetValue: targetCpuUtilizationPercent,
          predefinedMetricPairSpecification: { predefinedMetricType: 'ECSServiceCPUUtilization' },
        }],
      },
    });
  }
}

/** `metricResolutionSeconds` that turns the high-resolution metrics on. */
const HIGH_RESOLUTION_SECONDS = 20;

interface TrackedMetrics {
  readonly cpu: appscaling.PredefinedMetric;
  readonly memory: appscaling.PredefinedMetric;
}

const STANDARD_METRICS: TrackedMetrics = {
  cpu: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
  memory: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_MEMORY_UTILIZATION,
};

/** Documented metric types the L2 enum does not list yet (see publishHighResolutionMetrics). */
const HIGH_RESOLUTION_METRICS: TrackedMetrics = {
  cpu: 'ECSServiceAverageCPUUtilizationHighResolution' as unknown as appscaling.PredefinedMetric,
  memory: 'ECSServiceAverageMemoryUtilizationHighResolution' as unknown as appscaling.PredefinedMetric,
};

type PredictiveMode = Exclude<ApiConfig['predictiveScaling'], 'off'>;

const PREDICTIVE_MODES: Record<PredictiveMode, string> = {
  'forecast-only': 'ForecastOnly',
  'forecast-and-scale': 'ForecastAndScale',
};

/**
 * A cfn-lint rule ignored on one resource, with the reason next to it (cfn-lint reads
 * `Metadata.cfn-lint.config.ignore_checks` of a resource); for what the machine's cfn-lint does not know yet.
 */
function lintException(resource: CfnResource, rule: string, reason: string): void {
  const current = resource.getMetadata('cfn-lint') as { config: { ignore_checks: string[] }; reasons: Record<string, string> } | undefined;
  const merged = current ?? { config: { ignore_checks: [] }, reasons: {} };
  merged.config.ignore_checks.push(rule);
  merged.reasons[rule] = reason;
  resource.addMetadata('cfn-lint', merged);
}
