import type { BlueprintConfig, SlaConfig } from '../../lib/config/schema';
import { convertUnit, describeMetric, KPI_METRIC, UNIT_SYMBOL, type KpiMetricRow, type KpiUnit } from '../../lib/contracts/kpi-catalogue';
import type { KpiSources } from '../../lib/contracts/kpi-sources';
import { LOADTEST_METRICS, LOADTEST_NAMESPACE, type RunResultFile } from '../../lib/contracts/loadtest';
import { endpointRows, type EndpointRow } from './endpoints';
import { clientKeys, SERVER, SERVER_SERIES, type FetchResult, type Series, type ServerSeries } from './fetch';
import { analyseProfile, type ProfileAnalysis } from './profiles';
import { attribute, type Saturation } from './saturation';
import { seriesLookup, type SeriesLookup, type SeriesName } from './series';

export type Verdict = 'pass' | 'fail' | 'no data' | 'info';
export type Side = 'client' | 'server';

/** One line of the report. `observed` is null when there is no data. */
export interface KpiRow {
  readonly id: string;
  readonly side: Side;
  readonly kpi: string;
  readonly unit: string;
  readonly observed: number | null;
  /** Observed value as shown (some rows show more than one figure, e.g. min and max tasks). */
  readonly display: string;
  /** The SLA and its config key; null for rows reported for information only. */
  readonly sla: number | null;
  readonly slaKey: keyof SlaConfig | null;
  /** `max`: observed must be at most the SLA; `min`: at least. */
  readonly bound: 'max' | 'min' | null;
  readonly verdict: Verdict;
  /** Where the figure came from (CloudWatch metric and statistic, or the run's result file). */
  readonly source: string;
  readonly detail?: string;
}

export const PANELS = ['Requests/s', 'Latency p99 (ms)', 'Errors (%)', 'Running tasks', 'Queue age (s)'] as const;
export type Panel = (typeof PANELS)[number];

export interface TimelineSeries {
  readonly panel: Panel;
  readonly name: string;
  /** `sla` series are drawn as dashed reference lines. */
  readonly kind: 'observed' | 'sla';
  /** [epoch ms, value] */
  readonly points: Array<[number, number]>;
}

export interface RunInput {
  readonly runId: string;
  readonly result?: { readonly result: RunResultFile; readonly file: string };
}

export interface EvaluateInput {
  readonly envName: string;
  readonly runs: readonly RunInput[];
  readonly startMs: number;
  readonly endMs: number;
  readonly periodSeconds: number;
  readonly sla: SlaConfig;
  /** The environment's configuration: the limits and knobs of the saturation table (none without it). */
  readonly config?: BlueprintConfig;
  /** The KpiSources the server-side series were fetched with (cache mode and nodes). */
  readonly sources?: KpiSources;
  readonly fetched: FetchResult;
  /** `no data` on an SLA row fails the report. */
  readonly requireAll: boolean;
  /** `no data` on an SLA row leaves the verdict to the rows with data (otherwise: inconclusive). */
  readonly allowNoData?: boolean;
  /** The profile to analyse (else the run's result file says). */
  readonly profile?: string;
  /** The API's routes with per-route metrics in the window (endpoints.ts listRoutes). */
  readonly routes?: readonly string[];
}

/**
 * The gate: `fail` when an SLA row is breached; `inconclusive` when none is but some have no data (unless
 * allowed); `pass` only when every SLA row with an SLA was met.
 */
export type GateVerdict = 'pass' | 'fail' | 'inconclusive';

export interface Evaluation {
  readonly verdict: GateVerdict;
  /** 0 pass, 1 an SLA breached (or, with requireAll, without data), 3 inconclusive. */
  readonly exitCode: 0 | 1 | 3;
  readonly counts: { readonly met: number; readonly breached: number; readonly noData: number };
  readonly kpis: KpiRow[];
  readonly endpoints: EndpointRow[];
  readonly saturation: Saturation;
  readonly profile: ProfileAnalysis | null;
  readonly timeline: TimelineSeries[];
  readonly notes: string[];
}

/** The catalogue row behind a server-side series: what it measures, in which unit, named in each row's source. */
const serverRow = (name: ServerSeries): KpiMetricRow => KPI_METRIC[SERVER_SERIES[name].kpi];
const cloudWatch = (name: ServerSeries) => `CloudWatch ${describeMetric(serverRow(name))}`;

