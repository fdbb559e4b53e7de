import { connectionBudget } from '../../lib/config/capacity';
import type { BlueprintConfig } from '../../lib/config/schema';
import { convertUnit, describeMetric, KPI_DERIVED_ROW, KPI_METRIC, type KpiUnit } from '../../lib/contracts/kpi-catalogue';
import { CACHE_SERIES, SERVER_SERIES, type Series } from './fetch';
import type { SeriesLookup, SeriesName } from './series';

/** A key path of the configuration (`api.maxTasks`, `database.proxy.maxConnectionsPercent`), checked by tsc. */
type Paths<T, Depth extends unknown[] = []> = Depth['length'] extends 3 ? never : T extends readonly unknown[] ? never : T extends object
  ? { [K in keyof T & string]: K | (NonNullable<T[K]> extends object ? `${K}.${Paths<NonNullable<T[K]>, [...Depth, 1]>}` : never) }[keyof T & string]
  : never;
export type ConfigKey = Paths<BlueprintConfig>;

/** The value at a key path, for the report's "api.maxTasks = 4". */
export function configValue(config: BlueprintConfig, key: ConfigKey): unknown {
  return key.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], config);
}

/**
 * What to change when a resource saturates: the capacity model's inputs for that resource
 * (lib/config/capacity.ts), in the order to try them. One table: the saturation rows and the docs name
 * their keys from here.
 *
 * - API CPU / tasks: request capacity = maxTasks × capacity per task, which scales with the task's CPU
 *   (scaleCeilingRps, capacityPerTaskAtCpuRps).
 * - Worker: throughput per task = concurrency ÷ processing time, × maxTasks (workerThroughputPerTask).
 * - Database connections: the budget is max_connections of the class (less reserved slots), × the proxy's
 *   MaxConnectionsPercent with a proxy; demand is tasks × pool size (connectionBudget, connectionDemand).
 * - Aurora CPU: the instance class (or the Serverless v2 maximum), readers for read load.
 * - Cache: node type and shards (or the serverless limits).
 */
export const KNOBS = {
  apiTasksAtMax: ['api.maxTasks', 'api.cpu'],
  apiCpu: ['api.maxTasks', 'api.cpu'],
  apiMemory: ['api.memoryMiB'],
  apiTaskStart: ['api.minTasks', 'api.targetCpuUtilizationPercent'],
  apiPool: ['api.dbPoolSize'],
  workerTasksAtMax: ['worker.maxTasks', 'worker.concurrency'],
  workerCpu: ['worker.cpu'],
  workerMemory: ['worker.memoryMiB'],
  workerPool: ['worker.dbPoolSize'],
  queueAge: ['worker.maxTasks', 'worker.concurrency'],
  dlq: ['worker.maxProcessingSeconds', 'queue.visibilityTimeoutSeconds', 'queue.maxReceiveCount'],
  dbWriterCpu: ['database.instanceClass'],
  dbWriterCpuServerless: ['database.serverlessV2MaxCapacityAcu'],
  dbReaderCpu: ['database.readerAutoscaling.maxReaders', 'database.instanceClass'],
  dbReaderCpuServerless: ['database.readerAutoscaling.maxReaders', 'database.serverlessV2MaxCapacityAcu'],
  dbConnectionsProxy: ['database.proxy.maxConnectionsPercent', 'api.dbPoolSize', 'database.instanceClass'],
  dbConnectionsDirect: ['api.dbPoolSize', 'database.proxy.enabled', 'database.instanceClass'],
  replicaLag: ['database.instanceClass', 'database.readerAutoscaling.maxReaders'],
  proxyBorrow: ['database.proxy.maxConnectionsPercent', 'database.instanceClass'],
  cacheNodes: ['cache.nodeType', 'cache.shards'],
  cacheServerlessEcpu: ['cache.serverlessMaxEcpuPerSecond'],
  cacheServerlessStorage: ['cache.serverlessMaxDataStorageGb'],
} as const satisfies Record<string, readonly ConfigKey[]>;
export type Knob = keyof typeof KNOBS;

