import type { SlaConfig } from '../../lib/config/schema';
import { convertUnit, describeMetric, KPI_METRIC, UNIT_SYMBOL, type KpiMetricRow } from '../../lib/contracts/kpi-catalogue';
import { LOADTEST_METRICS, LOADTEST_NAMESPACE, type LoadResult } from '../../lib/contracts/loadtest';
import { clientKeys, SERVER, SERVER_SERIES, type FetchResult, type Series, type ServerSeries } from './fetch';

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
  readonly result?: { readonly result: LoadResult; readonly file: string };
}

export interface EvaluateInput {
  readonly envName: string;
  readonly runs: readonly RunInput[];
  readonly startMs: number;
  readonly endMs: number;
  readonly periodSeconds: number;
  readonly sla: SlaConfig;
  readonly fetched: FetchResult;
  /** `no data` on an SLA row fails the report too. */
  readonly requireAll: boolean;
}

export interface Evaluation {
  readonly verdict: 'pass' | 'fail';
  /** 0 every SLA met, 1 an SLA breached (or, with requireAll, without data). */
  readonly exitCode: 0 | 1;
  readonly kpis: KpiRow[];
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
  const { fetched, sla, periodSeconds } = input;
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

  const percentileFailures = unique([...fetched.failed.values()]);
  if (percentileFailures.length > 0) {
    notes.push(`CloudWatch percentile statistics unavailable from this endpoint (${percentileFailures.join('; ')}): client percentiles come from the runs' result files where present; server percentiles have no data.`);
  }

  const timeline = buildTimeline(input, get);
  const breached = rows.some((r) => r.verdict === 'fail');
  const missing = rows.filter((r) => r.verdict === 'no data');
  if (input.requireAll && missing.length > 0) notes.push(`--require-all: ${missing.length} SLA KPI(s) without data fail the report: ${missing.map((r) => `${r.side} ${r.kpi}`).join(', ')}.`);
  const fail = breached || (input.requireAll && missing.length > 0);
  return { verdict: fail ? 'fail' : 'pass', exitCode: fail ? 1 : 0, kpis: rows, timeline, notes };
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
