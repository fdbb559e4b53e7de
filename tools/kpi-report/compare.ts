import * as path from 'path';
import type { RunResultFile, RunTested } from '../../lib/contracts/loadtest';

/** A change smaller than this share of the baseline is noise (`--noise <percent>`). */
export const DEFAULT_NOISE_PERCENT = 10;

/**
 * Below these absolute changes a KPI is unchanged whatever the percentage: 1 ms on a 3 ms p50 is 33 % and
 * means nothing; 0.05 percentage points of errors is one request in 2000.
 */
const FLOOR = { ms: 1, percent: 0.05, rps: 0.5 } as const;

export type Direction = 'lower' | 'higher';
export type Change = 'improved' | 'regressed' | 'unchanged' | 'no data';

export interface Delta {
  readonly kpi: string;
  readonly unit: keyof typeof FLOOR;
  /** Which way is better. */
  readonly better: Direction;
  readonly baseline: number | null;
  readonly current: number | null;
  readonly absolute: number | null;
  /** null when the baseline is 0 (any change is infinite) or either side has no data. */
  readonly percent: number | null;
  readonly change: Change;
}

export interface Comparison {
  /** `runId`: the file's, else its name without `.json`. */
  readonly baseline: { readonly file: string; readonly runId: string; readonly tested: RunTested | null };
  readonly current: { readonly file: string; readonly runId: string; readonly tested: RunTested | null };
  readonly noisePercent: number;
  readonly deltas: Delta[];
  /** What differs between the two runs' `tested` (a changed knob shows as configHash). */
  readonly differences: string[];
  readonly regressions: number;
  readonly improvements: number;
}

interface Figures { readonly [kpi: string]: { readonly value: number | null; readonly unit: Delta['unit']; readonly better: Direction } }

/** The KPIs a result file carries, run-wide and per endpoint. */
function figures(r: RunResultFile): Figures {
  const failures = r.status['5xx'] + r.errors + r.timeouts;
  const out: Record<string, Figures[string]> = {
    'latency p50': { value: r.latency.p50Ms, unit: 'ms', better: 'lower' },
    'latency p90': { value: r.latency.p90Ms, unit: 'ms', better: 'lower' },
    'latency p99': { value: r.latency.p99Ms, unit: 'ms', better: 'lower' },
    'latency average': { value: r.latency.meanMs, unit: 'ms', better: 'lower' },
    'latency max': { value: r.latency.maxMs, unit: 'ms', better: 'lower' },
    'error rate': { value: r.sent > 0 ? (100 * failures) / r.sent : null, unit: 'percent', better: 'lower' },
    'achieved rate (of requested)': { value: r.scheduled > 0 ? (100 * r.sent) / r.scheduled : null, unit: 'percent', better: 'higher' },
    'requests/s': { value: r.achievedRps, unit: 'rps', better: 'higher' },
  };
  if (r.breakingRps !== undefined && r.breakingRps !== null) out['breaking rps (stress)'] = { value: r.breakingRps, unit: 'rps', better: 'higher' };
  for (const e of r.endpoints ?? []) {
    const f = e.status['5xx'] + e.errors + e.timeouts;
    out[`${e.name} p99`] = { value: e.latency.p99Ms, unit: 'ms', better: 'lower' };
    out[`${e.name} error rate`] = { value: e.sent > 0 ? (100 * f) / e.sent : null, unit: 'percent', better: 'lower' };
  }
  return out;
}

/** One KPI's delta and verdict: a change within the noise threshold or the floor is unchanged. */
export function delta(kpi: string, unit: Delta['unit'], better: Direction, baseline: number | null, current: number | null, noisePercent: number): Delta {
  if (baseline === null || current === null) return { kpi, unit, better, baseline, current, absolute: null, percent: null, change: 'no data' };
  const absolute = current - baseline;
  const percent = baseline !== 0 ? (100 * absolute) / Math.abs(baseline) : null;
  const beyondNoise = Math.abs(absolute) > FLOOR[unit] && (percent === null || Math.abs(percent) > noisePercent);
  const worse = better === 'lower' ? absolute > 0 : absolute < 0;
  return { kpi, unit, better, baseline, current, absolute, percent, change: !beyondNoise ? 'unchanged' : worse ? 'regressed' : 'improved' };
}

/** Compares two runs' result files, KPI by KPI, and says what differs in what they tested. */
export function compareRuns(
  baseline: { readonly result: RunResultFile; readonly file: string },
  current: { readonly result: RunResultFile; readonly file: string },
  noisePercent = DEFAULT_NOISE_PERCENT,
): Comparison {
  const b = figures(baseline.result);
  const c = figures(current.result);
  const kpis = [...new Set([...Object.keys(b), ...Object.keys(c)])];
  const deltas = kpis.map((k) => {
    const spec = b[k] ?? c[k];
    return delta(k, spec.unit, spec.better, b[k]?.value ?? null, c[k]?.value ?? null, noisePercent);
  });
  const bt = baseline.result.tested ?? null;
  const ct = current.result.tested ?? null;
  const differences: string[] = [];
  if (!bt || !ct) differences.push(`${!bt ? baseline.file : current.file} does not say what it tested (no "tested" field): the runs may not be comparable.`);
  else {
    for (const key of ['environment', 'configHash', 'gitCommit', 'gitDirty', 'profile', 'target', 'generatorVersion', 'mode'] as const) {
      if (JSON.stringify(bt[key]) !== JSON.stringify(ct[key])) differences.push(`${key}: ${JSON.stringify(bt[key])} → ${JSON.stringify(ct[key])}`);
    }
    if (JSON.stringify(bt.phases) !== JSON.stringify(ct.phases)) differences.push('phases: the load schedules differ: the comparison is not like for like.');
  }
  return {
    baseline: { file: baseline.file, runId: baseline.result.runId ?? path.basename(baseline.file, '.json'), tested: bt },
    current: { file: current.file, runId: current.result.runId ?? path.basename(current.file, '.json'), tested: ct },
    noisePercent, deltas, differences,
    regressions: deltas.filter((d) => d.change === 'regressed').length,
    improvements: deltas.filter((d) => d.change === 'improved').length,
  };
}
