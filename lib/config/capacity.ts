import { AURORA_POSTGRES_MAX_CONNECTIONS } from './max-connections';

/**
 * The capacity model: every formula that turns configuration into a capacity, stated once, with the AWS
 * behaviour behind it. Pure (no aws-cdk-lib, no zod): the loader's rules, the constructs and the tools all
 * compute with the same functions, so what is validated is what is deployed.
 *
 * The inputs are structural types rather than the schema's, so that a caller with a partial or hypothetical
 * configuration (a planner trying a bigger instance class) can ask too.
 */

export { AURORA_POSTGRES_MAX_CONNECTIONS };

// ---------------------------------------------------------------------------------------------------------
// Fargate task sizes
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
// ---------------------------------------------------------------------------------------------------------

/** Fargate task CPU units (1024 = 1 vCPU): the only sizes Fargate accepts. */
export const FARGATE_CPU_UNITS = [256, 512, 1024, 2048, 4096, 8192, 16384] as const;

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

// ---------------------------------------------------------------------------------------------------------
// Database connections
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/AuroraPostgreSQL.Managing.html#AuroraPostgreSQL.Managing.MaxConnections
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-connections.html#rds-proxy-connection-pooling-tuning.maxconnectionspercent
// ---------------------------------------------------------------------------------------------------------

/**
 * Connections AWS automation keeps for itself; the Aurora guide asks for "at least 3 more connections to
 * support AWS automation" on top of what the application needs.
 */
export const RESERVED_CONNECTIONS = 3;

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

/** What the writer's max_connections depends on. */
export interface WriterSizing {
  readonly instanceClass: string;
  readonly serverlessV2MaxCapacityAcu: number;
}

/** max_connections of the writer for the configured class, or undefined for a class not in the table. */
export function writerMaxConnections(db: WriterSizing): number | undefined {
  if (db.instanceClass === 'db.serverless') return serverlessV2MaxConnections(db.serverlessV2MaxCapacityAcu);
  return AURORA_POSTGRES_MAX_CONNECTIONS[db.instanceClass];
}

/** What the connection budget depends on: the writer and, when it is on, the proxy's share of it. */
export interface BudgetSizing extends WriterSizing {
  readonly proxy: { readonly enabled: boolean; readonly maxConnectionsPercent: number };
}

/**
 * Connections the services may hold at once. RDS Proxy opens at most MaxConnectionsPercent of the target's
 * max_connections, so through the proxy the budget is that share; without it, the writer's max_connections.
 * Both less the connections AWS reserves for its automation. Undefined for a class not in the table.
 */
export function connectionBudget(db: BudgetSizing): number | undefined {
  const max = writerMaxConnections(db);
  if (max === undefined) return undefined;
  const usable = max - RESERVED_CONNECTIONS;
  return db.proxy.enabled ? Math.floor((usable * db.proxy.maxConnectionsPercent) / 100) : usable;
}

/** One service's share of the connections: how many tasks it may run and the pool each task opens. */
export interface PoolSizing {
  readonly maxTasks: number;
  readonly dbPoolSize: number;
}

/**
 * Connections the services may open on the writer at full scale: Σ maxTasks × dbPoolSize. A task's writer
 * pool opens at most dbPoolSize connections (DB_POOL_SIZE), and autoscaling may run every service at its
 * maxTasks at once, so that is the demand the budget must cover.
 */
export function connectionDemand(cfg: { readonly api: PoolSizing; readonly worker: PoolSizing }): number {
  return cfg.api.maxTasks * cfg.api.dbPoolSize + cfg.worker.maxTasks * cfg.worker.dbPoolSize;
}

// ---------------------------------------------------------------------------------------------------------
// Worker throughput and the backlog target
// https://docs.aws.amazon.com/autoscaling/ec2/userguide/as-using-sqs-queue.html
// ---------------------------------------------------------------------------------------------------------

/** What the backlog target depends on. */
export interface WorkerLatency {
  readonly acceptableLatencySeconds: number;
  readonly avgProcessingSeconds: number;
}

/**
 * Messages one task may have waiting before the queue is "late": acceptable latency ÷ processing time.
 * AWS's recipe for scaling on SQS: track backlog per instance (messages ÷ running tasks) at the backlog one
 * instance can work off within the acceptable latency; target tracking then adds tasks in proportion.
 */
export function backlogPerTaskTarget(cfg: { readonly worker: WorkerLatency }): number {
  return cfg.worker.acceptableLatencySeconds / cfg.worker.avgProcessingSeconds;
}
