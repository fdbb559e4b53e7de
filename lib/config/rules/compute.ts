import { backlogPerTaskTarget, FARGATE_MEMORY_MIB, isValidFargateSize, jobMaxMs, WORKER_JOB_HEADROOM_SECONDS } from '../capacity';
import { collector, round, type Config, type Problem } from './problem';
import { parseEcrImage, type TargetGroupConfig } from '../schema/compute';

type FargateTaskKeys = Pick<Config['api'], 'minTasks' | 'maxTasks' | 'cpu' | 'memoryMiB' | 'image'>;
type TargetGroupKeys = TargetGroupConfig;

/**
 * The queue's visibility timeout must cover the longest job this many times over: a job that runs long, a
 * slow DeleteMessage and a clock skew between workers must not let a second worker receive the same message.
 */
export const VISIBILITY_TIMEOUT_HEADROOM = 2;

/** Fargate gives a task at most this long between SIGTERM and SIGKILL (s). */
export const FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120;

/** Cookie-name prefixes the load balancer keeps for itself. */
const RESERVED_COOKIE_PREFIXES = ['AWSALB', 'AWSALBAPP', 'AWSALBTG'];

/** The services: task ranges and sizes, images, deploys, and the worker's fit to its queue. */
export function checkServices(cfg: Config): Problem[] {
  const { problems, add } = collector();

  // The API, the worker and every other HTTP service (services.<i>) share these keys and their rules.
  const tasks: Array<readonly [string, FargateTaskKeys]> = [['api', cfg.api], ['worker', cfg.worker], ...cfg.services.map((s, i) => [`services.${i}`, s] as const)];
  for (const [svc, s] of tasks) {
    add(s.minTasks > s.maxTasks, `${svc}.minTasks`, [`${svc}.maxTasks`],
      `must not exceed ${svc}.maxTasks (${s.maxTasks})`,
      `lower ${svc}.minTasks to at most ${s.maxTasks}, or raise ${svc}.maxTasks`);
    // An unknown cpu is the schema's to report; memory is checked against a known cpu only.
    add(s.cpu in FARGATE_MEMORY_MIB && !isValidFargateSize(s.cpu, s.memoryMiB), `${svc}.memoryMiB`, [`${svc}.cpu`],
      `is not a memory size Fargate offers with ${svc}.cpu ${s.cpu}`,
      `pick ${describeFargateMemory(s.cpu)} (see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)`);
  }

  for (const [svc, s] of tasks) {
    const { uri, directory, credentialsSecretArn } = s.image;
    add((uri === '') === (directory === ''), `${svc}.image`, [],
      uri === '' ? 'names neither a registry uri nor a build directory' : 'names both a registry uri and a build directory',
      `set exactly one of ${svc}.image.uri and ${svc}.image.directory`);
    // Only a URI that parses as ECR gets the repository's pull grant; one that merely looks like ECR would
    // synthesize without it and fail at the first pull.
    add(/\.dkr\.ecr(-fips)?\./.test(uri.split('/')[0]) && !parseEcrImage(uri), `${svc}.image.uri`, [],
      'names an Amazon ECR registry, but not as <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:digest], so the task would get no permission to pull it',
      'copy the URI from the ECR console (12-digit account, region, repository), e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1.4.2"');
    add(credentialsSecretArn !== '' && uri === '', `${svc}.image.credentialsSecretArn`, [`${svc}.image.uri`],
      `is set, but ${svc}.image.uri is "": an image built from ${svc}.image.directory is pushed to the CDK assets repository in ECR, which needs no registry credentials`,
      `set ${svc}.image.credentialsSecretArn to ""`);
    add(credentialsSecretArn !== '' && parseEcrImage(uri) !== undefined, `${svc}.image.credentialsSecretArn`, [`${svc}.image.uri`],
      `is set for an Amazon ECR image (${svc}.image.uri); ECS pulls from ECR with the task execution role, which gets pull permission on that repository, and registry credentials are for registries outside ECR (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html)`,
      `set ${svc}.image.credentialsSecretArn to ""`);
  }

  add(/^0(:|$)/.test(cfg.compute.runAsUser ?? ''), 'compute.runAsUser', [],
    'runs the containers as root; a process that escapes the application then owns the container',
    'use a non-root uid such as "1000:1000" (the workload image\'s node user)');

  const http: Array<readonly [string, Config['api']]> = [['api', cfg.api], ...cfg.services.map((s, i) => [`services.${i}`, s] as const)];
  for (const [svc, api] of http) {
    add(api.minHealthyPercent === api.maxHealthyPercent, `${svc}.maxHealthyPercent`, [`${svc}.minHealthyPercent`],
      `equals ${svc}.minHealthyPercent (${api.minHealthyPercent}); a rolling deploy could neither start a new task nor stop an old one`,
      `raise ${svc}.maxHealthyPercent (200 lets a deploy start a full new set first)`);
    const names = api.scheduledScaling.map((e) => e.name);
    api.scheduledScaling.forEach((entry, i) => {
      add(entry.minTasks > entry.maxTasks, `${svc}.scheduledScaling.${i}.minTasks`, [`${svc}.scheduledScaling.${i}.maxTasks`],
        `must not exceed the entry's maxTasks (${entry.maxTasks})`, 'lower minTasks or raise maxTasks of this entry');
      add(names.indexOf(entry.name) !== i, `${svc}.scheduledScaling.${i}.name`, [],
        'is used by an earlier entry too', 'give every scheduled action its own name');
    });
  }

  const w = cfg.worker;
  add(w.stopTimeoutSeconds > cfg.queue.visibilityTimeoutSeconds, 'worker.stopTimeoutSeconds', ['queue.visibilityTimeoutSeconds'],
    `is longer than queue.visibilityTimeoutSeconds (${cfg.queue.visibilityTimeoutSeconds}); a job still finishing after SIGTERM would be handed to another worker`,
    `lower it to at most ${cfg.queue.visibilityTimeoutSeconds}, or raise the visibility timeout`);
  const neededStop = Math.min(Math.ceil(w.maxProcessingSeconds), FARGATE_MAX_STOP_TIMEOUT_SECONDS);
  add(w.stopTimeoutSeconds < neededStop, 'worker.stopTimeoutSeconds', ['worker.maxProcessingSeconds'],
    `is shorter than the longest job (worker.maxProcessingSeconds ${w.maxProcessingSeconds} s, capped at Fargate's ${FARGATE_MAX_STOP_TIMEOUT_SECONDS} s); a job in flight at scale-in or deploy would be killed and run again`,
    `raise it to at least ${neededStop}`);
  add(w.capacityProviders.fargateWeight + w.capacityProviders.spotWeight === 0, 'worker.capacityProviders', [],
    'gives FARGATE and FARGATE_SPOT both weight 0, so no task beyond the base can be placed',
    'give fargateWeight or spotWeight a weight of at least 1');

  add(w.maxProcessingSeconds < w.avgProcessingSeconds, 'worker.maxProcessingSeconds', ['worker.avgProcessingSeconds'],
    `is below worker.avgProcessingSeconds (${w.avgProcessingSeconds}); the longest job cannot be shorter than the average`,
    `raise worker.maxProcessingSeconds to at least ${w.avgProcessingSeconds}`);
  const neededVisibility = Math.ceil(w.maxProcessingSeconds * VISIBILITY_TIMEOUT_HEADROOM);
  add(cfg.queue.visibilityTimeoutSeconds < neededVisibility, 'queue.visibilityTimeoutSeconds', ['worker.maxProcessingSeconds'],
    `is shorter than ${VISIBILITY_TIMEOUT_HEADROOM} × worker.maxProcessingSeconds (${w.maxProcessingSeconds} s), so a slow job becomes visible again and a second worker runs it`,
    `raise queue.visibilityTimeoutSeconds to at least ${neededVisibility}, or lower worker.maxProcessingSeconds`);
  const maxJob = jobMaxMs(w);
  add(w.jobCpuMs + w.jobIoMs > maxJob, 'worker.jobCpuMs', ['worker.jobIoMs', 'worker.maxProcessingSeconds', 'worker.stopTimeoutSeconds'],
    `+ worker.jobIoMs = ${w.jobCpuMs + w.jobIoMs} ms, longer than the longest job the worker runs (${maxJob} ms: worker.maxProcessingSeconds ${w.maxProcessingSeconds} s, and worker.stopTimeoutSeconds ${w.stopTimeoutSeconds} s less ${WORKER_JOB_HEADROOM_SECONDS} s to finish before the shutdown deadline); every job would be cut short`,
    `lower worker.jobCpuMs + worker.jobIoMs to at most ${maxJob}, or raise worker.maxProcessingSeconds and worker.stopTimeoutSeconds`);
  const target = backlogPerTaskTarget(cfg);
  add(target < 1, 'worker.acceptableLatencySeconds', ['worker.avgProcessingSeconds', 'worker.concurrency'],
    `gives a backlog target of ${round(target)} messages per task (acceptableLatencySeconds × concurrency ÷ avgProcessingSeconds = ${w.acceptableLatencySeconds} × ${w.concurrency} ÷ ${w.avgProcessingSeconds}); below 1 the worker service scales out for every message and never settles`,
    `raise worker.acceptableLatencySeconds to at least ${round(w.avgProcessingSeconds / w.concurrency)} (avgProcessingSeconds ÷ concurrency)`);

  return problems;
}