/**
 * EngineCPUUtilization at which a Valkey/Redis node is saturated: ElastiCache recommends alarming at 90 % of
 * the engine thread ("Which Metrics Should I Monitor?",
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/CacheMetrics.WhichShouldIMonitor.html). Serverless:
 * 90 % of the configured ECPU/s limit, the same margin.
 */
export const CACHE_CPU_LIMIT_PERCENT = 90;

type Breaches = 'above' | 'atOrAbove' | 'below';

/** One resource of the saturation table: where its figure comes from and where its limit is. */
interface Resource {
  readonly id: string;
  readonly resource: string;
  readonly series: SeriesName;
  readonly breaches: Breaches;
  /**
   * A symptom (latency, errors, hit rate, pinning) is reported with when it crossed, but never named the
   * bottleneck: it says that something saturated, not what.
   */
  readonly symptom?: true;
  /** The limit in the series' unit and where it comes from; undefined: not applicable here. */
  limit(c: BlueprintConfig): { readonly value: number; readonly from: string } | undefined;
  knob(c: BlueprintConfig): Knob | undefined;
}

const warning = (t: { warning: number | null; critical: number | null }) => t.warning ?? t.critical;
const serverless = (c: BlueprintConfig) => c.database.instanceClass === 'db.serverless';
const at = (value: number | null | undefined, from: string) => (value === null || value === undefined ? undefined : { value, from });

/**
 * The saturation table, in the order a tie is broken: where two resources cross in the same period, the one
 * listed first is named (a service at maxTasks before its CPU, which rises because it cannot scale).
 */
