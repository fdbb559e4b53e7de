import { z } from 'zod';
import { FARGATE_CPU_UNITS, REQUESTS_PER_TARGET_FROM_CAPACITY } from '../capacity';
import { int, logRetentionDays, num } from './common';
import { blockedPathsSchema, wafSchema } from './alb-security';
import { albMinimumCapacityUnitsSchema } from './nlb';
import { routesSchema, serviceNameSchema } from './routes';
import { deploymentSchema } from './deployment';

/**
 * What the reference workload's image (built from `workload/`: one image, two commands) needs from its task.
 * Where a key says null, the reference image gets these and any other image its own settings (its CMD, its
 * USER, no container health check): an image of your own does not inherit the reference's assumptions.
 */
export const REFERENCE_WORKLOAD = {
  /** The build directory of the reference image (relative to the project root). */
  directory: 'workload',
  /** Its two commands (workload/src/main.ts). */
  command: { api: ['api'], worker: ['worker'] },
  /** The `node` user of its node:22-alpine base image. */
  user: '1000:1000',
  /** Its liveness route (workload/src/routes/health.ts). */
  healthPath: '/healthz',
  /** The port its API listens on by default (PORT; the image EXPOSEs it). */
  port: 8080,
} as const;

/** The container health check of the reference API: busybox wget, which its alpine image has. */
export function referenceHealthCheckCommand(containerPort: number): string {
  return `wget -q -O /dev/null http://127.0.0.1:${containerPort}${REFERENCE_WORKLOAD.healthPath} || exit 1`;
}

/** True where the image is the reference workload's: built from `workload/`, not pulled. */
export function isReferenceImage(image: { uri: string; directory: string }): boolean {
  return image.uri === '' && image.directory.replace(/^\.\//, '').replace(/\/+$/, '') === REFERENCE_WORKLOAD.directory;
}

/**
 * An image reference as `docker pull` takes it: [registry[:port]/]repository[:tag][@sha256:digest], the
 * repository in lower case (https://github.com/distribution/reference/blob/main/reference.go).
 */
const IMAGE_REFERENCE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** A private Amazon ECR image URI, in its parts. */
export interface EcrImage {
  readonly account: string;
  readonly region: string;
  readonly repositoryName: string;
  /** Tag or digest ("sha256:..."); a digest wins over a tag; "latest" when the URI names neither, as docker does. */
  readonly tagOrDigest: string;
}

/**
 * The parts of a private ECR URI, `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]`
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/Registries.html), or undefined for any other registry.
 */
export function parseEcrImage(uri: string): EcrImage | undefined {
  const m = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(?:\.cn)?\/((?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[a-f0-9]{64}))?$/.exec(uri);
  if (!m) return undefined;
  const [, account, region, repositoryName, tag, digest] = m;
  return { account, region, repositoryName, tagOrDigest: digest ?? tag ?? 'latest' };
}

/** Where a service's container image comes from: a registry URI, or a Docker build context (exactly one). */
export const imageSchema = z.strictObject({
  uri: z.string().regex(new RegExp(`${IMAGE_REFERENCE.source}|^$`), 'an image reference such as "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1.4.2" (no https://, repository in lower case), or ""')
    .describe('Image in a registry, e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1.4.2" or "ghcr.io/acme/api@sha256:…"; "" to build `directory`. A private ECR image gets pull permission on its repository alone; any other private registry needs `credentialsSecretArn`. See docs/own-image.md.'),
  directory: z.string()
    .describe('Docker build context relative to the project root (built by `cdk deploy` for `compute.cpuArchitecture`, not by synth); "" to pull `uri`.'),
  command: z.array(z.string()).nullable()
    .describe('Overrides the image\'s CMD; [] keeps it. null: the reference workload (directory "workload") gets its command for this service (["api"] or ["worker"]), any other image keeps its own CMD.'),
  credentialsSecretArn: z.string().regex(/^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6})?$/, 'a Secrets Manager secret ARN with its 6-character suffix, or ""')
    .describe('A private registry other than ECR (Docker Hub, GitHub, Quay…): the full ARN of a Secrets Manager secret {"username": …, "password": …} that ECS logs in with; the task execution role may read it. "" for a public image or ECR.'),
}).describe('Where the container image comes from: a registry `uri` or a build `directory`, exactly one.');

