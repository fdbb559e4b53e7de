import { Duration } from 'aws-cdk-lib';
import type * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import {
  dimensionsOf, errorRateExpression, fillParams, hotShardExpression, isMetricKey, kpiDimensionValues, KPI_DERIVED_ROW, KPI_METRIC, underTrafficExpression,
  type DimensionValues, type KpiAcrossNodes, type KpiDerivedKey, type KpiKey, type KpiMath, type KpiMetricKey, type KpiParams,
} from '../contracts/kpi-catalogue';
import { pickKpiSources, type KpiSources } from '../contracts/kpi-sources';
import { queryMetrics } from './queue-worker';

/** CloudWatch allows at most this many metrics in one alarm's math. */
export const MAX_METRICS_PER_ALARM = 10;

/**
 * Where the KPIs come from: names and ids of the other stacks' resources (cross-stack references). The
 * dimensions that `npm run kpi-report` also queries are the contract's `KpiSources`, which the Monitoring
 * stack outputs; the rest only the stack needs.
 */
export interface KpiMetricSources extends KpiSources {
  /** The scaling policy's backlog-per-task queries (the dashboard graphs the same math). */
  readonly backlogQueries: appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[];
  /** The config environment: the `Environment` dimension of the workload's own metrics. */
  readonly environment?: string;
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

/** One cluster of `database.sharding.mode: clusters`: its number (the `ShardCluster` dimension) and resources. */
export interface ShardCluster {
  readonly index: number;
  readonly dbClusterIdentifier: string;
  /** Absent when the cluster has no RDS Proxy. */
  readonly proxyName?: string;
}

/** A derived KPI as its math, so that a caller can wrap it (a traffic guard) and keep its metric ids. */
export interface KpiMathParts {
  readonly expression: string;
  readonly usingMetrics: Record<string, cloudwatch.IMetric>;
  readonly label: string;
}

/**
 * The KPI catalogue (lib/contracts/kpi-catalogue.ts) as CloudWatch metrics, for the dashboard and the
 * alarms: `metric(key)` for a row, `kpi(key)` for any KPI, derived ones by metric math. Rates are computed
 * from counts (100 × FILL(errors, 0) ÷ requests), never averaged from counts.
 */
export class KpiMetrics {
  readonly period: Duration;
  /** The worker scaling policy's own math: what is graphed is what is scaled on. */
  readonly backlogPerTask: cloudwatch.MathExpression;
  private readonly values: DimensionValues;
  private readonly params: KpiParams;
  private ids = 0;

  constructor(private readonly src: KpiMetricSources, private readonly periodSeconds: number, connectionBudget: number) {
    this.period = Duration.seconds(periodSeconds);
    this.values = kpiDimensionValues(pickKpiSources(src), src.environment);
    this.params = {
      connectionBudget,
      cacheMaxEcpuPerSecond: src.cacheMaxEcpuPerSecond,
      cacheMaxDataStorageBytes: src.cacheMaxDataStorageGb * 1e9,
    };
    const backlog = src.backlogQueries.find((q) => q.expression)!;
    this.backlogPerTask = this.math(backlog.expression!, queryMetrics(src.backlogQueries, this.period), 'Backlog per task');
  }

  /** Whether a row's resource exists here (the proxy's rows need a proxy). */
  has(key: KpiMetricKey, values: DimensionValues = this.values): boolean {
    return Object.values(KPI_METRIC[key].dimensions).every((v) => typeof v === 'string' || values[v.from] !== undefined);
  }

  /**
   * The dimension values of one cluster of `database.sharding.mode: clusters`: its identifier and proxy in
   * place of the (first) cluster's, and its number as the workload's `ShardCluster`.
   */
  shardValues(cluster: ShardCluster): DimensionValues {
    return { ...this.values, dbClusterIdentifier: cluster.dbClusterIdentifier, proxyName: cluster.proxyName, shardCluster: String(cluster.index) };
  }

  /**
   * The catalogue read on one cluster of `database.sharding.mode: clusters`: every Aurora and proxy row (and
   * the KPIs derived from them) with that cluster's identifier and proxy; the connection budget is per cluster.
   */
  forShard(cluster: ShardCluster): KpiMetrics {
    return new KpiMetrics({ ...this.src, dbClusterIdentifier: cluster.dbClusterIdentifier, proxyName: cluster.proxyName }, this.periodSeconds, this.params.connectionBudget);
  }

