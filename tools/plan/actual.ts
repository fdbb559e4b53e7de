import type { SlaConfig } from '../../lib/config/schema';
import type { Phase, RunResultFile } from '../../lib/contracts/loadtest';
import { runCapacity } from '../calibrate/judge';
import { serverView, type KpiReportFile } from '../calibrate/kpi-report-file';
import { fmt } from '../kpi-report/evaluate';
import type { Simulation } from './simulate';

/**
 * Plan vs actual: the planner's prediction for the windows of a load-test run (a stress run's steps, else
 * the whole run) next to what the load generator observed, and by how much the model was off. Observed
 * figures are the client's (the result file of `npm run loadtest`); the running task counts come from a
 * KPI report's report.json when one is given (CloudWatch, so only for a deployed environment).
 */

export interface WindowComparison {
  readonly label: string;
  readonly startSeconds: number;
  readonly durationSeconds: number;
  readonly requestedRps: number;
  readonly predicted: {
    /** Mean rate the API served in the window (req/s). */
    readonly servedRps: number;
    /** Highest predicted p99 of the window (ms); null: no task served at some point. */
    readonly p99Ms: number | null;
    readonly minutesOverSla: number;
    readonly apiTasks: { readonly min: number; readonly max: number };
    readonly slaHolds: boolean;
  };
  readonly observed: {
    readonly achievedRps: number;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly errorRatePercent: number;
    readonly slaHolds: boolean;
    /** What the run broke, as the KPI report words it. */
    readonly breaches: readonly string[];
  };
  readonly off: {
    /** (observed − predicted) ÷ predicted served rate, %. */
    readonly rpsPercent: number | null;
    /** observed − predicted p99 (ms): positive when the model was optimistic. */
    readonly p99Ms: number | null;
    /** Did the model's SLA verdict match the run's? */
    readonly verdictAgrees: boolean;
  };
}

export interface ActualComparison {
  readonly resultFile: string;
  readonly runId: string | null;
  readonly profile: string | null;
  readonly windows: readonly WindowComparison[];
  /** API tasks running during the run from the KPI report (CloudWatch), with the prediction for the same span. */
  readonly tasks: {
    readonly source: string;
    readonly observed: { readonly min: number; readonly max: number } | null;
    readonly predicted: { readonly min: number; readonly max: number };
  } | null;
  readonly notes: readonly string[];
  readonly text: string;
}

/**
 * The profile a result file ran: its profile's phases when the requested rate and length match them, else
 * one constant phase at its requested rate (a `--rate --duration` run of a profile), cut to the length the
 * run had (a stress run stops early).
 */
export function phasesOfRun(result: RunResultFile, profiles: Readonly<Record<string, { readonly phases: readonly Phase[] }>>): { phases: Phase[]; note: string | null } {
  const constant = (why: string) => ({ phases: [{ durationSeconds: result.durationSeconds, arrivalRate: result.requestedRps }], note: why });
  const profile = result.profile ? profiles[result.profile] : undefined;
  if (!profile) return constant(`the run names no profile of this environment: simulated as ${fmt(result.requestedRps)} req/s for ${fmt(result.durationSeconds)} s`);
  const cut: Phase[] = [];
  let left = result.durationSeconds;
  for (const p of profile.phases) {
    if (left <= 0) break;
    const d = Math.min(p.durationSeconds, left);
    const end = p.rampTo ?? p.arrivalRate;
    cut.push(d === p.durationSeconds ? { ...p } : { durationSeconds: d, arrivalRate: p.arrivalRate, ...(p.rampTo !== undefined ? { rampTo: p.arrivalRate + ((end - p.arrivalRate) * d) / p.durationSeconds } : {}) });
    left -= d;
  }
  const total = cut.reduce((s, p) => s + p.durationSeconds, 0);
  const mean = cut.reduce((s, p) => s + (p.durationSeconds * (p.arrivalRate + (p.rampTo ?? p.arrivalRate))) / 2, 0) / total;
  // Slices round the schedule a little; a run overridden with --rate/--duration is far off in rate or length.
  if (Math.abs(mean - result.requestedRps) > 0.05 * Math.max(1, result.requestedRps) || total < result.durationSeconds - 1) {
    return constant(`the run asked for ${fmt(result.requestedRps)} req/s on average, not the ${fmt(mean)} of loadTest.profiles.${result.profile} (a --rate/--duration run): simulated as a constant ${fmt(result.requestedRps)} req/s for ${fmt(result.durationSeconds)} s`);
  }
  return { phases: cut, note: null };
}