const fargateTask = {
  minTasks: int(0, 1000)
    .describe('Tasks never fewer than this (the autoscaling minimum).'),
  maxTasks: int(1, 1000)
    .describe('Tasks never more than this (the autoscaling maximum; also the connection budget\'s multiplier).'),
  cpu: z.literal(FARGATE_CPU_UNITS)
    .describe('Fargate task CPU units (1024 = 1 vCPU). The reference API runs one Node.js process per whole vCPU (at least one), so 2048 serves about twice 1024 and opens twice the connections; 256 and 512 give its one process a share of a core. The reference worker runs one process, so at most 1024 for it.'),
  memoryMiB: int(512, 122880)
    .describe('Fargate task memory (MiB); must be a size Fargate offers for `cpu`.'),
  dbPoolSize: int(1, 100)
    .describe('Size of each PostgreSQL connection pool (DB_POOL_SIZE), per pool and per process: the connection budget counts every process\'s pools on each endpoint.'),
};

export const computeSchema = z.strictObject({
  cpuArchitecture: z.enum(['arm64', 'x86_64'])
    .describe('CPU architecture of every task: Graviton (`arm64`, cheaper per vCPU) or `x86_64`. The image must have it.'),
  containerInsights: z.enum(['enabled', 'enhanced'])
    .describe('Container Insights on the ECS cluster: `enhanced` (task- and container-level) or `enabled`; both publish RunningTaskCount.'),
  logRetentionDays: logRetentionDays
    .describe('Retention of the containers\' and the load generator\'s logs (days; 365 or more in production).'),
  readOnlyRootFilesystem: z.boolean()
    .describe('Mount the containers\' root filesystem read-only (the workload writes nothing; an image that must write needs false).'),
  runAsUser: z.string().regex(/^(\d+(:\d+)?)?$/, 'a numeric "uid:gid" such as "1000:1000", or ""').nullable()
    .describe('User the containers run as, "uid:gid"; "" keeps the image\'s USER. Never root. null: the reference workload runs as 1000:1000 (its image\'s `node` user), any other image as its own USER (synth warns: it cannot see whether that is root).'),
  taskStartSeconds: int(1, 900)
    .describe('Assumption for `npm run plan`: seconds from a scale-out until a new task runs its container (Fargate capacity, network interface, image pull without cache, process start); the API task then still waits for the target group\'s health checks. AWS says 30-45 s or longer is normal; measure yours (ECS task events) and set it here.'),
}).describe('The ECS cluster and what every task shares.');

/**
 * One target group's settings: the API's sit in `alb` (where they always were), every other service's in its
 * own `targetGroup`. The rules that AWS puts on their combinations are in lib/config/rules/routes.ts.
 */
const targetGroupShape = {
  routingAlgorithm: z.enum(['round_robin', 'least_outstanding_requests', 'weighted_random'])
    .describe('Target group routing algorithm: `least_outstanding_requests` suits uneven request cost; `weighted_random` allows anomaly mitigation.'),
  anomalyMitigation: z.boolean()
    .describe('Automatic target weights: steer traffic away from targets that return errors (`weighted_random` only).'),
  stickiness: z.strictObject({
    mode: z.enum(['off', 'lb_cookie', 'app_cookie'])
      .describe('`off`, `lb_cookie` (the load balancer\'s cookie) or `app_cookie` (your application\'s cookie); off works best for even load spreading.'),
    durationSeconds: int(1, 604800)
      .describe('How long a client sticks to one target (s).'),
    cookieName: z.string()
      .describe('Name of the application\'s cookie (`app_cookie` only; not one the load balancer reserves).'),
  }).describe('Sticky sessions: pin a client to one task.'),
  slowStartSeconds: int(0, 900)
    .describe('Slow start: a new target\'s share of requests ramps up over this time (s); 0 off, else 30 to 900; not with `weighted_random` or `least_outstanding_requests`.'),
  deregistrationDelaySeconds: int(0, 3600)
    .describe('How long a deregistering target keeps serving in-flight requests (s).'),
  healthCheck: z.strictObject({
    path: z.string().regex(/^\/[^\s]*$/, 'a path starting with /')
      .describe('Path the load balancer requests on each target.'),
    intervalSeconds: int(5, 300)
      .describe('Time between checks (s).'),
    timeoutSeconds: int(2, 120)
      .describe('Time to wait for a response (s); shorter than the interval.'),
    healthyThresholdCount: int(2, 10)
      .describe('Consecutive successes before a target is healthy.'),
    unhealthyThresholdCount: int(2, 10)
      .describe('Consecutive failures before a target is unhealthy.'),
    healthyHttpCodes: z.string().regex(/^[1-5]\d\d(-[1-5]\d\d)?(,[1-5]\d\d(-[1-5]\d\d)?)*$/, 'codes such as "200" or "200-299,304"')
      .describe('Status codes that count as healthy, e.g. "200" or "200-299".'),
  }).describe('The target group\'s health check.'),
};

