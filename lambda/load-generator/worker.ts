import { loadWorkerEventSchema, type LoadResult } from '../../lib/contracts/loadtest';
import { runLoad } from '../../lib/load-engine/engine';
import { cloudWatchPublisher, type MetricsPublisher } from '../../lib/load-engine/publish';

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
export async function runWorker(input: unknown, deps: WorkerDeps): Promise<LoadResult> {
  const event = parseEvent(input);
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

function parseEvent(input: unknown) {
  const parsed = loadWorkerEventSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'the event'} ${i.message}`);
  throw new Error(`load-generator: invalid event: ${problems.join('; ')}`);
}

async function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
