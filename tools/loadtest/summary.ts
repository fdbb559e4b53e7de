import { STATUS_CLASSES, type Counters, type EndpointResult, type LoadResult, type StatusCounts } from '../../lib/contracts/loadtest';
import { addDistribution, createHistogram, ENDPOINT_MAX_VALUES, rebucket, RESULT_MAX_VALUES, summarize, toDistribution } from '../../lib/load-engine/histogram';

/**
 * Merges the results of workers running side by side and of slices running one after the other. The
 * duration is the union of their time spans (parallel workers count once, the gaps between slices not at
 * all), so achieved and requested rates are rates of the whole fleet while it was generating load.
 */
export function mergeResults(results: readonly LoadResult[]): LoadResult {
  if (results.length === 0) throw new Error('mergeResults: no results to merge');
  if (results.length === 1) return results[0];
  const spans = results
    .map((r) => {
      const start = Date.parse(r.startedAt);
      return [start, start + r.durationSeconds * 1000] as const;
    })
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let [from, to] = spans[0];
  for (const [s, e] of spans.slice(1)) {
    if (s > to) {
      covered += to - from;
      [from, to] = [s, e];
    } else to = Math.max(to, e);
  }
  covered += to - from;
  const durationSeconds = covered / 1000;

  const sum = (f: (r: LoadResult) => number) => results.reduce((acc, r) => acc + f(r), 0);
  const status = Object.fromEntries(STATUS_CLASSES.map((k) => [k, sum((r) => r.status[k])])) as StatusCounts;
  const histogram = createHistogram();
  for (const r of results) addDistribution(histogram, r.distribution);
  const targets = [...new Set(results.map((r) => r.target))];
  const sent = sum((r) => r.sent);
  const requested = sum((r) => r.requestedRps * r.durationSeconds);
  const warnings = results.flatMap((r) => r.warnings ?? []);
  const endpoints = mergeEndpoints(results, durationSeconds);
  return {
    target: targets.join(' '),
    startedAt: new Date(spans[0][0]).toISOString(),
    durationSeconds: round(durationSeconds, 3),
    requestedRps: round(durationSeconds > 0 ? requested / durationSeconds : 0, 3),
    achievedRps: round(durationSeconds > 0 ? sent / durationSeconds : 0, 3),
    scheduled: sum((r) => r.scheduled),
    sent,
    completed: sum((r) => r.completed),
    dropped: sum((r) => r.dropped),
    timeouts: sum((r) => r.timeouts),
    errors: sum((r) => r.errors),
    status,
    latency: summarize(histogram),
    distribution: rebucket(toDistribution(histogram), RESULT_MAX_VALUES),
    ...(warnings.length > 0 && { warnings }),
    ...(endpoints && { endpoints }),
    ...(results.some((r) => r.stopped) && { stopped: true }),
  };
}

/** Per-endpoint results merged by entry name (in first-seen order); rates over the merged duration. */
function mergeEndpoints(results: readonly LoadResult[], durationSeconds: number): EndpointResult[] | undefined {
  if (!results.some((r) => r.endpoints)) return undefined;
  const byName = new Map<string, EndpointResult[]>();
  for (const r of results) for (const e of r.endpoints ?? []) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  return [...byName.values()].map((parts) => {
    const sum = (f: (e: EndpointResult) => number) => parts.reduce((acc, e) => acc + f(e), 0);
    const histogram = createHistogram();
    for (const e of parts) addDistribution(histogram, e.distribution);
    const sent = sum((e) => e.sent);
    return {
      name: parts[0].name,
      method: parts[0].method,
      path: parts[0].path,
      sent,
      completed: sum((e) => e.completed),
      timeouts: sum((e) => e.timeouts),
      errors: sum((e) => e.errors),
      status: Object.fromEntries(STATUS_CLASSES.map((k) => [k, sum((e) => e.status[k])])) as StatusCounts,
      achievedRps: round(durationSeconds > 0 ? sent / durationSeconds : 0, 3),
      latency: summarize(histogram),
      distribution: rebucket(toDistribution(histogram), ENDPOINT_MAX_VALUES),
    };
  });
}