/** The load balancer: every target group's settings (the API's in `alb`, each service's in its `targetGroup`), the certificate. */
export function checkLoadBalancer(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const alb = cfg.alb;
  problems.push(...checkTargetGroup('alb', alb), ...cfg.services.flatMap((s, i) => checkTargetGroup(`services.${i}.targetGroup`, s.targetGroup)));
  const certRegion = alb.certificateArn.split(':')[3];
  add(alb.certificateArn !== '' && certRegion !== cfg.region, 'alb.certificateArn', ['region'],
    `is a certificate of ${certRegion}, but the load balancer is in ${cfg.region}; ACM certificates work only in their own region`,
    `request or import the certificate in ${cfg.region}`);
  return problems;
}

/**
 * One target group's attributes, as Elastic Load Balancing refuses their combinations
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html):
 * "You can't enable slow start mode when using the least outstanding requests or weighted random routing
 * algorithms" (#slow-start-mode; 30 to 900 s when on), "The weighted random routing algorithm can not be used
 * with sticky sessions" (#modify-routing-algorithm), anomaly mitigation is part of weighted random
 * (#automatic-target-weights), and the cookie names AWSALB, AWSALBAPP and AWSALBTG are the load balancer's
 * (#application-based-stickiness). `at` is where the keys sit: "alb" for the API, "services.<i>.targetGroup".
 */