/**
 * Judges the fetched figures against the SLAs. Rates are ratios of sums over the window (never averages
 * of per-period rates); a missing 5xx series under traffic counts as zero (CloudWatch emits no 5xx
 * datapoint when there were none), a missing request series is "no data".
 */
export function evaluate(input: EvaluateInput): Evaluation {
  const { fetched, periodSeconds, config, sla } = input;
  const lookup = seriesLookup(fetched, input.sources ?? {}, config ? {
    cacheMaxEcpuPerSecond: config.cache.serverlessMaxEcpuPerSecond,
    cacheMaxDataStorageBytes: config.cache.serverlessMaxDataStorageGb * 1e9,
  } : {}, periodSeconds);
  const notes: string[] = [];
  const rows: KpiRow[] = [];
  const get = (key: string): Series | undefined => {
    const s = fetched.series.get(key);
    return s && s.values.length > 0 ? s : undefined;
  };
  const total = (key: string) => sum(get(key)?.values ?? []);

  // ---- client side: per run from CloudWatch, else from the run's result file ----------------------
  const counters = input.runs.map((run) => clientCounters(run, get, total));
  const withCounters = counters.filter((c) => c !== undefined);
  for (const [i, run] of input.runs.entries()) {
    if (!counters[i]) notes.push(`run ${run.runId}: no client metrics in the window and no result file.`);
  }
  const c = withCounters.reduce(
    (a, x) => ({ requests: a.requests + x.requests, scheduled: a.scheduled + x.scheduled, http5xx: a.http5xx + x.http5xx, errors: a.errors + x.errors, timeouts: a.timeouts + x.timeouts, dropped: a.dropped + x.dropped }),
    { requests: 0, scheduled: 0, http5xx: 0, errors: 0, timeouts: 0, dropped: 0 },
  );
  const counterSource = unique(withCounters.map((x) => x.source)).join('; ') || 'no client metrics';

  for (const p of [50, 90, 99] as const) {
    const slaKey = `latencyP${p}Ms` as const;
    const perRun = input.runs.map((run) => clientPercentile(run, p, get, fetched.failed));
    const known = perRun.filter((x) => x.value !== null);
    const value = known.length === 0 ? null : Math.max(...known.map((x) => x.value!));
    const source = known.length === 0
      ? perRun.map((x) => x.reason).filter(Boolean).join('; ') || 'no data'
      : unique(known.map((x) => x.source)).join('; ') + (known.length > 1 ? ` (worst of ${known.length} runs)` : '');
    rows.push(judge({ id: `client.p${p}`, side: 'client', kpi: `latency p${p}`, unit: 'ms', observed: value, sla: sla[slaKey], slaKey, bound: 'max', source }));
  }
  const clientMeanMax = input.runs.map((run) => clientMeanAndMax(run, get, total));
  const knownMean = clientMeanMax.filter((x) => x.count > 0);
  const meanCount = sum(knownMean.map((x) => x.count));
  rows.push(info({
    id: 'client.mean', side: 'client', kpi: 'latency average', unit: 'ms',
    observed: meanCount > 0 ? sum(knownMean.map((x) => x.mean * x.count)) / meanCount : null,
    source: unique(knownMean.map((x) => x.source)).join('; ') || 'no data',
  }));
  rows.push(info({
    id: 'client.max', side: 'client', kpi: 'latency max', unit: 'ms',
    observed: knownMean.length > 0 ? Math.max(...knownMean.map((x) => x.max)) : null,
    source: unique(knownMean.map((x) => x.source)).join('; ') || 'no data',
  }));

  const failures = c.http5xx + c.errors + c.timeouts;
  rows.push(judge({
    id: 'client.errorRate', side: 'client', kpi: 'error rate', unit: '%',
    observed: withCounters.length > 0 && c.requests > 0 ? (100 * failures) / c.requests : null,
    sla: sla.errorRatePercent, slaKey: 'errorRatePercent', bound: 'max',
    source: `${counterSource}: 100 × (5xx + errors + timeouts) ÷ requests`,
    detail: `${c.http5xx} 5xx + ${c.errors} errors + ${c.timeouts} timeouts of ${c.requests} requests`,
  }));
  rows.push(judge({
    id: 'client.achievedRate', side: 'client', kpi: 'achieved rate (of requested)', unit: '%',
    observed: withCounters.length > 0 && c.scheduled > 0 ? (100 * c.requests) / c.scheduled : null,
    sla: sla.minAchievedRatePercent, slaKey: 'minAchievedRatePercent', bound: 'min',
    source: `${counterSource}: 100 × sent ÷ scheduled`,
    detail: `${c.requests} sent of ${c.scheduled} scheduled, ${c.dropped} dropped at the concurrency limit`,
  }));
  const durationSeconds = input.runs.length === 1 && input.runs[0].result ? input.runs[0].result.result.durationSeconds : (input.endMs - input.startMs) / 1000;
  rows.push(info({
    id: 'client.rps', side: 'client', kpi: 'requests/s (mean; per period on the timeline)', unit: 'req/s',
    observed: withCounters.length > 0 && durationSeconds > 0 ? c.requests / durationSeconds : null,
    source: `${counterSource}: sent ÷ ${fmt(durationSeconds)} s`,
  }));

  // ---- server side: the Monitoring stack's KPIs ----------------------------------------------------
  for (const p of [50, 90, 99] as const) {
    const slaKey = `latencyP${p}Ms` as const;
    const key = SERVER[`p${p}`];
    const row = serverRow(`p${p}`);
    const s = get(key);
    if (s && s.values.length > 1) notes.push(`server p${p}: the window spans ${s.values.length} CloudWatch periods; the worst is reported.`);
    rows.push(judge({
      id: `server.p${p}`, side: 'server', kpi: `latency p${p} (target response time)`, unit: UNIT_SYMBOL.Milliseconds,
      observed: s ? convertUnit(Math.max(...s.values), row.unit, 'Milliseconds') : null, sla: sla[slaKey], slaKey, bound: 'max',
      source: s ? `${cloudWatch(`p${p}`)} over the window` : reasonFor(key, fetched.failed, describeMetric(row)),
    }));
  }
  const avgSeries = get(SERVER.latencyAverage);
  const reqByTime = new Map(toPoints(get(SERVER.requests)));
  let weighted = 0;
  let weights = 0;
  for (const [t, v] of toPoints(avgSeries)) {
    const w = reqByTime.get(t) ?? 0;
    weighted += v * w;
    weights += w;
  }
  rows.push(info({
    id: 'server.mean', side: 'server', kpi: 'latency average (target response time)', unit: 'ms',
    observed: avgSeries ? convertUnit(weights > 0 ? weighted / weights : sum(avgSeries.values) / avgSeries.values.length, serverRow('latencyAverage').unit, 'Milliseconds') : null,
    source: `${cloudWatch('latencyAverage')} per period, weighted by ${serverRow('requests').metricName}`,
  }));
  const maxSeries = get(SERVER.latencyMaximum);
  rows.push(info({
    id: 'server.max', side: 'server', kpi: 'latency max (target response time)', unit: 'ms',
    observed: maxSeries ? convertUnit(Math.max(...maxSeries.values), serverRow('latencyMaximum').unit, 'Milliseconds') : null,
    source: `${cloudWatch('latencyMaximum')}, peak`,
  }));
  const serverRequests = get(SERVER.requests);
  const server5xx = total(SERVER.target5xx) + total(SERVER.elb5xx);
  const serverTotal = total(SERVER.requests);
  rows.push(judge({
    id: 'server.errorRate', side: 'server', kpi: 'error rate (5xx)', unit: '%',
    observed: serverRequests && serverTotal > 0 ? (100 * server5xx) / serverTotal : null,
    sla: sla.errorRatePercent, slaKey: 'errorRatePercent', bound: 'max',
    source: `CloudWatch ${serverRow('requests').namespace}: 100 × (${serverRow('target5xx').metricName} + ${serverRow('elb5xx').metricName}) ÷ ${serverRow('requests').metricName}, sums`,
    detail: `${total(SERVER.target5xx)} target 5xx + ${total(SERVER.elb5xx)} load balancer 5xx of ${serverTotal} requests`,
  }));
  const maxOf = (key: string) => { const s = get(key); return s ? Math.max(...s.values) : null; };
  const minOf = (key: string) => { const s = get(key); return s ? Math.min(...s.values) : null; };
  const meanOf = (key: string) => { const s = get(key); return s ? sum(s.values) / s.values.length : null; };
  rows.push(judge({
    id: 'server.queueAge', side: 'server', kpi: 'age of the oldest job', unit: UNIT_SYMBOL[serverRow('queueAge').unit], observed: maxOf(SERVER.queueAge),
    sla: sla.queueAgeSeconds, slaKey: 'queueAgeSeconds', bound: 'max',
    source: `${cloudWatch('queueAge')}, peak`,
  }));
  const cpuMean = meanOf(SERVER.apiCpu);
  rows.push(judge({
    id: 'server.apiCpu', side: 'server', kpi: 'API CPU (service average, peak period)', unit: UNIT_SYMBOL[serverRow('apiCpu').unit], observed: maxOf(SERVER.apiCpu),
    sla: sla.apiCpuPercent, slaKey: 'apiCpuPercent', bound: 'max',
    source: `${cloudWatch('apiCpu')} per ${periodSeconds} s, peak`,
    detail: cpuMean === null ? undefined : `mean over the window ${fmt(cpuMean)} %`,
  }));
  rows.push(info({
    id: 'server.rps', side: 'server', kpi: 'requests/s (mean; per period on the timeline)', unit: 'req/s',
    observed: serverRequests ? serverTotal / ((input.endMs - input.startMs) / 1000) : null,
    source: `${cloudWatch('requests')} ÷ window`,
  }));
  const tasks = (id: string, kpi: string, name: ServerSeries) => {
    const lo = minOf(SERVER[name]);
    const hi = maxOf(SERVER[name]);
    rows.push(info({ id, side: 'server', kpi, unit: 'tasks', observed: hi, display: hi === null ? undefined : `${fmt(lo!)} → ${fmt(hi)}`, source: `${cloudWatch(name)}, min → max` }));
  };
  tasks('server.apiTasks', 'API running tasks', 'apiRunning');
  tasks('server.workerTasks', 'worker running tasks', 'workerRunning');
  rows.push(info({ id: 'server.apiMemory', side: 'server', kpi: 'API memory (service average, peak)', unit: UNIT_SYMBOL[serverRow('apiMemory').unit], observed: maxOf(SERVER.apiMemory), source: `${cloudWatch('apiMemory')}, peak` }));
  rows.push(info({ id: 'server.queueVisible', side: 'server', kpi: 'jobs waiting (peak)', unit: 'messages', observed: maxOf(SERVER.queueVisible), source: cloudWatch('queueVisible') }));
  rows.push(info({ id: 'server.dlq', side: 'server', kpi: 'dead-letter queue (peak)', unit: 'messages', observed: maxOf(SERVER.dlqVisible), source: `${cloudWatch('dlqVisible')} (DLQ)` }));
  rows.push(info({ id: 'server.dbCpu', side: 'server', kpi: 'Aurora writer CPU (peak)', unit: UNIT_SYMBOL[serverRow('dbWriterCpu').unit], observed: maxOf(SERVER.dbWriterCpu), source: `${cloudWatch('dbWriterCpu')}, peak` }));
  rows.push(...kpiInfoRows(lookup));

  const percentileFailures = unique([...fetched.failed.values()]);
  if (percentileFailures.length > 0) {
    notes.push(`CloudWatch percentile statistics unavailable from this endpoint (${percentileFailures.join('; ')}): client percentiles come from the runs' result files where present; server percentiles have no data.`);
  }

  const timeline = buildTimeline(input, get);
  const counts = {
    met: rows.filter((r) => r.verdict === 'pass').length,
    breached: rows.filter((r) => r.verdict === 'fail').length,
    noData: rows.filter((r) => r.verdict === 'no data').length,
  };
  const missing = rows.filter((r) => r.verdict === 'no data').map((r) => `${r.side} ${r.kpi}`);
  let verdict: GateVerdict = 'pass';
  if (counts.breached > 0) verdict = 'fail';
  else if (missing.length > 0 && input.requireAll) {
    verdict = 'fail';
    notes.push(`--require-all: ${missing.length} SLA KPI(s) without data fail the report: ${missing.join(', ')}.`);
  } else if (missing.length > 0 && !input.allowNoData) {
    verdict = 'inconclusive';
    notes.push(`inconclusive: ${missing.length} SLA KPI(s) have no data (${missing.join(', ')}), so the SLAs were not all judged. Fix: find why the metrics are missing (the dashboard link, the KPI sources), or pass --allow-no-data to judge on the rows with data.`);
  } else if (missing.length > 0) {
    notes.push(`--allow-no-data: ${missing.length} SLA KPI(s) without data are left out of the verdict: ${missing.join(', ')}.`);
  }
  const saturation: Saturation = config ? attribute(config, lookup, fmt) : { rows: [], bottleneck: null, closest: null };
  if (!config) notes.push('no configuration given: no saturation table.');
  const profile = analyseProfile({
    profile: input.profile ?? input.runs.map((r) => r.result?.result.tested?.profile ?? r.result?.result.profile).find((p) => p) ?? null,
    runs: input.runs, sla, periodSeconds, startMs: input.startMs, endMs: input.endMs, lookup, timeline,
  });
  const endpoints = endpointRows(input.runs, fetched, sla, (input.endMs - input.startMs) / 1000, input.routes);
  return { verdict, exitCode: verdict === 'fail' ? 1 : verdict === 'inconclusive' ? 3 : 0, counts, kpis: rows, endpoints, saturation, profile, timeline, notes };
}

