import type { KpiSourceDimension, KpiSources } from './kpi-sources';
import { WORKLOAD_METRICS_NAMESPACE } from './workload-metrics';

/**
 * The KPI catalogue: every server-side metric the Monitoring stack graphs and alarms on and the KPI report
 * queries, one plain row each, and the KPIs derived from them by metric math, each formula stated once.
 * lib/constructs/kpi-metrics.ts turns rows into CloudWatch metrics (dashboard and alarms map over those);
 * tools/kpi-report/fetch.ts turns the same rows into GetMetricData queries. Plain data: no aws-cdk-lib.
 *
 * Not here by design: backlog per task, which the dashboard takes from the worker's scaling policy
 * (lib/constructs/queue-worker.ts) so that what is graphed is what is scaled on.
 */

/** CloudWatch units of the rows, plus the units thresholds are configured in. */
export type KpiUnit = 'Count' | 'Count/Second' | 'Percent' | 'Seconds' | 'Milliseconds' | 'Microseconds' | 'Bytes' | 'Bytes/Second' | 'Mebibytes';

/**
 * Where a dimension's value comes from: a field of the KpiSources the Monitoring stack outputs, or one the
 * stack knows at synth time only (the report never queries those rows). `cacheNodeId` stands for each node
 * of a replication group in turn: such rows are one metric per node. `environment` is the config environment
 * (the workload's `Environment` dimension): the stack and the report both know it. `shardCluster` is a
 * cluster's number in `database.sharding.mode: clusters` ("0", "1", …, the workload's `ShardCluster`
 * dimension): such rows are one metric per cluster, like the Aurora and proxy rows, which the stack reads
 * once per cluster with that cluster's `dbClusterIdentifier` and `proxyName`.
 */
export type DimensionSource = KpiSourceDimension | 'cacheNodeId' | 'environment' | 'shardCluster';

/** Dimension values by source; the Monitoring stack has them all, the report has KpiSources. */
export type DimensionValues = Partial<Record<DimensionSource, string>>;

/** A dimension's value: a fixed string (`Role: 'WRITER'`) or a reference to a source. */
export type DimensionValue = string | { readonly from: DimensionSource };

const from = (source: DimensionSource) => ({ from: source }) as const;

export interface KpiMetricRow {
  readonly key: string;
  readonly namespace: string;
  readonly metricName: string;
  /** In the order CloudWatch is given them (the dashboard body and alarms keep it). */
  readonly dimensions: Readonly<Record<string, DimensionValue>>;
  /** `Sum`, `Average`, `Minimum`, `Maximum`, `SampleCount` or a percentile (`p99`). */
  readonly statistic: string;
  readonly unit: KpiUnit;
  /** Legend label; per-node rows are labelled `<label> <node number>`. */
  readonly label: string;
}

const ALB = 'AWS/ApplicationELB';
const LB = { LoadBalancer: from('loadBalancerFullName') };
const TARGETS = { ...LB, TargetGroup: from('targetGroupFullName') };
const API = { ClusterName: from('clusterName'), ServiceName: from('apiServiceName') };
const WORKER = { ClusterName: from('clusterName'), ServiceName: from('workerServiceName') };
const JOBS = { QueueName: from('queueName') };
const DLQ = { QueueName: from('deadLetterQueueName') };
const WRITER = { DBClusterIdentifier: from('dbClusterIdentifier'), Role: 'WRITER' };
const READER = { DBClusterIdentifier: from('dbClusterIdentifier'), Role: 'READER' };
const PROXY = { ProxyName: from('proxyName') };
const CACHE_NODE = { CacheClusterId: from('cacheNodeId') };
const SERVERLESS_CACHE = { clusterId: from('cacheId') };
/**
 * Aurora PostgreSQL Limitless Database publishes the DB shard group's capacity under AWS/RDS with the
 * DBShardGroupIdentifier dimension
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-monitoring.cw.html, "DBShardGroup metrics").
 */
const SHARD_GROUP = { DBShardGroupIdentifier: from('dbShardGroupIdentifier') };
/**
 * The workload's own metrics (lib/contracts/workload-metrics.ts) with the base dimension set only: every
 * metric is also emitted that way, so these rows aggregate a service's routes, pools and outcomes.
 */
export const WORKLOAD_SERVICE = { api: 'api', worker: 'worker' } as const;
const WORKLOAD = WORKLOAD_METRICS_NAMESPACE;
const API_PROCESS = { Environment: from('environment'), Service: WORKLOAD_SERVICE.api };
const WORKER_PROCESS = { Environment: from('environment'), Service: WORKLOAD_SERVICE.worker };
const CI = 'ECS/ContainerInsights';
/**
 * ShardQueries with its own dimensions (lib/contracts/workload-metrics.ts): the statements one service sent
 * to one cluster, for one access. One row per service and access; the stack sums the services per cluster.
 */
