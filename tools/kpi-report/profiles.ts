import type { SlaConfig } from '../../lib/config/schema';
import { convertUnit, KPI_METRIC } from '../../lib/contracts/kpi-catalogue';
import type { RunInput, TimelineSeries } from './evaluate';
import type { SeriesLookup } from './series';

/**
 * Soak drift limits: a last-window p99 more than SOAK_P99_DRIFT_PERCENT above the first (and by more than
 * SOAK_P99_DRIFT_MIN_MS, below which it is noise), an error rate up by more than half the SLA, or a memory
 * slope that would fill the task within SOAK_MEMORY_HORIZON_HOURS.
 */
export const SOAK_P99_DRIFT_PERCENT = 20;
export const SOAK_P99_DRIFT_MIN_MS = 10;
export const SOAK_MEMORY_HORIZON_HOURS = 24;
/** The share of the window each end of a soak is compared over (at least one period). */
export const SOAK_WINDOW_SHARE = 0.1;
/** A spike starts at the first period whose rate is at least this many times the first period's. */
export const SPIKE_FACTOR = 2;

type Points = Array<[number, number]>;

export interface ProfileAnalysis {
  readonly profile: string;
  readonly kind: 'stress' | 'spike' | 'soak' | 'other';
  /** One line: what the analysis found. */
  readonly verdict: string;
  /** Named figures (null: not measurable from the data). */
  readonly figures: Readonly<Record<string, number | string | null>>;
  readonly notes: readonly string[];
}

export interface ProfileInput {
  readonly profile: string | null;
  readonly runs: readonly RunInput[];
  readonly sla: SlaConfig;
  readonly periodSeconds: number;
  readonly startMs: number;
  readonly endMs: number;
  readonly lookup: SeriesLookup;
  readonly timeline: readonly TimelineSeries[];
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());
const line = (timeline: readonly TimelineSeries[], panel: string, name: string): Points => timeline.find((t) => t.panel === panel && t.name === name)?.points ?? [];

/** p99 per period (ms): the client's where CloudWatch computed it, else the server's (ALB). */
function p99Points(input: ProfileInput): { points: Points; from: string } {
  const client = line(input.timeline, 'Latency p99 (ms)', 'client p99');
  if (client.length > 0) return { points: client, from: 'client p99 per period' };
  const server = input.lookup('p99Timeline');
  if (server) return { points: server.timestamps.map((t, i) => [t, convertUnit(server.values[i], KPI_METRIC.latencyP99.unit, 'Milliseconds')]), from: 'server (ALB) p99 per period' };
  return { points: [], from: 'no p99 per period' };
}

function ratePoints(input: ProfileInput): { points: Points; from: string } {
  const client = line(input.timeline, 'Requests/s', 'client sent');
  if (client.length > 0) return { points: client, from: 'client sent/s' };
  return { points: line(input.timeline, 'Requests/s', 'server (ALB)'), from: 'server (ALB) requests/s' };
}

/** The analysis the run's profile calls for: stress → knee and breaking rate, spike → recovery, soak → drift. */
export function analyseProfile(input: ProfileInput): ProfileAnalysis | null {
  const p = input.profile;
  if (!p) return null;
  if (p === 'stress') return stress(input, p);
  if (p === 'spike') return spike(input, p);
  if (p === 'soak') return soak(input, p);
  return null;
}

function stress(input: ProfileInput, profile: string): ProfileAnalysis {
  const { sla } = input;
  const result = input.runs.map((r) => r.result).find((r) => r?.result.phaseResults && r.result.phaseResults.length > 0);
  const notes: string[] = [];
  let knee: number | null = null;
  let kneeAt: number | null = null;
  let breaking: number | null = input.runs.map((r) => r.result?.result.breakingRps).find((b) => b !== undefined && b !== null) ?? null;
  let from: string;
  if (result) {
    from = `${result.file} phaseResults`;
    for (const phase of result.result.phaseResults!) {
      const failures = phase.status['5xx'] + phase.errors + phase.timeouts;
      const errorRate = phase.sent > 0 ? (100 * failures) / phase.sent : 0;
      const achieved = phase.requestedRps > 0 ? (100 * phase.achievedRps) / phase.requestedRps : 100;
      if (knee === null && phase.latency.p99Ms > sla.latencyP99Ms) {
        knee = phase.requestedRps;
        kneeAt = Date.parse(phase.startedAt);
      }
      if (breaking === null && (errorRate > sla.errorRatePercent || achieved < sla.minAchievedRatePercent)) breaking = phase.requestedRps;
    }
  } else {
    const p99 = p99Points(input);
    const rate = new Map(ratePoints(input).points);
    from = p99.from;
    const first = p99.points.find(([, v]) => v > sla.latencyP99Ms);
    if (first) {
      kneeAt = first[0];
      knee = rate.get(first[0]) ?? null;
      if (knee === null) notes.push('the knee\'s period has no request rate: the rate at the knee is unknown.');
    }
    if (p99.points.length === 0) notes.push('no p99 per period (moto computes no percentiles; a run without per-phase results): the knee cannot be placed.');
  }
  const verdict = knee === null
    ? (breaking === null ? `p99 stayed within ${sla.latencyP99Ms} ms and no phase broke the SLAs: the system held the highest rate tested` : `no knee in p99, but the SLAs broke at ${breaking} req/s`)
    : `knee at ${round(knee)} req/s (p99 first over ${sla.latencyP99Ms} ms at ${iso(kneeAt)}); breaking_rps ${breaking === null ? 'not reached' : round(breaking)}`;
  return { profile, kind: 'stress', verdict, figures: { kneeRps: knee === null ? null : round(knee), kneeAt: iso(kneeAt), breakingRps: breaking, source: from }, notes };
}

