import type { SlaConfig } from '../../lib/config/schema';
import type { LoadResult, RunResultFile } from '../../lib/contracts/loadtest';
import { fmt } from '../kpi-report/evaluate';
import { errorRatePercent } from '../loadtest/summary';

/** One span of a run judged on its own: a stress step, or the whole of a run that went in one piece. */
export interface WindowVerdict {
  /** `step 3` (1-based, as the load-test CLI numbers its phases) or `whole run`. */
  readonly label: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly requestedRps: number;
  readonly achievedRps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly errorRatePercent: number;
  /** Sent ÷ scheduled (%): below `sla.minAchievedRatePercent` the generator could not offer the load. */
  readonly achievedPercent: number;
  /** Each SLA the window broke, as "<what> <observed> > <limit> (sla.<key>)"; empty when the SLA held. */
  readonly breaches: readonly string[];
}

/**
 * What one run says about the capacity of the system it loaded (all tasks together).
 * - `bracketed`: the SLA held up to `rps` and broke at the next window: the capacity lies between `rps`
 *   and the rate of the window that broke (`brokeAtRps`); `rps` is the conservative figure.
 * - `lower-bound`: the SLA held in every window, so the system served at least `rps`; how much more is
 *   unknown (a stress run that never broke, or one constant-rate run).
 * - `none`: the SLA broke in the first window: the run says nothing about the rate the system can hold.
 */
export type CapacityKind = 'bracketed' | 'lower-bound' | 'none';

export interface RunCapacity {
  readonly kind: CapacityKind;
  /** The highest achieved rate (req/s, all tasks) of the windows before the first one that broke the SLA; null for `none`. */
  readonly rps: number | null;
  /** Label of the window `rps` comes from. */
  readonly at: string | null;
  /** Requested rate of the first window that broke the SLA, null when none broke. */
  readonly brokeAtRps: number | null;
  readonly brokeAt: string | null;
  readonly windows: readonly WindowVerdict[];
  /** What the reader must know to trust the figure (e.g. a later window held again). */
  readonly notes: readonly string[];
}

type Judged = Omit<LoadResult, 'distribution'>;

/**
 * Judges one span against the client-side SLAs, as `npm run kpi-report` judges a run: latency p50, p90 and
 * p99 (from each request's intended send time), the error rate (5xx, connection errors, timeouts ÷ sent)
 * and the share of the scheduled arrivals actually sent. A window that breaks any of them is not "at the
 * SLA", so its rate cannot count as capacity.
 */
export function judgeWindow(label: string, r: Judged, sla: SlaConfig): WindowVerdict {
  const errors = errorRatePercent(r);
  const achievedPercent = r.scheduled > 0 ? (100 * r.sent) / r.scheduled : 100;
  const breaches: string[] = [];
  for (const p of [50, 90, 99] as const) {
    const observed = r.latency[`p${p}Ms`];
    const limit = sla[`latencyP${p}Ms`];
    if (observed > limit) breaches.push(`p${p} ${fmt(observed)} ms > ${limit} ms (sla.latencyP${p}Ms)`);
  }
  if (errors > sla.errorRatePercent) breaches.push(`error rate ${fmt(errors)} % > ${sla.errorRatePercent} % (sla.errorRatePercent)`);
  if (achievedPercent < sla.minAchievedRatePercent) {
    breaches.push(`sent ${fmt(achievedPercent)} % of the scheduled arrivals < ${sla.minAchievedRatePercent} % (sla.minAchievedRatePercent)`);
  }
  return {
    label,
    startedAt: r.startedAt,
    durationSeconds: r.durationSeconds,
    requestedRps: r.requestedRps,
    achievedRps: r.achievedRps,
    p50Ms: r.latency.p50Ms,
    p90Ms: r.latency.p90Ms,
    p99Ms: r.latency.p99Ms,
    errorRatePercent: errors,
    achievedPercent,
    breaches,
  };
}

/**
 * The capacity a run shows at the SLA: the highest achieved rate among the windows before the first one
 * that broke it. Windows are the run's steps when the file has them (`phaseResults`, written by stress
 * runs), else the whole run. Rates are of the whole system (every task behind the target): the caller
 * divides by the tasks.
 *
 * The windows after the first break do not count even when one held again: the load-test CLI only keeps
 * going past a latency breach (its stop rule looks at errors and the achieved rate), and a rate that held
 * after a lower one broke is noise or warm-up, not capacity.
 */
export function runCapacity(file: RunResultFile, sla: SlaConfig): RunCapacity {
  const steps = file.phaseResults && file.phaseResults.length > 0 ? file.phaseResults : undefined;
  const windows = steps ? steps.map((s, i) => judgeWindow(`step ${i + 1}`, s, sla)) : [judgeWindow('whole run', file, sla)];
  const notes: string[] = [];
  const firstBreak = windows.findIndex((w) => w.breaches.length > 0);
  const held = firstBreak === -1 ? windows : windows.slice(0, firstBreak);
  const broke = firstBreak === -1 ? undefined : windows[firstBreak];

  if (broke) {
    const heldLater = windows.slice(firstBreak + 1).filter((w) => w.breaches.length === 0);
    if (heldLater.length > 0) {
      notes.push(`${heldLater.map((w) => w.label).join(', ')} held the SLA again after ${broke.label} broke it; the capacity is taken below the first break. Rerun to see whether ${broke.label} was a blip.`);
    }
  }
  if (file.breakingRps !== undefined && file.breakingRps !== null && broke && broke.requestedRps < file.breakingRps - 1e-9) {
    notes.push(`the load test reported breaking_rps=${file.breakingRps} (its stop rule: error rate and achieved rate); ${broke.label} at ${fmt(broke.requestedRps)} req/s already broke the latency SLA.`);
  }
  if (!steps && file.profile === 'stress') {
    notes.push('a stress run without per-step results (phaseResults): judged as one window, the steps cannot be told apart.');
  }
  if (!steps) {
    notes.push("one window: its achieved rate is the run's mean, so a run that ramped (the load and spike profiles) held more than that at its peak; a constant run (--rate N --duration S) or a stress run gives the cleaner figure.");
  }

  if (held.length === 0) {
    return { kind: 'none', rps: null, at: null, brokeAtRps: broke!.requestedRps, brokeAt: broke!.label, windows, notes };
  }
  const best = held.reduce((a, w) => (w.achievedRps > a.achievedRps ? w : a));
  if (!broke) {
    notes.push(windows.length > 1
      ? `no step broke the SLA: the system holds at least ${fmt(best.achievedRps)} req/s; add higher steps to loadTest.profiles.stress to find where it breaks.`
      : `one window that held the SLA: ${fmt(best.achievedRps)} req/s is a lower bound of the capacity, not the capacity; run the stress profile to find where the SLA breaks.`);
  }
  return {
    kind: broke ? 'bracketed' : 'lower-bound',
    rps: best.achievedRps,
    at: best.label,
    brokeAtRps: broke?.requestedRps ?? null,
    brokeAt: broke?.label ?? null,
    windows,
    notes,
  };
}