const shardQueries = (service: string, access: 'read' | 'write') =>
  ({ Access: access, Environment: from('environment'), Service: service, ShardCluster: from('shardCluster') }) as const;

export const KPI_METRICS = [
  // Load balancer: traffic, latency, errors, targets.
  { key: 'requests', namespace: ALB, metricName: 'RequestCount', dimensions: LB, statistic: 'Sum', unit: 'Count', label: 'Requests' },
  { key: 'latencyP50', namespace: ALB, metricName: 'TargetResponseTime', dimensions: LB, statistic: 'p50', unit: 'Seconds', label: 'p50' },
  { key: 'latencyP90', namespace: ALB, metricName: 'TargetResponseTime', dimensions: LB, statistic: 'p90', unit: 'Seconds', label: 'p90' },
  { key: 'latencyP99', namespace: ALB, metricName: 'TargetResponseTime', dimensions: LB, statistic: 'p99', unit: 'Seconds', label: 'p99' },
  { key: 'target5xx', namespace: ALB, metricName: 'HTTPCode_Target_5XX_Count', dimensions: LB, statistic: 'Sum', unit: 'Count', label: 'Target 5xx' },
  { key: 'elb5xx', namespace: ALB, metricName: 'HTTPCode_ELB_5XX_Count', dimensions: LB, statistic: 'Sum', unit: 'Count', label: 'Load balancer 5xx' },
  { key: 'target4xx', namespace: ALB, metricName: 'HTTPCode_Target_4XX_Count', dimensions: LB, statistic: 'Sum', unit: 'Count', label: 'Target 4xx' },
  { key: 'healthyHosts', namespace: ALB, metricName: 'HealthyHostCount', dimensions: TARGETS, statistic: 'Minimum', unit: 'Count', label: 'Healthy hosts' },
  { key: 'unhealthyHosts', namespace: ALB, metricName: 'UnHealthyHostCount', dimensions: TARGETS, statistic: 'Maximum', unit: 'Count', label: 'Unhealthy hosts' },
  { key: 'rejectedConnections', namespace: ALB, metricName: 'RejectedConnectionCount', dimensions: LB, statistic: 'Sum', unit: 'Count', label: 'Rejected connections' },
  { key: 'latencyAverage', namespace: ALB, metricName: 'TargetResponseTime', dimensions: LB, statistic: 'Average', unit: 'Seconds', label: 'average' },
  { key: 'latencyMaximum', namespace: ALB, metricName: 'TargetResponseTime', dimensions: LB, statistic: 'Maximum', unit: 'Seconds', label: 'max' },
  { key: 'processedBytes', namespace: ALB, metricName: 'ProcessedBytes', dimensions: LB, statistic: 'Sum', unit: 'Bytes', label: 'Processed bytes' },

  // ECS services. Running and desired counts come from Container Insights (AWS/ECS has no task counts).
  { key: 'apiCpuAverage', namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: API, statistic: 'Average', unit: 'Percent', label: 'CPU average' },
  { key: 'apiCpuMaximum', namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: API, statistic: 'Maximum', unit: 'Percent', label: 'CPU maximum' },
  { key: 'apiMemoryAverage', namespace: 'AWS/ECS', metricName: 'MemoryUtilization', dimensions: API, statistic: 'Average', unit: 'Percent', label: 'Memory average' },
  { key: 'apiMemoryMaximum', namespace: 'AWS/ECS', metricName: 'MemoryUtilization', dimensions: API, statistic: 'Maximum', unit: 'Percent', label: 'Memory maximum' },
  { key: 'apiRunningTasks', namespace: CI, metricName: 'RunningTaskCount', dimensions: API, statistic: 'Average', unit: 'Count', label: 'Running tasks' },
  { key: 'apiDesiredTasks', namespace: CI, metricName: 'DesiredTaskCount', dimensions: API, statistic: 'Average', unit: 'Count', label: 'Desired tasks' },
  { key: 'workerRunningTasks', namespace: CI, metricName: 'RunningTaskCount', dimensions: WORKER, statistic: 'Average', unit: 'Count', label: 'Running tasks' },
  { key: 'workerDesiredTasks', namespace: CI, metricName: 'DesiredTaskCount', dimensions: WORKER, statistic: 'Average', unit: 'Count', label: 'Desired tasks' },
  { key: 'workerCpuAverage', namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: WORKER, statistic: 'Average', unit: 'Percent', label: 'Worker CPU average' },
  { key: 'workerCpuMaximum', namespace: 'AWS/ECS', metricName: 'CPUUtilization', dimensions: WORKER, statistic: 'Maximum', unit: 'Percent', label: 'Worker CPU maximum' },
  { key: 'workerMemoryAverage', namespace: 'AWS/ECS', metricName: 'MemoryUtilization', dimensions: WORKER, statistic: 'Average', unit: 'Percent', label: 'Worker memory average' },
  { key: 'workerMemoryMaximum', namespace: 'AWS/ECS', metricName: 'MemoryUtilization', dimensions: WORKER, statistic: 'Maximum', unit: 'Percent', label: 'Worker memory maximum' },
  // Task network, Container Insights (Bytes/Second per task; the Sum over a service's tasks is the service's rate).
  { key: 'apiNetworkRx', namespace: CI, metricName: 'NetworkRxBytes', dimensions: API, statistic: 'Sum', unit: 'Bytes/Second', label: 'API received' },
  { key: 'apiNetworkTx', namespace: CI, metricName: 'NetworkTxBytes', dimensions: API, statistic: 'Sum', unit: 'Bytes/Second', label: 'API sent' },
  { key: 'workerNetworkRx', namespace: CI, metricName: 'NetworkRxBytes', dimensions: WORKER, statistic: 'Sum', unit: 'Bytes/Second', label: 'Worker received' },
  { key: 'workerNetworkTx', namespace: CI, metricName: 'NetworkTxBytes', dimensions: WORKER, statistic: 'Sum', unit: 'Bytes/Second', label: 'Worker sent' },

  // Jobs queue and its dead-letter queue.
  { key: 'queueVisible', namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: JOBS, statistic: 'Maximum', unit: 'Count', label: 'Visible' },
  { key: 'queueInFlight', namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesNotVisible', dimensions: JOBS, statistic: 'Maximum', unit: 'Count', label: 'In flight' },
  { key: 'queueOldestAge', namespace: 'AWS/SQS', metricName: 'ApproximateAgeOfOldestMessage', dimensions: JOBS, statistic: 'Maximum', unit: 'Seconds', label: 'Age of oldest message' },
  { key: 'dlqVisible', namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: DLQ, statistic: 'Maximum', unit: 'Count', label: 'DLQ messages' },

  // Aurora, by role (the writer and the readers as a group), and RDS Proxy where there is one.
  { key: 'dbWriterCpu', namespace: 'AWS/RDS', metricName: 'CPUUtilization', dimensions: WRITER, statistic: 'Average', unit: 'Percent', label: 'Writer CPU' },
  { key: 'dbReaderCpu', namespace: 'AWS/RDS', metricName: 'CPUUtilization', dimensions: READER, statistic: 'Average', unit: 'Percent', label: 'Reader CPU (average)' },
  { key: 'dbReaderCpuSamples', namespace: 'AWS/RDS', metricName: 'CPUUtilization', dimensions: READER, statistic: 'SampleCount', unit: 'Count', label: 'Reader CPU samples' },
  { key: 'dbWriterConnections', namespace: 'AWS/RDS', metricName: 'DatabaseConnections', dimensions: WRITER, statistic: 'Maximum', unit: 'Count', label: 'Writer connections' },
  { key: 'dbReplicaLag', namespace: 'AWS/RDS', metricName: 'AuroraReplicaLag', dimensions: READER, statistic: 'Maximum', unit: 'Milliseconds', label: 'Replica lag (max)' },
  { key: 'dbWriterFreeableMemory', namespace: 'AWS/RDS', metricName: 'FreeableMemory', dimensions: WRITER, statistic: 'Minimum', unit: 'Bytes', label: 'Writer freeable memory' },
  { key: 'dbReaderFreeableMemory', namespace: 'AWS/RDS', metricName: 'FreeableMemory', dimensions: READER, statistic: 'Minimum', unit: 'Bytes', label: 'Reader freeable memory' },
  { key: 'dbReadLatency', namespace: 'AWS/RDS', metricName: 'ReadLatency', dimensions: READER, statistic: 'Average', unit: 'Seconds', label: 'Read latency (readers)' },
  { key: 'dbWriteLatency', namespace: 'AWS/RDS', metricName: 'WriteLatency', dimensions: WRITER, statistic: 'Average', unit: 'Seconds', label: 'Write latency (writer)' },
  { key: 'proxyClientConnections', namespace: 'AWS/RDS', metricName: 'ClientConnections', dimensions: PROXY, statistic: 'Maximum', unit: 'Count', label: 'Proxy client connections' },
  { key: 'proxyDatabaseConnections', namespace: 'AWS/RDS', metricName: 'DatabaseConnections', dimensions: PROXY, statistic: 'Maximum', unit: 'Count', label: 'Proxy database connections' },
  { key: 'proxyPinned', namespace: 'AWS/RDS', metricName: 'DatabaseConnectionsCurrentlySessionPinned', dimensions: PROXY, statistic: 'Maximum', unit: 'Count', label: 'Proxy pinned connections' },
  { key: 'proxyBorrowLatency', namespace: 'AWS/RDS', metricName: 'DatabaseConnectionsBorrowLatency', dimensions: PROXY, statistic: 'Average', unit: 'Microseconds', label: 'Proxy borrow latency' },
  // Network and disk I/O by role, and the database load Performance Insights publishes (average active sessions).
  { key: 'dbWriterNetwork', namespace: 'AWS/RDS', metricName: 'NetworkThroughput', dimensions: WRITER, statistic: 'Average', unit: 'Bytes/Second', label: 'Writer network' },
  { key: 'dbReaderNetwork', namespace: 'AWS/RDS', metricName: 'NetworkThroughput', dimensions: READER, statistic: 'Average', unit: 'Bytes/Second', label: 'Reader network' },
  { key: 'dbWriterReadIops', namespace: 'AWS/RDS', metricName: 'ReadIOPS', dimensions: WRITER, statistic: 'Average', unit: 'Count/Second', label: 'Writer read IOPS' },
  { key: 'dbWriterWriteIops', namespace: 'AWS/RDS', metricName: 'WriteIOPS', dimensions: WRITER, statistic: 'Average', unit: 'Count/Second', label: 'Writer write IOPS' },
  { key: 'dbReaderReadIops', namespace: 'AWS/RDS', metricName: 'ReadIOPS', dimensions: READER, statistic: 'Average', unit: 'Count/Second', label: 'Reader read IOPS' },
  { key: 'dbWriterReadThroughput', namespace: 'AWS/RDS', metricName: 'ReadThroughput', dimensions: WRITER, statistic: 'Average', unit: 'Bytes/Second', label: 'Writer disk read' },
  { key: 'dbWriterWriteThroughput', namespace: 'AWS/RDS', metricName: 'WriteThroughput', dimensions: WRITER, statistic: 'Average', unit: 'Bytes/Second', label: 'Writer disk write' },
  { key: 'dbWriterDiskQueueDepth', namespace: 'AWS/RDS', metricName: 'DiskQueueDepth', dimensions: WRITER, statistic: 'Maximum', unit: 'Count', label: 'Writer disk queue depth' },
  { key: 'dbWriterLoad', namespace: 'AWS/RDS', metricName: 'DBLoad', dimensions: WRITER, statistic: 'Average', unit: 'Count', label: 'Writer DB load (AAS)' },
  { key: 'dbWriterLoadCpu', namespace: 'AWS/RDS', metricName: 'DBLoadCPU', dimensions: WRITER, statistic: 'Average', unit: 'Count', label: 'Writer DB load on CPU' },
  { key: 'dbWriterLoadNonCpu', namespace: 'AWS/RDS', metricName: 'DBLoadNonCPU', dimensions: WRITER, statistic: 'Average', unit: 'Count', label: 'Writer DB load waiting' },
  { key: 'dbReaderLoad', namespace: 'AWS/RDS', metricName: 'DBLoad', dimensions: READER, statistic: 'Average', unit: 'Count', label: 'Reader DB load (AAS)' },
  // Commits per second on the writer: Aurora PostgreSQL publishes CommitThroughput per instance and by role
  // (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html): the
  // write load of one cluster, compared across the clusters in `database.sharding.mode: clusters`.
  { key: 'dbWriterCommits', namespace: 'AWS/RDS', metricName: 'CommitThroughput', dimensions: WRITER, statistic: 'Average', unit: 'Count/Second', label: 'Writer commits/s' },

  // Aurora PostgreSQL Limitless Database: the DB shard group's compute. ACU utilization is DBShardGroupCapacity
  // ÷ DBShardGroupMaxACU in % (limitless-monitoring.cw.html); capacities are in ACUs.
  { key: 'shardGroupAcuUtilization', namespace: 'AWS/RDS', metricName: 'DBShardGroupACUUtilization', dimensions: SHARD_GROUP, statistic: 'Average', unit: 'Percent', label: 'ACU utilization (% of max)' },
  { key: 'shardGroupCapacity', namespace: 'AWS/RDS', metricName: 'DBShardGroupCapacity', dimensions: SHARD_GROUP, statistic: 'Average', unit: 'Count', label: 'ACUs (writers)' },
  { key: 'shardGroupStandbyCapacity', namespace: 'AWS/RDS', metricName: 'DBShardGroupComputeRedundancyCapacity', dimensions: SHARD_GROUP, statistic: 'Average', unit: 'Count', label: 'ACUs (standbys)' },
  { key: 'shardGroupMaxAcu', namespace: 'AWS/RDS', metricName: 'DBShardGroupMaxACU', dimensions: SHARD_GROUP, statistic: 'Maximum', unit: 'Count', label: 'Max ACU' },
  { key: 'shardGroupMinAcu', namespace: 'AWS/RDS', metricName: 'DBShardGroupMinACU', dimensions: SHARD_GROUP, statistic: 'Minimum', unit: 'Count', label: 'Min ACU' },

  // ElastiCache: a replication group publishes per node, a serverless cache per cache.
  { key: 'cacheNodeHitRate', namespace: 'AWS/ElastiCache', metricName: 'CacheHitRate', dimensions: CACHE_NODE, statistic: 'Average', unit: 'Percent', label: 'CacheHitRate' },
  { key: 'cacheNodeEngineCpu', namespace: 'AWS/ElastiCache', metricName: 'EngineCPUUtilization', dimensions: CACHE_NODE, statistic: 'Average', unit: 'Percent', label: 'EngineCPUUtilization' },
  { key: 'cacheNodeMemory', namespace: 'AWS/ElastiCache', metricName: 'DatabaseMemoryUsagePercentage', dimensions: CACHE_NODE, statistic: 'Maximum', unit: 'Percent', label: 'DatabaseMemoryUsagePercentage' },
  { key: 'cacheNodeEvictions', namespace: 'AWS/ElastiCache', metricName: 'Evictions', dimensions: CACHE_NODE, statistic: 'Sum', unit: 'Count', label: 'Evictions' },
  { key: 'cacheNodeConnections', namespace: 'AWS/ElastiCache', metricName: 'CurrConnections', dimensions: CACHE_NODE, statistic: 'Maximum', unit: 'Count', label: 'CurrConnections' },
  { key: 'cacheNodeNetworkIn', namespace: 'AWS/ElastiCache', metricName: 'NetworkBytesIn', dimensions: CACHE_NODE, statistic: 'Sum', unit: 'Bytes', label: 'NetworkBytesIn' },
  { key: 'cacheNodeNetworkOut', namespace: 'AWS/ElastiCache', metricName: 'NetworkBytesOut', dimensions: CACHE_NODE, statistic: 'Sum', unit: 'Bytes', label: 'NetworkBytesOut' },
  { key: 'cacheServerlessHitRate', namespace: 'AWS/ElastiCache', metricName: 'CacheHitRate', dimensions: SERVERLESS_CACHE, statistic: 'Average', unit: 'Percent', label: 'Hit rate' },
  { key: 'cacheServerlessEcpus', namespace: 'AWS/ElastiCache', metricName: 'ElastiCacheProcessingUnits', dimensions: SERVERLESS_CACHE, statistic: 'Sum', unit: 'Count', label: 'ECPUs' },
  { key: 'cacheServerlessBytesUsed', namespace: 'AWS/ElastiCache', metricName: 'BytesUsedForCache', dimensions: SERVERLESS_CACHE, statistic: 'Maximum', unit: 'Bytes', label: 'Bytes used' },
  { key: 'cacheServerlessEvictions', namespace: 'AWS/ElastiCache', metricName: 'Evictions', dimensions: SERVERLESS_CACHE, statistic: 'Sum', unit: 'Count', label: 'Evictions' },
  { key: 'cacheServerlessConnections', namespace: 'AWS/ElastiCache', metricName: 'CurrConnections', dimensions: SERVERLESS_CACHE, statistic: 'Maximum', unit: 'Count', label: 'Connections' },
  { key: 'cacheServerlessNetworkIn', namespace: 'AWS/ElastiCache', metricName: 'NetworkBytesIn', dimensions: SERVERLESS_CACHE, statistic: 'Sum', unit: 'Bytes', label: 'Bytes in' },
  { key: 'cacheServerlessNetworkOut', namespace: 'AWS/ElastiCache', metricName: 'NetworkBytesOut', dimensions: SERVERLESS_CACHE, statistic: 'Sum', unit: 'Bytes', label: 'Bytes out' },

  // The workload's own metrics: connection pools (the busiest pool of the service), jobs.
  { key: 'apiPoolUtilization', namespace: WORKLOAD, metricName: 'PoolUtilization', dimensions: API_PROCESS, statistic: 'Maximum', unit: 'Percent', label: 'API pool in use (%)' },
  { key: 'apiPoolWaiting', namespace: WORKLOAD, metricName: 'PoolWaiting', dimensions: API_PROCESS, statistic: 'Maximum', unit: 'Count', label: 'API requests waiting for a connection' },
  { key: 'apiPoolAcquireTime', namespace: WORKLOAD, metricName: 'PoolAcquireTime', dimensions: API_PROCESS, statistic: 'Average', unit: 'Milliseconds', label: 'API pool acquire (ms)' },
  { key: 'workerPoolUtilization', namespace: WORKLOAD, metricName: 'PoolUtilization', dimensions: WORKER_PROCESS, statistic: 'Maximum', unit: 'Percent', label: 'Worker pool in use (%)' },
  { key: 'jobProcessingAverage', namespace: WORKLOAD, metricName: 'JobProcessingTime', dimensions: WORKER_PROCESS, statistic: 'Average', unit: 'Milliseconds', label: 'Job processing average (ms)' },
  { key: 'jobProcessingMaximum', namespace: WORKLOAD, metricName: 'JobProcessingTime', dimensions: WORKER_PROCESS, statistic: 'Maximum', unit: 'Milliseconds', label: 'Job processing max (ms)' },
  { key: 'jobQueueWait', namespace: WORKLOAD, metricName: 'JobQueueWait', dimensions: WORKER_PROCESS, statistic: 'Average', unit: 'Milliseconds', label: 'Job wait before start (ms)' },
  // Sharded (`database.sharding.mode: clusters`): statements per cluster (one metric per cluster), and the
  // statements refused because a logical shard had moved or was frozen by a move.
  { key: 'shardWritesApi', namespace: WORKLOAD, metricName: 'ShardQueries', dimensions: shardQueries(WORKLOAD_SERVICE.api, 'write'), statistic: 'Sum', unit: 'Count', label: 'API writes' },
  { key: 'shardWritesWorker', namespace: WORKLOAD, metricName: 'ShardQueries', dimensions: shardQueries(WORKLOAD_SERVICE.worker, 'write'), statistic: 'Sum', unit: 'Count', label: 'Worker writes' },
  { key: 'shardReadsApi', namespace: WORKLOAD, metricName: 'ShardQueries', dimensions: shardQueries(WORKLOAD_SERVICE.api, 'read'), statistic: 'Sum', unit: 'Count', label: 'API reads' },
  { key: 'shardReadsWorker', namespace: WORKLOAD, metricName: 'ShardQueries', dimensions: shardQueries(WORKLOAD_SERVICE.worker, 'read'), statistic: 'Sum', unit: 'Count', label: 'Worker reads' },
  { key: 'shardMovedApi', namespace: WORKLOAD, metricName: 'ShardMoved', dimensions: API_PROCESS, statistic: 'Sum', unit: 'Count', label: 'API statements refused (shard moved)' },
  { key: 'shardMovedWorker', namespace: WORKLOAD, metricName: 'ShardMoved', dimensions: WORKER_PROCESS, statistic: 'Sum', unit: 'Count', label: 'Worker statements refused (shard moved)' },
] as const satisfies readonly KpiMetricRow[];

export type KpiMetricKey = (typeof KPI_METRICS)[number]['key'];

/** The metric rows by key. */
export const KPI_METRIC = Object.fromEntries(KPI_METRICS.map((r) => [r.key, r])) as unknown as { readonly [K in KpiMetricKey]: KpiMetricRow & { readonly key: K } };

/**
 * Numbers a derived KPI needs that only the stack knows (limits from config), written `{name}` in an
 * expression or an alarm summary.
 */
export type KpiParam = 'connectionBudget' | 'cacheMaxEcpuPerSecond' | 'cacheMaxDataStorageBytes';
export type KpiParams = Readonly<Record<KpiParam, number>>;

/** Metric math over rows; the ids in `expression` are the keys of `using`. */
export interface KpiMath {
  readonly expression: string;
  readonly using: Readonly<Record<string, KpiMetricKey>>;
  readonly label: string;
}

/** A per-node row combined across the nodes of a replication group (`AVG([chr0, chr1])`). */
export interface KpiAcrossNodes {
  readonly perNode: KpiMetricKey;
  readonly across: 'AVG' | 'MAX' | 'SUM';
  readonly label: string;
}

export type KpiDerivedRow =
  | { readonly key: string; readonly unit: KpiUnit; readonly math: KpiMath }
  /** A rate of errors among requests: see errorRateExpression. */
  | { readonly key: string; readonly unit: 'Percent'; readonly errorsOf: KpiMetricKey; readonly label: string }
  /** A cache KPI, computed one way or the other by cache mode. */
  | { readonly key: string; readonly unit: KpiUnit; readonly byCacheMode: { readonly nodes: KpiAcrossNodes; readonly serverless: KpiMath } };

export const KPI_DERIVED = [
  { key: 'requestsPerSecond', unit: 'Count/Second', math: { expression: 'requests / PERIOD(requests)', using: { requests: 'requests' }, label: 'Requests/s' } },
  { key: 'target5xxRate', unit: 'Percent', errorsOf: 'target5xx', label: 'Target 5xx %' },
  { key: 'elb5xxRate', unit: 'Percent', errorsOf: 'elb5xx', label: 'Load balancer 5xx %' },
  { key: 'target4xxRate', unit: 'Percent', errorsOf: 'target4xx', label: 'Target 4xx %' },
  // Each reader reports its CPU once a minute, so the samples per minute count the readers.
  { key: 'dbReaders', unit: 'Count', math: { expression: 'samples / (PERIOD(samples) / 60)', using: { samples: 'dbReaderCpuSamples' }, label: 'Readers' } },
  {
    key: 'dbConnectionsPercentOfBudget', unit: 'Percent',
    math: { expression: '100 * connections / {connectionBudget}', using: { connections: 'dbWriterConnections' }, label: 'Connections (% of budget)' },
  },
  {
    key: 'cacheHitRatePercent', unit: 'Percent', byCacheMode: {
      nodes: { perNode: 'cacheNodeHitRate', across: 'AVG', label: 'Hit rate (average of nodes)' },
      serverless: { expression: 'hit', using: { hit: 'cacheServerlessHitRate' }, label: 'Hit rate' },
    },
  },
  {
    // Serverless: ECPUs and data stored as shares of the configured limits.
    key: 'cacheCpuPercent', unit: 'Percent', byCacheMode: {
      nodes: { perNode: 'cacheNodeEngineCpu', across: 'MAX', label: 'Engine CPU (busiest node)' },
      serverless: { expression: '100 * ecpu / PERIOD(ecpu) / {cacheMaxEcpuPerSecond}', using: { ecpu: 'cacheServerlessEcpus' }, label: 'ECPU/s (% of limit)' },
    },
  },
  {
    key: 'cacheMemoryPercent', unit: 'Percent', byCacheMode: {
      nodes: { perNode: 'cacheNodeMemory', across: 'MAX', label: 'Memory used (fullest node)' },
      serverless: { expression: '100 * bytes / {cacheMaxDataStorageBytes}', using: { bytes: 'cacheServerlessBytesUsed' }, label: 'Data stored (% of limit)' },
    },
  },
  {
    key: 'cacheEvictions', unit: 'Count', byCacheMode: {
      nodes: { perNode: 'cacheNodeEvictions', across: 'SUM', label: 'Evictions' },
      serverless: { expression: 'ev', using: { ev: 'cacheServerlessEvictions' }, label: 'Evictions' },
    },
  },
  {
    key: 'cacheConnections', unit: 'Count', byCacheMode: {
      nodes: { perNode: 'cacheNodeConnections', across: 'SUM', label: 'Connections' },
      serverless: { expression: 'conn', using: { conn: 'cacheServerlessConnections' }, label: 'Connections' },
    },
  },
  {
    key: 'cacheNetworkIn', unit: 'Bytes', byCacheMode: {
      nodes: { perNode: 'cacheNodeNetworkIn', across: 'SUM', label: 'Bytes in' },
      serverless: { expression: 'nin', using: { nin: 'cacheServerlessNetworkIn' }, label: 'Bytes in' },
    },
  },
  {
    key: 'cacheNetworkOut', unit: 'Bytes', byCacheMode: {
      nodes: { perNode: 'cacheNodeNetworkOut', across: 'SUM', label: 'Bytes out' },
      serverless: { expression: 'nout', using: { nout: 'cacheServerlessNetworkOut' }, label: 'Bytes out' },
    },
  },
] as const satisfies readonly KpiDerivedRow[];

export type KpiDerivedKey = (typeof KPI_DERIVED)[number]['key'];
export const KPI_DERIVED_ROW = Object.fromEntries(KPI_DERIVED.map((r) => [r.key, r])) as unknown as { readonly [K in KpiDerivedKey]: KpiDerivedRow & { readonly key: K } };

/** Any KPI of the catalogue: a metric row or a derived one. */
export type KpiKey = KpiMetricKey | KpiDerivedKey;

export function isMetricKey(key: KpiKey): key is KpiMetricKey {
  return key in KPI_METRIC;
}

/** The unit of any KPI's values. */
export function kpiUnit(key: KpiKey): KpiUnit {
  return isMetricKey(key) ? KPI_METRIC[key].unit : KPI_DERIVED_ROW[key].unit;
}

/**
 * Error rate in %: 100 × errors ÷ requests, from counts (never an average of per-period rates). A period
 * without an error datapoint had no errors (CloudWatch publishes no zero 5xx count), hence FILL(…, 0).
 */
export function errorRateExpression(errorsId: string): string {
  return `100 * FILL(${errorsId}, 0) / requests`;
}

/**
 * A KPI judged only under traffic: below `minRequests` requests per period the expression is `quiet`
 * (a value that cannot breach), since one error out of two requests, or a cold cache, is not an incident.
 */
export function underTrafficExpression(expression: string, minRequests: number, quiet: number): string {
  return `IF(requests >= ${minRequests}, ${expression}, ${quiet})`;
}

/**
 * The hot-shard ratio over clusters' writer CPU (math ids `ids`): the busiest cluster ÷ the mean of the
 * clusters, per period; `quiet` (0, which cannot breach) while the mean stays below `minMeanPercent`, since at
 * idle a few percent of CPU on one cluster and near nothing on the others is a large ratio of nothing. MAX and
 * AVG over an array of series give a series of the per-timestamp maximum and mean
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html, "Functions supported
 * for metric math").
 */
export function hotShardExpression(ids: readonly string[], minMeanPercent: number, quiet = 0): string {
  if (ids.length < 2) throw new Error(`hot-shard ratio: needs at least 2 clusters, got ${ids.length}`);
  const list = `[${ids.join(', ')}]`;
  return `IF(AVG(${list}) >= ${minMeanPercent}, MAX(${list}) / AVG(${list}), ${quiet})`;
}

/** Fills the `{param}` placeholders of an expression or a text. */
export function fillParams(text: string, params: Partial<KpiParams>): string {
  return text.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name as KpiParam];
    if (value === undefined) throw new Error(`KPI catalogue: no value for {${name}} in "${text}"`);
    return String(value);
  });
}

