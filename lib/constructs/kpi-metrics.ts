import { Duration } from 'aws-cdk-lib';
import type * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { KpiSources as KpiDimensions } from '../../tools/loadtest/types';
import { queryMetrics } from './queue-worker';

/** CloudWatch allows at most this many metrics in one alarm's math. */
export const MAX_METRICS_PER_ALARM = 10;

/**
 * Where the KPIs come from: names and ids of the other stacks' resources (cross-stack references). The
 * dimensions that `npm run kpi-report` also queries are the shared `KpiDimensions`.
 */
export interface KpiSources extends KpiDimensions {
  /** The scaling policy's backlog-per-task queries (the dashboard graphs the same math). */
  readonly backlogQueries: appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[];
  readonly proxyName?: string;
  /** Replication group id or serverless cache name. */
  readonly cacheId: string;
  /** Node ids of a replication group; [] for a serverless cache. */
  readonly cacheNodeIds: readonly string[];
  readonly cacheServerless: boolean;
  /** Serverless limits, to express usage as a share of them. */
  readonly cacheMaxDataStorageGb: number;
  readonly cacheMaxEcpuPerSecond: number;
}

/**
 * Every KPI of the dashboard and the alarms, built once. Rates are computed from counts with metric math
 * (100 × FILL(errors, 0) ÷ requests), never averaged from counts.
 */
export class KpiMetrics {
  readonly period: Duration;
  readonly requests: cloudwatch.Metric;
  readonly requestsPerSecond: cloudwatch.MathExpression;
  readonly latency: { readonly p50: cloudwatch.Metric; readonly p90: cloudwatch.Metric; readonly p99: cloudwatch.Metric };
  readonly target5xx: cloudwatch.Metric;
  readonly elb5xx: cloudwatch.Metric;
  readonly target4xx: cloudwatch.Metric;
  readonly healthyHosts: cloudwatch.Metric;
  readonly unhealthyHosts: cloudwatch.Metric;
  readonly rejectedConnections: cloudwatch.Metric;
  readonly api: ServiceMetrics;
  readonly workerRunning: cloudwatch.Metric;
  readonly queueVisible: cloudwatch.Metric;
  readonly queueInFlight: cloudwatch.Metric;
  readonly queueOldestAge: cloudwatch.Metric;
  readonly dlqVisible: cloudwatch.Metric;
  readonly backlogPerTask: cloudwatch.MathExpression;
  readonly db: DatabaseMetrics;
  readonly cache: CacheMetrics;
  private ids = 0;

  constructor(private readonly src: KpiSources, periodSeconds: number) {
    this.period = Duration.seconds(periodSeconds);
    const alb = (metricName: string, statistic: string, label: string, withTargetGroup = false) =>
      this.metric('AWS/ApplicationELB', metricName, {
        LoadBalancer: src.loadBalancerFullName,
        ...(withTargetGroup && { TargetGroup: src.targetGroupFullName }),
      }, statistic, label);
    this.requests = alb('RequestCount', 'Sum', 'Requests');
    this.requestsPerSecond = this.math('requests / PERIOD(requests)', { requests: this.requests }, 'Requests/s');
    this.latency = {
      p50: alb('TargetResponseTime', 'p50', 'p50'),
      p90: alb('TargetResponseTime', 'p90', 'p90'),
      p99: alb('TargetResponseTime', 'p99', 'p99'),
    };
    this.target5xx = alb('HTTPCode_Target_5XX_Count', 'Sum', 'Target 5xx');
    this.elb5xx = alb('HTTPCode_ELB_5XX_Count', 'Sum', 'Load balancer 5xx');
    this.target4xx = alb('HTTPCode_Target_4XX_Count', 'Sum', 'Target 4xx');
    this.healthyHosts = alb('HealthyHostCount', 'Minimum', 'Healthy hosts', true);
    this.unhealthyHosts = alb('UnHealthyHostCount', 'Maximum', 'Unhealthy hosts', true);
    this.rejectedConnections = alb('RejectedConnectionCount', 'Sum', 'Rejected connections');

    this.api = this.serviceMetrics(src.apiServiceName);
    this.workerRunning = this.serviceMetrics(src.workerServiceName).running;
    const sqs = (queueName: string, metricName: string, statistic: string, label: string) =>
      this.metric('AWS/SQS', metricName, { QueueName: queueName }, statistic, label);
    this.queueVisible = sqs(src.queueName, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'Visible');
    this.queueInFlight = sqs(src.queueName, 'ApproximateNumberOfMessagesNotVisible', 'Maximum', 'In flight');
    this.queueOldestAge = sqs(src.queueName, 'ApproximateAgeOfOldestMessage', 'Maximum', 'Age of oldest message');
    this.dlqVisible = sqs(src.deadLetterQueueName, 'ApproximateNumberOfMessagesVisible', 'Maximum', 'DLQ messages');
    const backlog = src.backlogQueries.find((q) => q.expression)!;
    this.backlogPerTask = this.math(backlog.expression!, queryMetrics(src.backlogQueries, this.period), 'Backlog per task');

    this.db = this.databaseMetrics();
    this.cache = src.cacheServerless ? this.serverlessCacheMetrics() : this.nodeCacheMetrics();
  }

