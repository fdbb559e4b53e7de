import { deepMerge, type JsonObject } from '../../../lib/config/loader';
import type { BlueprintConfig } from '../../../lib/config/schema';
import { loadEnvironmentConfig } from '../../../tools/common/cdk-json';

/**
 * A small environment whose numbers are easy to work by hand: one Node.js process per API task (cpu 1024),
 * 100 req/s per task, a request target of 3600 per minute (60 req/s, 60 %), one-minute metrics, a task
 * that runs 60 s after a scale-out and is healthy 30 s later (2 checks × 15 s), no slow start, no jobs in
 * the mix, no readers. Tests change what they are about on top of it.
 */
export const HAND: JsonObject = {
  compute: { taskStartSeconds: 60 },
  alb: { slowStartSeconds: 0, healthCheck: { intervalSeconds: 15, healthyThresholdCount: 2 } },
  api: {
    minTasks: 1, maxTasks: 10, cpu: 1024, memoryMiB: 2048, capacityPerTaskRps: 100, requestsPerTarget: 3600, targetCpuUtilizationPercent: 60,
    metricResolutionSeconds: 60, scaleOutCooldownSeconds: 300, scaleInCooldownSeconds: 300, scheduledScaling: [], predictiveScaling: 'off',
  },
  worker: { minTasks: 1, maxTasks: 5, concurrency: 10, avgProcessingSeconds: 2, acceptableLatencySeconds: 60, scaleOutCooldownSeconds: 120, scaleInCooldownSeconds: 300 },
  loadTest: { mix: [{ name: 'health', method: 'GET', path: '/healthz', weight: 1 }] },
  sla: { latencyP99Ms: 1000, queueAgeSeconds: 300 },
  database: { readers: 0 },
};

/** dev's validated configuration with `HAND` and then `extra` merged over it (the loader's rules are not re-run). */
export function handConfig(extra: JsonObject = {}): BlueprintConfig {
  const dev = JSON.parse(JSON.stringify(loadEnvironmentConfig('dev'))) as JsonObject;
  return deepMerge(deepMerge(dev, HAND), extra) as unknown as BlueprintConfig;
}
