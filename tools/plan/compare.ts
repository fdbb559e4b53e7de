import type { BlueprintConfig } from '../../lib/config/schema';

/**
 * Vertical vs horizontal for one configuration (issue 14, item 3): for the same API peak, what each Fargate
 * task size and each database shape needs, costs, and loses when one unit fails. Pure: the configuration,
 * lib/config/capacity.ts and the price table in, rows out.
 */

/** One API task size at the peak. */
export interface TaskSizeRow {
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly vcpu: number;
  /** Node.js processes per task (processesForCpu). */
  readonly processesPerTask: number;
  /** Requests per second one task serves at full capacity (the config's capacity per vCPU × the task's vCPU share). */
  readonly capacityPerTaskRps: number;
  /** Requests per second one task carries at the request target (what scaling holds it to). */
  readonly targetPerTaskRps: number;
  /** Tasks the peak needs at the request target, at least one per zone the VPC spans. */
  readonly tasksNeeded: number;
  /** Monthly Fargate cost of tasksNeeded running all month (architecture of the config, on-demand). */
  readonly monthlyUsd: number;
  /** Capacity one more task adds (req/s at the target): the step a scale-out takes. */
  readonly scaleOutStepRps: number;
  /** Share of the fleet's capacity lost when one task stops (%). */
  readonly oneTaskLossPercent: number;
  /** Tasks in each zone, as ECS spreads them (balanced across the zones). */
  readonly tasksPerZone: readonly number[];
  /** Share of capacity lost when the zone with most tasks fails (%). */
  readonly zoneLossPercent: number;
  /** Database connections the fleet opens at peak (writer endpoint), from connectionDemand. */
  readonly writerConnectionsAtPeak: number;
  /** True for the configured size. */
  readonly current: boolean;
}

/** One database shape: a writer class and a number of readers, or Serverless v2. */
export interface DatabaseShapeRow {
  readonly label: string;
  readonly kind: 'bigger-writer' | 'more-readers' | 'serverless-v2' | 'current';
  readonly instanceClass: string;
  readonly readers: number;
  /** Serverless v2 only: [min, max] ACU per instance. */
  readonly acu?: readonly [number, number];
  readonly vcpuPerInstance?: number;
  readonly memoryGiBPerInstance?: number;
  /** max_connections of each instance (capacity.ts). */
  readonly maxConnectionsPerInstance: number | undefined;
  /** Connection budget of the writer (capacity.ts instanceConnectionBudget). */
  readonly writerBudget: number | undefined;
  /** Relative write capacity: the writer's vCPUs (writes go to the writer alone). */
  readonly writeVcpu: number;
  /** Relative read capacity: the vCPUs of the readers (the writer's own when there is none). */
  readonly readVcpu: number;
  /** Monthly instance cost (+ RDS Proxy when the config has it on), storage excluded (the same for every shape). */
  readonly monthlyUsd: number;
  readonly note: string;
}

export interface CompareReport {
  readonly envName: string;
  readonly region: string;
  readonly peakRps: number;
  readonly priceTableDate: string;
  readonly zones: number;
  /** Capacity per vCPU the config implies (api.capacityPerTaskRps ÷ the configured task's vCPU share). */
  readonly capacityPerVcpuRps: number;
  readonly taskSizes: readonly TaskSizeRow[];
  readonly database: readonly DatabaseShapeRow[];
  /** How to read the tables: the assumptions and what scales what. */
  readonly notes: readonly string[];
}

/**
 * The Fargate task sizes and database shapes side by side for an API peak of `peakRps` req/s. Throws when
 * `config.api.capacityPerTaskRps` is null (no capacity to scale from: run `npm run calibrate`), or when the
 * region has no prices.
 */
export function compareSizes(config: BlueprintConfig, peakRps: number): CompareReport {
  void config; void peakRps;
  throw new Error('compareSizes: being implemented (issue 14)');
}