export const targetGroupSchema = z.strictObject(targetGroupShape)
  .describe('The service\'s target group: routing algorithm, stickiness, slow start, deregistration delay and health check, as `alb` has them for the API.');

export const albSchema = z.strictObject({
  certificateArn: z.string().regex(/^(arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]+)?$/, 'an ACM certificate ARN, or ""')
    .describe('ACM certificate in `region`: HTTPS on 443 (TLS 1.3 and 1.2 with post-quantum key exchange, HSTS and nosniff headers) and a permanent redirect from 80; required in production. "" serves plain HTTP on port 80 (development only; synth says so). The shipped prod value is an example that `npm run preflight` refuses: replace it with your certificate.'),
  idleTimeoutSeconds: int(1, 4000)
    .describe('Connection idle timeout (s).'),
  desyncMitigationMode: z.enum(['monitor', 'defensive', 'strictest'])
    .describe('HTTP desync mitigation: `defensive` (the AWS default) or `strictest`; `monitor` only logs.'),
  accessLogRetentionDays: int(1, 3650)
    .describe('Days the access logs are kept in their bucket.'),
  ...targetGroupShape,
  defaultService: z.union([serviceNameSchema, z.literal('')])
    .describe('The service the listener\'s default action forwards to: every request no route matches. "api" (the API) or the `name` of an entry in `services`; "" answers them with a fixed 404, so only the routes reach a service.'),
  routes: routesSchema,
  blockedPaths: blockedPathsSchema,
  waf: wafSchema,
  minimumCapacityUnits: albMinimumCapacityUnitsSchema,
}).describe('The internet-facing Application Load Balancer, its listener rules and the API\'s target group.');

const scheduledScalingSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'letters, digits and -')
    .describe('Unique name of the entry.'),
  schedule: z.string().regex(/^(cron\(.+\)|rate\(\d+ (minute|minutes|hour|hours|day|days)\)|at\(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\))$/, 'cron(...), rate(...) or at(...)')
    .describe('When: "cron(m h dom mon dow year)", "rate(n unit)" or "at(yyyy-mm-ddThh:mm:ss)".'),
  timeZone: z.string().min(1)
    .describe('IANA time zone of the schedule, e.g. "UTC" or "Europe/Berlin".'),
  minTasks: int(0, 1000)
    .describe('Fewest tasks from then on.'),
  maxTasks: int(1, 1000)
    .describe('Most tasks from then on.'),
});