export const RESOURCES: readonly Resource[] = [
  { id: 'apiTasksAtMax', resource: 'API tasks at max', series: 'apiRunning', breaches: 'atOrAbove', limit: (c) => at(c.api.maxTasks, 'api.maxTasks'), knob: () => 'apiTasksAtMax' },
  { id: 'apiCpu', resource: 'API CPU', series: 'apiCpu', breaches: 'above', limit: (c) => at(warning(c.alarms.apiCpuPercent), 'alarms.apiCpuPercent (above the scaling target api.targetCpuUtilizationPercent)'), knob: () => 'apiCpu' },
  { id: 'apiTaskStart', resource: 'API task start time', series: 'apiTaskStart', breaches: 'above', limit: (c) => at(c.compute.taskStartSeconds, 'compute.taskStartSeconds'), knob: () => 'apiTaskStart' },
  { id: 'apiMemory', resource: 'API memory', series: 'apiMemory', breaches: 'above', limit: (c) => at(warning(c.alarms.apiMemoryPercent), 'alarms.apiMemoryPercent'), knob: () => 'apiMemory' },
  { id: 'apiPool', resource: 'API connection pool', series: 'apiPoolUtilization', breaches: 'atOrAbove', limit: () => at(100, 'every connection of DB_POOL_SIZE in use'), knob: () => 'apiPool' },
  { id: 'workerTasksAtMax', resource: 'worker tasks at max', series: 'workerRunning', breaches: 'atOrAbove', limit: (c) => at(c.worker.maxTasks, 'worker.maxTasks'), knob: () => 'workerTasksAtMax' },
  { id: 'workerCpu', resource: 'worker CPU', series: 'workerCpu', breaches: 'above', limit: (c) => at(warning(c.alarms.apiCpuPercent), 'alarms.apiCpuPercent (the API\'s threshold; the worker has none of its own)'), knob: () => 'workerCpu' },
  { id: 'workerMemory', resource: 'worker memory', series: 'workerMemory', breaches: 'above', limit: (c) => at(warning(c.alarms.apiMemoryPercent), 'alarms.apiMemoryPercent (the API\'s threshold)'), knob: () => 'workerMemory' },
  { id: 'workerPool', resource: 'worker connection pool', series: 'workerPoolUtilization', breaches: 'atOrAbove', limit: () => at(100, 'every connection of DB_POOL_SIZE in use'), knob: () => 'workerPool' },
  { id: 'queueAge', resource: 'queue age', series: 'queueAge', breaches: 'above', limit: (c) => at(c.worker.acceptableLatencySeconds, 'worker.acceptableLatencySeconds'), knob: () => 'queueAge' },
  { id: 'dlq', resource: 'dead-letter queue', series: 'dlqVisible', breaches: 'above', symptom: true, limit: () => at(0, 'any message'), knob: () => 'dlq' },
  { id: 'dbConnections', resource: 'DB connections vs budget', series: 'dbWriterConnections', breaches: 'above', limit: (c) => {
    const budget = connectionBudget(c.database);
    const pct = warning(c.alarms.dbConnectionsPercentOfBudget);
    return budget === undefined || pct === null ? undefined : { value: (budget * pct) / 100, from: `${pct} % (alarms.dbConnectionsPercentOfBudget) of the connection budget ${budget}` };
  }, knob: (c) => (c.database.proxy.enabled ? 'dbConnectionsProxy' : 'dbConnectionsDirect') },
  { id: 'proxyDbConnections', resource: 'proxy DB connections vs budget', series: 'proxyDatabaseConnections', breaches: 'above', limit: (c) => {
    const budget = c.database.proxy.enabled ? connectionBudget(c.database) : undefined;
    const pct = warning(c.alarms.dbConnectionsPercentOfBudget);
    return budget === undefined || pct === null ? undefined : { value: (budget * pct) / 100, from: `${pct} % of the proxy's share ${budget} (database.proxy.maxConnectionsPercent)` };
  }, knob: () => 'dbConnectionsProxy' },
  { id: 'proxyBorrow', resource: 'proxy borrow latency', series: 'proxyBorrowLatency', breaches: 'above', limit: (c) => (c.database.proxy.enabled ? at(convertUnit(c.sla.latencyP50Ms, 'Milliseconds', 'Microseconds'), 'sla.latencyP50Ms (a borrow longer than a median request)') : undefined), knob: () => 'proxyBorrow' },
  { id: 'proxyPinned', resource: 'proxy pinned connections', series: 'proxyPinned', breaches: 'above', symptom: true, limit: (c) => (c.database.proxy.enabled ? at(0, 'any pinned session (the workload\'s SQL pins)') : undefined), knob: () => undefined },
  { id: 'dbWriterCpu', resource: 'Aurora writer CPU', series: 'dbWriterCpu', breaches: 'above', limit: (c) => at(warning(c.alarms.auroraCpuPercent), 'alarms.auroraCpuPercent'), knob: (c) => (serverless(c) ? 'dbWriterCpuServerless' : 'dbWriterCpu') },
  { id: 'dbReaderCpu', resource: 'Aurora reader CPU', series: 'dbReaderCpu', breaches: 'above', limit: (c) => at(warning(c.alarms.auroraCpuPercent), 'alarms.auroraCpuPercent'), knob: (c) => (serverless(c) ? 'dbReaderCpuServerless' : 'dbReaderCpu') },
  { id: 'replicaLag', resource: 'replica lag', series: 'dbReplicaLag', breaches: 'above', limit: (c) => at(warning(c.alarms.replicaLagMs), 'alarms.replicaLagMs'), knob: () => 'replicaLag' },
  { id: 'cacheCpu', resource: 'cache CPU', series: 'cacheCpu', breaches: 'above', limit: () => at(CACHE_CPU_LIMIT_PERCENT, 'ElastiCache\'s recommended 90 %'), knob: (c) => (c.cache.mode === 'serverless' ? 'cacheServerlessEcpu' : 'cacheNodes') },
  { id: 'cacheMemory', resource: 'cache memory', series: 'cacheMemory', breaches: 'above', limit: (c) => at(warning(c.alarms.cacheMemoryPercent), 'alarms.cacheMemoryPercent'), knob: (c) => (c.cache.mode === 'serverless' ? 'cacheServerlessStorage' : 'cacheNodes') },
  { id: 'cacheEvictions', resource: 'cache evictions', series: 'cacheEvictions', breaches: 'atOrAbove', limit: (c) => at(warning(c.alarms.cacheEvictions), 'alarms.cacheEvictions'), knob: (c) => (c.cache.mode === 'serverless' ? 'cacheServerlessStorage' : 'cacheNodes') },
  { id: 'cacheHitRate', resource: 'cache hit rate', series: 'cacheHitRate', breaches: 'below', symptom: true, limit: (c) => at(warning(c.alarms.cacheHitRatePercent), 'alarms.cacheHitRatePercent'), knob: () => undefined },
  { id: 'albLatency', resource: 'ALB target response time p99', series: 'p99Timeline', breaches: 'above', symptom: true, limit: (c) => at(convertUnit(c.sla.latencyP99Ms, 'Milliseconds', 'Seconds'), 'sla.latencyP99Ms'), knob: () => undefined },
  { id: 'alb5xx', resource: 'ALB target 5xx', series: 'target5xx', breaches: 'above', symptom: true, limit: () => at(0, 'any 5xx'), knob: () => undefined },
];

