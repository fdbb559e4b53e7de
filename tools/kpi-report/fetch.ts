import {
  CloudWatchClient, GetMetricDataCommand, ListMetricsCommand, type MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import {
  dimensionsOf, KPI_DERIVED_ROW, KPI_METRIC, kpiDimensionValues, sourcesOf, type DimensionValues, type KpiDerivedKey, type KpiMetricKey,
} from '../../lib/contracts/kpi-catalogue';
import type { KpiSources } from '../../lib/contracts/kpi-sources';
import { LOADTEST_DIMENSIONS, LOADTEST_METRICS, LOADTEST_NAMESPACE } from '../../lib/contracts/loadtest';

/** One metric and statistic, as GetMetricData takes it. */
export interface MetricSpec {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly stat: string;
}

/** A request: the spec, a key to find its answer by, and the period (s). */
export interface MetricRequest {
  readonly key: string;
  readonly spec: MetricSpec;
  readonly periodSeconds: number;
}

/** Datapoints in ascending time order (epoch ms). */
export interface Series {
  readonly timestamps: number[];
  readonly values: number[];
}

export interface FetchResult {
  readonly series: Map<string, Series>;
  /** Keys whose query failed, with the reason (percentile statistics on an endpoint that lacks them). */
  readonly failed: Map<string, string>;
}

/** GetMetricData takes at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

/** Extended statistics (p99, tm90, PR(…), …): some endpoints (moto) cannot compute them. */
export function isExtendedStat(stat: string): boolean {
  return !['SampleCount', 'Sum', 'Average', 'Minimum', 'Maximum'].includes(stat);
}

/**
 * Fetches every request with GetMetricData: in calls of at most 500 queries, following NextToken, and with
 * extended statistics in calls of their own. Ordinary statistics must succeed (else the report has no
 * basis: the error propagates); a failed call of extended statistics marks its keys failed, so the report
 * can fall back to another source and say so.
 */
export async function fetchMetrics(
  client: CloudWatchClient, requests: readonly MetricRequest[], startMs: number, endMs: number, maxQueriesPerCall = MAX_QUERIES_PER_CALL,
): Promise<FetchResult> {
  const series = new Map<string, Series>();
  const failed = new Map<string, string>();
  const plain = requests.filter((r) => !isExtendedStat(r.spec.stat));
  const extended = requests.filter((r) => isExtendedStat(r.spec.stat));
  for (const [group, mayFail] of [[plain, false], [extended, true]] as const) {
    for (let i = 0; i < group.length; i += maxQueriesPerCall) {
      const chunk = group.slice(i, i + maxQueriesPerCall);
      try {
        const got = await getMetricData(client, chunk, startMs, endMs);
        for (const [k, s] of got) series.set(k, s);
      } catch (e) {
        if (!mayFail) throw e;
        const reason = describeError(e);
        for (const r of chunk) failed.set(r.key, reason);
      }
    }
  }
  return { series, failed };
}

async function getMetricData(client: CloudWatchClient, chunk: readonly MetricRequest[], startMs: number, endMs: number): Promise<Map<string, Series>> {
  // Query ids must match ^[a-z][a-zA-Z0-9_]*$: positions, mapped back to keys.
  const queries: MetricDataQuery[] = chunk.map((r, i) => ({
    Id: `q${i}`,
    ReturnData: true,
    MetricStat: {
      Metric: { Namespace: r.spec.namespace, MetricName: r.spec.metricName, Dimensions: Object.entries(r.spec.dimensions).map(([Name, Value]) => ({ Name, Value })) },
      Period: r.periodSeconds,
      Stat: r.spec.stat,
    },
  }));
  const points = chunk.map(() => new Map<number, number>());
  let NextToken: string | undefined;
  do {
    const page = await client.send(new GetMetricDataCommand({
      StartTime: new Date(startMs), EndTime: new Date(endMs), MetricDataQueries: queries, ScanBy: 'TimestampAscending', NextToken,
    }));
    for (const res of page.MetricDataResults ?? []) {
      const index = Number(res.Id?.slice(1));
      if (!(index >= 0 && index < chunk.length)) continue;
      (res.Timestamps ?? []).forEach((t, j) => points[index].set(t.getTime(), res.Values![j]));
    }
    NextToken = page.NextToken;
  } while (NextToken);
  const out = new Map<string, Series>();
  chunk.forEach((r, i) => {
    const ts = [...points[i].keys()].sort((a, b) => a - b);
    out.set(r.key, { timestamps: ts, values: ts.map((t) => points[i].get(t)!) });
  });
  return out;
}

/** Run ids of an environment's client metrics (ListMetrics on the Requests metric, all pages). */
export async function listRunIds(client: CloudWatchClient, envName: string, namespace = LOADTEST_NAMESPACE): Promise<string[]> {
  const ids = new Set<string>();
  let NextToken: string | undefined;
  do {
    const page = await client.send(new ListMetricsCommand({
      Namespace: namespace, MetricName: LOADTEST_METRICS.requests,
      Dimensions: [{ Name: LOADTEST_DIMENSIONS.environment, Value: envName }], NextToken,
    }));
    for (const m of page.Metrics ?? []) {
      const dims = m.Dimensions ?? [];
      const env = dims.find((d) => d.Name === LOADTEST_DIMENSIONS.environment)?.Value;
      const run = dims.find((d) => d.Name === LOADTEST_DIMENSIONS.runId)?.Value;
      if (env === envName && run) ids.add(run);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return [...ids].sort();
}

function describeError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  // A non-AWS endpoint answers an unsupported statistic with an HTML error page: say that, not "Unexpected token <".
  if (e.name === 'SyntaxError' || /Deserialization error/.test(e.message)) return `the endpoint returned an unreadable error${status ? ` (HTTP ${status})` : ''}`;
  return `${e.name}: ${e.message.split('\n')[0]}`;
}

// ---- What the report asks for -------------------------------------------------------------------

/**
 * The server-side series of the report: rows of the KPI catalogue, by the name evaluate.ts reads them
 * by. Percentiles of the whole window come from one period spanning it (`window`): a percentile of
 * percentiles would not be one.
 */
export const SERVER_SERIES = {
  requests: { kpi: 'requests' },
  target5xx: { kpi: 'target5xx' },
  elb5xx: { kpi: 'elb5xx' },
  p50: { kpi: 'latencyP50', window: true },
  p90: { kpi: 'latencyP90', window: true },
  p99: { kpi: 'latencyP99', window: true },
  p99Timeline: { kpi: 'latencyP99' },
  latencyAverage: { kpi: 'latencyAverage' },
  latencyMaximum: { kpi: 'latencyMaximum' },
  processedBytes: { kpi: 'processedBytes' },
  apiCpu: { kpi: 'apiCpuAverage' },
  apiMemory: { kpi: 'apiMemoryAverage' },
  apiRunning: { kpi: 'apiRunningTasks' },
  apiDesired: { kpi: 'apiDesiredTasks' },
  apiNetworkRx: { kpi: 'apiNetworkRx' },
  apiNetworkTx: { kpi: 'apiNetworkTx' },
  workerRunning: { kpi: 'workerRunningTasks' },
  workerDesired: { kpi: 'workerDesiredTasks' },
  workerCpu: { kpi: 'workerCpuAverage' },
  workerMemory: { kpi: 'workerMemoryAverage' },
  workerNetworkRx: { kpi: 'workerNetworkRx' },
  workerNetworkTx: { kpi: 'workerNetworkTx' },
  queueAge: { kpi: 'queueOldestAge' },
  queueVisible: { kpi: 'queueVisible' },
  dlqVisible: { kpi: 'dlqVisible' },
  dbWriterCpu: { kpi: 'dbWriterCpu' },
  dbReaderCpu: { kpi: 'dbReaderCpu' },
  dbWriterConnections: { kpi: 'dbWriterConnections' },
  dbReplicaLag: { kpi: 'dbReplicaLag' },
  dbWriterNetwork: { kpi: 'dbWriterNetwork' },
  dbReaderNetwork: { kpi: 'dbReaderNetwork' },
  dbWriterReadIops: { kpi: 'dbWriterReadIops' },
  dbWriterWriteIops: { kpi: 'dbWriterWriteIops' },
  dbReaderReadIops: { kpi: 'dbReaderReadIops' },
  dbWriterReadThroughput: { kpi: 'dbWriterReadThroughput' },
  dbWriterWriteThroughput: { kpi: 'dbWriterWriteThroughput' },
  dbWriterDiskQueueDepth: { kpi: 'dbWriterDiskQueueDepth' },
  dbWriterLoad: { kpi: 'dbWriterLoad' },
  dbWriterLoadCpu: { kpi: 'dbWriterLoadCpu' },
  dbWriterLoadNonCpu: { kpi: 'dbWriterLoadNonCpu' },
  dbReaderLoad: { kpi: 'dbReaderLoad' },
  proxyClientConnections: { kpi: 'proxyClientConnections' },
  proxyDatabaseConnections: { kpi: 'proxyDatabaseConnections' },
  proxyPinned: { kpi: 'proxyPinned' },
  proxyBorrowLatency: { kpi: 'proxyBorrowLatency' },
  apiPoolUtilization: { kpi: 'apiPoolUtilization' },
  apiPoolWaiting: { kpi: 'apiPoolWaiting' },
  apiPoolAcquireTime: { kpi: 'apiPoolAcquireTime' },
  workerPoolUtilization: { kpi: 'workerPoolUtilization' },
  jobProcessingAverage: { kpi: 'jobProcessingAverage' },
  jobProcessingMaximum: { kpi: 'jobProcessingMaximum' },
} as const satisfies Record<string, { readonly kpi: KpiMetricKey; readonly window?: boolean }>;
export type ServerSeries = keyof typeof SERVER_SERIES;

/** Keys of the server-side series in a FetchResult. */
export const SERVER = Object.fromEntries(Object.keys(SERVER_SERIES).map((name) => [name, `server.${name}`])) as { readonly [K in ServerSeries]: `server.${K}` };

/** The cache KPIs of the report: derived rows, per node of a replication group or per serverless cache. */
export const CACHE_SERIES = {
  cacheCpu: 'cacheCpuPercent',
  cacheMemory: 'cacheMemoryPercent',
  cacheEvictions: 'cacheEvictions',
  cacheHitRate: 'cacheHitRatePercent',
  cacheNetworkIn: 'cacheNetworkIn',
  cacheNetworkOut: 'cacheNetworkOut',
} as const satisfies Record<string, KpiDerivedKey>;
export type CacheSeries = keyof typeof CACHE_SERIES;

/** Key of one metric under a cache KPI: a node's (`#<index>`) or a serverless math id's. */
export function cacheKey(name: CacheSeries, part: string): string {
  return `server.${name}.${part}`;
}

/** Keys of one run's client-side series. */
export function clientKeys(runId: string) {
  const k = (s: string) => `client.${runId}.${s}`;
  return {
    requests: k('requests'), scheduled: k('scheduled'), dropped: k('dropped'), errors: k('errors'), timeouts: k('timeouts'),
    http2xx: k('http2xx'), http3xx: k('http3xx'), http4xx: k('http4xx'), http5xx: k('http5xx'),
    latencyCount: k('latency.count'), latencySum: k('latency.sum'), latencyMax: k('latency.max'),
    p50: k('p50'), p90: k('p90'), p99: k('p99'), p99Timeline: k('p99.timeline'),
  };
}

/** Whether the sources hold every dimension a row needs (the proxy's rows need a proxy, the workload's the environment). */
function canQuery(kpi: KpiMetricKey, values: DimensionValues): boolean {
  return sourcesOf(KPI_METRIC[kpi]).every((src) => src === 'cacheNodeId' || values[src] !== undefined);
}

/**
 * The server-side series: the Monitoring stack's KPIs, from the same catalogue rows its dashboard graphs.
 * Rows whose resource the sources do not name (no proxy; an older KpiSources output without the cache) are
 * left out, and the report says "no data" for them.
 */
export function serverRequests(src: KpiSources, periodSeconds: number, windowSeconds: number, environment?: string): MetricRequest[] {
  const values = kpiDimensionValues(src, environment);
  const out: MetricRequest[] = [];
  for (const name of Object.keys(SERVER_SERIES) as ServerSeries[]) {
    const series: { kpi: KpiMetricKey; window?: boolean } = SERVER_SERIES[name];
    if (!canQuery(series.kpi, values)) continue;
    out.push({ key: SERVER[name], spec: metricSpec(series.kpi, values), periodSeconds: series.window ? windowSeconds : periodSeconds });
  }
  if (src.cacheId === undefined || src.cacheServerless === undefined) return out;
  for (const name of Object.keys(CACHE_SERIES) as CacheSeries[]) {
    const row = KPI_DERIVED_ROW[CACHE_SERIES[name]];
    if (!('byCacheMode' in row)) continue;
    if (src.cacheServerless) {
      for (const [id, kpi] of Object.entries(row.byCacheMode.serverless.using)) {
        out.push({ key: cacheKey(name, id), spec: metricSpec(kpi as KpiMetricKey, values), periodSeconds });
      }
    } else {
      // The dashboard and alarms aggregate the first MAX_METRICS_PER_ALARM - 1 nodes; the report reads all.
      (src.cacheNodeIds ?? []).forEach((cacheNodeId, i) => {
        out.push({ key: cacheKey(name, `#${i}`), spec: metricSpec(row.byCacheMode.nodes.perNode, { ...values, cacheNodeId }), periodSeconds });
      });
    }
  }
  return out;
}

/** A catalogue row as GetMetricData takes it, its dimensions filled from the KpiSources output. */
export function metricSpec(kpi: KpiMetricKey, values: DimensionValues | KpiSources): MetricSpec {
  const row = KPI_METRIC[kpi];
  const dims = 'loadBalancerFullName' in values ? kpiDimensionValues(values as KpiSources) : values as DimensionValues;
  return { namespace: row.namespace, metricName: row.metricName, dimensions: dimensionsOf(row, dims), stat: row.statistic };
}

/** One run's client-side metrics (lib/load-engine/publish.ts). */
export function clientRequests(envName: string, runId: string, periodSeconds: number, windowSeconds: number, namespace = LOADTEST_NAMESPACE): MetricRequest[] {
  const dims = { [LOADTEST_DIMENSIONS.environment]: envName, [LOADTEST_DIMENSIONS.runId]: runId };
  const k = clientKeys(runId);
  const m = (key: string, metricName: string, stat: string, period = periodSeconds): MetricRequest =>
    ({ key, spec: { namespace, metricName, dimensions: dims, stat }, periodSeconds: period });
  const L = LOADTEST_METRICS;
  return [
    m(k.requests, L.requests, 'Sum'), m(k.scheduled, L.scheduled, 'Sum'), m(k.dropped, L.dropped, 'Sum'),
    m(k.errors, L.errors, 'Sum'), m(k.timeouts, L.timeouts, 'Sum'),
    m(k.http2xx, L.http2xx, 'Sum'), m(k.http3xx, L.http3xx, 'Sum'), m(k.http4xx, L.http4xx, 'Sum'), m(k.http5xx, L.http5xx, 'Sum'),
    m(k.latencyCount, L.latency, 'SampleCount'), m(k.latencySum, L.latency, 'Sum'), m(k.latencyMax, L.latency, 'Maximum'),
    m(k.p50, L.latency, 'p50', windowSeconds), m(k.p90, L.latency, 'p90', windowSeconds), m(k.p99, L.latency, 'p99', windowSeconds),
    m(k.p99Timeline, L.latency, 'p99'),
  ];
}
