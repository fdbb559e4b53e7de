/**
 * The AWS behaviour the planner simulates, one constant each, with where AWS says so. The simulation reads
 * these (never a bare number), and `--json` prints them as `constants`, so a reader can check each figure
 * against its source and see what to change when AWS changes.
 */

/** One constant of the model: its value, unit, and the page that states it. */
export interface SourcedConstant {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** What it means in the simulation. */
  readonly meaning: string;
  /** AWS documentation (or, where no page states the figure, the best public AWS source, said so in `note`). */
  readonly source: string;
  readonly note?: string;
}

const TARGET_TRACKING_OVERVIEW = 'https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html';

/**
 * Consecutive datapoints above the target before a target-tracking policy scales out: the alarm
 * Application Auto Scaling creates for it ("AlarmHigh") is 3 out of 3 datapoints of the metric's period.
 * With one-minute metrics that is 3 minutes; with the ECS high-resolution metrics, 3 × 20 s.
 * https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
 */
export const SCALE_OUT_DATAPOINTS = 3;

/**
 * Consecutive datapoints below the scale-in threshold before a target-tracking policy scales in: its
 * "AlarmLow" is 15 out of 15 datapoints (15 minutes at one-minute metrics).
 */
export const SCALE_IN_DATAPOINTS = 15;

/**
 * The scale-in threshold as a share of the target: AWS removes capacity only "when utilization falls below
 * a threshold below the target value (usually more than 10% lower)".
 */
export const SCALE_IN_THRESHOLD_RATIO = 0.9;

/** Period of the standard CloudWatch metrics the policies read (ALB, SQS, RDS, ECS by default): one minute. */
export const STANDARD_PERIOD_SECONDS = 60;

/** Period of ECS's high-resolution CPU and memory metrics (`api.metricResolutionSeconds` 20). */
export const HIGH_RESOLUTION_PERIOD_SECONDS = 20;

/**
 * Datapoints the worker's scale-from-zero alarm needs: 1 of 1 (lib/constructs/queue-worker.ts,
 * `evaluationPeriods: 1`), on one-minute SQS metrics, then a step policy adds one task.
 */
export const SCALE_FROM_ZERO_DATAPOINTS = 1;

/**
 * Seconds from Aurora Auto Scaling adding a reader until it serves: AWS's documentation gives no figure
 * for a new Aurora instance; AWS's own agent toolkit says "Aurora cluster and instance creation can take
 * 10-20 minutes". The planner takes the short end; a reader added during a short spike arrives after it.
 */
export const READER_START_SECONDS = 600;

/** Step of the simulation (s): divides the 20-second and one-minute metric periods, so datapoints align. */
export const TICK_SECONDS = 10;

/** Quantile of the latency the planner predicts and checks against `sla.latencyP99Ms`. */
export const LATENCY_QUANTILE = 0.99;

/** Every constant above, as `--json` prints it. */
export const CONSTANTS: readonly SourcedConstant[] = [
  {
    name: 'SCALE_OUT_DATAPOINTS', value: SCALE_OUT_DATAPOINTS, unit: 'datapoints',
    meaning: 'consecutive datapoints above the target before a target-tracking policy scales out (3 minutes at one-minute metrics, 60 s at 20-second ones)',
    source: TARGET_TRACKING_OVERVIEW,
    note: 'the count is that of the AlarmHigh alarm Application Auto Scaling creates (visible in CloudWatch); AWS measured 363 s from load to trigger at 60-s metrics and 86 s at 20-s metrics (https://aws.amazon.com/blogs/aws/amazon-ecs-introduces-new-high-resolution-metrics-for-faster-service-auto-scaling/): the model, without the metrics\' publication delay, is faster than that',
  },
  {
    name: 'SCALE_IN_DATAPOINTS', value: SCALE_IN_DATAPOINTS, unit: 'datapoints',
    meaning: 'consecutive datapoints below the scale-in threshold before a target-tracking policy scales in; with several policies, only when every one of them is ready to',
    source: 'https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html',
    note: 'the count is that of the AlarmLow alarm Application Auto Scaling creates (visible in CloudWatch)',
  },
  {
    name: 'SCALE_IN_THRESHOLD_RATIO', value: SCALE_IN_THRESHOLD_RATIO, unit: '× target',
    meaning: 'scale-in needs the metric below this share of the target ("usually more than 10% lower")',
    source: TARGET_TRACKING_OVERVIEW,
  },
  {
    name: 'STANDARD_PERIOD_SECONDS', value: STANDARD_PERIOD_SECONDS, unit: 's',
    meaning: 'period of ALBRequestCountPerTarget, the SQS queue metrics, RDS CPU and ECS CPU/memory at standard resolution',
    source: 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html',
    note: 'SQS: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/monitoring-using-cloudwatch.html (one-minute intervals)',
  },
  {
    name: 'HIGH_RESOLUTION_PERIOD_SECONDS', value: HIGH_RESOLUTION_PERIOD_SECONDS, unit: 's',
    meaning: 'period of the CPU and memory policies when api.metricResolutionSeconds is 20 (the request-count policy stays at one minute)',
    source: 'https://docs.aws.amazon.com/AmazonECS/latest/developerguide/target-tracking-faster-auto-scaling.html',
  },
  {
    name: 'SCALE_FROM_ZERO_DATAPOINTS', value: SCALE_FROM_ZERO_DATAPOINTS, unit: 'datapoints',
    meaning: 'one one-minute datapoint with messages waiting and no worker running starts one worker (a step policy: target tracking cannot leave zero)',
    source: 'https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-step-scaling-policies.html',
    note: 'the alarm is the blueprint\'s own (lib/constructs/queue-worker.ts, evaluationPeriods 1)',
  },
  {
    name: 'READER_START_SECONDS', value: READER_START_SECONDS, unit: 's',
    meaning: 'from Aurora Auto Scaling adding a reader until it serves reads',
    source: 'https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Integrating.AutoScaling.html',
    note: 'AWS documents no figure; AWS\'s agent toolkit says "Aurora cluster and instance creation can take 10-20 minutes" (https://github.com/aws/agent-toolkit-for-aws, creating-amazon-aurora-db-cluster-with-instances): the short end is taken',
  },
  {
    name: 'TICK_SECONDS', value: TICK_SECONDS, unit: 's',
    meaning: 'step of the simulation; every metric period is a whole number of steps',
    source: 'https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch_concepts.html',
  },
];

/** How a new API task comes to serve, from the configuration: each part, with its key and source. */
export interface TaskReadiness {
  /** Scale-out to RUNNING (s): `compute.taskStartSeconds`, an assumption. */
  readonly startSeconds: number;
  /** RUNNING to healthy in the target group (s): healthy threshold × interval. */
  readonly healthCheckSeconds: number;
  /** Healthy to a full share of requests (s): `alb.slowStartSeconds`. */
  readonly slowStartSeconds: number;
}

export const TASK_READINESS_SOURCES = {
  startSeconds: 'compute.taskStartSeconds (an assumption; AWS: "It is normal for new AWS Fargate tasks to take 30-45 seconds or longer to start", https://repost.aws/questions/QUjZAzJd27SZWxXM7MgyxOZw; Fargate pulls the whole image for every task, https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-pull-behavior.html)',
  healthCheckSeconds: 'alb.healthCheck.healthyThresholdCount × alb.healthCheck.intervalSeconds: a target is healthy after that many consecutive successful checks (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html)',
  slowStartSeconds: 'alb.slowStartSeconds: the load balancer ramps a new target\'s share linearly (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode)',
} as const;