interface InfoSpec { readonly id: string; readonly kpi: string; readonly series: SeriesName; readonly how: 'peak' | 'mean' | 'total'; readonly unit: KpiUnit; readonly show?: KpiUnit }

/**
 * The KPIs the report shows for information next to the SLA rows: network and disk I/O, database load,
 * proxy, connection pools, jobs, the worker. Each names its series; "no data" where the resource or the
 * metric is absent (no proxy, Performance Insights off, the workload's metrics not yet flowing).
 */
const INFO_ROWS: readonly InfoSpec[] = [
  { id: 'server.albBytes', kpi: 'ALB processed bytes (total)', series: 'processedBytes', how: 'total', unit: 'Bytes', show: 'Mebibytes' },
  { id: 'server.apiNetworkRx', kpi: 'API tasks network in (peak)', series: 'apiNetworkRx', how: 'peak', unit: 'Bytes/Second' },
  { id: 'server.apiNetworkTx', kpi: 'API tasks network out (peak)', series: 'apiNetworkTx', how: 'peak', unit: 'Bytes/Second' },
  { id: 'server.workerCpu', kpi: 'worker CPU (service average, peak)', series: 'workerCpu', how: 'peak', unit: 'Percent' },
  { id: 'server.workerMemory', kpi: 'worker memory (service average, peak)', series: 'workerMemory', how: 'peak', unit: 'Percent' },
  { id: 'server.workerNetworkRx', kpi: 'worker tasks network in (peak)', series: 'workerNetworkRx', how: 'peak', unit: 'Bytes/Second' },
  { id: 'server.jobProcessing', kpi: 'job processing time (average)', series: 'jobProcessingAverage', how: 'mean', unit: 'Milliseconds' },
  { id: 'server.jobProcessingMax', kpi: 'job processing time (max)', series: 'jobProcessingMaximum', how: 'peak', unit: 'Milliseconds' },
  { id: 'server.apiPoolUtilization', kpi: 'API connection pool in use (peak)', series: 'apiPoolUtilization', how: 'peak', unit: 'Percent' },
  { id: 'server.apiPoolWaiting', kpi: 'API requests waiting for a connection (peak)', series: 'apiPoolWaiting', how: 'peak', unit: 'Count' },
  { id: 'server.apiPoolAcquire', kpi: 'API pool acquire time (average)', series: 'apiPoolAcquireTime', how: 'mean', unit: 'Milliseconds' },
  { id: 'server.workerPoolUtilization', kpi: 'worker connection pool in use (peak)', series: 'workerPoolUtilization', how: 'peak', unit: 'Percent' },
  { id: 'server.dbReaderCpu', kpi: 'Aurora reader CPU (peak)', series: 'dbReaderCpu', how: 'peak', unit: 'Percent' },
  { id: 'server.dbConnections', kpi: 'Aurora writer connections (peak)', series: 'dbWriterConnections', how: 'peak', unit: 'Count' },
  { id: 'server.dbReplicaLag', kpi: 'replica lag (peak)', series: 'dbReplicaLag', how: 'peak', unit: 'Milliseconds' },
  { id: 'server.dbLoad', kpi: 'writer DB load, average active sessions (peak)', series: 'dbWriterLoad', how: 'peak', unit: 'Count' },
  { id: 'server.dbLoadCpu', kpi: 'writer DB load on CPU (peak)', series: 'dbWriterLoadCpu', how: 'peak', unit: 'Count' },
  { id: 'server.dbLoadNonCpu', kpi: 'writer DB load waiting, not on CPU (peak)', series: 'dbWriterLoadNonCpu', how: 'peak', unit: 'Count' },
  { id: 'server.dbReaderLoad', kpi: 'reader DB load (peak)', series: 'dbReaderLoad', how: 'peak', unit: 'Count' },
  { id: 'server.dbNetwork', kpi: 'writer network throughput (peak)', series: 'dbWriterNetwork', how: 'peak', unit: 'Bytes/Second' },
  { id: 'server.dbReadIops', kpi: 'writer read IOPS (peak)', series: 'dbWriterReadIops', how: 'peak', unit: 'Count/Second' },
  { id: 'server.dbWriteIops', kpi: 'writer write IOPS (peak)', series: 'dbWriterWriteIops', how: 'peak', unit: 'Count/Second' },
  { id: 'server.dbReadThroughput', kpi: 'writer disk read throughput (peak)', series: 'dbWriterReadThroughput', how: 'peak', unit: 'Bytes/Second' },
  { id: 'server.dbWriteThroughput', kpi: 'writer disk write throughput (peak)', series: 'dbWriterWriteThroughput', how: 'peak', unit: 'Bytes/Second' },
  { id: 'server.dbDiskQueue', kpi: 'writer disk queue depth (peak)', series: 'dbWriterDiskQueueDepth', how: 'peak', unit: 'Count' },
  { id: 'server.proxyClients', kpi: 'proxy client connections (peak)', series: 'proxyClientConnections', how: 'peak', unit: 'Count' },
  { id: 'server.proxyDbConnections', kpi: 'proxy database connections (peak)', series: 'proxyDatabaseConnections', how: 'peak', unit: 'Count' },
  { id: 'server.proxyPinned', kpi: 'proxy pinned connections (peak)', series: 'proxyPinned', how: 'peak', unit: 'Count' },
  { id: 'server.proxyBorrow', kpi: 'proxy borrow latency (average)', series: 'proxyBorrowLatency', how: 'mean', unit: 'Microseconds', show: 'Milliseconds' },
  { id: 'server.cacheCpu', kpi: 'cache CPU (peak)', series: 'cacheCpu', how: 'peak', unit: 'Percent' },
  { id: 'server.cacheMemory', kpi: 'cache memory (peak)', series: 'cacheMemory', how: 'peak', unit: 'Percent' },
  { id: 'server.cacheEvictions', kpi: 'cache evictions (total)', series: 'cacheEvictions', how: 'total', unit: 'Count' },
  { id: 'server.cacheHitRate', kpi: 'cache hit rate (average)', series: 'cacheHitRate', how: 'mean', unit: 'Percent' },
  { id: 'server.cacheNetworkIn', kpi: 'cache network in (total)', series: 'cacheNetworkIn', how: 'total', unit: 'Bytes', show: 'Mebibytes' },
  { id: 'server.cacheNetworkOut', kpi: 'cache network out (total)', series: 'cacheNetworkOut', how: 'total', unit: 'Bytes', show: 'Mebibytes' },
];