/** The comparison, window by window. */
export function compareWithRun(sim: Simulation, resultFile: string, result: RunResultFile, sla: SlaConfig, report?: { file: string; data: KpiReportFile }): ActualComparison {
  const run = runCapacity(result, sla);
  const t0 = Date.parse(result.startedAt);
  const notes: string[] = [];
  const windows = run.windows.map((w): WindowComparison => {
    const start = Math.max(0, (Date.parse(w.startedAt) - t0) / 1000);
    const end = start + w.durationSeconds;
    const ticks = sim.timeline.filter((r) => r.t + sim.tickSeconds > start && r.t < end);
    const served = ticks.length > 0 ? ticks.reduce((s, r) => s + r.api.servedRps, 0) / ticks.length : 0;
    const p99s = ticks.map((r) => r.api.p99Ms);
    const p99 = p99s.includes(null) ? null : Math.max(0, ...(p99s as number[]));
    const over = ticks.filter((r) => r.api.overSla).length;
    const tasks = ticks.map((r) => r.api.runningTasks);
    const predictedHolds = over === 0;
    const observedHolds = w.breaches.length === 0;
    return {
      label: w.label, startSeconds: start, durationSeconds: w.durationSeconds, requestedRps: w.requestedRps,
      predicted: {
        servedRps: served, p99Ms: p99, minutesOverSla: (over * sim.tickSeconds) / 60,
        apiTasks: { min: Math.min(...tasks), max: Math.max(...tasks) }, slaHolds: predictedHolds,
      },
      observed: { achievedRps: w.achievedRps, p50Ms: w.p50Ms, p99Ms: w.p99Ms, errorRatePercent: w.errorRatePercent, slaHolds: observedHolds, breaches: w.breaches },
      off: {
        rpsPercent: served > 0 ? (100 * (w.achievedRps - served)) / served : null,
        p99Ms: p99 === null ? null : w.p99Ms - p99,
        verdictAgrees: predictedHolds === observedHolds,
      },
    };
  });
  let tasks: ActualComparison['tasks'] = null;
  const runTicks = sim.timeline.filter((r) => r.t < result.durationSeconds);
  const predictedTasks = { min: Math.min(...runTicks.map((r) => r.api.runningTasks)), max: Math.max(...runTicks.map((r) => r.api.runningTasks)) };
  if (report) {
    const view = serverView(report.file, report.data, run.windows);
    tasks = { source: `${report.file} (CloudWatch RunningTaskCount via npm run kpi-report)`, observed: view.apiTasks, predicted: predictedTasks };
    if (!view.apiTasks) notes.push(`${report.file} has no running-task data (a local run, or Container Insights off): task counts are not compared.`);
  } else {
    notes.push('observed task counts are not compared: they are in CloudWatch, not in the result file; pass --run <id> (reads CloudWatch) or --report <kpi-reports/<run>/report.json> (npm run kpi-report) for a run against a deployed environment.');
  }
  if (result.mode === 'local') notes.push('a local run measures this machine, not Fargate tasks: expect the model (built on api.capacityPerTaskRps) to be off by the difference.');
  const optimistic = windows.filter((w) => w.off.p99Ms !== null && w.off.p99Ms > 0);
  if (optimistic.length > 0) notes.push('the observed p99 includes the workload\'s own latency (database, cache, network), which the model leaves out: a gap at low load is that baseline, a gap that grows with load means the capacity (api.capacityPerTaskRps) is lower than configured; npm run calibrate measures it.');
  return {
    resultFile, runId: result.runId ?? null, profile: result.profile ?? null, windows, tasks, notes, text: renderActual(resultFile, windows, tasks, notes),
  };
}

function renderActual(file: string, windows: readonly WindowComparison[], tasks: ActualComparison['tasks'], notes: readonly string[]): string {
  const header = ['window', 'requested/s', 'served/s plan', 'achieved/s', 'off %', 'p99 ms plan', 'p99 ms run', 'off ms', 'SLA plan', 'SLA run'];
  const rows = windows.map((w) => [
    w.label, fmt(w.requestedRps), fmt(w.predicted.servedRps), fmt(w.observed.achievedRps), w.off.rpsPercent === null ? '—' : fmt(w.off.rpsPercent),
    w.predicted.p99Ms === null ? '∞' : fmt(w.predicted.p99Ms), fmt(w.observed.p99Ms), w.off.p99Ms === null ? '—' : fmt(w.off.p99Ms),
    w.predicted.slaHolds ? 'holds' : 'breaks', w.observed.slaHolds ? 'held' : 'broke',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const lines = [`Plan vs actual (${file}):`, line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  const disagree = windows.filter((w) => !w.off.verdictAgrees);
  lines.push(disagree.length === 0 ? 'The model\'s SLA verdict matched the run in every window.' : `The model's SLA verdict was wrong in ${disagree.map((w) => w.label).join(', ')}.`);
  if (tasks) lines.push(`API tasks running: plan ${tasks.predicted.min}-${tasks.predicted.max}, observed ${tasks.observed ? `${tasks.observed.min}-${tasks.observed.max}` : 'no data'} (${tasks.source})`);
  lines.push(...notes.map((n) => `Note: ${n}`));
  return lines.join('\n');
}
