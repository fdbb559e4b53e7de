import { runLoad } from './engine';
import { cloudWatchPublisher, type MetricsPublisher } from './publish';
import type { LoadResult, LoadWorkerEvent } from './types';

/** Time kept after the last arrival to send the remaining metrics (ms). */
export const FLUSH_RESERVE_MS = 10_000;

export interface WorkerDeps {
  /** Milliseconds left before the invocation is killed (the Lambda context's getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  /** @default - cloudWatchPublisher from the environment's credentials, region and AWS_ENDPOINT_URL */
  readonly publisher?: (opts: { envName: string; runId: string }) => MetricsPublisher;
}

/**
 * One worker of a fan-out (the load-generator Lambda's logic): runs its slice of the schedule, publishes
 * every interval snapshot, and stops sending early if the slice would not otherwise finish before the
 * deadline with time left to drain in-flight requests (up to `timeoutMs`) and flush the metrics.
 */
export async function runWorker(event: LoadWorkerEvent, deps: WorkerDeps): Promise<LoadResult> {
  validateEvent(event);
  const reserveMs = FLUSH_RESERVE_MS + event.timeoutMs + 1000;
  const sendForMs = deps.remainingTimeMs() - reserveMs;
  if (sendForMs < 500) {
    throw new Error(
      `load-generator: ${deps.remainingTimeMs()} ms left is too little (needs ${reserveMs} ms to drain and flush, plus the slice). ` +
        'Fix: raise the function timeout or lower loadTest.sliceSeconds / requestTimeoutMs.',
    );
  }
  const publisher = event.publish === false ? undefined : (deps.publisher ?? cloudWatchPublisher)({ envName: event.envName, runId: event.runId });
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), sendForMs);
  const workers = event.workers ?? 1;
  let result: LoadResult;
  try {
    result = await runLoad({
      target: event.target,
      phases: event.phases,
      mix: event.mix,
      maxConcurrency: event.maxConcurrency,
      timeoutMs: event.timeoutMs,
      seed: event.seed,
      arrivalOffset: (event.workerIndex + 0.5) / workers,
      signal: deadline.signal,
      onInterval: publisher ? (s) => publisher.record(s) : undefined,
    });
  } finally {
    clearTimeout(timer);
  }
  const warnings: string[] = [];
  if (deadline.signal.aborted) warnings.push(`worker ${event.workerIndex}: stopped after ${result.durationSeconds} s to finish before the Lambda deadline`);
  if (publisher) {
    const flushFor = Math.max(1000, deps.remainingTimeMs() - 1000);
    try {
      await withTimeout(publisher.flush(), flushFor, `flush did not finish within ${flushFor} ms`);
    } catch (err) {
      warnings.push(`worker ${event.workerIndex}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return warnings.length > 0 ? { ...result, warnings: [...(result.warnings ?? []), ...warnings] } : result;
}

function validateEvent(e: LoadWorkerEvent): void {
  const problems: string[] = [];
  for (const key of ['runId', 'envName', 'target'] as const) if (typeof e[key] !== 'string' || e[key].length === 0) problems.push(`${key} must be a non-empty string`);
  if (!Array.isArray(e.phases) || e.phases.length === 0) problems.push('phases must be a non-empty array');
  if (!Array.isArray(e.mix) || e.mix.length === 0) problems.push('mix must be a non-empty array');
  if (!(e.maxConcurrency >= 1)) problems.push('maxConcurrency must be ≥ 1');
  if (!(e.timeoutMs >= 1)) problems.push('timeoutMs must be ≥ 1');
  if (!(Number.isInteger(e.workerIndex) && e.workerIndex >= 0 && e.workerIndex < (e.workers ?? 1))) problems.push('workerIndex must be an integer in [0, workers)');
  if (problems.length > 0) throw new Error(`load-generator: invalid event: ${problems.join('; ')}`);
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