const HOW = { peak: 'peak', mean: 'mean over the window', total: 'sum over the window' } as const;

function kpiInfoRows(lookup: SeriesLookup): KpiRow[] {
  return INFO_ROWS.map((r) => {
    const s = lookup(r.series);
    const unit = r.show ?? r.unit;
    let value: number | null = null;
    if (s) value = r.how === 'peak' ? Math.max(...s.values) : r.how === 'total' ? sum(s.values) : sum(s.values) / s.values.length;
    const shown = value === null ? null : r.show ? convertUnit(value, r.unit, r.show) : value;
    const what = r.series in SERVER_SERIES ? `CloudWatch ${describeMetric(KPI_METRIC[SERVER_SERIES[r.series as ServerSeries].kpi])}` : `CloudWatch AWS/ElastiCache (${r.series}, combined as the dashboard does)`;
    return info({ id: r.id, side: 'server', kpi: r.kpi, unit: UNIT_SYMBOL[unit] || 'count', observed: shown, source: `${what}, ${HOW[r.how]}` });
  });
}

interface Counts { requests: number; scheduled: number; http5xx: number; errors: number; timeouts: number; dropped: number; source: string }

function clientCounters(run: RunInput, get: (k: string) => Series | undefined, total: (k: string) => number): Counts | undefined {
  const k = clientKeys(run.runId);
  if (get(k.requests) || get(k.scheduled)) {
    return {
      requests: total(k.requests), scheduled: total(k.scheduled), http5xx: total(k.http5xx), errors: total(k.errors),
      timeouts: total(k.timeouts), dropped: total(k.dropped), source: `CloudWatch ${LOADTEST_NAMESPACE} sums`,
    };
  }
  if (run.result) {
    const r = run.result.result;
    return { requests: r.sent, scheduled: r.scheduled, http5xx: r.status['5xx'], errors: r.errors, timeouts: r.timeouts, dropped: r.dropped, source: run.result.file };
  }
  return undefined;
}

