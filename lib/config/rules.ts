import { AURORA_POSTGRES_MAX_CONNECTIONS, RESERVED_CONNECTIONS, serverlessV2MaxConnections } from './max-connections';
import { ALARM_KINDS, type ThresholdKey } from './alarm-kinds';
import type { BlueprintConfig, DatabaseConfig } from './schema';
import { AURORA_POSTGRES_VERSIONS, CACHE_ENGINE_VERSIONS, CACHE_NODE_TYPE } from './supported';

/** One broken rule: the key to change (dot path inside the merged config), what is wrong, and what to do. */
export interface Problem {
  readonly path: string;
  /** Other keys the rule read: when one of them is itself invalid, the problem is not reported. */
  readonly inputs: readonly string[];
  readonly message: string;
  readonly fix: string;
}

type Config = Omit<BlueprintConfig, 'envName'>;

/**
 * The queue's visibility timeout must cover the longest job this many times over: a job that runs long, a
 * slow DeleteMessage and a clock skew between workers must not let a second worker receive the same message.
 */
export const VISIBILITY_TIMEOUT_HEADROOM = 2;

/** Fargate's valid memory sizes (MiB) for each CPU size: [min, max, step]. */
const FARGATE_MEMORY_MIB: Readonly<Record<number, readonly [number, number, number]>> = {
  256: [512, 2048, 512],
  512: [1024, 4096, 1024],
  1024: [2048, 8192, 1024],
  2048: [4096, 16384, 1024],
  4096: [8192, 30720, 1024],
  8192: [16384, 61440, 4096],
  16384: [32768, 122880, 8192],
};

/** True when Fargate offers `memoryMiB` with `cpu` units. */
export function isValidFargateSize(cpu: number, memoryMiB: number): boolean {
  const range = FARGATE_MEMORY_MIB[cpu];
  if (!range) return false;
  const [min, max, step] = range;
  if (cpu === 256) return [512, 1024, 2048].includes(memoryMiB);
  return memoryMiB >= min && memoryMiB <= max && (memoryMiB - min) % step === 0;
}

/** Messages one task may have waiting before the queue is "late": acceptable latency ÷ processing time. */
export function backlogPerTaskTarget(cfg: Pick<Config, 'worker'>): number {
  return cfg.worker.acceptableLatencySeconds / cfg.worker.avgProcessingSeconds;
}

/** max_connections of the writer for the configured class, or undefined for a class not in the table. */
export function writerMaxConnections(db: DatabaseConfig): number | undefined {
  if (db.instanceClass === 'db.serverless') return serverlessV2MaxConnections(db.serverlessV2MaxCapacityAcu);
  return AURORA_POSTGRES_MAX_CONNECTIONS[db.instanceClass];
}

/**
 * Connections the services may hold at once: through the proxy, the proxy's share of the writer's
 * max_connections; without it, the writer's max_connections. Both less the connections AWS reserves.
 */
export function connectionBudget(db: DatabaseConfig): number | undefined {
  const max = writerMaxConnections(db);
  if (max === undefined) return undefined;
  const usable = max - RESERVED_CONNECTIONS;
  return db.proxy.enabled ? Math.floor((usable * db.proxy.maxConnectionsPercent) / 100) : usable;
}

/** Connections the services open at full scale: Σ maxTasks × dbPoolSize. */
export function connectionDemand(cfg: Pick<Config, 'api' | 'worker'>): number {
  return cfg.api.maxTasks * cfg.api.dbPoolSize + cfg.worker.maxTasks * cfg.worker.dbPoolSize;
}

/**
 * Every rule that spans more than one key, in groups. The loader runs each group on its own, so that a
 * type error in one part of the config does not hide the problems of another: all are reported at once.
 */
export const RULE_GROUPS: ReadonlyArray<(cfg: Config) => Problem[]> = [
  checkServices,
  checkLoadBalancer,
  checkDatabase,
  checkCache,
  checkNetwork,
  checkMonitoring,
  checkProduction,
  checkLoadTest,
];

/** Every problem the rules find, not just the first. */
export function checkRules(cfg: Config): Problem[] {
  return RULE_GROUPS.flatMap((group) => group(cfg));
}