export function checkTargetGroup(at: string, tg: TargetGroupKeys): Problem[] {
  const { problems, add } = collector();
  const slowStartAlgorithm = tg.routingAlgorithm === 'weighted_random' || tg.routingAlgorithm === 'least_outstanding_requests';
  add(slowStartAlgorithm && tg.slowStartSeconds > 0, `${at}.slowStartSeconds`, [`${at}.routingAlgorithm`],
    `must be 0 with ${at}.routingAlgorithm "${tg.routingAlgorithm}"; the load balancer refuses slow start with that algorithm`,
    `set ${at}.slowStartSeconds to 0, or pick "round_robin"`);
  add(tg.slowStartSeconds > 0 && tg.slowStartSeconds < 30, `${at}.slowStartSeconds`, [],
    'must be 0 (off) or 30 to 900', 'set it to 0 or to at least 30');
  add(tg.anomalyMitigation && tg.routingAlgorithm !== 'weighted_random', `${at}.anomalyMitigation`, [`${at}.routingAlgorithm`],
    `needs ${at}.routingAlgorithm "weighted_random" (it is "${tg.routingAlgorithm}"); automatic target weights only work with that algorithm`,
    `set ${at}.routingAlgorithm to "weighted_random" (and ${at}.slowStartSeconds to 0), or ${at}.anomalyMitigation to false`);
  add(tg.routingAlgorithm === 'weighted_random' && tg.stickiness.mode !== 'off', `${at}.stickiness.mode`, [`${at}.routingAlgorithm`],
    `is "${tg.stickiness.mode}" with ${at}.routingAlgorithm "weighted_random"; the load balancer refuses sticky sessions with that algorithm`,
    `set ${at}.stickiness.mode to "off", or pick "round_robin" or "least_outstanding_requests"`);
  add(tg.healthCheck.timeoutSeconds >= tg.healthCheck.intervalSeconds, `${at}.healthCheck.timeoutSeconds`, [`${at}.healthCheck.intervalSeconds`],
    `must be shorter than ${at}.healthCheck.intervalSeconds (${tg.healthCheck.intervalSeconds})`,
    `lower it below ${tg.healthCheck.intervalSeconds}, or raise the interval`);
  if (tg.stickiness.mode === 'app_cookie') {
    const name = tg.stickiness.cookieName;
    add(name === '', `${at}.stickiness.cookieName`, [`${at}.stickiness.mode`],
      `is empty, but ${at}.stickiness.mode "app_cookie" needs the name of your application's cookie`,
      'set it to the cookie your application issues, or use mode "lb_cookie"');
    add(RESERVED_COOKIE_PREFIXES.some((p) => name.startsWith(p)), `${at}.stickiness.cookieName`, [`${at}.stickiness.mode`],
      `starts with ${RESERVED_COOKIE_PREFIXES.join(', ')}, which the load balancer reserves`, 'rename the cookie');
  }
  return problems;
}

function describeFargateMemory(cpu: number): string {
  if (cpu === 256) return '512, 1024 or 2048 MiB';
  const [min, max, step] = FARGATE_MEMORY_MIB[cpu];
  return `${min} to ${max} MiB in steps of ${step}`;
}