/** One line per request-mix entry for the human summary. */
export function endpointLines(result: LoadResult): string[] {
  const rows = result.endpoints ?? [];
  if (rows.length === 0) return [];
  const width = Math.max(...rows.map((e) => e.name.length));
  return [
    'per endpoint',
    ...rows.map((e) => {
      const failures = e.status['5xx'] + e.errors + e.timeouts;
      const rate = e.sent > 0 ? (failures / e.sent) * 100 : 0;
      return `  ${e.name.padEnd(width)}  ${e.method} ${e.path}  ${e.achievedRps.toFixed(1)} req/s  p50 ${e.latency.p50Ms.toFixed(2)}  p90 ${e.latency.p90Ms.toFixed(2)}  p99 ${e.latency.p99Ms.toFixed(2)} ms  sent ${e.sent}  4xx ${e.status['4xx']}  5xx ${e.status['5xx']}  errors ${e.errors}  timeouts ${e.timeouts}  error rate ${rate.toFixed(2)} %`;
    }),
  ];
}

/**
 * The stable last line of every run, `key=value` separated by spaces, for scripts and CI to parse:
 * `achieved_rps=… requested_rps=… p50_ms=… p90_ms=… p99_ms=… max_ms=… sent=… errors=… timeouts=… dropped=… 2xx=… 3xx=… 4xx=… 5xx=…`.
 * `extra` pairs (e.g. `breaking_rps` of a stress run) are appended after them.
 */
export function summaryLine(result: LoadResult, extra: Readonly<Record<string, string | number>> = {}): string {
  const fields: Array<[string, string | number]> = [
    ['achieved_rps', result.achievedRps.toFixed(1)],
    ['requested_rps', result.requestedRps.toFixed(1)],
    ['p50_ms', result.latency.p50Ms.toFixed(2)],
    ['p90_ms', result.latency.p90Ms.toFixed(2)],
    ['p99_ms', result.latency.p99Ms.toFixed(2)],
    ['max_ms', result.latency.maxMs.toFixed(2)],
    ['sent', result.sent],
    ['errors', result.errors],
    ['timeouts', result.timeouts],
    ['dropped', result.dropped],
    ['2xx', result.status['2xx']],
    ['3xx', result.status['3xx']],
    ['4xx', result.status['4xx']],
    ['5xx', result.status['5xx']],
    ...Object.entries(extra),
  ];
  return fields.map(([k, v]) => `${k}=${v}`).join(' ');
}

/** Failed requests (5xx, connection errors, timeouts) as a share of those sent (%), as the SLA counts them. */
export function errorRatePercent(c: Counters): number {
  return c.sent > 0 ? ((c.status['5xx'] + c.errors + c.timeouts) / c.sent) * 100 : 0;
}

export interface SlaLimits {
  readonly errorRatePercent: number;
  readonly minAchievedRatePercent: number;
}

/**
 * The stress test's stop rule: why a phase broke the SLA (its error rate above `errorRatePercent`, or its
 * achieved rate below `minAchievedRatePercent` of the requested one), or undefined if it held.
 */
export function slaBreach(result: LoadResult, sla: SlaLimits): string | undefined {
  const errors = errorRatePercent(result);
  if (errors > sla.errorRatePercent) return `error rate ${errors.toFixed(2)} % > ${sla.errorRatePercent} %`;
  const achieved = result.requestedRps > 0 ? (result.achievedRps / result.requestedRps) * 100 : 100;
  if (achieved < sla.minAchievedRatePercent) {
    return `achieved ${result.achievedRps.toFixed(1)} req/s = ${achieved.toFixed(1)} % of the requested ${result.requestedRps.toFixed(1)} (< ${sla.minAchievedRatePercent} %)`;
  }
  return undefined;
}

/** The human summary printed before the summary line. */
export function humanSummary(result: LoadResult): string {
  const l = result.latency;
  const pct = (n: number) => (result.sent > 0 ? ` (${((n / result.sent) * 100).toFixed(2)} %)` : '');
  return [
    `duration        ${result.durationSeconds.toFixed(1)} s from ${result.startedAt}`,
    `rate            ${result.achievedRps.toFixed(1)} req/s achieved of ${result.requestedRps.toFixed(1)} requested (${result.scheduled} arrivals, ${result.sent} sent, ${result.dropped} dropped at the concurrency cap)`,
    `latency (ms)    p50 ${l.p50Ms.toFixed(2)}  p90 ${l.p90Ms.toFixed(2)}  p99 ${l.p99Ms.toFixed(2)}  max ${l.maxMs.toFixed(2)}  (from intended send time, ${l.count} responses)`,
    `responses       2xx ${result.status['2xx']}  3xx ${result.status['3xx']}  4xx ${result.status['4xx']}  5xx ${result.status['5xx']}${pct(result.status['5xx'])}`,
    `failures        errors ${result.errors}${pct(result.errors)}  timeouts ${result.timeouts}${pct(result.timeouts)}  error rate ${errorRatePercent(result).toFixed(2)} %`,
  ].join('\n');
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