function checkServices(cfg: Config): Problem[] {
  const { problems, add } = collector();

  for (const svc of ['api', 'worker'] as const) {
    const s = cfg[svc];
    add(s.minTasks > s.maxTasks, `${svc}.minTasks`, [`${svc}.maxTasks`],
      `must not exceed ${svc}.maxTasks (${s.maxTasks})`,
      `lower ${svc}.minTasks to at most ${s.maxTasks}, or raise ${svc}.maxTasks`);
    // An unknown cpu is the schema's to report; memory is checked against a known cpu only.
    add(s.cpu in FARGATE_MEMORY_MIB && !isValidFargateSize(s.cpu, s.memoryMiB), `${svc}.memoryMiB`, [`${svc}.cpu`],
      `is not a memory size Fargate offers with ${svc}.cpu ${s.cpu}`,
      `pick ${describeFargateMemory(s.cpu)} (see https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size)`);
  }

  for (const svc of ['api', 'worker'] as const) {
    const { uri, directory } = cfg[svc].image;
    add((uri === '') === (directory === ''), `${svc}.image`, [],
      uri === '' ? 'names neither a registry uri nor a build directory' : 'names both a registry uri and a build directory',
      `set exactly one of ${svc}.image.uri and ${svc}.image.directory`);
  }

  add(/^0(:|$)/.test(cfg.compute.runAsUser), 'compute.runAsUser', [],
    'runs the containers as root; a process that escapes the application then owns the container',
    'use a non-root uid such as "1000:1000" (the workload image\'s node user)');

  const api = cfg.api;
  add(api.minHealthyPercent === api.maxHealthyPercent, 'api.maxHealthyPercent', ['api.minHealthyPercent'],
    `equals api.minHealthyPercent (${api.minHealthyPercent}); a rolling deploy could neither start a new task nor stop an old one`,
    'raise api.maxHealthyPercent (200 lets a deploy start a full new set first)');
  const names = api.scheduledScaling.map((e) => e.name);
  api.scheduledScaling.forEach((entry, i) => {
    add(entry.minTasks > entry.maxTasks, `api.scheduledScaling.${i}.minTasks`, [`api.scheduledScaling.${i}.maxTasks`],
      `must not exceed the entry's maxTasks (${entry.maxTasks})`, 'lower minTasks or raise maxTasks of this entry');
    add(names.indexOf(entry.name) !== i, `api.scheduledScaling.${i}.name`, [],
      'is used by an earlier entry too', 'give every scheduled action its own name');
  });

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
  const target = backlogPerTaskTarget(cfg);
  add(target < 1, 'worker.acceptableLatencySeconds', ['worker.avgProcessingSeconds'],
    `gives a backlog target of ${round(target)} messages per task (acceptableLatencySeconds ÷ avgProcessingSeconds = ${w.acceptableLatencySeconds} ÷ ${w.avgProcessingSeconds}); below 1 the worker service scales out for every message and never settles`,
    `raise worker.acceptableLatencySeconds to at least worker.avgProcessingSeconds (${w.avgProcessingSeconds})`);

  return problems;
}

/** Cookie-name prefixes the load balancer keeps for itself. */
const RESERVED_COOKIE_PREFIXES = ['AWSALB', 'AWSALBAPP', 'AWSALBTG'];

/** Fargate gives a task at most this long between SIGTERM and SIGKILL (s). */
export const FARGATE_MAX_STOP_TIMEOUT_SECONDS = 120;