export type SaturationState = 'saturated' | 'ok' | 'no data' | 'n/a';

export interface SaturationRow {
  readonly id: string;
  readonly resource: string;
  readonly state: SaturationState;
  readonly symptom: boolean;
  /** The series: namespace, metric, statistic. */
  readonly series: string;
  readonly unit: string;
  readonly limit: number | null;
  readonly limitFrom: string;
  readonly breaches: Breaches;
  readonly peak: number | null;
  readonly peakAt: string | null;
  /** When the series first crossed its limit (ISO), and its value then. */
  readonly firstCrossedAt: string | null;
  readonly firstCrossedValue: number | null;
  /** The config keys that move this resource, with their current values. */
  readonly keys: ReadonlyArray<{ readonly key: ConfigKey; readonly value: unknown }>;
}

export interface Bottleneck {
  readonly id: string;
  readonly resource: string;
  readonly keys: ReadonlyArray<{ readonly key: ConfigKey; readonly value: unknown }>;
  readonly evidence: string;
  /** Other resources that crossed later (or symptoms), in order: what followed. */
  readonly then: readonly string[];
}

export interface Saturation {
  readonly rows: SaturationRow[];
  /** The first resource to cross its limit (symptoms excluded); null when none did. */
  readonly bottleneck: Bottleneck | null;
  /** Without a bottleneck: the resource closest to its limit (peak ÷ limit), for the headroom. */
  readonly closest: { readonly resource: string; readonly percentOfLimit: number } | null;
}

function unitOf(name: SeriesName): KpiUnit {
  if (name === 'apiTaskStart') return 'Seconds';
  if (name in SERVER_SERIES) return KPI_METRIC[SERVER_SERIES[name as keyof typeof SERVER_SERIES].kpi].unit;
  return KPI_DERIVED_ROW[CACHE_SERIES[name as keyof typeof CACHE_SERIES]].unit;
}

function describeSeries(name: SeriesName): string {
  if (name === 'apiTaskStart') return 'ECS/ContainerInsights DesiredTaskCount > RunningTaskCount (API), time pending';
  if (name in SERVER_SERIES) return describeMetric(KPI_METRIC[SERVER_SERIES[name as keyof typeof SERVER_SERIES].kpi]);
  const row = KPI_DERIVED_ROW[CACHE_SERIES[name as keyof typeof CACHE_SERIES]];
  return `AWS/ElastiCache ${'byCacheMode' in row ? row.byCacheMode.nodes.label.toLowerCase() : row.key}`;
}

const crosses = (b: Breaches, v: number, limit: number) => (b === 'above' ? v > limit : b === 'below' ? v < limit : v >= limit);

