import { Duration } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import type { ComputeConfig, StatefulConfig, WorkerConfig } from '../config/schema';
import { backlogPerTaskTarget, jobMaxMs, WORKER_MAX_HEALTHY_PERCENT } from '../config/capacity';
import { isReferenceImage } from '../config/schema/compute';
import { AppTask, serviceDefaults } from './app-task';
import { autoScalingServiceLinkedRole } from './autoscaling-role';
import { connectToDataTier, dataTierSettings, type DataTier } from './data-access';
import { shutdownTimeoutFor, WORKER_HEALTH_CHECK_COMMAND, WORKER_LIVENESS_PORT, type ContainerEnvName } from '../contracts/container-env';

export interface QueueWorkerProps {
  readonly cluster: ecs.ICluster;
  readonly tier: DataTier;
  readonly worker: WorkerConfig;
  readonly compute: ComputeConfig;
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Period of the metrics the worker scales on (s): SQS publishes its queue metrics once a minute. */
const METRIC_PERIOD_SECONDS = 60;

/**
 * The metric-math queries of "backlog per task" = (visible [+ in flight]) ÷ running tasks, in the form
 * Application Auto Scaling's CustomizedMetricSpecification takes. Exported for the dashboard of the
 * Monitoring stack, so that what is graphed is what is scaled on.
 */
function backlogPerTaskQueries(props: {
  queueName: string;
  clusterName: string;
  serviceName: string;
  includeInFlight: boolean;
}): appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[] {
  const sqs = (id: string, metricName: string) => ({
    id,
    metricStat: {
      metric: { namespace: 'AWS/SQS', metricName, dimensions: [{ name: 'QueueName', value: props.queueName }] },
      stat: 'Average',
    },
    returnData: false,
  });
  const backlog = props.includeInFlight ? '(visible + inflight)' : 'visible';
  return [
    sqs('visible', 'ApproximateNumberOfMessagesVisible'),
    ...(props.includeInFlight ? [sqs('inflight', 'ApproximateNumberOfMessagesNotVisible')] : []),
    {
      id: 'running',
      metricStat: {
        metric: {
          namespace: 'ECS/ContainerInsights',
          metricName: 'RunningTaskCount',
          dimensions: [
            { name: 'ClusterName', value: props.clusterName },
            { name: 'ServiceName', value: props.serviceName },
          ],
        },
        stat: 'Average',
      },
      returnData: false,
    },
    { id: 'backlogPerTask', expression: `${backlog} / running`, label: 'Backlog per task', returnData: true },
  ];
}

/**
 * The metrics of a customized-metric query list as CloudWatch metrics keyed by query id, so that an alarm
 * or a dashboard can use the very metrics (and math ids) the scaling policy uses.
 */
export function queryMetrics(
  queries: appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[],
  period: Duration,
): Record<string, cloudwatch.IMetric> {
  const out: Record<string, cloudwatch.IMetric> = {};
  for (const q of queries) {
    const stat = q.metricStat as appscaling.CfnScalingPolicy.TargetTrackingMetricStatProperty | undefined;
    if (!stat) continue;
    const m = stat.metric as appscaling.CfnScalingPolicy.TargetTrackingMetricProperty;
    const dims = m.dimensions as appscaling.CfnScalingPolicy.TargetTrackingMetricDimensionProperty[];
    out[q.id!] = new cloudwatch.Metric({
      namespace: m.namespace!,
      metricName: m.metricName!,
      dimensionsMap: Object.fromEntries(dims.map((d) => [d.name, d.value])),
      statistic: stat.stat,
      period,
    });
  }
  return out;
}

/**
 * What the API needs to accept jobs the worker can run: their cost from configuration (worker.jobCpuMs,
 * worker.jobIoMs; from the request only where worker.jobCostFromRequest), and the longest job the worker runs.
 */
export function jobEnvironment(worker: WorkerConfig): { readonly [K in ContainerEnvName]?: string } {
  return {
    JOB_CPU_MS: String(worker.jobCpuMs),
    JOB_IO_MS: String(worker.jobIoMs),
    JOB_COST_FROM_REQUEST: String(worker.jobCostFromRequest),
    JOB_MAX_MS: String(jobMaxMs(worker)),
  };
}

/**
 * Workers that consume the jobs queue: a Fargate service in the app subnets, no load balancer, on a mix of
 * FARGATE and FARGATE_SPOT, scaled on backlog per task.
 *
 * Scaling follows the AWS guidance for SQS-driven services: target tracking on backlog per task, by metric
 * math in an L1 CfnScalingPolicy (the L2 does not take math expressions), with target value =
 * acceptableLatencySeconds × concurrency ÷ avgProcessingSeconds, the number of messages one task can have
 * waiting and still finish them in time. Each task runs `worker.concurrency` jobs at once (WORKER_CONCURRENCY),
 * the figure that target and the connection budget are computed with.
 *
 * Target tracking multiplies the current capacity by metric ÷ target, so from zero tasks it can never scale
 * out (and backlog ÷ 0 tasks has no value). When minTasks is 0 a step policy fills that gap: an alarm on
 * "messages waiting while no task runs" adds one task; from then on target tracking has a value to act on.
 */
export class QueueWorker extends Construct {
  readonly service: ecs.FargateService;
  readonly scalableTarget: appscaling.ScalableTarget;
  readonly backlogPolicy: appscaling.CfnScalingPolicy;
  /** Backlog per task the service scales to hold. */
  readonly backlogTarget: number;
  readonly scaleOutFromZeroAlarm?: cloudwatch.Alarm;
  /** The metric-math queries of backlog per task, as the scaling policy uses them. */
  readonly backlogQueries: appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[];