function checkLoadBalancer(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const alb = cfg.alb;
  add(alb.routingAlgorithm === 'weighted_random' && alb.slowStartSeconds > 0, 'alb.slowStartSeconds', ['alb.routingAlgorithm'],
    'must be 0 with alb.routingAlgorithm "weighted_random"; the load balancer refuses slow start with that algorithm',
    'set alb.slowStartSeconds to 0, or pick "round_robin" or "least_outstanding_requests"');
  add(alb.slowStartSeconds > 0 && alb.slowStartSeconds < 30, 'alb.slowStartSeconds', [],
    'must be 0 (off) or 30 to 900', 'set it to 0 or to at least 30');
  add(alb.anomalyMitigation && alb.routingAlgorithm !== 'weighted_random', 'alb.anomalyMitigation', ['alb.routingAlgorithm'],
    `needs alb.routingAlgorithm "weighted_random" (it is "${alb.routingAlgorithm}"); automatic target weights only work with that algorithm`,
    'set alb.routingAlgorithm to "weighted_random" (and alb.slowStartSeconds to 0), or alb.anomalyMitigation to false');
  add(alb.healthCheck.timeoutSeconds >= alb.healthCheck.intervalSeconds, 'alb.healthCheck.timeoutSeconds', ['alb.healthCheck.intervalSeconds'],
    `must be shorter than alb.healthCheck.intervalSeconds (${alb.healthCheck.intervalSeconds})`,
    `lower it below ${alb.healthCheck.intervalSeconds}, or raise the interval`);
  if (alb.stickiness.mode === 'app_cookie') {
    const name = alb.stickiness.cookieName;
    add(name === '', 'alb.stickiness.cookieName', ['alb.stickiness.mode'],
      'is empty, but alb.stickiness.mode "app_cookie" needs the name of your application\'s cookie',
      'set it to the cookie your application issues, or use mode "lb_cookie"');
    add(RESERVED_COOKIE_PREFIXES.some((p) => name.startsWith(p)), 'alb.stickiness.cookieName', ['alb.stickiness.mode'],
      `starts with ${RESERVED_COOKIE_PREFIXES.join(', ')}, which the load balancer reserves`, 'rename the cookie');
  }
  const priorities = alb.routes.map((r) => r.priority);
  const duplicates = [...new Set(priorities.filter((p, i) => priorities.indexOf(p) !== i))];
  add(duplicates.length > 0, 'alb.routes', [],
    `uses priority ${duplicates.join(', ')} more than once`, 'give every route its own priority');
  const certRegion = alb.certificateArn.split(':')[3];
  add(alb.certificateArn !== '' && certRegion !== cfg.region, 'alb.certificateArn', ['region'],
    `is a certificate of ${certRegion}, but the load balancer is in ${cfg.region}; ACM certificates work only in their own region`,
    `request or import the certificate in ${cfg.region}`);
  return problems;
}

function checkDatabase(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const db = cfg.database;

  const newestPerMajor = [...new Set(AURORA_POSTGRES_VERSIONS.map((v) => v.split('.')[0]))]
    .map((major) => AURORA_POSTGRES_VERSIONS.filter((v) => v.startsWith(`${major}.`)).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).pop());
  add(!AURORA_POSTGRES_VERSIONS.includes(db.engineVersion), 'database.engineVersion', [],
    'is not an Aurora PostgreSQL version AWS offers (lib/config/supported.ts)',
    `use a supported version; the newest of each major are ${newestPerMajor.join(', ')}`);

  const budget = connectionBudget(db);
  const known = Object.keys(AURORA_POSTGRES_MAX_CONNECTIONS);
  add(budget === undefined, 'database.instanceClass', [],
    'is not in the max_connections table (lib/config/max-connections.ts), so the connection budget cannot be checked',
    `use one of ${known.join(', ')} or db.serverless, or add the class and its max_connections to the table`);
  if (budget !== undefined) {
    const demand = connectionDemand(cfg);
    const through = db.proxy.enabled
      ? `the proxy's ${db.proxy.maxConnectionsPercent} % of the writer's max_connections (${writerMaxConnections(db)}) less ${RESERVED_CONNECTIONS} reserved`
      : `the writer's max_connections (${writerMaxConnections(db)}) less ${RESERVED_CONNECTIONS} reserved`;
    add(demand > budget, 'api.dbPoolSize', ['api.maxTasks', 'worker', 'database'],
      `puts the connection budget over: api.maxTasks × api.dbPoolSize + worker.maxTasks × worker.dbPoolSize = ${cfg.api.maxTasks} × ${cfg.api.dbPoolSize} + ${cfg.worker.maxTasks} × ${cfg.worker.dbPoolSize} = ${demand} connections, but ${through} allows ${budget}`,
      'lower api.dbPoolSize, worker.dbPoolSize or the maxTasks, raise database.proxy.maxConnectionsPercent, or pick a larger database.instanceClass');
  }

  add(db.proxy.maxIdleConnectionsPercent > db.proxy.maxConnectionsPercent, 'database.proxy.maxIdleConnectionsPercent', ['database.proxy.maxConnectionsPercent'],
    `exceeds database.proxy.maxConnectionsPercent (${db.proxy.maxConnectionsPercent})`,
    `lower it to at most ${db.proxy.maxConnectionsPercent}`);

  if (db.instanceClass === 'db.serverless') {
    add(db.serverlessV2MinCapacityAcu > db.serverlessV2MaxCapacityAcu, 'database.serverlessV2MinCapacityAcu', ['database.serverlessV2MaxCapacityAcu'],
      `exceeds database.serverlessV2MaxCapacityAcu (${db.serverlessV2MaxCapacityAcu})`,
      `lower it to at most ${db.serverlessV2MaxCapacityAcu}`);
  }

  const ras = db.readerAutoscaling;
  if (ras.enabled) {
    add(ras.minReaders > ras.maxReaders, 'database.readerAutoscaling.minReaders', ['database.readerAutoscaling.maxReaders'],
      `exceeds database.readerAutoscaling.maxReaders (${ras.maxReaders})`,
      `lower it to at most ${ras.maxReaders}, or raise maxReaders`);
    add(db.readers > ras.maxReaders, 'database.readerAutoscaling.maxReaders', ['database.readers'],
      `is below database.readers (${db.readers}); autoscaling counts every reader, so it could never add one`,
      `raise it above ${db.readers}, or turn reader autoscaling off`);
  }
  return problems;
}

