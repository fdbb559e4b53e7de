import { AURORA_POSTGRES_MAX_CONNECTIONS } from './max-connections';

/**
 * The capacity model: every formula that turns configuration into a capacity, stated once, with the AWS
 * behaviour behind it. Pure (no aws-cdk-lib, no zod): the loader's rules, the constructs and the tools all
 * compute with the same functions, so what is validated is what is deployed.
 *
 * The inputs are structural types rather than the schema's, so that a caller with a partial or hypothetical
 * configuration (a planner trying a bigger instance class) can ask too.
 *
 * Sections: Fargate task sizes and the processes a task runs; database connections (per task, at peak, per
 * endpoint, against each instance's max_connections, and what RDS Proxy changes); worker throughput and the
 * backlog target; API request capacity, the request target and the scale ceiling.
 */

export { AURORA_POSTGRES_MAX_CONNECTIONS };

// ---------------------------------------------------------------------------------------------------------
// Fargate task sizes and the processes a task runs
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
// ---------------------------------------------------------------------------------------------------------

/** Fargate task CPU units (1024 = 1 vCPU): the only sizes Fargate accepts. */
export const FARGATE_CPU_UNITS = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

/** CPU units of one vCPU. */
export const CPU_UNITS_PER_VCPU = 1024;

/**
 * Fargate's valid memory sizes (MiB) for each CPU size: [min, max, step]. Fargate rejects a task definition
 * with any other pair at deploy time, long after synth; 256 units take only 512, 1024 or 2048.
 */