function clientMeanAndMax(run: RunInput, get: (k: string) => Series | undefined, total: (k: string) => number): { mean: number; max: number; count: number; source: string } {
  const k = clientKeys(run.runId);
  const n = total(k.latencyCount);
  if (n > 0 && get(k.latencyMax)) {
    return { mean: total(k.latencySum) / n, max: Math.max(...get(k.latencyMax)!.values), count: n, source: `CloudWatch ${LOADTEST_NAMESPACE} ${LOADTEST_METRICS.latency} Sum ÷ SampleCount, Maximum` };
  }
  if (run.result) {
    const l = run.result.result.latency;
    return { mean: l.meanMs, max: l.maxMs, count: l.count, source: `${run.result.file} latency.meanMs, latency.maxMs` };
  }
  return { mean: 0, max: 0, count: 0, source: '' };
}

function clientPercentile(run: RunInput, p: 50 | 90 | 99, get: (k: string) => Series | undefined, failed: Map<string, string>): { value: number | null; source: string; reason?: string } {
  const key = clientKeys(run.runId)[`p${p}`];
  const s = get(key);
  if (s) return { value: Math.max(...s.values), source: `CloudWatch ${LOADTEST_NAMESPACE} ${LOADTEST_METRICS.latency} p${p} over the window` };
  const why = failed.has(key) ? 'CloudWatch percentiles unavailable' : 'no CloudWatch datapoints';
  if (run.result) return { value: run.result.result.latency[`p${p}Ms`], source: `${run.result.file} latency.p${p}Ms (${why})` };
  return { value: null, source: '', reason: `${why}, no result file for run ${run.runId}` };
}

