import type { AlarmsConfig } from './schema';

export type ThresholdKey = Exclude<keyof AlarmsConfig, 'apiAtMaxTasks'>;

/**
 * How each configured threshold breaches, and the most its metric can ever be. Shared by the validation
 * (a threshold the metric can never cross is rejected) and by the alarm factory (the comparison operator).
 */
export const ALARM_KINDS: Readonly<Record<ThresholdKey, { readonly breaches: 'above' | 'below' | 'atOrAbove'; readonly ceiling?: number }>> = {
  latencyP99Ms: { breaches: 'above' },
  http5xxPercent: { breaches: 'above', ceiling: 100 },
  unhealthyHosts: { breaches: 'above' },
  apiCpuPercent: { breaches: 'above', ceiling: 100 },
  apiMemoryPercent: { breaches: 'above', ceiling: 100 },
  queueAgeLatencyMultiple: { breaches: 'above' },
  dlqMessages: { breaches: 'above' },
  auroraCpuPercent: { breaches: 'above', ceiling: 100 },
  dbConnectionsPercentOfBudget: { breaches: 'above' },
  replicaLagMs: { breaches: 'above' },
  freeableMemoryMiB: { breaches: 'below' },
  cacheHitRatePercent: { breaches: 'below', ceiling: 100 },
  cacheMemoryPercent: { breaches: 'above', ceiling: 100 },
  cacheEvictions: { breaches: 'atOrAbove' },
};
