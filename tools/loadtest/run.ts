import { planFanOut, type FanOutLimits, type LoadPlan, type Slice } from './plan';
import { mergeResults, slaBreach, type SlaLimits } from './summary';
import type { LoadResult, LoadWorkerEvent, Phase } from '../../lib/contracts/loadtest';
import { peakRate } from '../../lib/load-engine/schedule';

/** Runs one worker's event and returns its result: the Lambda in production, the handler itself in tests. */
export type Invoker = (event: LoadWorkerEvent) => Promise<LoadResult>;

/** The run as a whole; each worker's event is cut from it (`LoadWorkerEvent`). */
export interface RemoteRunOptions extends Pick<LoadWorkerEvent, 'runId' | 'envName' | 'target' | 'mix' | 'timeoutMs'> {
  /** The whole schedule; each worker gets its share of a slice of it. */
  readonly phases: readonly Phase[];
  readonly limits: FanOutLimits;
  readonly maxConcurrencyPerWorker: number;
  readonly invoke: Invoker;
  /** Seed of the first worker of the first slice; the others derive from it. @default - random */
  readonly seed?: number;
  readonly onPlan?: (plan: LoadPlan) => void;
  readonly onSlice?: (slice: Slice, plan: LoadPlan, result: LoadResult) => void;
  /** Aborted: start no further slice (the workers of the current one are stopped by the stop flag). */
  readonly signal?: AbortSignal;
}

/**
 * Fan-out: plans the schedule (workers × slices), invokes every worker of a slice in parallel, waits for
 * the slice, then starts the next; the workers' and slices' results merge into one. A failed invocation
 * fails the run (after the other workers of its slice have finished). A slice whose workers were stopped
 * (the stop flag), or an aborted `signal`, ends the run with what it has.
 */
export async function runRemote(o: RemoteRunOptions): Promise<LoadResult> {
  const plan = planFanOut(o.phases, o.limits);
  o.onPlan?.(plan);
  const seed = o.seed ?? (Math.random() * 2 ** 31) >>> 0;
  const results: LoadResult[] = [];
  for (const slice of plan.slices) {
    const settled = await Promise.allSettled(
      Array.from({ length: plan.workers }, (_, workerIndex) =>
        o.invoke({
          runId: o.runId,
          envName: o.envName,
          target: o.target,
          phases: slice.phases,
          mix: o.mix,
          maxConcurrency: o.maxConcurrencyPerWorker,
          timeoutMs: o.timeoutMs,
          workerIndex,
          workers: plan.workers,
          seed: (seed + slice.index * 100_003 + workerIndex * 7919) >>> 0,
        }),
      ),
    );
    const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [`worker ${i}: ${s.reason instanceof Error ? s.reason.message : String(s.reason)}`] : []));
    if (failed.length > 0) throw new Error(`slice ${slice.index + 1}/${plan.slices.length} failed: ${failed.join('; ')}`);
    const sliceResult = mergeResults(settled.map((s) => (s as PromiseFulfilledResult<LoadResult>).value));
    o.onSlice?.(slice, plan, sliceResult);
    results.push(sliceResult);
    if (sliceResult.stopped || o.signal?.aborted) break;
  }
  return mergeResults(results);
}

export interface ProfileOutcome {
  readonly result: LoadResult;
  /** One result per phase when the profile ran phase by phase (stopWhenSlaBreaks). */
  readonly phaseResults?: readonly LoadResult[];
  /** Requested rate of the first phase that broke the SLA; null when every phase held. Stress runs only. */
  readonly breakingRps?: number | null;
  readonly breach?: string;
  /** The run ended early (a signal, or `npm run loadtest -- stop`). */
  readonly stopped?: boolean;
}

/**
 * Runs a profile. With `stopWhenSlaBreaks` (stress) it runs phase by phase and stops after the first phase
 * whose error rate exceeds `sla.errorRatePercent` or whose achieved rate is below `sla.minAchievedRatePercent`
 * of the requested one: that phase's rate is the breaking rate.
 */
export async function runProfile(
  phases: readonly Phase[],
  stopWhenSlaBreaks: boolean,
  sla: SlaLimits,
  run: (phases: readonly Phase[], phaseIndex?: number) => Promise<LoadResult>,
  onPhase?: (phaseIndex: number, result: LoadResult, breach: string | undefined) => void,
  signal?: AbortSignal,
): Promise<ProfileOutcome> {
  if (!stopWhenSlaBreaks) {
    const result = await run(phases);
    return { result, ...((result.stopped || signal?.aborted) && { stopped: true }) };
  }
  const phaseResults: LoadResult[] = [];
  for (let i = 0; i < phases.length; i++) {
    const r = await run([phases[i]], i);
    phaseResults.push(r);
    const stopped = Boolean(r.stopped || signal?.aborted);
    // A phase cut short proves nothing about its rate: judged only when it ran whole.
    const breach = stopped ? undefined : slaBreach(r, sla);
    onPhase?.(i, r, breach);
    if (breach) return { result: mergeResults(phaseResults), phaseResults, breakingRps: peakRate([phases[i]]), breach };
    // Stopped before any phase broke: no breaking rate is known (not "none broke").
    if (stopped) return { result: mergeResults(phaseResults), phaseResults, stopped: true };
  }
  return { result: mergeResults(phaseResults), phaseResults, breakingRps: null };
}