function checkCache(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const c = cfg.cache;
  const versions = CACHE_ENGINE_VERSIONS[c.engine];
  add(!versions.includes(c.engineVersion), 'cache.engineVersion', ['cache.engine'],
    `is not a ${c.engine} version this blueprint deploys (lib/config/supported.ts)`,
    `use one of ${versions.join(', ')}`);
  add(c.mode === 'replication-group' && !CACHE_NODE_TYPE.test(c.nodeType), 'cache.nodeType', ['cache.mode'],
    'is not a current-generation ElastiCache node type (lib/config/supported.ts)',
    'use a type such as cache.t4g.small, cache.m7g.large or cache.r7g.large');
  return problems;
}

function checkNetwork(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const n = cfg.network;
  add(n.maxAzs < 2, 'network.maxAzs', [],
    `is below 2; the load balancer and the Aurora subnet group need subnets in two zones${cfg.production ? ', and a production service must survive the loss of one' : ''}`,
    'set network.maxAzs to 2 or more (3 recommended for production)');
  add(n.maxAzs > n.availabilityZones.length, 'network.maxAzs', ['network.availabilityZones'],
    `asks for more zones than network.availabilityZones lists (${n.availabilityZones.length})`,
    `list at least ${n.maxAzs} zones of ${cfg.region} in network.availabilityZones, or lower network.maxAzs`);
  add(n.natGateways > n.maxAzs, 'network.natGateways', ['network.maxAzs'],
    `exceeds network.maxAzs (${n.maxAzs}); a NAT gateway lives in one zone's public subnet`,
    `lower it to at most ${n.maxAzs}`);
  const foreign = n.availabilityZones.filter((az) => az.slice(0, -1) !== cfg.region);
  add(foreign.length > 0, 'network.availabilityZones', ['region'],
    `has zones outside region ${cfg.region}: ${foreign.join(', ')}`,
    `use zones of ${cfg.region} (such as ${cfg.region}a), or change region`);
  add(new Set(n.availabilityZones).size !== n.availabilityZones.length, 'network.availabilityZones', [],
    'lists a zone twice', 'list each zone once');
  return problems;
}