  /** A catalogue row for one cluster, labelled `Cluster <n>`. */
  shardMetric(key: KpiMetricKey, cluster: ShardCluster, period: Duration = this.period): cloudwatch.Metric {
    return this.metric(key, `Cluster ${cluster.index}`, this.shardValues(cluster)).with({ period });
  }

  /**
   * The hot-shard ratio (hotShardExpression) over the writer CPU of `clusters`, at `period`. Math ids are
   * `cpu<cluster number>`, unique across the groups one graph may hold.
   */
  hotShardRatio(clusters: readonly ShardCluster[], minMeanPercent: number, period: Duration, label: string): cloudwatch.MathExpression {
    const usingMetrics = Object.fromEntries(clusters.map((c) => [`cpu${c.index}`, this.shardMetric('dbWriterCpu', c, period)]));
    return this.math(hotShardExpression(Object.keys(usingMetrics), minMeanPercent), usingMetrics, label, period);
  }

  /** A catalogue row as a metric: its namespace, name, dimensions, statistic and label, at the KPI period. */
  metric(key: KpiMetricKey, label?: string, values: DimensionValues = this.values): cloudwatch.Metric {
    const row = KPI_METRIC[key];
    return new cloudwatch.Metric({
      namespace: row.namespace,
      metricName: row.metricName,
      dimensionsMap: dimensionsOf(row, values),
      statistic: row.statistic,
      label: label ?? row.label,
      period: this.period,
    });
  }

  /** Any KPI of the catalogue; a derived one as metric math. */
  kpi(key: KpiKey, label?: string): cloudwatch.IMetric {
    if (isMetricKey(key)) return this.metric(key, label);
    const parts = this.parts(key);
    return this.math(parts.expression, parts.usingMetrics, label ?? parts.label);
  }

  /**
   * The KPI, and 0 (or `quiet`) while requests per period stay below `minRequests`: see
   * underTrafficExpression.
   */
  underTraffic(key: KpiDerivedKey, minRequests: number, quiet: number, label: string): cloudwatch.MathExpression {
    const parts = this.parts(key);
    return this.math(underTrafficExpression(parts.expression, minRequests, quiet), { ...parts.usingMetrics, requests: this.metric('requests') }, label);
  }

  /** A derived KPI's expression, metrics (by math id) and label. */
  parts(key: KpiDerivedKey): KpiMathParts {
    const row = KPI_DERIVED_ROW[key];
    if ('math' in row) return this.fromMath(row.math);
    if ('errorsOf' in row) {
      // Several rates may share a graph: each names its error metric differently (math ids must be unique).
      const id = `errors${++this.ids}`;
      return { expression: errorRateExpression(id), usingMetrics: { [id]: this.metric(row.errorsOf), requests: this.metric('requests') }, label: row.label };
    }
    return this.src.cacheServerless ? this.fromMath(row.byCacheMode.serverless) : this.acrossNodes(row.byCacheMode.nodes);
  }

  /** Fills the `{param}` placeholders of a catalogue text with this stack's limits. */
  fillParams(text: string): string {
    return fillParams(text, this.params);
  }

  math(expression: string, usingMetrics: Record<string, cloudwatch.IMetric>, label: string, period = this.period): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({ expression, usingMetrics, label, period });
  }

  private fromMath(math: KpiMath): KpiMathParts {
    const usingMetrics = Object.fromEntries(Object.entries(math.using).map(([id, key]) => [id, this.metric(key)]));
    return { expression: this.fillParams(math.expression), usingMetrics, label: math.label };
  }

  /**
   * Node-based ElastiCache publishes per node. One alarm's math may hold at most 10 metrics, so the cache
   * KPIs aggregate over the first MAX_METRICS_PER_ALARM - 1 nodes (one slot stays for the traffic guard).
   */
  private acrossNodes(a: KpiAcrossNodes): KpiMathParts {
    const nodes = this.src.cacheNodeIds.slice(0, MAX_METRICS_PER_ALARM - 1);
    const row = KPI_METRIC[a.perNode];
    // Ids from the metric's initials (chr0, chr1, … for CacheHitRate): unique within a graph.
    const prefix = row.metricName.replace(/[^A-Z]/g, '').toLowerCase();
    const usingMetrics = Object.fromEntries(nodes.map((cacheNodeId, i) =>
      [`${prefix}${i}`, this.metric(a.perNode, `${row.label} ${i + 1}`, { ...this.values, cacheNodeId })]));
    return { expression: `${a.across}([${Object.keys(usingMetrics).join(', ')}])`, usingMetrics, label: a.label };
  }
}
