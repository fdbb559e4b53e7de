import type { Phase } from '../../lib/contracts/loadtest';
import { peakRate } from '../../lib/load-engine/schedule';

/** The fan-out limits of `loadTest` in the configuration. */
export interface FanOutLimits {
  /** Arrivals per second one worker is trusted to sustain. */
  readonly maxRatePerWorker: number;
  /** Workers one test may run side by side (the cap on workers side by side; also the Lambda's reserved concurrency with loadTest.reserveConcurrency). */
  readonly maxWorkers: number;
  /** Longest run of one invocation (s); longer schedules run as consecutive slices. */
  readonly sliceSeconds: number;
}

/** What every worker runs during one slice; all `workers` of a slice run the same phases side by side. */
export interface Slice {
  readonly index: number;
  /** Offset of the slice from the start of the test (s). */
  readonly startSeconds: number;
  readonly durationSeconds: number;
  /** The phases of ONE worker: the profile's rates divided by the number of workers. */
  readonly phases: Phase[];
}

export interface LoadPlan {
  readonly workers: number;
  /** Highest total rate the profile asks for (req/s). */
  readonly peakRps: number;
  readonly durationSeconds: number;
  readonly slices: Slice[];
}

/** The profile cannot run within the limits; the message says which limit and how to change it. */
export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/**
 * Splits a schedule for the load-generator Lambda: workers = ceil(peak rate / maxRatePerWorker) (at least
 * one), each running 1/workers of every phase's rate; the timeline is cut into consecutive slices of at
 * most `sliceSeconds` (a ramp cut in two continues at the rate where it was cut), short phases sharing a
 * slice. A soak test of hours is then a sequence of invocations of the same workers.
 */
export function planFanOut(phases: readonly Phase[], limits: FanOutLimits): LoadPlan {
  if (phases.length === 0) throw new PlanError('the profile has no phases');
  const peakRps = peakRate(phases);
  const workers = Math.max(1, Math.ceil(peakRps / limits.maxRatePerWorker - 1e-9));
  if (workers > limits.maxWorkers) {
    throw new PlanError(
      `the profile peaks at ${peakRps} req/s: at loadTest.maxRatePerWorker = ${limits.maxRatePerWorker} it needs ${workers} workers, ` +
        `but loadTest.maxWorkers = ${limits.maxWorkers}. Fix: raise loadTest.maxWorkers to ${workers} (the cap on workers side by side), ` +
        `raise loadTest.maxRatePerWorker to ${Math.ceil(peakRps / limits.maxWorkers)}, or lower the rate.`,
    );
  }
  const slices: Slice[] = [];
  let current: Phase[] = [];
  let used = 0;
  let start = 0;
  const close = () => {
    if (current.length === 0) return;
    slices.push({ index: slices.length, startSeconds: start, durationSeconds: used, phases: current });
    start += used;
    current = [];
    used = 0;
  };
  for (const p of phases) {
    const end = p.rampTo ?? p.arrivalRate;
    const rateAt = (t: number) => p.arrivalRate + ((end - p.arrivalRate) * t) / p.durationSeconds;
    let offset = 0;
    while (offset < p.durationSeconds - 1e-9) {
      if (used >= limits.sliceSeconds - 1e-9) close();
      const take = Math.min(p.durationSeconds - offset, limits.sliceSeconds - used);
      const from = rateAt(offset);
      const to = rateAt(offset + take);
      current.push({
        durationSeconds: take,
        arrivalRate: perWorker(from, workers),
        ...(p.rampTo !== undefined && p.rampTo !== p.arrivalRate && { rampTo: perWorker(to, workers) }),
      });
      used += take;
      offset += take;
    }
  }
  close();
  return { workers, peakRps, durationSeconds: start, slices };
}

/** `--rate R --duration S` replace a profile's phases with one constant phase. */
export function overridePhases(phases: readonly Phase[], override: { rate?: number; durationSeconds?: number }): Phase[] {
  const { rate, durationSeconds } = override;
  if (rate === undefined && durationSeconds === undefined) return [...phases];
  if (rate === undefined || durationSeconds === undefined) {
    throw new PlanError('--rate and --duration go together: give both (one constant phase replaces the profile), or neither.');
  }
  if (!(rate > 0)) throw new PlanError(`--rate = ${rate}: must be a number of requests per second > 0.`);
  if (!(durationSeconds > 0)) throw new PlanError(`--duration = ${durationSeconds}: must be a number of seconds > 0.`);
  return [{ durationSeconds, arrivalRate: rate }];
}

function perWorker(rate: number, workers: number): number {
  return Math.round((rate / workers) * 1e6) / 1e6;
}