function checkMonitoring(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const m = cfg.monitoring;
  add(m.datapointsToAlarm > m.evaluationPeriods, 'monitoring.datapointsToAlarm', ['monitoring.evaluationPeriods'],
    `exceeds monitoring.evaluationPeriods (${m.evaluationPeriods}); no alarm could ever fire`,
    `lower it to at most ${m.evaluationPeriods}`);

  for (const key of Object.keys(ALARM_KINDS) as ThresholdKey[]) {
    const { breaches, ceiling } = ALARM_KINDS[key];
    const { warning, critical } = cfg.alarms[key];
    for (const [level, value] of [['warning', warning], ['critical', critical]] as const) {
      if (value === null) continue;
      add(breaches === 'above' && ceiling !== undefined && value >= ceiling, `alarms.${key}.${level}`, [],
        `can never fire: the metric never exceeds ${ceiling}`, `set it below ${ceiling}, or to null to turn the level off`);
      add(breaches === 'below' && value <= 0, `alarms.${key}.${level}`, [],
        'can never fire: the metric never goes below 0', 'set it above 0, or to null to turn the level off');
    }
    if (warning !== null && critical !== null) {
      const ordered = breaches === 'below' ? warning > critical : warning < critical;
      add(!ordered, `alarms.${key}.warning`, [`alarms.${key}.critical`],
        `must be ${breaches === 'below' ? 'above' : 'below'} the critical threshold (${critical}), or the warning never comes first`,
        `${breaches === 'below' ? 'raise' : 'lower'} the warning, or set it to null`);
    }
  }

  const retentionSeconds = cfg.queue.retentionDays * 86400;
  for (const level of ['warning', 'critical'] as const) {
    const multiple = cfg.alarms.queueAgeLatencyMultiple[level];
    if (multiple === null) continue;
    const seconds = multiple * cfg.worker.acceptableLatencySeconds;
    add(seconds >= retentionSeconds, `alarms.queueAgeLatencyMultiple.${level}`, ['worker.acceptableLatencySeconds', 'queue.retentionDays'],
      `can never fire: ${multiple} × worker.acceptableLatencySeconds = ${seconds} s, but SQS deletes messages after queue.retentionDays (${retentionSeconds} s)`,
      'lower the multiple, or raise queue.retentionDays');
  }

  const slo = cfg.slo;
  slo.burnRates.forEach((rate, i) => {
    add(rate.shortWindowMinutes >= rate.longWindowMinutes, `slo.burnRates.${i}.shortWindowMinutes`, [`slo.burnRates.${i}.longWindowMinutes`],
      `must be shorter than the long window (${rate.longWindowMinutes} min)`, 'use a short window of about 1/12 of the long one');
    for (const [key, target] of [['availabilityPercent', slo.availabilityPercent], ['latencyPercent', slo.latencyPercent]] as const) {
      const needed = rate.factor * (100 - target);
      add(needed >= 100, `slo.burnRates.${i}.factor`, [`slo.${key}`],
        `can never fire with slo.${key} ${target}: ${rate.factor} × the ${round(100 - target)} % error budget = ${round(needed)} % of requests, more than all of them`,
        `lower the factor below ${round(100 / (100 - target))}, or raise slo.${key}`);
    }
  });
  return problems;
}

function checkProduction(cfg: Config): Problem[] {
  if (!cfg.production) return [];
  const { problems, add } = collector();
  add(cfg.database.readers < 1, 'database.readers', ['production'],
    'is 0 in a production environment; without a reader, a writer failure means minutes of downtime while Aurora replaces it',
    'set database.readers to at least 1');
  add(cfg.stateful.removalPolicy === 'destroy', 'stateful.removalPolicy', ['production'],
    'is "destroy" in a production environment; deleting the stack would delete the data',
    'set stateful.removalPolicy to "snapshot" or "retain"');
  add(!cfg.stateful.terminationProtection, 'stateful.terminationProtection', ['production'],
    'is off in a production environment', 'set stateful.terminationProtection to true');
  add(cfg.api.minHealthyPercent < 100, 'api.minHealthyPercent', ['production'],
    'is below 100 in a production environment; a deploy would remove serving capacity before the new tasks are healthy',
    'set api.minHealthyPercent to 100');
  add(cfg.api.minTasks < 2, 'api.minTasks', ['production'],
    'is below 2 in a production environment; one task cannot span two zones or survive its own replacement',
    'set api.minTasks to at least 2');
  add(cfg.cache.mode === 'replication-group' && cfg.cache.replicas < 1, 'cache.replicas', ['production', 'cache.mode'],
    'is 0 in a production environment; without a replica there is no Multi-AZ and no automatic failover',
    'set cache.replicas to at least 1, or cache.mode to "serverless"');
  const retentions = [
    ['network.flowLogRetentionDays', cfg.network.flowLogRetentionDays],
    ['compute.logRetentionDays', cfg.compute.logRetentionDays],
    ['database.logRetentionDays', cfg.database.logRetentionDays],
  ] as const;
  for (const [path, days] of retentions) {
    add(days < MIN_PRODUCTION_LOG_RETENTION_DAYS, path, ['production'],
      `keeps logs ${days} days in a production environment; AWS Control Tower (CT.CLOUDWATCH.PR.2) and most audits want at least a year`,
      `set ${path} to ${MIN_PRODUCTION_LOG_RETENTION_DAYS} or more`);
  }
  return problems;
}

