/**
 * The metrics the reference workload emits about itself, as CloudWatch Embedded Metric Format lines on stdout
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * the awslogs driver carries them to CloudWatch Logs, which extracts the metrics. No agent, no PutMetricData
 * permission. The workload writes them (workload/src/metrics.ts), the dashboard, alarms and KPI report read
 * them by these names: one list for both sides. Plain data, no aws-cdk-lib (the workload imports it through
 * the workload/contracts symlink).
 */
export const WORKLOAD_METRICS_NAMESPACE = 'ScalingBlueprint/Workload';

/** Dimensions on every metric: the config environment (dev/staging/prod) and the command (api/worker). */
export const WORKLOAD_BASE_DIMENSIONS = ['Environment', 'Service'] as const;

/** EMF units used here (a subset of CloudWatch's StandardUnit). */
export type WorkloadMetricUnit = 'Milliseconds' | 'Count' | 'Percent' | 'Seconds';

export interface WorkloadMetric {
  readonly unit: WorkloadMetricUnit;
  /** Dimensions beyond the base ones; every metric is also emitted with the base set alone. */
  readonly dimensions: readonly string[];
  readonly description: string;
}

export const WORKLOAD_METRICS = {
  RequestLatency: { unit: 'Milliseconds', dimensions: ['Route'], description: 'API: time from request to response, per route (the Fastify route pattern and method, e.g. "GET /items/:id").' },
  RequestCount: { unit: 'Count', dimensions: ['Route', 'StatusClass'], description: 'API: responses per route and status class (2xx, 4xx, 5xx).' },
  LoadShed: { unit: 'Count', dimensions: [], description: 'API: requests answered 503 at once because the process already had its cap of requests in flight, or a client hit its rate limit.' },
  CacheHit: { unit: 'Count', dimensions: ['Route'], description: 'API: cache lookups that found the key, per route.' },
  CacheMiss: { unit: 'Count', dimensions: ['Route'], description: 'API: cache lookups that did not (including those skipped while the cache is down), per route.' },
  CacheError: { unit: 'Count', dimensions: [], description: 'API: cache commands that failed or timed out (the request went on without the cache).' },
  PoolSize: { unit: 'Count', dimensions: ['Pool'], description: 'Database connections open in the pool (writer or reader), sampled.' },
  PoolInUse: { unit: 'Count', dimensions: ['Pool'], description: 'Database connections checked out of the pool, sampled.' },
  PoolWaiting: { unit: 'Count', dimensions: ['Pool'], description: 'Requests waiting for a connection from the pool, sampled.' },
  PoolUtilization: { unit: 'Percent', dimensions: ['Pool'], description: 'In use / DB_POOL_SIZE, sampled.' },
  PoolAcquireTime: { unit: 'Milliseconds', dimensions: ['Pool'], description: 'Time to check a connection out of the pool.' },
  JobQueueWait: { unit: 'Milliseconds', dimensions: [], description: 'Worker: time from the job being accepted to its processing starting.' },
  JobProcessingTime: { unit: 'Milliseconds', dimensions: ['Outcome'], description: 'Worker: time one job took, from start to its message being deleted (or failing), per outcome.' },
  JobOutcome: { unit: 'Count', dimensions: ['Outcome'], description: 'Worker: jobs finished per outcome (done, duplicate, failed, ...).' },
  ShardQueries: { unit: 'Count', dimensions: ['ShardCluster', 'Access'], description: 'database.sharding.mode clusters: statements sent to one cluster ("0", "1", ...), per access (read or write); the dashboard compares the clusters, a hot shard stands out.' },
  ShardMoved: { unit: 'Count', dimensions: [], description: 'database.sharding.mode clusters: statements a cluster refused because it no longer held (or had frozen) the logical shard; the process read the directory again and retried.' },
  OutboxLag: { unit: 'Milliseconds', dimensions: [], description: 'API: age of the oldest outbox message not yet sent to SQS, sampled by the relay.' },
} as const satisfies Record<string, WorkloadMetric>;

export type WorkloadMetricName = keyof typeof WORKLOAD_METRICS;