  /**
   * 100 × FILL(errors, 0) ÷ requests (%), and 0 while requests stay below `minRequests`: one error out of
   * two requests is not an incident. Without `minRequests`, the plain rate (for graphs).
   */
  errorRate(errors: cloudwatch.IMetric, label: string, minRequests?: number): cloudwatch.MathExpression {
    // Several rates may share a graph: each names its error metric differently (math ids must be unique).
    const id = `errors${++this.ids}`;
    const rate = `100 * FILL(${id}, 0) / requests`;
    return this.math(minRequests === undefined ? rate : `IF(requests >= ${minRequests}, ${rate}, 0)`, { [id]: errors, requests: this.requests }, label);
  }

  metric(namespace: string, metricName: string, dimensionsMap: Record<string, string>, statistic: string, label: string, period = this.period): cloudwatch.Metric {
    return new cloudwatch.Metric({ namespace, metricName, dimensionsMap, statistic, label, period });
  }

  math(expression: string, usingMetrics: Record<string, cloudwatch.IMetric>, label: string, period = this.period): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({ expression, usingMetrics, label, period });
  }

  private serviceMetrics(serviceName: string): ServiceMetrics {
    const dims = { ClusterName: this.src.clusterName, ServiceName: serviceName };
    return {
      cpuAverage: this.metric('AWS/ECS', 'CPUUtilization', dims, 'Average', 'CPU average'),
      cpuMaximum: this.metric('AWS/ECS', 'CPUUtilization', dims, 'Maximum', 'CPU maximum'),
      memoryAverage: this.metric('AWS/ECS', 'MemoryUtilization', dims, 'Average', 'Memory average'),
      memoryMaximum: this.metric('AWS/ECS', 'MemoryUtilization', dims, 'Maximum', 'Memory maximum'),
      running: this.metric('ECS/ContainerInsights', 'RunningTaskCount', dims, 'Average', 'Running tasks'),
      desired: this.metric('ECS/ContainerInsights', 'DesiredTaskCount', dims, 'Average', 'Desired tasks'),
    };
  }

  private databaseMetrics(): DatabaseMetrics {
    const cluster = this.src.dbClusterIdentifier;
    const role = (metricName: string, r: 'WRITER' | 'READER', statistic: string, label: string) =>
      this.metric('AWS/RDS', metricName, { DBClusterIdentifier: cluster, Role: r }, statistic, label);
    const readerSamples = role('CPUUtilization', 'READER', 'SampleCount', 'Reader CPU samples');
    const proxy = this.src.proxyName;
    return {
      writerCpu: role('CPUUtilization', 'WRITER', 'Average', 'Writer CPU'),
      readerCpu: role('CPUUtilization', 'READER', 'Average', 'Reader CPU (average)'),
      writerConnections: role('DatabaseConnections', 'WRITER', 'Maximum', 'Writer connections'),
      replicaLag: this.metric('AWS/RDS', 'AuroraReplicaLag', { DBClusterIdentifier: cluster, Role: 'READER' }, 'Maximum', 'Replica lag (max)'),
      writerFreeableMemory: role('FreeableMemory', 'WRITER', 'Minimum', 'Writer freeable memory'),
      readerFreeableMemory: role('FreeableMemory', 'READER', 'Minimum', 'Reader freeable memory'),
      readLatency: role('ReadLatency', 'READER', 'Average', 'Read latency (readers)'),
      writeLatency: role('WriteLatency', 'WRITER', 'Average', 'Write latency (writer)'),
      // Each reader reports its CPU once a minute, so the samples per minute count the readers.
      readers: this.math('samples / (PERIOD(samples) / 60)', { samples: readerSamples }, 'Readers'),
      proxyClientConnections: proxy ? this.metric('AWS/RDS', 'ClientConnections', { ProxyName: proxy }, 'Maximum', 'Proxy client connections') : undefined,
      proxyDatabaseConnections: proxy ? this.metric('AWS/RDS', 'DatabaseConnections', { ProxyName: proxy }, 'Maximum', 'Proxy database connections') : undefined,
    };
  }

  /**
   * Node-based ElastiCache publishes per node. One alarm's math may hold at most 10 metrics, so the cache
   * KPIs aggregate over the first MAX_METRICS_PER_ALARM - 1 nodes (one slot stays for the traffic guard).
   */
  private nodeCacheMetrics(): CacheMetrics {
    const nodes = this.src.cacheNodeIds.slice(0, MAX_METRICS_PER_ALARM - 1);
    const perNode = (metricName: string, statistic: string, fn: 'AVG' | 'MAX' | 'SUM', label: string) => {
      // Ids from the metric's initials (chr0, chr1, … for CacheHitRate): unique within a graph.
      const prefix = metricName.replace(/[^A-Z]/g, '').toLowerCase();
      const metrics = Object.fromEntries(nodes.map((id, i) => [`${prefix}${i}`, this.metric('AWS/ElastiCache', metricName, { CacheClusterId: id }, statistic, `${metricName} ${i + 1}`)]));
      return { expression: `${fn}([${Object.keys(metrics).join(', ')}])`, metrics, label };
    };
    const agg = (p: ReturnType<typeof perNode>) => this.math(p.expression, p.metrics, p.label);
    const hitRate = perNode('CacheHitRate', 'Average', 'AVG', 'Hit rate (average of nodes)');
    return {
      hitRatePercent: agg(hitRate),
      hitRateParts: hitRate,
      cpuPercent: agg(perNode('EngineCPUUtilization', 'Average', 'MAX', 'Engine CPU (busiest node)')),
      memoryPercent: agg(perNode('DatabaseMemoryUsagePercentage', 'Maximum', 'MAX', 'Memory used (fullest node)')),
      evictions: agg(perNode('Evictions', 'Sum', 'SUM', 'Evictions')),
      connections: agg(perNode('CurrConnections', 'Maximum', 'SUM', 'Connections')),
      nodesCovered: nodes.length,
    };
  }

  /** ElastiCache Serverless publishes per cache; memory and ECPUs as shares of the configured limits. */
  private serverlessCacheMetrics(): CacheMetrics {
    const m = (metricName: string, statistic: string, label: string) =>
      this.metric('AWS/ElastiCache', metricName, { clusterId: this.src.cacheId }, statistic, label);
    const hit = m('CacheHitRate', 'Average', 'Hit rate');
    const bytesLimit = this.src.cacheMaxDataStorageGb * 1e9;
    return {
      hitRatePercent: this.math('hit', { hit }, 'Hit rate'),
      hitRateParts: { expression: 'hit', metrics: { hit }, label: 'Hit rate' },
      cpuPercent: this.math(`100 * ecpu / PERIOD(ecpu) / ${this.src.cacheMaxEcpuPerSecond}`, { ecpu: m('ElastiCacheProcessingUnits', 'Sum', 'ECPUs') }, 'ECPU/s (% of limit)'),
      memoryPercent: this.math(`100 * bytes / ${bytesLimit}`, { bytes: m('BytesUsedForCache', 'Maximum', 'Bytes used') }, 'Data stored (% of limit)'),
      evictions: this.math('ev', { ev: m('Evictions', 'Sum', 'Evictions') }, 'Evictions'),
      connections: this.math('conn', { conn: m('CurrConnections', 'Maximum', 'Connections') }, 'Connections'),
      nodesCovered: 0,
    };
  }
}