function spike(input: ProfileInput, profile: string): ProfileAnalysis {
  const { sla } = input;
  const rate = ratePoints(input).points;
  const p99 = p99Points(input);
  const notes: string[] = [];
  const base = rate.find(([, v]) => v > 0)?.[1];
  const startAt = base === undefined ? null : rate.find(([, v]) => v >= SPIKE_FACTOR * base)?.[0] ?? null;
  if (startAt === null) {
    return { profile, kind: 'spike', verdict: `no spike found in the request rate (no period at ${SPIKE_FACTOR}× the first)`, figures: {}, notes };
  }
  const after = p99.points.filter(([t]) => t >= startAt);
  const breach = after.find(([, v]) => v > sla.latencyP99Ms);
  const recovered = breach ? after.find(([t, v]) => t > breach[0] && v <= sla.latencyP99Ms) : undefined;
  const running = input.lookup('apiRunning');
  const desired = input.lookup('apiDesired');
  const at = (s: typeof running, t: number) => (s ? s.values[s.timestamps.findIndex((x) => x >= t)] ?? null : null);
  const before = at(running, startAt);
  const firstAbove = (s: typeof running) => (s && before !== null ? s.timestamps.find((t, i) => t >= startAt && s.values[i] >= before + 0.5) ?? null : null);
  const desiredUp = firstAbove(desired);
  const runningUp = firstAbove(running);
  const peakTasks = running ? Math.max(...running.values.filter((_, i) => running.timestamps[i] >= startAt)) : null;
  if (p99.points.length === 0) notes.push('no p99 per period: the recovery time cannot be measured.');
  const recoverySeconds = breach ? (recovered ? (recovered[0] - startAt) / 1000 : null) : 0;
  const verdict = p99.points.length === 0 ? 'recovery unknown (no p99 per period)'
    : !breach ? `p99 stayed within ${sla.latencyP99Ms} ms through the spike`
      : recovered ? `p99 back under ${sla.latencyP99Ms} ms ${recoverySeconds} s after the spike started`
        : `p99 still over ${sla.latencyP99Ms} ms at the end of the window`;
  return {
    profile, kind: 'spike', verdict, notes,
    figures: {
      spikeStartAt: iso(startAt), p99BreachAt: iso(breach?.[0] ?? null), p99RecoveredAt: iso(recovered?.[0] ?? null), recoverySeconds,
      tasksBefore: before, tasksPeak: peakTasks,
      desiredUpAfterSeconds: desiredUp === null ? null : (desiredUp - startAt) / 1000,
      runningUpAfterSeconds: runningUp === null ? null : (runningUp - startAt) / 1000,
      source: p99.from,
    },
  };
}

function soak(input: ProfileInput, profile: string): ProfileAnalysis {
  const { sla } = input;
  const p99 = p99Points(input);
  const errors = line(input.timeline, 'Errors (%)', 'client').length > 0 ? line(input.timeline, 'Errors (%)', 'client') : line(input.timeline, 'Errors (%)', 'server (5xx)');
  const ends = (points: Points) => {
    if (points.length < 2) return null;
    const n = Math.max(1, Math.floor(points.length * SOAK_WINDOW_SHARE));
    const mean = (xs: Points) => xs.reduce((a, [, v]) => a + v, 0) / xs.length;
    return { first: mean(points.slice(0, n)), last: mean(points.slice(-n)) };
  };
  const lat = ends(p99.points);
  const err = ends(errors);
  const memory = input.lookup('apiMemory');
  const slope = memory && memory.values.length >= 3 ? slopePerHour(memory.timestamps, memory.values) : null;
  const lastMemory = memory ? memory.values[memory.values.length - 1] : null;
  const hoursToFull = slope !== null && slope > 0 && lastMemory !== null ? (100 - lastMemory) / slope : null;
  const findings: string[] = [];
  if (lat && lat.last - lat.first > SOAK_P99_DRIFT_MIN_MS && lat.last > lat.first * (1 + SOAK_P99_DRIFT_PERCENT / 100)) findings.push(`p99 rose from ${round(lat.first)} to ${round(lat.last)} ms`);
  if (err && err.last - err.first > sla.errorRatePercent / 2) findings.push(`error rate rose from ${round(err.first)} % to ${round(err.last)} %`);
  if (hoursToFull !== null && hoursToFull < SOAK_MEMORY_HORIZON_HOURS) findings.push(`API memory grows ${round(slope!)} %/h: full in ${round(hoursToFull)} h`);
  const notes: string[] = [];
  if (!lat) notes.push('no p99 per period: latency drift not measured.');
  if (!memory) notes.push('no API memory series: the memory slope is not measured.');
  const verdict = findings.length > 0 ? `drift: ${findings.join('; ')}` : !lat && !memory ? 'inconclusive: neither p99 nor memory per period' : 'stable: no drift in p99, error rate or memory';
  return {
    profile, kind: 'soak', verdict, notes,
    figures: {
      p99FirstMs: lat ? round(lat.first) : null, p99LastMs: lat ? round(lat.last) : null,
      errorRateFirstPercent: err ? round(err.first) : null, errorRateLastPercent: err ? round(err.last) : null,
      memorySlopePercentPerHour: slope === null ? null : round(slope), hoursToFullMemory: hoursToFull === null ? null : round(hoursToFull),
      source: p99.from,
    },
  };
}

/** Least-squares slope of values over time, per hour. */
export function slopePerHour(timestamps: readonly number[], values: readonly number[]): number {
  const hours = timestamps.map((t) => (t - timestamps[0]) / 3600_000);
  const n = values.length;
  const mx = hours.reduce((a, b) => a + b, 0) / n;
  const my = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (hours[i] - mx) * (values[i] - my);
    den += (hours[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

function round(n: number): number {
  return Number(n.toPrecision(4));
}
