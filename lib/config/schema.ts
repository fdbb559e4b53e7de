import { z } from 'zod';

/**
 * The shape of one environment's configuration, after `defaults` and `environments.<env>` are merged.
 *
 * Every key carries its unit in its name. Nothing here has a default: the defaults live in cdk.json
 * (`scaling-blueprint.defaults`), so there is one place to read them and the README table documents them.
 * Objects are strict: an unknown key is an error (with the closest valid key suggested by the loader).
 */

const int = (min: number, max: number) => z.number().int().min(min).max(max);
const num = (min: number, max: number) => z.number().min(min).max(max);

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;
const logRetentionDays = z.literal(LOG_RETENTION_DAYS);

/** Fargate task CPU units; the memory that each allows is checked by the loader's rules. */
export const FARGATE_CPU_UNITS = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

const fargateTask = {
  /** Tasks never fewer than this (autoscaling minimum). */
  minTasks: int(0, 1000),
  /** Tasks never more than this (autoscaling maximum; also the connection budget's multiplier). */
  maxTasks: int(1, 1000),
  /** Task CPU units (1024 = 1 vCPU). */
  cpu: z.literal(FARGATE_CPU_UNITS),
  /** Task memory (MiB); must be a size Fargate offers for `cpu`. */
  memoryMiB: int(512, 122880),
  /** Size of the PostgreSQL connection pool in each task. */
  dbPoolSize: int(1, 100),
};

export const networkSchema = z.strictObject({
  /** IPv4 CIDR of the VPC. */
  cidr: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-8])$/, 'an IPv4 CIDR with a /16 to /28 mask'),
  /**
   * Availability zones, named explicitly so that synth needs no account lookup. The first `maxAzs` are used;
   * they must belong to `region`.
   */
  availabilityZones: z.array(z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d[a-z]$/, 'an AZ name such as us-east-1a')).min(1).max(6),
  /** How many of `availabilityZones` the VPC spans. */
  maxAzs: int(1, 6),
  /** NAT gateways (one per AZ for zone-independent egress; fewer to save cost outside production). */
  natGateways: int(1, 6),
  /** Retention of VPC flow logs in CloudWatch Logs (days). */
  flowLogRetentionDays: logRetentionDays,
});

export const statefulSchema = z.strictObject({
  /**
   * What happens to the database, cache and queues when the Data stack is deleted or a resource is replaced:
   * `destroy` (dev only), `snapshot` (database and cache keep a final snapshot; queues are retained) or `retain`.
   */
  removalPolicy: z.enum(['destroy', 'snapshot', 'retain']),
  /** CloudFormation termination protection on the Data stack. */
  terminationProtection: z.boolean(),
});

/** Where a service's container image comes from: a registry URI, or a Docker build context (exactly one). */
export const imageSchema = z.strictObject({
  /** Image in a registry, e.g. "public.ecr.aws/docker/library/nginx:1.27-alpine"; "" to build `directory`. */
  uri: z.string(),
  /** Docker build context relative to the project root (built by `cdk deploy`, not by synth); "" to pull `uri`. */
  directory: z.string(),
  /** Overrides the image's CMD; [] keeps it. */
  command: z.array(z.string()),
});

export const computeSchema = z.strictObject({
  /** CPU architecture of every task: Graviton (`arm64`, cheaper per vCPU) or `x86_64`. The image must have it. */
  cpuArchitecture: z.enum(['arm64', 'x86_64']),
  /** Container Insights on the ECS cluster: `enhanced` (task- and container-level) or `enabled`; either emits RunningTaskCount. */
  containerInsights: z.enum(['enabled', 'enhanced']),
  /** Retention of the services' container logs (days). */
  logRetentionDays: logRetentionDays,
  /** Mount the containers' root filesystem read-only (the workload writes nothing; an image that must write needs false). */
  readOnlyRootFilesystem: z.boolean(),
  /** User the containers run as, "uid:gid" (1000 is the workload image's `node` user); "" keeps the image's USER. */
  runAsUser: z.string().regex(/^(\d+(:\d+)?)?$/, 'a numeric "uid:gid" such as "1000:1000", or ""'),
});