function reasonFor(key: string, failed: Map<string, string>, what: string): string {
  return failed.has(key) ? `${what}: percentile unavailable (${failed.get(key)})` : `${what}: no datapoints in the window`;
}

interface RowInput {
  id: string; side: Side; kpi: string; unit: string; observed: number | null;
  sla: number; slaKey: keyof SlaConfig; bound: 'max' | 'min'; source: string; detail?: string;
}

function judge(r: RowInput): KpiRow {
  const verdict: Verdict = r.observed === null ? 'no data' : (r.bound === 'max' ? r.observed <= r.sla : r.observed >= r.sla) ? 'pass' : 'fail';
  return { ...r, display: r.observed === null ? 'no data' : `${fmt(r.observed)} ${r.unit}`, verdict };
}

function info(r: { id: string; side: Side; kpi: string; unit: string; observed: number | null; display?: string; source: string }): KpiRow {
  const display = r.observed === null ? 'no data' : `${r.display ?? fmt(r.observed)} ${r.unit}`;
  return { id: r.id, side: r.side, kpi: r.kpi, unit: r.unit, observed: r.observed, display, sla: null, slaKey: null, bound: null, verdict: 'info', source: r.source };
}

function buildTimeline(input: EvaluateInput, get: (k: string) => Series | undefined): TimelineSeries[] {
  const { periodSeconds: period, sla } = input;
  const out: TimelineSeries[] = [];
  const add = (panel: Panel, name: string, points: Array<[number, number]>, kind: 'observed' | 'sla' = 'observed') => {
    if (points.length > 0) out.push({ panel, name, kind, points });
  };
  const keys = input.runs.map((r) => clientKeys(r.runId));
  const sumOf = (pick: (k: ReturnType<typeof clientKeys>) => string) => sumByTime(keys.map((k) => get(pick(k))));
  const maxOf = (pick: (k: ReturnType<typeof clientKeys>) => string) => byTime(keys.map((k) => get(pick(k))), Math.max);
  const slaLine = (panel: Panel, value: number) => add(panel, 'SLA', [[input.startMs, value], [input.endMs, value]], 'sla');

  add('Requests/s', 'client requested', perPeriod(sumOf((k) => k.scheduled), period));
  add('Requests/s', 'client sent', perPeriod(sumOf((k) => k.requests), period));
  add('Requests/s', 'server (ALB)', perPeriod(toPoints(get(SERVER.requests)), period));

  const clientP99 = maxOf((k) => k.p99Timeline);
  if (clientP99.length > 0) add('Latency p99 (ms)', 'client p99', clientP99);
  else {
    // No percentile per period from this endpoint: the mean and maximum are what CloudWatch can give, labelled so.
    const count = sumOf((k) => k.latencyCount);
    const total = new Map(sumOf((k) => k.latencySum));
    add('Latency p99 (ms)', 'client mean (p99 unavailable)', count.filter(([t, n]) => n > 0 && total.has(t)).map(([t, n]) => [t, total.get(t)! / n]));
    add('Latency p99 (ms)', 'client max (p99 unavailable)', maxOf((k) => k.latencyMax));
  }
  const p99Unit = serverRow('p99Timeline').unit;
  add('Latency p99 (ms)', 'server p99', toPoints(get(SERVER.p99Timeline)).map(([t, v]) => [t, convertUnit(v, p99Unit, 'Milliseconds')]));
  slaLine('Latency p99 (ms)', sla.latencyP99Ms);

  const requests = sumOf((k) => k.requests);
  const failures = new Map(sumByTime(keys.flatMap((k) => [get(k.http5xx), get(k.errors), get(k.timeouts)])));
  add('Errors (%)', 'client', requests.filter(([, n]) => n > 0).map(([t, n]) => [t, (100 * (failures.get(t) ?? 0)) / n]));
  const s5xx = new Map(sumByTime([get(SERVER.target5xx), get(SERVER.elb5xx)]));
  add('Errors (%)', 'server (5xx)', toPoints(get(SERVER.requests)).filter(([, n]) => n > 0).map(([t, n]) => [t, (100 * (s5xx.get(t) ?? 0)) / n]));
  slaLine('Errors (%)', sla.errorRatePercent);

  add('Running tasks', 'API', toPoints(get(SERVER.apiRunning)));
  add('Running tasks', 'worker', toPoints(get(SERVER.workerRunning)));
  add('Queue age (s)', 'oldest job', toPoints(get(SERVER.queueAge)));
  slaLine('Queue age (s)', sla.queueAgeSeconds);
  return out;
}

function toPoints(s: Series | undefined): Array<[number, number]> {
  return s ? s.timestamps.map((t, i) => [t, s.values[i]]) : [];
}

function byTime(series: Array<Series | undefined>, combine: (a: number, b: number) => number): Array<[number, number]> {
  const m = new Map<number, number>();
  for (const s of series) for (const [t, v] of toPoints(s)) m.set(t, m.has(t) ? combine(m.get(t)!, v) : v);
  return [...m].sort((a, b) => a[0] - b[0]);
}

function sumByTime(series: Array<Series | undefined>): Array<[number, number]> {
  return byTime(series, (a, b) => a + b);
}

function perPeriod(points: Array<[number, number]>, periodSeconds: number): Array<[number, number]> {
  return points.map(([t, v]) => [t, v / periodSeconds]);
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

function unique<T>(xs: readonly T[]): T[] {
  return [...new Set(xs)];
}

/** Four significant digits, no exponent for everyday magnitudes. */
export function fmt(n: number): string {
  if (n === 0 || !Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return String(Math.round(n));
  return String(Number(n.toPrecision(4)));
}