  constructor(scope: Construct, id: string, props: QueueWorkerProps) {
    super(scope, id);
    const { worker, cluster, tier } = props;

    const dataTier = dataTierSettings(this, tier, worker.dbPoolSize, 'worker');
    const task = new AppTask(this, 'Worker', {
      service: 'worker',
      // The jobs a task runs at once: what the backlog target's throughput and the pool rule assume.
      environment: { ...dataTier.environment, WORKER_CONCURRENCY: String(worker.concurrency), SHUTDOWN_TIMEOUT_MS: shutdownTimeoutFor(worker.stopTimeoutSeconds),
        // No job runs past the drain deadline; the liveness port the health check asks.
        JOB_MAX_MS: String(jobMaxMs(worker)), WORKER_LIVENESS_PORT: String(WORKER_LIVENESS_PORT) },
      // A worker whose loop has stalled (503 on its liveness port, or no answer) is replaced by ECS.
      healthCheckCommand: worker.containerHealthCheckCommand ?? (isReferenceImage(worker.image) ? WORKER_HEALTH_CHECK_COMMAND : ''),
      cpu: worker.cpu,
      memoryMiB: worker.memoryMiB,
      image: worker.image,
      compute: props.compute,
      logKey: props.logKey,
      removalPolicy: props.removalPolicy,
      stopTimeoutSeconds: worker.stopTimeoutSeconds,
    });

    const providers = worker.capacityProviders;
    this.service = new ecs.FargateService(this, 'Service', {
      ...serviceDefaults(this, cluster, task.taskDefinition, 'Worker tasks: no inbound; HTTPS, database and cache out'),
      minHealthyPercent: 100,
      // The deploy surge the connection budget counts for the worker.
      maxHealthyPercent: WORKER_MAX_HEALTHY_PERCENT,
      capacityProviderStrategies: [
        { capacityProvider: 'FARGATE', base: providers.fargateBase, weight: providers.fargateWeight },
        { capacityProvider: 'FARGATE_SPOT', weight: providers.spotWeight },
      ],
    });
    connectToDataTier(this.service, tier, 'Worker', 'worker');
    tier.jobs.grantConsume(task.taskDefinition.taskRole);

    this.scalableTarget = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.ECS,
      scalableDimension: 'ecs:service:DesiredCount',
      resourceId: `service/${cluster.clusterName}/${this.service.serviceName}`,
      minCapacity: worker.minTasks,
      maxCapacity: worker.maxTasks,
      role: autoScalingServiceLinkedRole(this, 'AutoScalingServiceLinkedRole', 'ecs'),
    });

    this.backlogTarget = backlogPerTaskTarget({ worker });
    const queries = (this.backlogQueries = backlogPerTaskQueries({
      queueName: tier.jobs.queue.queueName,
      clusterName: cluster.clusterName,
      serviceName: this.service.serviceName,
      includeInFlight: worker.scaleOnInFlightMessages,
    }));
    this.backlogPolicy = new appscaling.CfnScalingPolicy(this, 'BacklogPerTaskTracking', {
      policyName: `${id}BacklogPerTask`,
      policyType: 'TargetTrackingScaling',
      scalingTargetId: this.scalableTarget.scalableTargetId,
      targetTrackingScalingPolicyConfiguration: {
        targetValue: this.backlogTarget,
        customizedMetricSpecification: { metrics: queries },
        scaleOutCooldown: worker.scaleOutCooldownSeconds,
        scaleInCooldown: worker.scaleInCooldownSeconds,
      },
    });

    if (worker.minTasks === 0) this.scaleOutFromZeroAlarm = this.addScaleOutFromZero(queries, worker);
  }

  private addScaleOutFromZero(
    queries: appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[],
    worker: WorkerConfig,
  ): cloudwatch.Alarm {
    const byId = queryMetrics(queries, Duration.seconds(METRIC_PERIOD_SECONDS));
    const backlog = worker.scaleOnInFlightMessages ? 'visible + inflight' : 'visible';
    // RunningTaskCount may be missing rather than 0 while no task runs: FILL treats missing as 0.
    const waitingWithNoTask = new cloudwatch.MathExpression({
      expression: `IF(FILL(running, 0) == 0, ${backlog}, 0)`,
      usingMetrics: byId,
      label: 'Messages waiting while no worker runs',
      period: Duration.seconds(METRIC_PERIOD_SECONDS),
    });
    const alarm = new cloudwatch.Alarm(this, 'ScaleOutFromZeroAlarm', {
      metric: waitingWithNoTask,
      alarmDescription: 'Messages are waiting and no worker task runs: start one (target tracking cannot scale from 0).',
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      threshold: 0,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new appscaling.StepScalingAction(this, 'ScaleOutFromZero', {
      scalingTarget: this.scalableTarget,
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: Duration.seconds(worker.scaleOutCooldownSeconds),
      metricAggregationType: appscaling.MetricAggregationType.MAXIMUM,
    });
    action.addAdjustment({ lowerBound: 0, adjustment: 1 });
    alarm.addAlarmAction(new cwactions.ApplicationScalingAction(action));
    return alarm;
  }
}