export const apiSchema = z.strictObject({
  ...fargateTask,
  image: imageSchema,
  containerPort: int(1, 65535)
    .describe('Port the container listens on.'),
  containerHealthCheckCommand: z.string().nullable()
    .describe('Shell command (CMD-SHELL) the container runs to report itself healthy (exit 0 = healthy), with a program your image has, e.g. "curl -fsS http://127.0.0.1:8080/health || exit 1"; "" for none (the load balancer\'s health check still applies). null: the reference workload checks /healthz on `containerPort` with busybox wget, any other image gets none.'),
  healthCheckGracePeriodSeconds: int(0, 7200)
    .describe('ECS ignores failing load-balancer health checks for this long after a task starts (s).'),
  rateLimitPerClientPerSecond: int(0, 1_000_000)
    .describe('The reference workload\'s in-app rate limit (RATE_LIMIT_PER_SECOND): requests per second one client may make to one process (a token bucket with RATE_LIMIT_BURST on top; 429 with Retry-After beyond it); 0 turns it off. A client is an IP address: behind the load balancer, the right-most X-Forwarded-For entry, the one the ALB appended, trusted only on connections from the VPC\'s CIDR, where the ALB\'s nodes are (RATE_LIMIT_TRUSTED_PROXIES); the entries a client wrote to its left are ignored. Clients behind one NAT share a limit. It counts per process: with several processes a client spread over them gets up to this many per second from each. Where load tests are on, the loader refuses a limit below a profile\'s peak rate: the load generator\'s requests all leave through the NAT gateways.'),
  minHealthyPercent: int(0, 100)
    .describe('Rolling deploys: share of tasks that must stay running (%); 100 in production.'),
  maxHealthyPercent: int(100, 200)
    .describe('Rolling deploys: most tasks during a deploy, as a share of the desired count (%).'),
  scheduledScaling: z.array(scheduledScalingSchema).max(50)
    .describe('Scheduled changes of the task range, e.g. a higher minimum before a daily peak. A later `cdk deploy` resets the range to minTasks/maxTasks until the next scheduled action.'),
  targetCpuUtilizationPercent: int(10, 95)
    .describe('Target tracking: average CPU utilisation the service scales to hold (%).'),
  targetMemoryUtilizationPercent: int(10, 95)
    .describe('Target tracking: average memory utilisation the service scales to hold (%).'),
  requestsPerTarget: z.union([int(1, 1_000_000), z.literal(REQUESTS_PER_TARGET_FROM_CAPACITY)])
    .describe('Target tracking on ALBRequestCountPerTarget: requests per target per minute; `"fromCapacity"` derives it as capacityPerTaskRps × 60 × targetCpuUtilizationPercent / 100, a number is used as given.'),
  capacityPerTaskRps: num(1, 1_000_000).nullable()
    .describe('Requests per second one API task serves within the SLA at this `cpu`, measured by `npm run calibrate` (null: not known). Sets the request target when requestsPerTarget is "fromCapacity", and the scale ceiling the load profiles are checked against. Measure again after changing `cpu` or the workload.'),
  metricResolutionSeconds: z.literal([60, 20])
    .describe('Resolution of the service\'s CPUUtilization and MemoryUtilization metrics (s): 20 publishes them every 20 seconds and lets the CPU and memory policies track the high-resolution metrics, so scale-out starts sooner; 60 is the ECS default.'),
  predictiveScaling: z.enum(['off', 'forecast-only', 'forecast-and-scale'])
    .describe('Predictive scaling of the API: `forecast-only` publishes forecasts from the service\'s history without acting, `forecast-and-scale` also raises the task count ahead of the forecast load; target tracking keeps working beside it.'),
  scaleOutCooldownSeconds: int(0, 3600)
    .describe('Wait after a scale-out before another scale-out counts the new tasks (s).'),
  scaleInCooldownSeconds: int(0, 3600)
    .describe('Wait after a scale-in before the next scale-in (s).'),
  deployment: deploymentSchema,
}).describe('The API: a Fargate service behind the load balancer, scaled on CPU, memory and requests per target.');

/**
 * Another HTTP service behind the same load balancer: the API's keys (its own image or the reference image with
 * another command, size, task range, scaling) plus its own target group. Routes send it requests by name.
 */
export const httpServiceSchema = apiSchema.extend({
  name: serviceNameSchema
    .describe('Its name in `alb.routes` and `alb.defaultService`, in construct ids and in the workload\'s `Service` metric dimension (METRICS_SERVICE); not "api" or "worker".'),
  targetGroup: targetGroupSchema,
}).describe('One more HTTP service: a Fargate service with its own target group, scaled on CPU, memory and requests per target of its own target group.');

export const servicesSchema = z.array(httpServiceSchema).max(10)
  .describe('HTTP services besides the API, behind the same load balancer, each reached through `alb.routes` (or `alb.defaultService`). The connection budget counts every one of them. [] runs the API alone.');