export const albSchema = z.strictObject({
  /** ACM certificate for HTTPS in `region`; "" serves plain HTTP on port 80 (development only). */
  certificateArn: z.string().regex(/^(arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+)?$/, 'an ACM certificate ARN, or ""'),
  /** Connection idle timeout (s). */
  idleTimeoutSeconds: int(1, 4000),
  /** HTTP desync mitigation: `defensive` (AWS default) or `strictest`; `monitor` only logs. */
  desyncMitigationMode: z.enum(['monitor', 'defensive', 'strictest']),
  /** Days the access logs are kept in their bucket. */
  accessLogRetentionDays: int(1, 3650),
  /** Target group routing algorithm. */
  routingAlgorithm: z.enum(['round_robin', 'least_outstanding_requests', 'weighted_random']),
  /** Automatic target weights: steer traffic away from anomalous targets (weighted_random only). */
  anomalyMitigation: z.boolean(),
  stickiness: z.strictObject({
    /** `off`, `lb_cookie` (the load balancer's cookie) or `app_cookie` (your application's cookie). */
    mode: z.enum(['off', 'lb_cookie', 'app_cookie']),
    /** How long a client sticks to one target (s). */
    durationSeconds: int(1, 604800),
    /** Name of the application's cookie (`app_cookie` only). */
    cookieName: z.string(),
  }),
  /** Slow start: a new target's share of requests ramps up over this time (s); 0 off, else 30 to 900. */
  slowStartSeconds: int(0, 900),
  /** How long a deregistering target keeps serving in-flight requests (s). */
  deregistrationDelaySeconds: int(0, 3600),
  healthCheck: z.strictObject({
    /** Path the load balancer requests on each target. */
    path: z.string().regex(/^\/[^\s]*$/, 'a path starting with /'),
    /** Time between checks (s). */
    intervalSeconds: int(5, 300),
    /** Time to wait for a response (s); shorter than the interval. */
    timeoutSeconds: int(2, 120),
    /** Consecutive successes before a target is healthy. */
    healthyThresholdCount: int(2, 10),
    /** Consecutive failures before a target is unhealthy. */
    unhealthyThresholdCount: int(2, 10),
    /** Status codes that count as healthy, e.g. "200" or "200-299". */
    healthyHttpCodes: z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?(,[1-5]\d\d(-[1-5]\d\d)?)*$/, 'codes such as "200" or "200-299,304"'),
  }),
  /**
   * Path-based routing: each rule forwards matching paths to the API; anything else gets a fixed 404.
   * [] forwards every request to the API.
   */
  routes: z.array(z.strictObject({
    /** Rule priority, unique, lower first. */
    priority: int(1, 50000),
    /** Up to 5 path patterns, e.g. "/api/*". */
    pathPatterns: z.array(z.string().regex(/^\/[A-Za-z0-9_\-.$/~"'@:+?*&]*$/, 'a path pattern such as "/api/*"')).min(1).max(5),
  })).max(20),
});

const scheduledScalingSchema = z.strictObject({
  /** Unique name of the entry. */
  name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'letters, digits and -'),
  /** When: "cron(m h dom mon dow year)", "rate(n unit)" or "at(yyyy-mm-ddThh:mm:ss)". */
  schedule: z.string().regex(/^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$/, 'cron(...), rate(...) or at(...)'),
  /** IANA time zone of the schedule, e.g. "UTC" or "Europe/Berlin". */
  timeZone: z.string().min(1),
  /** Task range from then on. */
  minTasks: int(0, 1000),
  maxTasks: int(1, 1000),
});

export const apiSchema = z.strictObject({
  ...fargateTask,
  image: imageSchema,
  /** Port the container listens on. */
  containerPort: int(1, 65535),
  /** Shell command the container runs to report itself healthy ("" for none; exit 0 = healthy). */
  containerHealthCheckCommand: z.string(),
  /** ECS ignores failing load balancer health checks for this long after a task starts (s). */
  healthCheckGracePeriodSeconds: int(0, 7200),
  /** Rolling deploys: share of tasks that must stay running (%); 100 in production. */
  minHealthyPercent: int(0, 100),
  /** Rolling deploys: most tasks during a deploy, as a share of the desired count (%). */
  maxHealthyPercent: int(100, 200),
  /** Scheduled changes of the task range, e.g. a higher minimum before a daily peak. */
  scheduledScaling: z.array(scheduledScalingSchema).max(50),
  /** Target tracking: average CPU utilisation the service scales to hold (%). */
  targetCpuUtilizationPercent: int(10, 95),
  /** Target tracking: average memory utilisation the service scales to hold (%). */
  targetMemoryUtilizationPercent: int(10, 95),
  /** Target tracking: ALB requests per target per minute (ALBRequestCountPerTarget). */
  requestsPerTarget: int(1, 1_000_000),
  /** Wait after a scale-out before another scale-out counts the new tasks (s). */
  scaleOutCooldownSeconds: int(0, 3600),
  /** Wait after a scale-in before the next scale-in (s). */
  scaleInCooldownSeconds: int(0, 3600),
});

export const workerSchema = z.strictObject({
  ...fargateTask,
  image: imageSchema,
  /** Time a task gets between SIGTERM and SIGKILL to finish its in-flight job (s); Fargate allows up to 120. */
  stopTimeoutSeconds: int(2, 120),
  /** Count in-flight (received, not yet deleted) messages in the backlog as well as visible ones. */
  scaleOnInFlightMessages: z.boolean(),
  /** Capacity provider mix: `fargateBase` tasks always on FARGATE, the rest split by weight with FARGATE_SPOT. */
  capacityProviders: z.strictObject({
    fargateBase: int(0, 100000),
    fargateWeight: int(0, 1000),
    spotWeight: int(0, 1000),
  }),
  /** How long a job may wait in the queue before it is "late" (s); with avgProcessingSeconds gives the backlog target. */
  acceptableLatencySeconds: num(1, 43200),
  /** Average time one task spends on one job (s). */
  avgProcessingSeconds: num(0.001, 43200),
  /** Longest time one job may take (s); the queue visibility timeout must cover it with headroom. */
  maxProcessingSeconds: num(0.001, 43200),
  /** Wait after a scale-out before another scale-out (s). */
  scaleOutCooldownSeconds: int(0, 3600),
  /** Wait after a scale-in before the next scale-in (s). */
  scaleInCooldownSeconds: int(0, 3600),
});

export const queueSchema = z.strictObject({
  /** How long a received message stays invisible to other consumers (s); SQS allows 0 to 43200. */
  visibilityTimeoutSeconds: int(0, 43200),
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: int(1, 1000),
  /** How long an unconsumed message is kept (days); SQS allows 1 to 14. */
  retentionDays: int(1, 14),
  /** Long polling: how long a ReceiveMessage call waits for a message (s); SQS allows 0 to 20. */
  receiveWaitTimeSeconds: int(0, 20),
});

export const databaseSchema = z.strictObject({
  /** Aurora PostgreSQL engine version, e.g. "16.6". */
  engineVersion: z.string().regex(/^\d{2}\.\d{1,2}$/, 'a version such as "16.6"'),
  /**
   * DB instance class of the writer and the readers, e.g. "db.r6g.large", or "db.serverless" for
   * Aurora Serverless v2 (then `serverlessV2MinCapacityAcu`/`serverlessV2MaxCapacityAcu` apply).
   */
  instanceClass: z.string().regex(/^db\.(serverless|[a-z0-9]+\.[a-z0-9]+)$/, 'a class such as "db.r6g.large" or "db.serverless"'),
  /** Serverless v2 minimum capacity (ACU, steps of 0.5; 0 allows auto-pause). */
  serverlessV2MinCapacityAcu: num(0, 256).multipleOf(0.5),
  /** Serverless v2 maximum capacity (ACU, steps of 0.5). */
  serverlessV2MaxCapacityAcu: num(1, 256).multipleOf(0.5),
  /** Reader instances created with the cluster (Aurora allows 15 replicas). */
  readers: int(0, 15),
  readerAutoscaling: z.strictObject({
    /** Add Application Auto Scaling of readers (rds:cluster:ReadReplicaCount). */
    enabled: z.boolean(),
    /** Fewest readers autoscaling keeps (counts every reader, including `readers`). */
    minReaders: int(0, 15),
    /** Most readers autoscaling may run. */
    maxReaders: int(1, 15),
    /** Average reader CPU the policy holds (%). */
    targetCpuUtilizationPercent: int(10, 90),
    /** Wait after adding a reader before adding another (s). */
    scaleOutCooldownSeconds: int(0, 86400),
    /** Wait after removing a reader before removing another (s). */
    scaleInCooldownSeconds: int(0, 86400),
  }),
  proxy: z.strictObject({
    /** Put RDS Proxy (connection pooling, faster failover) between the services and the cluster. */
    enabled: z.boolean(),
    /** Share of the writer's max_connections the proxy may open (%). */
    maxConnectionsPercent: int(1, 100),
    /** Share of the writer's max_connections the proxy keeps idle (%); at most maxConnectionsPercent. */
    maxIdleConnectionsPercent: int(0, 100),
    /** How long a client waits for a pooled connection before an error (s). */
    borrowTimeoutSeconds: int(1, 3600),
  }),
  /** Automated backup retention (days); Aurora allows 1 to 35. */
  backupRetentionDays: int(1, 35),
  /** Enhanced monitoring interval (s); 0 turns it off. */
  monitoringIntervalSeconds: z.literal([0, 1, 5, 10, 15, 30, 60]),
  /** Performance Insights retention (days): 7 (free tier), or 31 × months up to 731. */
  performanceInsightsRetentionDays: z.literal([7, ...Array.from({ length: 23 }, (_, m) => 31 * (m + 1)), 731]),
  /** Retention of the exported postgresql log in CloudWatch Logs (days). */
  logRetentionDays: logRetentionDays,
  /** Name of the database created in the cluster. */
  databaseName: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, 'lower-case letters, digits and _, starting with a letter'),
  /** Days between automatic rotations of the master password (Secrets Manager single-user rotation). */
  secretRotationDays: int(1, 365),
  /** Master user name (kept in the generated secret). `postgres`, `rdsadmin` and `admin` are reserved or guessable. */
  masterUsername: z.string().regex(/^[a-z][a-z0-9_]{0,15}$/, 'lower-case letters, digits and _, starting with a letter, at most 16 characters'),
});

export const cacheSchema = z.strictObject({
  /** `replication-group` (node-based, sharded when shards > 1) or `serverless` (ElastiCache Serverless). */
  mode: z.enum(['replication-group', 'serverless']),
  /** Cache engine. */
  engine: z.enum(['valkey', 'redis']),
  /** Engine major.minor version, e.g. "8.0" for Valkey or "7.1" for Redis OSS. */
  engineVersion: z.string().regex(/^\d+\.\d+$/, 'a version such as "8.0"'),
  /** Node type of the replication group, e.g. "cache.r7g.large". */
  nodeType: z.string().regex(/^cache\.[a-z0-9]+\.[a-z0-9]+$/, 'a node type such as "cache.t4g.micro"'),
  /** Node groups (shards); more than 1 turns on cluster mode. */
  shards: int(1, 500),
  /** Replicas per shard (0 to 5); at least 1 for Multi-AZ and automatic failover. */
  replicas: int(0, 5),
  /** TCP port (not the default 6379, so scanners looking for open Redis find nothing). */
  port: int(1024, 65535),
  /** Daily snapshots kept (days); 0 turns them off. */
  snapshotRetentionDays: int(0, 35),
  /** Serverless only: most data the cache may hold (GB). */
  serverlessMaxDataStorageGb: int(1, 5000),
  /** Serverless only: most ElastiCache Processing Units per second. */
  serverlessMaxEcpuPerSecond: int(1000, 15_000_000),
});

/**
 * Thresholds of one alarm by severity, in the unit its key names; `null` turns a level off. Which direction
 * breaches (above or below) is part of the alarm's definition in lib/constructs/kpi-alarms.ts.
 */
const thresholds = (min: number, max: number) => z.strictObject({
  warning: z.number().min(min).max(max).nullable(),
  critical: z.number().min(min).max(max).nullable(),
});

export const monitoringSchema = z.strictObject({
  /** Email addresses subscribed to the alarm topic (each must confirm); [] subscribes none. */
  alarmEmails: z.array(z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address')).max(20),
  /** Period of the alarms' metrics (s). */
  periodSeconds: z.literal([60, 300]),
  /** Periods an alarm looks back over. */
  evaluationPeriods: int(1, 60),
  /** Breaching periods among them before the alarm fires (against flapping). */
  datapointsToAlarm: int(1, 60),
  /** Percentage alarms stay quiet below this many requests per period (no alarm on 1 error out of 2 requests). */
  minRequestsPerPeriod: int(1, 1_000_000),
});

export const alarmsSchema = z.strictObject({
  /** p99 TargetResponseTime above (ms). */
  latencyP99Ms: thresholds(1, 600_000),
  /** 5xx responses, target or load balancer, as a share of requests above (%). */
  http5xxPercent: thresholds(0, 100),
  /** Unhealthy targets above (count). */
  unhealthyHosts: thresholds(0, 1000),
  /** API CPU utilisation, service average, above (%). */
  apiCpuPercent: thresholds(1, 100),
  /** API memory utilisation, service average, above (%). */
  apiMemoryPercent: thresholds(1, 100),
  /** Warn while the API runs at its maxTasks: autoscaling has nothing left to give. */
  apiAtMaxTasks: z.boolean(),
  /** Age of the oldest job above this multiple of worker.acceptableLatencySeconds. */
  queueAgeLatencyMultiple: thresholds(0.1, 100),
  /** Messages in the dead-letter queue above (count). */
  dlqMessages: thresholds(0, 1_000_000),
  /** Aurora CPU, writer or reader average, above (%). */
  auroraCpuPercent: thresholds(1, 100),
  /** Writer DatabaseConnections above this share of the connection budget (%). */
  dbConnectionsPercentOfBudget: thresholds(1, 1000),
  /** AuroraReplicaLag above (ms). */
  replicaLagMs: thresholds(1, 3_600_000),
  /** FreeableMemory of any instance below (MiB). */
  freeableMemoryMiB: thresholds(1, 1_048_576),
  /** Cache hit rate below (%). */
  cacheHitRatePercent: thresholds(0, 100),
  /** Cache memory used above (%). */
  cacheMemoryPercent: thresholds(1, 100),
  /** Cache evictions per period at or above (count). */
  cacheEvictions: thresholds(1, 100_000_000),
});

export const sloSchema = z.strictObject({
  /** Availability objective: share of requests without a 5xx (%). */
  availabilityPercent: num(50, 99.999),
  /** A request slower than this is "slow" for the latency objective (ms). */
  latencyThresholdMs: int(1, 600_000),
  /** Latency objective: share of requests faster than latencyThresholdMs (%). */
  latencyPercent: num(50, 99.999),
  /**
   * Multi-window, multi-burn-rate alerts (Google SRE workbook): fire when the error budget burns `factor`
   * times too fast over both the long and the short window.
   */
  burnRates: z.array(z.strictObject({
    longWindowMinutes: int(5, 1440),
    shortWindowMinutes: int(1, 1440),
    factor: num(1, 1000),
  })).min(1).max(4),
});

const phaseSchema = z.strictObject({
  /** Length of the phase (s). */
  durationSeconds: int(1, 7 * 24 * 3600),
  /** Arrivals per second at the start of the phase (open model: independent of response times). */
  arrivalRate: num(0, 1_000_000),
  /** Arrivals per second at the end of the phase; the rate moves linearly. @default - arrivalRate */
  rampTo: num(0, 1_000_000).optional(),
});

const loadProfileSchema = z.strictObject({
  /** One line for reports and the CLI's help. */
  description: z.string().min(1).max(200),
  phases: z.array(phaseSchema).min(1).max(100),
  /** Stop at the end of the first phase that breaks the error SLA and report its rate (stress tests). */
  stopWhenSlaBreaks: z.boolean(),
});

export const loadTestSchema = z.strictObject({
  /** Deploy the opt-in LoadTest stack (the load-generator Lambda). */
  enabled: z.boolean(),
  /** Memory of the load-generator Lambda (MiB); CPU grows with it (1769 MiB = 1 vCPU). */
  lambdaMemoryMiB: int(128, 10240),
  /** Reserved concurrency of the load generator: the most workers one test can fan out to. */
  maxWorkers: int(1, 1000),
  /** Arrivals per second one worker is trusted to sustain; above it the CLI fans out to more workers. */
  maxRatePerWorker: int(1, 100_000),
  /** Requests one worker keeps in flight at most; arrivals beyond it are counted as dropped. */
  maxConcurrencyPerWorker: int(1, 20_000),
  /** Length of one Lambda slice (s); longer phases (soak) are run as consecutive slices. At most 14 minutes. */
  sliceSeconds: int(10, 840),
  /** Per-request timeout (ms). */
  requestTimeoutMs: int(100, 120_000),
  /** Weighted request mix, as the workload serves it. */
  mix: z.array(z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a label of letters, digits, ".", "_" or "-"'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().regex(/^\/\S*$/, 'a path starting with "/"'),
    body: z.string().max(65_536).optional(),
    weight: num(0.001, 1_000_000),
  })).min(1).max(50),
  /** Profiles run by `npm run loadtest -- --profile <name>`. */
  profiles: z.strictObject({
    load: loadProfileSchema,
    stress: loadProfileSchema,
    soak: loadProfileSchema,
    spike: loadProfileSchema,
  }),
});

/** Service-level agreement a load test is judged against (`npm run kpi-report`), client and server side. */
export const slaSchema = z.strictObject({
  /** Median latency at most (ms). */
  latencyP50Ms: int(1, 600_000),
  /** p90 latency at most (ms). */
  latencyP90Ms: int(1, 600_000),
  /** p99 latency at most (ms). */
  latencyP99Ms: int(1, 600_000),
  /** Failed requests (5xx, connection errors, timeouts) as a share of requests at most (%). */
  errorRatePercent: num(0, 100),
  /** Achieved arrival rate at least this share of the requested rate (%). */
  minAchievedRatePercent: num(1, 100),
  /** Age of the oldest job at most (s). */
  queueAgeSeconds: int(1, 1_209_600),
  /** API CPU utilisation, service average, at most (%). */
  apiCpuPercent: num(1, 100),
});

export const blueprintConfigSchema = z.strictObject({
  /** Production guard rails: multi-AZ, readers, no DESTROY removal, termination protection. */
  production: z.boolean(),
  /** AWS region the stacks are synthesized for (no lookup is made). */
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as us-east-1'),
  /** AWS account id; empty means environment-agnostic (CloudFormation resolves the account at deploy). */
  account: z.string().regex(/^(\d{12})?$/, 'a 12-digit account id, or "" for any account'),
  network: networkSchema,
  stateful: statefulSchema,
  compute: computeSchema,
  alb: albSchema,
  api: apiSchema,
  worker: workerSchema,
  queue: queueSchema,
  database: databaseSchema,
  cache: cacheSchema,
  monitoring: monitoringSchema,
  alarms: alarmsSchema,
  slo: sloSchema,
  loadTest: loadTestSchema,
  sla: slaSchema,
});

/** One environment's configuration: validated, merged and frozen. */
export type BlueprintConfig = Readonly<z.infer<typeof blueprintConfigSchema> & { readonly envName: string }>;
export type NetworkConfig = z.infer<typeof networkSchema>;
export type StatefulConfig = z.infer<typeof statefulSchema>;
export type ImageConfig = z.infer<typeof imageSchema>;
export type ComputeConfig = z.infer<typeof computeSchema>;
export type AlbConfig = z.infer<typeof albSchema>;
export type ApiConfig = z.infer<typeof apiSchema>;
export type WorkerConfig = z.infer<typeof workerSchema>;
export type QueueConfig = z.infer<typeof queueSchema>;
export type DatabaseConfig = z.infer<typeof databaseSchema>;
export type CacheConfig = z.infer<typeof cacheSchema>;
export type MonitoringConfig = z.infer<typeof monitoringSchema>;
export type AlarmsConfig = z.infer<typeof alarmsSchema>;
export type Thresholds = AlarmsConfig[keyof Omit<AlarmsConfig, 'apiAtMaxTasks'>];
export type SloConfig = z.infer<typeof sloSchema>;
export type LoadTestConfig = z.infer<typeof loadTestSchema>;
export type LoadProfile = z.infer<typeof loadProfileSchema>;
export type SlaConfig = z.infer<typeof slaSchema>;