/**
 * A row's dimensions with their values. Throws when a referenced source is missing: a row of a resource the
 * caller does not have (no proxy, a serverless cache's row on a replication group, …) must not be built.
 */
export function dimensionsOf(row: KpiMetricRow, values: DimensionValues): Record<string, string> {
  return Object.fromEntries(Object.entries(row.dimensions).map(([name, v]) => {
    if (typeof v === 'string') return [name, v];
    const value = values[v.from];
    if (value === undefined) throw new Error(`KPI ${row.key}: dimension ${name} needs ${v.from}, which is not given`);
    return [name, value];
  }));
}

/** The dimension values of a KpiSources object (its lists and flags left out), plus the environment. */
export function kpiDimensionValues(src: KpiSources, environment?: string): DimensionValues {
  const values: DimensionValues = { environment };
  for (const [k, v] of Object.entries(src)) if (typeof v === 'string') values[k as DimensionSource] = v;
  return values;
}

/** The sources a row's dimensions read. */
export function sourcesOf(row: KpiMetricRow): DimensionSource[] {
  return Object.values(row.dimensions).flatMap((v) => (typeof v === 'string' ? [] : [v.from]));
}

/** `AWS/RDS CPUUtilization Average (Role WRITER)`: how a report names where a figure came from. */
export function describeMetric(row: KpiMetricRow): string {
  const fixed = Object.entries(row.dimensions).filter(([, v]) => typeof v === 'string').map(([n, v]) => `${n} ${v}`);
  return `${row.namespace} ${row.metricName} ${row.statistic}${fixed.length > 0 ? ` (${fixed.join(', ')})` : ''}`;
}