export const workerSchema = z.strictObject({
  ...fargateTask,
  image: imageSchema,
  stopTimeoutSeconds: int(2, 120)
    .describe('Time a task gets between SIGTERM and SIGKILL to finish its in-flight jobs (s; Fargate allows up to 120); at least the longest job (capped at 120) and at most the visibility timeout.'),
  containerHealthCheckCommand: z.string().nullable()
    .describe('Shell command (CMD-SHELL) the worker container runs to report itself alive (exit 0 = healthy); ECS replaces a task that fails it 3 times in a row. "" for none. null: the reference workload asks its liveness port on 127.0.0.1 (200 while its loop makes progress, 503 once it has stalled) with busybox wget; any other image gets none.'),
  jobCpuMs: int(0, 600_000)
    .describe('CPU work of each job the reference API accepts (ms): a job\'s cost comes from configuration, not from the request, unless jobCostFromRequest.'),
  jobIoMs: int(0, 600_000)
    .describe('Wait on I/O of each job the reference API accepts (ms).'),
  jobCostFromRequest: z.boolean()
    .describe('Let POST /jobs set a job\'s cpuMs and ioMs, for load tests of the worker (jobs of chosen cost), within the longest job the worker runs (maxProcessingSeconds, and 10 s inside stopTimeoutSeconds). Refused in production: a client that sets a job\'s cost can hold worker slots for minutes and drive the workers to maxTasks.'),
  scaleOnInFlightMessages: z.boolean()
    .describe('Count in-flight (received, not yet deleted) messages in the backlog as well as visible ones.'),
  capacityProviders: z.strictObject({
    fargateBase: int(0, 100000)
      .describe('Tasks always on FARGATE.'),
    fargateWeight: int(0, 1000)
      .describe('Weight of FARGATE for the tasks beyond the base.'),
    spotWeight: int(0, 1000)
      .describe('Weight of FARGATE_SPOT for the tasks beyond the base (Spot tasks get SIGTERM two minutes before interruption).'),
  }).describe('Capacity provider mix: `fargateBase` tasks always on FARGATE, the rest split by weight with FARGATE_SPOT.'),
  concurrency: int(1, 100)
    .describe('Jobs one worker task runs at once (WORKER_CONCURRENCY; one process per task). Throughput per task = concurrency ÷ avgProcessingSeconds; dbPoolSize must be at least this.'),
  acceptableLatencySeconds: num(1, 43200)
    .describe('How long a job may wait in the queue before it is "late" (s); × concurrency ÷ avgProcessingSeconds gives the backlog target per task.'),
  avgProcessingSeconds: num(0.001, 43200)
    .describe('Average time one job takes from receive to delete (s), with `concurrency` jobs running side by side.'),
  maxProcessingSeconds: num(0.001, 43200)
    .describe('Longest time one job may take (s); the queue\'s visibility timeout must cover it twice.'),
  scaleOutCooldownSeconds: int(0, 3600)
    .describe('Wait after a scale-out before another scale-out (s).'),
  scaleInCooldownSeconds: int(0, 3600)
    .describe('Wait after a scale-in before the next scale-in (s).'),
}).describe('The queue worker: a Fargate service scaled on backlog per task (0 tasks allowed).');

export type ImageConfig = z.infer<typeof imageSchema>;
export type ComputeConfig = z.infer<typeof computeSchema>;
export type AlbConfig = z.infer<typeof albSchema>;
/** The API's keys as written: `requestsPerTarget` may still say "fromCapacity". */
export type ApiConfigInput = z.infer<typeof apiSchema>;
/** The API's keys as the constructs get them: the loader has resolved `requestsPerTarget` to a number. */
export type ApiConfig = Omit<ApiConfigInput, 'requestsPerTarget'> & { readonly requestsPerTarget: number };
export type WorkerConfig = z.infer<typeof workerSchema>;
export type TargetGroupConfig = z.infer<typeof targetGroupSchema>;
/** Another HTTP service's keys as written. */
export type HttpServiceConfigInput = z.infer<typeof httpServiceSchema>;
/** Another HTTP service as the constructs get it: `requestsPerTarget` resolved to a number, like the API's. */
export type HttpServiceConfig = Omit<HttpServiceConfigInput, 'requestsPerTarget'> & { readonly requestsPerTarget: number };