/**
 * The saturation table over the run: for each resource its peak, its limit (from the configuration and the
 * capacity model) and when it first crossed it. The first resource to cross (symptoms aside) is the
 * bottleneck; its knob's keys are what to change.
 */
export function attribute(config: BlueprintConfig, get: SeriesLookup, fmt: (n: number) => string): Saturation {
  const rows: SaturationRow[] = RESOURCES.map((r) => {
    const limit = r.limit(config);
    const knob = r.knob(config);
    const keys = knob ? KNOBS[knob].map((key) => ({ key, value: configValue(config, key) })) : [];
    const unit = unitOf(r.series);
    const base = { id: r.id, resource: r.resource, symptom: !!r.symptom, series: describeSeries(r.series), unit, breaches: r.breaches, keys };
    if (!limit) return { ...base, state: 'n/a' as const, limit: null, limitFrom: 'not configured here', peak: null, peakAt: null, firstCrossedAt: null, firstCrossedValue: null };
    const s: Series | undefined = get(r.series);
    if (!s) return { ...base, state: 'no data' as const, limit: limit.value, limitFrom: limit.from, peak: null, peakAt: null, firstCrossedAt: null, firstCrossedValue: null };
    const worst = r.breaches === 'below' ? Math.min(...s.values) : Math.max(...s.values);
    const peakIndex = s.values.indexOf(worst);
    const first = s.values.findIndex((v) => crosses(r.breaches, v, limit.value));
    return {
      ...base,
      state: first >= 0 ? 'saturated' as const : 'ok' as const,
      limit: limit.value, limitFrom: limit.from,
      peak: worst, peakAt: new Date(s.timestamps[peakIndex]).toISOString(),
      firstCrossedAt: first >= 0 ? new Date(s.timestamps[first]).toISOString() : null,
      firstCrossedValue: first >= 0 ? s.values[first] : null,
    };
  });
  const crossed = rows.filter((r) => r.state === 'saturated');
  // Stable sort: the table's order breaks ties within a period.
  const causes = crossed.filter((r) => !r.symptom).sort((a, b) => Date.parse(a.firstCrossedAt!) - Date.parse(b.firstCrossedAt!));
  const first = causes[0];
  const bottleneck: Bottleneck | null = first ? {
    id: first.id,
    resource: first.resource,
    keys: first.keys,
    evidence: `${first.series} ${fmt(first.firstCrossedValue!)}${unitSuffix(first.unit)} at ${first.firstCrossedAt} ${first.breaches === 'below' ? '<' : first.breaches === 'atOrAbove' ? '≥' : '>'} ${fmt(first.limit!)}${unitSuffix(first.unit)} (${first.limitFrom}); peak ${fmt(first.peak!)}${unitSuffix(first.unit)} at ${first.peakAt}`,
    then: crossed.filter((r) => r !== first).sort((a, b) => Date.parse(a.firstCrossedAt!) - Date.parse(b.firstCrossedAt!)).map((r) => `${r.resource} at ${r.firstCrossedAt}${r.symptom ? ' (symptom)' : ''}`),
  } : null;
  let closest: Saturation['closest'] = null;
  if (!bottleneck) {
    for (const r of rows) {
      if (r.symptom || r.peak === null || r.limit === null || r.limit <= 0 || r.breaches === 'below') continue;
      const pct = (100 * r.peak) / r.limit;
      if (!closest || pct > closest.percentOfLimit) closest = { resource: r.resource, percentOfLimit: pct };
    }
  }
  return { rows, bottleneck, closest };
}

function unitSuffix(unit: string): string {
  return unit === 'Percent' ? ' %' : unit === 'Count' ? '' : ` ${({ Seconds: 's', Milliseconds: 'ms', Microseconds: 'µs', Bytes: 'B', 'Bytes/Second': 'B/s', 'Count/Second': '/s', Mebibytes: 'MiB' } as Record<string, string>)[unit] ?? unit}`;
}
