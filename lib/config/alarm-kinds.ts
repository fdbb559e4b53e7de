import type { KpiKey, KpiUnit } from '../contracts/kpi-catalogue';
import type { AlarmsConfig } from './schema';

export type ThresholdKey = Exclude<keyof AlarmsConfig, 'apiAtMaxTasks'>;

/** One alarm (a Warning and a Critical one, as configured) on one KPI of the catalogue. */
export interface KpiAlarmRow {
  /** Construct id prefix: `<id>Warning`, `<id>Critical` (ids are a contract: they name the alarms). */
  readonly id: string;
  readonly kpi: KpiKey;
  /** The alarm's description after the severity; `{param}` as in the catalogue. */
  readonly summary: string;
  /**
   * Judged only under traffic (see underTrafficExpression): below monitoring.minRequestsPerPeriod the
   * value is one that cannot breach. `label` names the guarded series.
   */
  readonly underTraffic?: { readonly label: string };
}

export interface AlarmKind {
  readonly breaches: 'above' | 'below' | 'atOrAbove';
  /** The most the metric can ever be. */
  readonly ceiling?: number;
  /** The unit the key names; the alarm converts the threshold to its KPI's unit. */
  readonly unit: KpiUnit;
  /** The threshold is a multiple of this (s), e.g. of the worker's acceptable latency. */
  readonly multipleOf?: 'acceptableLatencySeconds';
  /** The alarms on this threshold, in the order they are created. */
  readonly alarms: readonly KpiAlarmRow[];
}

/**
 * Every configured threshold: how it breaches, the most its metric can ever be, its unit, and the KPIs it
 * alarms on. Shared by the validation (a threshold the metric can never cross is rejected) and by the alarm
 * factory (lib/constructs/kpi-alarms.ts), which creates the alarms in this order.
 */
export const ALARM_KINDS: Readonly<Record<ThresholdKey, AlarmKind>> = {
  latencyP99Ms: { breaches: 'above', unit: 'Milliseconds', alarms: [{ id: 'LatencyP99', kpi: 'latencyP99', summary: 'p99 response time' }] },
  http5xxPercent: {
    breaches: 'above', ceiling: 100, unit: 'Percent', alarms: [
      { id: 'Target5xxRate', kpi: 'target5xxRate', summary: 'target 5xx rate (%)', underTraffic: { label: 'Target 5xx %' } },
      { id: 'Elb5xxRate', kpi: 'elb5xxRate', summary: 'load balancer 5xx rate (%)', underTraffic: { label: 'ELB 5xx %' } },
    ],
  },
  unhealthyHosts: { breaches: 'above', unit: 'Count', alarms: [{ id: 'UnhealthyHosts', kpi: 'unhealthyHosts', summary: 'unhealthy targets' }] },
  apiCpuPercent: { breaches: 'above', ceiling: 100, unit: 'Percent', alarms: [{ id: 'ApiCpu', kpi: 'apiCpuAverage', summary: 'API CPU (%)' }] },
  apiMemoryPercent: { breaches: 'above', ceiling: 100, unit: 'Percent', alarms: [{ id: 'ApiMemory', kpi: 'apiMemoryAverage', summary: 'API memory (%)' }] },
  queueAgeLatencyMultiple: {
    breaches: 'above', unit: 'Seconds', multipleOf: 'acceptableLatencySeconds',
    alarms: [{ id: 'QueueAge', kpi: 'queueOldestAge', summary: 'age of the oldest job (s)' }],
  },
  dlqMessages: { breaches: 'above', unit: 'Count', alarms: [{ id: 'DlqMessages', kpi: 'dlqVisible', summary: 'messages in the dead-letter queue' }] },
  auroraCpuPercent: {
    breaches: 'above', ceiling: 100, unit: 'Percent', alarms: [
      { id: 'WriterCpu', kpi: 'dbWriterCpu', summary: 'Aurora writer CPU (%)' },
      { id: 'ReaderCpu', kpi: 'dbReaderCpu', summary: 'Aurora reader CPU (%)' },
    ],
  },
  dbConnectionsPercentOfBudget: {
    breaches: 'above', unit: 'Percent',
    alarms: [{ id: 'DbConnections', kpi: 'dbConnectionsPercentOfBudget', summary: 'writer connections (% of the budget of {connectionBudget})' }],
  },
  replicaLagMs: { breaches: 'above', unit: 'Milliseconds', alarms: [{ id: 'ReplicaLag', kpi: 'dbReplicaLag', summary: 'Aurora replica lag (ms)' }] },
  freeableMemoryMiB: {
    breaches: 'below', unit: 'Mebibytes', alarms: [
      { id: 'WriterFreeableMemory', kpi: 'dbWriterFreeableMemory', summary: 'writer freeable memory' },
      { id: 'ReaderFreeableMemory', kpi: 'dbReaderFreeableMemory', summary: 'reader freeable memory' },
    ],
  },
  cacheHitRatePercent: {
    // A cold or idle cache has a low hit rate without anything being wrong: judged only under traffic.
    breaches: 'below', ceiling: 100, unit: 'Percent',
    alarms: [{ id: 'CacheHitRate', kpi: 'cacheHitRatePercent', summary: 'cache hit rate (%)', underTraffic: { label: 'Hit rate (under traffic)' } }],
  },
  cacheMemoryPercent: { breaches: 'above', ceiling: 100, unit: 'Percent', alarms: [{ id: 'CacheMemory', kpi: 'cacheMemoryPercent', summary: 'cache memory used (%)' }] },
  cacheEvictions: { breaches: 'atOrAbove', unit: 'Count', alarms: [{ id: 'CacheEvictions', kpi: 'cacheEvictions', summary: 'cache evictions per period' }] },
};