export interface ServiceMetrics {
  readonly cpuAverage: cloudwatch.Metric;
  readonly cpuMaximum: cloudwatch.Metric;
  readonly memoryAverage: cloudwatch.Metric;
  readonly memoryMaximum: cloudwatch.Metric;
  readonly running: cloudwatch.Metric;
  readonly desired: cloudwatch.Metric;
}

export interface DatabaseMetrics {
  readonly writerCpu: cloudwatch.Metric;
  readonly readerCpu: cloudwatch.Metric;
  readonly writerConnections: cloudwatch.Metric;
  readonly replicaLag: cloudwatch.Metric;
  readonly writerFreeableMemory: cloudwatch.Metric;
  readonly readerFreeableMemory: cloudwatch.Metric;
  readonly readLatency: cloudwatch.Metric;
  readonly writeLatency: cloudwatch.Metric;
  readonly readers: cloudwatch.MathExpression;
  readonly proxyClientConnections?: cloudwatch.Metric;
  readonly proxyDatabaseConnections?: cloudwatch.Metric;
}

export interface CacheMetrics {
  readonly hitRatePercent: cloudwatch.MathExpression;
  /** The hit rate's expression and metrics, so an alarm can add a traffic guard around it. */
  readonly hitRateParts: { readonly expression: string; readonly metrics: Record<string, cloudwatch.IMetric>; readonly label: string };
  readonly cpuPercent: cloudwatch.MathExpression;
  readonly memoryPercent: cloudwatch.MathExpression;
  readonly evictions: cloudwatch.MathExpression;
  readonly connections: cloudwatch.MathExpression;
  /** How many nodes the node-based aggregates cover (0 for serverless). */
  readonly nodesCovered: number;
}