function checkLoadTest(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const lt = cfg.loadTest;
  const capacity = lt.maxWorkers * lt.maxRatePerWorker;
  for (const [name, profile] of Object.entries(lt.profiles)) {
    const peak = Math.max(...profile.phases.map((p) => Math.max(p.arrivalRate, p.rampTo ?? p.arrivalRate)));
    add(peak > capacity, `loadTest.profiles.${name}.phases`, ['loadTest.maxWorkers', 'loadTest.maxRatePerWorker'],
      `peak at ${peak} req/s, more than the load generator can send (maxWorkers ${lt.maxWorkers} × maxRatePerWorker ${lt.maxRatePerWorker} = ${capacity} req/s)`,
      `raise loadTest.maxWorkers to at least ${Math.ceil(peak / lt.maxRatePerWorker)}, or lower the profile's rates`);
    add(peak === 0, `loadTest.profiles.${name}.phases`, [], 'never sends a request (every rate is 0)', 'give at least one phase an arrivalRate or rampTo above 0');
    if (profile.stopWhenSlaBreaks) {
      const rates = profile.phases.map((p) => p.rampTo ?? p.arrivalRate);
      add(rates.some((r, i) => i > 0 && r <= rates[i - 1]), `loadTest.profiles.${name}.phases`, [`loadTest.profiles.${name}.stopWhenSlaBreaks`],
        `must step up (each phase faster than the one before) to find a breaking rate; the rates are ${rates.join(', ')}`,
        'order the phases by rising rate, or set stopWhenSlaBreaks to false');
    }
  }
  const { latencyP50Ms: p50, latencyP90Ms: p90, latencyP99Ms: p99 } = cfg.sla;
  add(p50 > p90, 'sla.latencyP50Ms', ['sla.latencyP90Ms'], `(${p50} ms) exceeds sla.latencyP90Ms (${p90} ms); a median cannot be slower than the 90th percentile`,
    `lower sla.latencyP50Ms to at most ${p90}, or raise sla.latencyP90Ms`);
  add(p90 > p99, 'sla.latencyP90Ms', ['sla.latencyP99Ms'], `(${p90} ms) exceeds sla.latencyP99Ms (${p99} ms)`,
    `lower sla.latencyP90Ms to at most ${p99}, or raise sla.latencyP99Ms`);
  add(cfg.sla.errorRatePercent > round(100 - cfg.slo.availabilityPercent), 'sla.errorRatePercent', ['slo.availabilityPercent'],
    `(${cfg.sla.errorRatePercent} %) allows more failures than the availability objective (slo.availabilityPercent ${cfg.slo.availabilityPercent} % leaves ${round(100 - cfg.slo.availabilityPercent)} %); a passing load test would still burn the error budget`,
    `set sla.errorRatePercent to at most ${round(100 - cfg.slo.availabilityPercent)}`);
  return problems;
}

/** Log retention that production needs (AWS Control Tower CT.CLOUDWATCH.PR.2: at least one year). */
export const MIN_PRODUCTION_LOG_RETENTION_DAYS = 365;

type Add = (when: boolean, path: string, inputs: string[], message: string, fix: string) => void;

function collector(): { problems: Problem[]; add: Add } {
  const problems: Problem[] = [];
  const add: Add = (when, path, inputs, message, fix) => {
    if (when) problems.push({ path, inputs, message, fix });
  };
  return { problems, add };
}

function describeFargateMemory(cpu: number): string {
  if (cpu === 256) return '512, 1024 or 2048 MiB';
  const [min, max, step] = FARGATE_MEMORY_MIB[cpu];
  return `${min} to ${max} MiB in steps of ${step}`;
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