/** How many of a unit make one base unit of its kind (a second, a mebibyte). */
const PER_BASE: Partial<Record<KpiUnit, { readonly kind: 'time' | 'size'; readonly per: number }>> = {
  Seconds: { kind: 'time', per: 1 },
  Milliseconds: { kind: 'time', per: 1000 },
  Microseconds: { kind: 'time', per: 1_000_000 },
  Mebibytes: { kind: 'size', per: 1 },
  Bytes: { kind: 'size', per: 1024 * 1024 },
};

function ratio(from: KpiUnit, to: KpiUnit): { multiply: number; divide: number } {
  if (from === to) return { multiply: 1, divide: 1 };
  const f = PER_BASE[from];
  const t = PER_BASE[to];
  if (!f || !t || f.kind !== t.kind) throw new Error(`KPI catalogue: cannot convert ${from} to ${to}`);
  return { multiply: t.per, divide: f.per };
}

/** A value in another unit of the same kind (ms → s, MiB → bytes). Integer factors keep results exact. */
export function convertUnit(value: number, from: KpiUnit, to: KpiUnit): number {
  if (from === to) return value;
  const { multiply, divide } = ratio(from, to);
  return (value * multiply) / divide;
}

/** The metric-math suffix that converts a series from one unit to another: `* 1000`, `/ 1048576`. */
export function unitScaling(from: KpiUnit, to: KpiUnit): string {
  const { multiply, divide } = ratio(from, to);
  if (multiply % divide === 0) return `* ${multiply / divide}`;
  if (divide % multiply === 0) return `/ ${divide / multiply}`;
  return `* ${multiply} / ${divide}`;
}

/** Short unit names for tables and axes. */
export const UNIT_SYMBOL: Readonly<Record<KpiUnit, string>> = {
  Count: '', 'Count/Second': '/s', Percent: '%', Seconds: 's', Milliseconds: 'ms', Microseconds: 'µs', Bytes: 'B', 'Bytes/Second': 'B/s', Mebibytes: 'MiB',
};