export const FARGATE_MEMORY_MIB: Readonly<Record<number, readonly [number, number, number]>> = {
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

/**
 * Node.js processes the reference API image runs in a task of `cpuUnits`: one per whole vCPU, at least one
 * (it forks that many node:cluster workers). A Node.js process runs JavaScript on one thread, so a second
 * process is what puts a second vCPU to work; below one vCPU (256, 512 units) the one process gets that share
 * of a core from the CPU quota. Every Fargate size above 1024 units is a whole number of vCPUs, so no size
 * leaves a fraction of a vCPU idle. Each process opens its own pools, which is why the connection count
 * multiplies by this.
 *
 * @example processesForCpu(256) === 1; processesForCpu(1024) === 1; processesForCpu(4096) === 4
 */
export function processesForCpu(cpuUnits: number): number {
  return Math.max(1, Math.floor(cpuUnits / CPU_UNITS_PER_VCPU));
}

/**
 * Processes the reference worker runs per task: one. Its parallelism is `worker.concurrency` jobs at once in
 * that process (the jobs mostly wait on I/O), so a worker task's size buys memory and CPU headroom, and more
 * throughput comes from more tasks, which is what the backlog policy adds.
 */
export const WORKER_PROCESSES_PER_TASK = 1;

// ---------------------------------------------------------------------------------------------------------
// Database connections
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Managing.html#AuroraPostgreSQL.Managing.MaxConnections
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-connections.html#rds-proxy-connection-pooling-tuning.maxconnectionspercent
// ---------------------------------------------------------------------------------------------------------

/**
 * Slots PostgreSQL keeps for superusers (`superuser_reserved_connections`, default 3): on Aurora that is
 * `rdsadmin`, AWS's own automation. https://www.postgresql.org/docs/current/runtime-config-connection.html#GUC-SUPERUSER-RESERVED-CONNECTIONS
 */
export const SUPERUSER_RESERVED_CONNECTIONS = 3;

/**
 * Slots RDS keeps for members of rds_superuser (`rds.rds_superuser_reserved_connections`, default 2, "Sets
 * the number of connection slots reserved for rds_superusers"), so that an administrator can still log in
 * when the application holds every other slot. An application user that is not rds_superuser is refused
 * ("remaining connection slots are reserved for ...") once only these are left.
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Reference.ParameterGroups.html
 */
export const RDS_SUPERUSER_RESERVED_CONNECTIONS = 2;

/** Slots of max_connections the services can never use: both reserves above. */
export const RESERVED_CONNECTIONS = SUPERUSER_RESERVED_CONNECTIONS + RDS_SUPERUSER_RESERVED_CONNECTIONS;

/** Memory of one Aurora capacity unit (GiB). */
const GIB_PER_ACU = 2;

/** Aurora PostgreSQL's default max_connections is LEAST({DBInstanceClassMemory/9531392}, 5000). */
const BYTES_PER_CONNECTION = 9531392;
const MAX_CONNECTIONS_CEILING = 5000;

/**
 * Serverless v2 derives max_connections from the memory at the cluster's maximum ACU, with the same formula
 * as provisioned classes. This is an estimate from that formula (the instance reserves some memory, so the
 * real value is a little lower; the budget check keeps a reserve for that reason too). AWS also caps it at
 * 2000 when the minimum capacity is 0 or 0.5 ACU, which this estimate does not model yet
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.setting-capacity.html#aurora-serverless-v2.max-connections).
 */
export function serverlessV2MaxConnections(maxCapacityAcu: number): number {
  return Math.min(Math.floor((maxCapacityAcu * GIB_PER_ACU * 1024 ** 3) / BYTES_PER_CONNECTION), MAX_CONNECTIONS_CEILING);
}

/** What an instance's max_connections depends on; the writer and the readers share the class. */
export interface WriterSizing {
  readonly instanceClass: string;
  readonly serverlessV2MaxCapacityAcu: number;
}

/**
 * max_connections of one instance of the configured class (the writer, or any reader: they share
 * `database.instanceClass`), or undefined for a class not in the table.
 */
export function instanceMaxConnections(db: WriterSizing): number | undefined {
  if (db.instanceClass === 'db.serverless') return serverlessV2MaxConnections(db.serverlessV2MaxCapacityAcu);
  return AURORA_POSTGRES_MAX_CONNECTIONS[db.instanceClass];
}

/** max_connections of the writer; the same figure as {@link instanceMaxConnections}. */
export function writerMaxConnections(db: WriterSizing): number | undefined {
  return instanceMaxConnections(db);
}

/** What the connection budget depends on: the instance class and, when it is on, the proxy's share of it. */
export interface BudgetSizing extends WriterSizing {
  readonly proxy: { readonly enabled: boolean; readonly maxConnectionsPercent: number };
}

/**
 * Connections the services may hold on ONE instance (the writer, or one reader). Without RDS Proxy, the
 * instance's max_connections less the reserved slots. With RDS Proxy, the proxy opens at most
 * MaxConnectionsPercent of that to each target ("the maximum size of the connection pool for each target in a
 * target group": the writer and every reader get their own pool), so that share is the budget.
 * Undefined for a class not in the table.
 */
export function instanceConnectionBudget(db: BudgetSizing): number | undefined {
  const max = instanceMaxConnections(db);
  if (max === undefined) return undefined;
  const usable = max - RESERVED_CONNECTIONS;
  return db.proxy.enabled ? Math.floor((usable * db.proxy.maxConnectionsPercent) / 100) : usable;
}

/**
 * The writer's connection budget: what the `dbConnectionsPercentOfBudget` alarm and the dashboard's budget
 * line measure the writer's DatabaseConnections against. Same figure as {@link instanceConnectionBudget}. In
 * `clusters` mode it is the budget of EACH cluster's writer (they share the class and the proxy share; the
 * number of clusters and the total: {@link connectionBudgetPerCluster}).
 */
export function connectionBudget(db: BudgetSizing): number | undefined {
  return instanceConnectionBudget(db);
}

/** What one task opens: its processes, the pools each process opens, and the size of each pool. */
export interface TaskConnections {
  readonly processesPerTask: number;
  readonly poolsPerProcess: number;
  readonly poolSize: number;
}

/**
 * Connections one task can hold: processes × pools per process × pool size. Each pool opens at most
 * `poolSize` (DB_POOL_SIZE) connections; pools open lazily, so only pools the process queries count.
 *
 * @example connectionsPerTask({ processesPerTask: 2, poolsPerProcess: 2, poolSize: 10 }) === 40
 */
export function connectionsPerTask(t: TaskConnections): number {
  return t.processesPerTask * t.poolsPerProcess * t.poolSize;
}

/**
 * Tasks a service can run at once: maxTasks × maximumPercent / 100, rounded down. During a rolling deploy
 * ECS starts new tasks before stopping old ones, up to `deploymentConfiguration.maximumPercent` of the
 * desired count ("rounded down to the nearest integer"), and autoscaling may have set the desired count to
 * maxTasks, so both generations hold their pools at once.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html#sd-deploymentconfiguration
 *
 * @example peakTasks(10, 200) === 20; peakTasks(3, 150) === 4
 */
export function peakTasks(maxTasks: number, maxHealthyPercent: number): number {
  return Math.floor((maxTasks * maxHealthyPercent) / 100);
}

/**
 * The worker service's `maximumPercent` (lib/constructs/queue-worker.ts deploys with 200: a full new set may
 * start before the old one stops). The connection count takes its surge from here.
 */
export const WORKER_MAX_HEALTHY_PERCENT = 200;

/**
 * Which endpoints a service's processes query: the reference API reads from the reader pool, the worker does
 * not. Every other HTTP service (`services`) is counted as an API: it may run the reference API with another
 * command, or an image of its own whose pools the model cannot see, so it gets the larger count.
 */
export const READS_FROM_READER_POOL = { api: true, worker: false, services: true } as const;

/** Where the reads go: what decides whether a process's reader pool lands on the writer or on the readers. */
export interface ReadTopology {
  /** Readers created with the cluster; autoscaling never removes them, so there are always this many. */
  readonly readers: number;
}

/** Pools per process on each endpoint. */
export interface PoolsPerEndpoint {
  /** Pools whose connections end on the writer instance. */
  readonly writer: number;
  /** Pools whose connections end on the readers (spread over them by the reader endpoint). */
  readonly readers: number;
}

/**
 * Where a process's pools land. The writer pool always goes to the writer. The reader pool (DB_READER_HOST:
 * the cluster's reader endpoint, or the proxy's read-only endpoint) goes to the readers, except in a cluster
 * without readers: there "the reader endpoint connects to the primary instance", so both pools end on the
 * writer, a second pool on the same instance
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Endpoints.Reader.html). The count is
 * per endpoint, not per pool, for that reason. A process that never queries its reader pool opens no
 * connection there (node-postgres pools connect on demand: https://node-postgres.com/apis/pool).
 *
 * @example poolsPerEndpoint(true, { readers: 0 }) → { writer: 2, readers: 0 }  (dev: both pools on the writer)
 * @example poolsPerEndpoint(true, { readers: 2 }) → { writer: 1, readers: 1 }
 */
export function poolsPerEndpoint(readsFromReaderPool: boolean, db: ReadTopology): PoolsPerEndpoint {
  if (!readsFromReaderPool) return { writer: 1, readers: 0 };
  return db.readers === 0 ? { writer: 2, readers: 0 } : { writer: 1, readers: 1 };
}

/** What one service's connection demand depends on. */
export interface ServiceConnectionSizing {
  readonly maxTasks: number;
  /** Deployment maximumPercent (the API's `api.maxHealthyPercent`; the worker's {@link WORKER_MAX_HEALTHY_PERCENT}). */
  readonly maxHealthyPercent: number;
  readonly processesPerTask: number;
  readonly dbPoolSize: number;
  readonly readsFromReaderPool: boolean;
}

/** Connections on each endpoint: the writer, and the readers taken together. */
export interface EndpointDemand {
  readonly writer: number;
  readonly readers: number;
}

/**
 * One service's connections at peak, per endpoint: peakTasks × connectionsPerTask with the pools that land
 * on that endpoint.
 */
export function serviceConnectionDemand(svc: ServiceConnectionSizing, db: ReadTopology): EndpointDemand {
  const tasks = peakTasks(svc.maxTasks, svc.maxHealthyPercent);
  const pools = poolsPerEndpoint(svc.readsFromReaderPool, db);
  const on = (poolsPerProcess: number) => tasks * connectionsPerTask({ processesPerTask: svc.processesPerTask, poolsPerProcess, poolSize: svc.dbPoolSize });
  return { writer: on(pools.writer), readers: on(pools.readers) };
}

/** What an HTTP service's connections depend on: the API's keys, and every other HTTP service's (`services`). */
export interface HttpServiceSizing {
  readonly maxTasks: number;
  readonly maxHealthyPercent: number;
  readonly cpu: number;
  readonly dbPoolSize: number;
  /** The blue/green family doubles the tasks during a deploy (deploymentSurgePercent); absent counts as rolling. */
  readonly deployment?: { readonly strategy: DeploymentStrategyName };
}

/** The parts of the configuration the connection demand reads. */
export interface DemandConfig {
  readonly api: HttpServiceSizing;
  readonly worker: { readonly maxTasks: number; readonly dbPoolSize: number };
  /** The HTTP services besides the API (`services`), each with its name; absent counts none. */
  readonly services?: ReadonlyArray<HttpServiceSizing & { readonly name: string }>;
  readonly database: ReadTopology;
}

/**
 * An HTTP service's connection sizing as the reference image runs it: one process per vCPU
 * ({@link processesForCpu}), its deploy surge, reads from the reader pool.
 */
export function httpServiceSizing(svc: HttpServiceSizing): ServiceConnectionSizing {
  return {
    maxTasks: svc.maxTasks, maxHealthyPercent: deploymentSurgePercent(svc.deployment?.strategy ?? 'rolling', svc.maxHealthyPercent), processesPerTask: processesForCpu(svc.cpu),
    dbPoolSize: svc.dbPoolSize, readsFromReaderPool: READS_FROM_READER_POOL.api,
  };
}

/** Every service's connection sizing, as the reference image runs them: the API, the worker, and each of `services` by name. */
export function serviceSizings(cfg: DemandConfig): {
  readonly api: ServiceConnectionSizing;
  readonly worker: ServiceConnectionSizing;
  readonly services: Readonly<Record<string, ServiceConnectionSizing>>;
} {
  return {
    api: httpServiceSizing(cfg.api),
    services: Object.fromEntries((cfg.services ?? []).map((s) => [s.name, { ...httpServiceSizing(s), readsFromReaderPool: READS_FROM_READER_POOL.services }])),
    worker: {
      maxTasks: cfg.worker.maxTasks, maxHealthyPercent: WORKER_MAX_HEALTHY_PERCENT, processesPerTask: WORKER_PROCESSES_PER_TASK,
      dbPoolSize: cfg.worker.dbPoolSize, readsFromReaderPool: READS_FROM_READER_POOL.worker,
    },
  };
}

/**
 * Connections the services may open at once, per endpoint and per service: every service at its maxTasks
 * during a deploy surge, each task with all its processes' pools full. Autoscaling may run every service at
 * its maximum at once and a deploy may start then, so that is the demand the budget must cover.
 *
 * What it is checked against ({@link instanceConnectionBudget}): the writer's demand against the writer; the
 * readers' demand against ONE reader, not the sum of them. The reader endpoint balances connections as they
 * open, by DNS, and a connection stays where it opened: right after a reader is added, or after one fails
 * over, most of the reader connections sit on the readers that were there before; with one reader, all of
 * them do. While the readers share the writer's class, the readers' demand (the HTTP services' reader pools) is never
 * above the writer's (the same pools' writer side plus the worker), so the writer's check covers them.
 *
 * With RDS Proxy the services' pools are client connections to the proxy, which are not PostgreSQL
 * connections: the proxy multiplexes them over at most MaxConnectionsPercent of each instance's
 * max_connections. So the instances themselves cannot run out; what can run out is the proxy's pool, and
 * then clients wait up to `database.proxy.borrowTimeoutSeconds` and fail. A client connection is pinned to one
 * database connection for its lifetime when its session holds state the proxy cannot move, such as a
 * session-level advisory lock or a SET (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-pinning.html);
 * the workload's migrations take `pg_advisory_lock` at start, so at least one pooled connection per process
 * is pinned, and in the worst case every client connection is. The count is therefore the same with the
 * proxy: client connections ≈ database connections, against the proxy's share of each instance.
 */
export function connectionDemand(cfg: DemandConfig): EndpointDemand & {
  readonly api: EndpointDemand;
  readonly worker: EndpointDemand;
  /** Each of `services` by name. */
  readonly services: Readonly<Record<string, EndpointDemand>>;
} {
  const sizing = serviceSizings(cfg);
  const api = serviceConnectionDemand(sizing.api, cfg.database);
  const worker = serviceConnectionDemand(sizing.worker, cfg.database);
  const services = Object.fromEntries(Object.entries(sizing.services).map(([name, s]) => [name, serviceConnectionDemand(s, cfg.database)]));
  const all = [api, worker, ...Object.values(services)];
  return { writer: all.reduce((n, d) => n + d.writer, 0), readers: all.reduce((n, d) => n + d.readers, 0), api, worker, services };
}

// ---------------------------------------------------------------------------------------------------------
// Sharding (database.sharding): the connection budget per cluster, the DB shard group's capacity range
// ---------------------------------------------------------------------------------------------------------

/** What the number of Aurora clusters depends on: `database.sharding` (absent counts as unsharded). */
export interface ShardingSizing {
  readonly sharding?: { readonly mode: 'none' | 'clusters' | 'limitless'; readonly clusters: number };
}

/**
 * Aurora clusters the services open pools on: `database.sharding.clusters` in `clusters` mode, otherwise 1
 * (`limitless` is one cluster endpoint in front of the DB shard group's routers).
 *
 * @example shardClusterCount({ sharding: { mode: 'clusters', clusters: 3 } }) === 3; shardClusterCount({}) === 1
 */
export function shardClusterCount(db: ShardingSizing): number {
  return db.sharding?.mode === 'clusters' ? db.sharding.clusters : 1;
}

/** The connection budget, stated per cluster: each cluster's own budget, and how many clusters carry one. */
export interface ClusterConnectionBudget {
  readonly clusters: number;
  /** What the services may hold on ONE instance of ONE cluster (the writer or a reader): {@link instanceConnectionBudget}. */
  readonly perCluster: number;
  /** perCluster × clusters: what the whole fleet may hold on the writers together. */
  readonly total: number;
}

/**
 * The connection budget per cluster. In `clusters` mode every cluster is built from the same `database`
 * section (instance class, proxy share), so each has the budget of the one unsharded cluster, and there are
 * `clusters` of them. Undefined for a class not in the max_connections table, and in `limitless` mode: the
 * shard group has no instance class, and AWS documents no max_connections formula for its routers that this
 * model could check against (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html),
 * so no budget is claimed.
 *
 * @example connectionBudgetPerCluster({ instanceClass: 'db.r6g.large', …, proxy: { enabled: false, … }, sharding: { mode: 'clusters', clusters: 3 } })
 *   → { clusters: 3, perCluster: 1717, total: 5151 }
 */
export function connectionBudgetPerCluster(db: BudgetSizing & ShardingSizing): ClusterConnectionBudget | undefined {
  if (db.sharding?.mode === 'limitless') return undefined;
  const perCluster = instanceConnectionBudget(db);
  if (perCluster === undefined) return undefined;
  const clusters = shardClusterCount(db);
  return { clusters, perCluster, total: perCluster * clusters };
}

/**
 * The connection demand per cluster. The reference workload routes a request to the cluster that holds its
 * logical shard, and a list query gathers from every cluster, so each API and worker process keeps its writer
 * and reader pools open on EVERY cluster (DB_POOL_SIZE per pool per cluster: workload/src/db.ts). A pool
 * opens connections lazily but keeps them up to its size (https://node-postgres.com/apis/pool), and keys hash
 * evenly over the clusters, so under load every cluster sees every process's full pools: each cluster's
 * demand is the demand of one unsharded cluster ({@link connectionDemand}), not a share of it. Adding
 * clusters therefore never relieves a cluster's connection budget; it multiplies the fleet's total.
 */
export function connectionDemandPerCluster(cfg: DemandConfig & { readonly database: ReadTopology & ShardingSizing }): {
  readonly clusters: number;
  /** What each cluster sees, per endpoint and per service: {@link connectionDemand}. */
  readonly perCluster: ReturnType<typeof connectionDemand>;
  /** perCluster × clusters, per endpoint. */
  readonly total: EndpointDemand;
} {
  const clusters = shardClusterCount(cfg.database);
  const perCluster = connectionDemand(cfg);
  return { clusters, perCluster, total: { writer: perCluster.writer * clusters, readers: perCluster.readers * clusters } };
}

/**
 * The DB shard group's capacity range (ACU): minimum "at least 16 ACUs", maximum "from 16–6144 ACUs"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-shard-add.html; more than 6144 only
 * through AWS Support: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html).
 * The minimum is the cost floor: the group is billed for at least that while it runs, and each compute standby
 * (computeRedundancy) scales "to the same capacity as the writer"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-cluster.html).
 */
export const LIMITLESS_MIN_ACU = 16;
export const LIMITLESS_MAX_ACU = 6144;

/**
 * Connections a pool needs to keep `rps` requests per second going when each holds a connection for
 * `secondsPerRequest` (Little's law: connections in use = arrival rate × time held), rounded up.
 *
 * @example connectionsInUse(750, 0.005) === 4
 */
export function connectionsInUse(rps: number, secondsPerRequest: number): number {
  return Math.ceil(rps * secondsPerRequest);
}

// ---------------------------------------------------------------------------------------------------------
// Worker throughput and the backlog target
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html
// ---------------------------------------------------------------------------------------------------------

/**
 * Jobs one worker task finishes per second: concurrency ÷ processing time. A task runs `concurrency` jobs
 * at once (WORKER_CONCURRENCY), each taking `avgProcessingSeconds` on average.
 *
 * @example workerThroughputPerTask(10, 2) === 5
 */
export function workerThroughputPerTask(concurrency: number, avgProcessingSeconds: number): number {
  return concurrency / avgProcessingSeconds;
}

/** What the backlog target depends on. */
export interface WorkerLatency {
  readonly acceptableLatencySeconds: number;
  readonly avgProcessingSeconds: number;
  readonly concurrency: number;
}

/**
 * Messages one task may have waiting before the queue is "late": acceptable latency × throughput per task
 * (= acceptableLatencySeconds × concurrency ÷ avgProcessingSeconds). AWS's recipe for scaling on SQS: track
 * backlog per instance (messages ÷ running tasks) at the backlog one instance can work off within the
 * acceptable latency; target tracking then adds tasks in proportion.
 *
 * @example 60 s × 10 jobs ÷ 2 s = 300 messages per task
 */
export function backlogPerTaskTarget(cfg: { readonly worker: WorkerLatency }): number {
  const w = cfg.worker;
  return w.acceptableLatencySeconds * workerThroughputPerTask(w.concurrency, w.avgProcessingSeconds);
}

/**
 * Connections one worker process needs so that no job waits for one: a job holds at most one connection at a
 * time (workload/src/jobs.ts claims, works, then commits on one client), so one per concurrent job, split
 * over the task's processes.
 *
 * @example workerConnectionsNeeded(10, 1) === 10
 */
export function workerConnectionsNeeded(concurrency: number, processesPerTask: number = WORKER_PROCESSES_PER_TASK): number {
  return Math.ceil(concurrency / processesPerTask);
}

// ---------------------------------------------------------------------------------------------------------
// API request capacity, the request target and the scale ceiling
// https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html
// ---------------------------------------------------------------------------------------------------------

/**
 * Target value of target tracking on ALBRequestCountPerTarget (requests per target per MINUTE, the metric's
 * Sum over one minute): the per-task capacity at the target utilisation, capacity × 60 × utilisation / 100,
 * rounded down to whole requests.
 *
 * @example requestTargetPerMinute(750, 60) === 27000
 */
export function requestTargetPerMinute(capacityPerTaskRps: number, targetUtilisationPercent: number): number {
  return Math.floor((capacityPerTaskRps * 60 * targetUtilisationPercent) / 100);
}

/**
 * Requests per second the service serves at maxTasks with every task at full capacity.
 *
 * @example scaleCeilingRps(10, 750) === 7500
 */
export function scaleCeilingRps(maxTasks: number, capacityPerTaskRps: number): number {
  return maxTasks * capacityPerTaskRps;
}

/**
 * Requests per second the service serves at maxTasks with every task at the request target: the rate above
 * which the request policy would want more than maxTasks. A profile that must hold its SLA has to fit under
 * this; the gap to {@link scaleCeilingRps} (1 ÷ utilisation: 1.67× at 60 %) is the headroom that absorbs the
 * minutes a scale-out takes and an uneven spread of requests over the tasks.
 *
 * @example sustainedCeilingRps(10, 27000) === 4500
 */
export function sustainedCeilingRps(maxTasks: number, requestsPerTargetPerMinute: number): number {
  return (maxTasks * requestsPerTargetPerMinute) / 60;
}

/** Marks `api.requestsPerTarget` as following from `api.capacityPerTaskRps` rather than given. */
export const REQUESTS_PER_TARGET_FROM_CAPACITY = 'fromCapacity';

/** What the effective request target depends on. */
export interface RequestTargetSizing {
  readonly requestsPerTarget: number | typeof REQUESTS_PER_TARGET_FROM_CAPACITY;
  readonly capacityPerTaskRps: number | null;
  readonly targetCpuUtilizationPercent: number;
}

/**
 * The request target the API scales on: `api.requestsPerTarget` when it is a number (given explicitly),
 * else capacityPerTaskRps × 60 × targetCpuUtilizationPercent / 100. The CPU target is the utilisation
 * because a calibrated capacity is the rate one task serves at the SLA with its CPU busy: at the same share
 * of it the request policy and the CPU policy agree for a CPU-bound service, and the request policy acts
 * first for one that runs out of something CPU does not show (database, connections). Undefined when it
 * follows from a capacity that is not set.
 */
export function effectiveRequestsPerTarget(api: RequestTargetSizing): number | undefined {
  if (api.requestsPerTarget !== REQUESTS_PER_TARGET_FROM_CAPACITY) return api.requestsPerTarget;
  if (api.capacityPerTaskRps === null) return undefined;
  return requestTargetPerMinute(api.capacityPerTaskRps, api.targetCpuUtilizationPercent);
}

/** Peak arrival rate of a load profile (req/s): the highest arrivalRate or rampTo of its phases. */
export function profilePeakRps(profile: { readonly phases: ReadonlyArray<{ readonly arrivalRate: number; readonly rampTo?: number }> }): number {
  return Math.max(...profile.phases.map((p) => Math.max(p.arrivalRate, p.rampTo ?? p.arrivalRate)));
}

// ---------------------------------------------------------------------------------------------------------
// What the scaling policies measure, how they answer, and what users wait (the planner, tools/plan)
// https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
// ---------------------------------------------------------------------------------------------------------

/**
 * The reference workload's request that puts a job on the queue: `POST /jobs` inserts the job and sends one
 * SQS message (workload/src/app.ts). The worker's load is this request's share of the API's.
 */
export const JOB_SUBMIT_REQUEST = { method: 'POST', path: '/jobs' } as const;

/**
 * Jobs enqueued per API request of a weighted request mix (`loadTest.mix`): the weight of the job-submitting
 * request ÷ the total weight. A query string does not change the route, so `/jobs?x=1` counts.
 *
 * @example jobsPerRequest([{ method: 'GET', path: '/items/1', weight: 95 }, { method: 'POST', path: '/jobs', weight: 5 }]) === 0.05
 */
export function jobsPerRequest(mix: ReadonlyArray<{ readonly method: string; readonly path: string; readonly weight: number }>): number {
  const total = mix.reduce((s, r) => s + r.weight, 0);
  if (total <= 0) return 0;
  const jobs = mix
    .filter((r) => r.method === JOB_SUBMIT_REQUEST.method && r.path.split('?')[0] === JOB_SUBMIT_REQUEST.path)
    .reduce((s, r) => s + r.weight, 0);
  return jobs / total;
}

/**
 * The API service's average CPU (%), as `ECSServiceAverageCPUUtilization` reports it: the average over the
 * RUNNING tasks (a task still waiting for its health checks runs, idle, and pulls the average down). A task
 * serving `capacityPerTaskRps` is taken as fully busy: the calibrated capacity is the rate at which the
 * task's CPU ran out (docs/scaling.md), so CPU grows in proportion to the rate served, up to 100.
 *
 * @example apiCpuUtilisationPercent(900, 2, 750) === 60; apiCpuUtilisationPercent(3000, 2, 750) === 100
 */
export function apiCpuUtilisationPercent(servedRps: number, runningTasks: number, capacityPerTaskRps: number): number {
  if (runningTasks <= 0) return 0;
  return Math.min(100, (100 * servedRps) / (runningTasks * capacityPerTaskRps));
}

/**
 * `ALBRequestCountPerTarget` for one minute: the requests the load balancer received in the minute ÷ the
 * healthy targets that shared them (the metric is "the average number of requests received by each target",
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
 * Requests that queue in a task still count: the metric sees the demand, not what was served.
 *
 * @example requestsPerTargetPerMinute(500, 2) === 15000
 */
export function requestsPerTargetPerMinute(rps: number, healthyTargets: number): number {
  return healthyTargets > 0 ? (rps * 60) / healthyTargets : Infinity;
}

/**
 * Backlog per task as the worker's policy computes it: (visible [+ in flight]) ÷ running tasks. Undefined
 * with no task running: the policy's metric math divides by zero and gets no datapoint, which target
 * tracking treats as insufficient data and ignores, so it cannot leave zero (the scale-from-zero alarm
 * does that, lib/constructs/queue-worker.ts).
 *
 * @example backlogPerTask(900, 100, 2, true) === 500; backlogPerTask(900, 100, 2, false) === 450
 */
export function backlogPerTask(visible: number, inFlight: number, runningTasks: number, includeInFlight: boolean): number | undefined {
  if (runningTasks <= 0) return undefined;
  return (visible + (includeInFlight ? inFlight : 0)) / runningTasks;
}

/**
 * The capacity a target-tracking policy asks for: current capacity × metric ÷ target, rounded up. "When the
 * metric is above the target value, Application Auto Scaling scales out by adding capacity to reduce the
 * difference", in proportion to it; below, it removes capacity the same way. The caller clamps to min/max.
 * https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html
 *
 * @example targetTrackingCapacity(2, 90, 60) === 3; targetTrackingCapacity(10, 30, 60) === 5
 */
export function targetTrackingCapacity(currentCapacity: number, metric: number, target: number): number {
  // The epsilon keeps 3 × 60 / 60 = 3.0000000000000004 at 3.
  return Math.max(0, Math.ceil((currentCapacity * metric) / target - 1e-9));
}

/**
 * Share of a full target's requests a target gets `secondsHealthy` after it became healthy, with the target
 * group's slow start: "the load balancer linearly increases the number of requests that it sends to the
 * target" over the slow-start duration; 0 means off (full share at once).
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#slow-start-mode
 *
 * @example slowStartShare(15, 30) === 0.5; slowStartShare(45, 30) === 1; slowStartShare(0, 0) === 1
 */
export function slowStartShare(secondsHealthy: number, slowStartSeconds: number): number {
  if (slowStartSeconds <= 0) return 1;
  return Math.max(0, Math.min(1, secondsHealthy / slowStartSeconds));
}

/**
 * Erlang C: the probability that an arrival waits in an M/M/c queue with `servers` servers and offered
 * load a = λ/μ (in servers), for a < servers; 1 at or above (every arrival waits, the queue grows).
 * Computed through the Erlang B recursion B(k) = a·B(k−1) / (k + a·B(k−1)), then C = c·B / (c − a·(1 − B)),
 * which stays finite for hundreds of servers.
 *
 * @example erlangC(1, 0.5) === 0.5 (one server: the probability of waiting is the utilisation)
 * @example erlangC(2, 1) === 1/3
 */
export function erlangC(servers: number, offeredLoad: number): number {
  if (offeredLoad <= 0) return 0;
  if (offeredLoad >= servers) return 1;
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (offeredLoad * b) / (k + offeredLoad * b);
  return (servers * b) / (servers - offeredLoad * (1 - b));
}

/** What an M/M/c queue is made of: servers, the rate one server serves (per s) and the arrival rate (per s). */
export interface MmcQueue {
  readonly servers: number;
  readonly serviceRatePerServer: number;
  readonly arrivalRate: number;
}

/**
 * The q-quantile of the time an arrival waits for a server in an M/M/c queue (s): the waiting time is 0
 * with probability 1 − C and exponential with rate cμ − λ otherwise, so P(W > t) = C·e^−(cμ−λ)t and the
 * quantile is ln(C ÷ (1 − q)) ÷ (cμ − λ) when C > 1 − q, else 0. Infinite at or above saturation
 * (λ ≥ cμ): no steady state exists, the queue grows for as long as that lasts.
 *
 * @example mmcWaitQuantileSeconds({ servers: 1, serviceRatePerServer: 100, arrivalRate: 50 }, 0.99) === Math.log(50) / 50
 */
export function mmcWaitQuantileSeconds(queue: MmcQueue, q: number): number {
  const { servers, serviceRatePerServer: mu, arrivalRate: lambda } = queue;
  if (lambda <= 0) return 0;
  if (lambda >= servers * mu) return Infinity;
  const c = erlangC(servers, lambda / mu);
  if (c <= 1 - q) return 0;
  return Math.log(c / (1 - q)) / (servers * mu - lambda);
}

/**
 * The q-quantile of an exponential service time with rate `serviceRate` (per s): −ln(1 − q) ÷ μ. With the
 * wait's quantile it bounds the response time's: M/M/c models a service time that varies, not a constant.
 *
 * @example serviceTimeQuantileSeconds(100, 0.99) === Math.log(100) / 100
 */
export function serviceTimeQuantileSeconds(serviceRate: number, q: number): number {
  return -Math.log(1 - q) / serviceRate;
}

// ---------------------------------------------------------------------------------------------------------
// Sizes behind the cost and the vertical-vs-horizontal comparison (tools/plan/cost.ts, tools/plan/compare.ts)
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Concepts.DBInstanceClass.Summary.html
// ---------------------------------------------------------------------------------------------------------

/** vCPUs and memory of a DB instance class. */
export interface DbInstanceSize {
  readonly vcpu: number;
  readonly memoryGiB: number;
}

/**
 * vCPUs and memory (GiB) of the Aurora PostgreSQL classes in the max_connections table, from the Aurora
 * User Guide's "Hardware specifications for DB instance classes". RDS Proxy bills per vCPU of the instances
 * behind it, and the comparison weighs write capacity (the writer's vCPUs) against read capacity (the
 * readers'). The r6g, r6i, r7g, r7i and r8g families share sizes, as the max_connections table notes.
 */
export const DB_INSTANCE_CLASS_SIZE: Readonly<Record<string, DbInstanceSize>> = Object.freeze({
  'db.t3.medium': { vcpu: 2, memoryGiB: 4 },
  'db.t3.large': { vcpu: 2, memoryGiB: 8 },
  'db.t4g.medium': { vcpu: 2, memoryGiB: 4 },
  'db.t4g.large': { vcpu: 2, memoryGiB: 8 },
  ...memoryOptimisedSizes(['r5', 'r6g', 'r6i', 'r7g', 'r7i', 'r8g'], 8),
  ...memoryOptimisedSizes(['x2g'], 16),
});

function memoryOptimisedSizes(families: string[], gibPerVcpu: number): Record<string, DbInstanceSize> {
  const vcpus: Record<string, number> = { large: 2, xlarge: 4, '2xlarge': 8, '4xlarge': 16, '8xlarge': 32, '12xlarge': 48, '16xlarge': 64, '24xlarge': 96 };
  const out: Record<string, DbInstanceSize> = {};
  for (const family of families) {
    for (const [size, vcpu] of Object.entries(vcpus)) {
      if (`db.${family}.${size}` in AURORA_POSTGRES_MAX_CONNECTIONS) out[`db.${family}.${size}`] = { vcpu, memoryGiB: vcpu * gibPerVcpu };
    }
  }
  return out;
}

/** vCPUs and memory of `instanceClass`, or undefined for a class not in the table (and for db.serverless). */
export function dbInstanceClassSize(instanceClass: string): DbInstanceSize | undefined {
  return DB_INSTANCE_CLASS_SIZE[instanceClass];
}

/**
 * Memory of Serverless v2 capacity: "each ACU is a combination of approximately 2 gibibytes (GiB) of memory,
 * corresponding CPU, and networking". AWS states no vCPU count per ACU.
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-serverless-v2.how-it-works.html#aurora-serverless-v2.how-it-works.capacity
 *
 * @example serverlessV2MemoryGiB(16) === 32
 */
export function serverlessV2MemoryGiB(acu: number): number {
  return acu * GIB_PER_ACU;
}

/**
 * Requests per second one vCPU serves, from a task's capacity: capacity ÷ the task's vCPUs (cpu ÷ 1024).
 * The reference API runs one process per whole vCPU, and below one vCPU its one process gets that share of a
 * core, so its capacity is taken as proportional to the vCPUs a task has (docs/scaling.md derives the
 * defaults the same way: 1500 req/s per vCPU × the task's share).
 *
 * @example capacityPerVcpuRps(375, 256) === 1500; capacityPerVcpuRps(1500, 1024) === 1500
 */
export function capacityPerVcpuRps(capacityPerTaskRps: number, cpuUnits: number): number {
  return capacityPerTaskRps / (cpuUnits / CPU_UNITS_PER_VCPU);
}

/**
 * Requests per second a task of `cpuUnits` serves at `perVcpuRps` per vCPU; the inverse of
 * {@link capacityPerVcpuRps}.
 *
 * @example capacityPerTaskAtCpuRps(1500, 2048) === 3000; capacityPerTaskAtCpuRps(1500, 512) === 750
 */
export function capacityPerTaskAtCpuRps(perVcpuRps: number, cpuUnits: number): number {
  return perVcpuRps * (cpuUnits / CPU_UNITS_PER_VCPU);
}

/**
 * The smallest memory (MiB) Fargate offers with `cpuUnits` that is at least `atLeastMiB`: below the size's
 * minimum, the minimum; above its maximum, the maximum. Undefined for a CPU size Fargate does not have.
 *
 * @example fargateMemoryAtLeast(256, 700) === 1024; fargateMemoryAtLeast(8192, 17000) === 20480; fargateMemoryAtLeast(1024, 512) === 2048
 */
export function fargateMemoryAtLeast(cpuUnits: number, atLeastMiB: number): number | undefined {
  const range = FARGATE_MEMORY_MIB[cpuUnits];
  if (!range) return undefined;
  const [min, max, step] = range;
  if (cpuUnits === 256) return [512, 1024, 2048].find((m) => m >= atLeastMiB) ?? 2048;
  if (atLeastMiB <= min) return min;
  if (atLeastMiB >= max) return max;
  return min + Math.ceil((atLeastMiB - min) / step) * step;
}

/**
 * Tasks a rate needs when one task carries `perTaskRate`, between `minTasks` and `maxTasks`: ⌈rate ÷ perTask⌉.
 * What target tracking settles at for a steady rate (it holds each task at its target, so the per-task rate
 * to use is the target's, not the full capacity).
 *
 * @example tasksForRate(500, 225, 1, 4) === 3; tasksForRate(0, 225, 1, 4) === 1; tasksForRate(5000, 225, 1, 4) === 4
 */
export function tasksForRate(rate: number, perTaskRate: number, minTasks: number, maxTasks: number): number {
  const needed = rate <= 0 ? 0 : Math.ceil(rate / perTaskRate - 1e-9);
  return Math.min(maxTasks, Math.max(minTasks, needed));
}

/**
 * Tasks in each zone when a service's tasks are spread evenly over `zones` Availability Zones, the fullest
 * zone first: ECS spreads a service's Fargate tasks across the zones of its subnets
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement.html).
 *
 * @example tasksPerZone(5, 3) → [2, 2, 1]; tasksPerZone(1, 2) → [1, 0]
 */
export function tasksPerZone(tasks: number, zones: number): number[] {
  return Array.from({ length: zones }, (_, z) => Math.floor(tasks / zones) + (z < tasks % zones ? 1 : 0));
}

/** A service's capacity provider strategy: `base` tasks on FARGATE first, the rest split by weight. */
export interface CapacityProviderWeights {
  readonly fargateBase: number;
  readonly fargateWeight: number;
  readonly spotWeight: number;
}

/**
 * How `tasks` split between FARGATE and FARGATE_SPOT under a strategy: the base runs on FARGATE first, then
 * "the weight value designates the relative percentage of the total number of launched tasks that should use
 * the specified capacity provider". Fractional for an average task count (the expected split). All weights
 * 0 would run nothing beyond the base; ECS refuses that strategy, so it is read as all FARGATE.
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/cluster-capacity-providers.html
 *
 * @example capacityProviderSplit(5, { fargateBase: 1, fargateWeight: 1, spotWeight: 3 }) → { fargate: 2, spot: 3 }
 */
export function capacityProviderSplit(tasks: number, w: CapacityProviderWeights): { readonly fargate: number; readonly spot: number } {
  const base = Math.min(tasks, w.fargateBase);
  const rest = tasks - base;
  const weights = w.fargateWeight + w.spotWeight;
  const spot = weights > 0 ? (rest * w.spotWeight) / weights : 0;
  return { fargate: tasks - spot, spot };
}

/**
 * Time-weighted mean arrival rate of a load profile (req/s): each phase weighs by its duration, a ramp at the
 * mean of its two ends (it moves linearly).
 *
 * @example profileAverageRps({ phases: [{ durationSeconds: 300, arrivalRate: 10, rampTo: 200 }, { durationSeconds: 900, arrivalRate: 200 }] }) === 176.25
 */
export function profileAverageRps(profile: { readonly phases: ReadonlyArray<{ readonly durationSeconds: number; readonly arrivalRate: number; readonly rampTo?: number }> }): number {
  const seconds = profile.phases.reduce((s, p) => s + p.durationSeconds, 0);
  if (seconds <= 0) return 0;
  const requests = profile.phases.reduce((s, p) => s + (p.durationSeconds * (p.arrivalRate + (p.rampTo ?? p.arrivalRate))) / 2, 0);
  return requests / seconds;
}

/**
 * Fewest API tasks a production environment runs: one per zone the VPC spans, never fewer than 2. ECS spreads
 * a service's tasks over its subnets' zones; with fewer tasks than zones some zone has none, and losing the
 * zone that holds them loses the service until new tasks start elsewhere; one task cannot survive its own
 * replacement. https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-placement-strategies.html
 *
 * @example productionMinApiTasks(3) === 3; productionMinApiTasks(1) === 2
 */
export function productionMinApiTasks(zones: number): number {
  return Math.max(2, zones);
}

/**
 * Requests a load profile sends within one AWS WAF rate-based evaluation window, at worst: its peak rate held
 * for the whole window, all from one client address. The load generator's Lambda functions run in the app
 * subnets and reach the public load balancer through the VPC's NAT gateways, so WAF counts them under at most
 * `network.natGateways` addresses, unevenly split; the rate-based rule counts per address over the window
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html).
 *
 * @example loadTestRequestsPerWafWindow(2000, 60) === 120000
 */
export function loadTestRequestsPerWafWindow(peakRps: number, windowSeconds: number): number {
  return Math.ceil(peakRps * windowSeconds);
}

/**
 * How far inside worker.stopTimeoutSeconds the longest job must end (s): the worker's drain deadline is the stop
 * timeout less 5 s (shutdownTimeoutFor, lib/contracts/container-env.ts), and a job needs up to 5 s more after
 * its work for its transaction, DeleteMessage and the cache invalidation.
 */
export const WORKER_JOB_HEADROOM_SECONDS = 10;

/**
 * The longest job the reference worker runs (JOB_MAX_MS, cpuMs + ioMs): the declared longest job
 * (maxProcessingSeconds), and short enough that a job started just before SIGTERM is finished and deleted
 * before the drain deadline: a job cut off by SIGKILL runs again on another task. The API refuses costlier
 * jobs; the worker caps whatever a row asks for at this.
 * @example jobMaxMs({ maxProcessingSeconds: 60, stopTimeoutSeconds: 90 }) === 60_000
 */
export function jobMaxMs(worker: { readonly maxProcessingSeconds: number; readonly stopTimeoutSeconds: number }): number {
  return Math.max(0, Math.floor(Math.min(worker.maxProcessingSeconds, worker.stopTimeoutSeconds - WORKER_JOB_HEADROOM_SECONDS) * 1000));
}

// ---------------------------------------------------------------------------------------------------------
// Deployments (api.deployment): how many tasks a deploy runs at once, and for how long.

/** ECS's deployment strategies, as `api.deployment.strategy` spells them (the schema's enum). */
export const DEPLOYMENT_STRATEGIES = ['rolling', 'blue_green', 'canary', 'linear'] as const;
export type DeploymentStrategyName = (typeof DEPLOYMENT_STRATEGIES)[number];

/**
 * Tasks of the blue/green family at the height of a deploy, as a share of the desired count: ECS's blue/green,
 * canary and linear deployments scale the new (green) revision "up to 100%" of the desired count beside the old
 * (blue) one before any traffic moves (lifecycle stage SCALE_UP:
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeployment.html), and the old revision
 * keeps all its tasks until the bake time after the last shift has passed ("the time period when both blue
 * and green service revisions are running simultaneously after the production traffic has shifted":
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentConfiguration.html). A canary of 10 %
 * runs no fewer tasks than a blue/green: the green revision is full size from the start, the weights only
 * decide which one answers. maximumPercent does not bound it.
 */
export const TRAFFIC_SHIFT_SURGE_PERCENT = 200;

/** True for the strategies that shift traffic between two target groups (everything but rolling). */
export function shiftsTraffic(strategy: DeploymentStrategyName): boolean {
  return strategy !== 'rolling';
}

/**
 * The deploy surge the connection budget and the planner count (% of the desired count): a rolling deploy's
 * maximumPercent, or 200 for the blue/green family (TRAFFIC_SHIFT_SURGE_PERCENT).
 *
 * @example deploymentSurgePercent('rolling', 150) === 150; deploymentSurgePercent('canary', 150) === 200
 */
export function deploymentSurgePercent(strategy: DeploymentStrategyName, maxHealthyPercent: number): number {
  return shiftsTraffic(strategy) ? TRAFFIC_SHIFT_SURGE_PERCENT : maxHealthyPercent;
}

/** What the length of a deploy's traffic shift depends on (api.deployment). */
export interface DeploymentTiming {
  readonly strategy: DeploymentStrategyName;
  readonly bakeTimeMinutes: number;
  readonly canary: { readonly percent: number; readonly bakeTimeMinutes: number };
  readonly linear: { readonly stepPercent: number; readonly stepBakeTimeMinutes: number };
}

/**
 * Steps of a linear shift: stepPercent each until all traffic has moved, the last one possibly smaller.
 * @example linearSteps(10) === 10; linearSteps(30) === 4
 */
export function linearSteps(stepPercent: number): number {
  // Rounded first: 100 / 3.3 must not become 31 steps through floating point.
  return Math.ceil(Math.round((100 / stepPercent) * 1e6) / 1e6);
}

/**
 * Minutes the old and the new revision both run at full size once the new one is up: the traffic shift's
 * own waits plus the bake time after it (0 for rolling, whose surge lasts only as long as tasks take to
 * start). Canary: the canary bake, then the deployment bake. Linear: a wait between each two of its steps,
 * then the deployment bake. Blue/green: the deployment bake. The few minutes of task start and health checks
 * before the shift come on top (compute.taskStartSeconds, the health check), as in every deploy.
 *
 * @example doubledTaskMinutes({ strategy: 'canary', bakeTimeMinutes: 10, canary: { percent: 10, bakeTimeMinutes: 5 }, … }) === 15
 * @example doubledTaskMinutes({ strategy: 'linear', bakeTimeMinutes: 10, linear: { stepPercent: 25, stepBakeTimeMinutes: 3 }, … }) === 19
 */
export function doubledTaskMinutes(d: DeploymentTiming): number {
  switch (d.strategy) {
    case 'rolling': return 0;
    case 'blue_green': return d.bakeTimeMinutes;
    case 'canary': return d.canary.bakeTimeMinutes + d.bakeTimeMinutes;
    case 'linear': return (linearSteps(d.linear.stepPercent) - 1) * d.linear.stepBakeTimeMinutes + d.bakeTimeMinutes;
  }
}

/**
 * The soonest a threshold alarm can go to ALARM once its metric breaches (s): `datapointsToAlarm` breaching
 * periods of `periodSeconds` (M out of N: https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-evaluation.html).
 * A deployment stage shorter than this moves traffic before the alarm can say anything about it.
 *
 * @example alarmReactionSeconds(60, 3) === 180
 */
export function alarmReactionSeconds(periodSeconds: number, datapointsToAlarm: number): number {
  return periodSeconds * datapointsToAlarm;
}
