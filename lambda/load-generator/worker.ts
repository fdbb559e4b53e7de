import { LOAD_GENERATOR_ENV, loadGeneratorLimitsSchema, loadWorkerEventSchema, type LoadResult, type LoadWorkerEvent } from '../../lib/contracts/loadtest';
import { runLoad } from '../../lib/load-engine/engine';
import { peakRate } from '../../lib/load-engine/schedule';
import { cloudWatchPublisher, type MetricsPublisher } from '../../lib/load-engine/publish';
import { ssmStopReader, watchForStop, type StopReader } from './stop';

/** Time kept after the last arrival to send the remaining metrics (ms). */
export const FLUSH_RESERVE_MS = 10_000;

export interface WorkerDeps {
  /** Milliseconds left before the invocation is killed (the Lambda context's getRemainingTimeInMillis). */
  readonly remainingTimeMs: () => number;
  /**
   * The function's environment: the allowed target host and the limits (LOAD_GENERATOR_ENV), set by the
   * LoadTest stack. Read on every invocation, so tests point it at their own server.
   */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** @default - cloudWatchPublisher from the environment's credentials, region and AWS_ENDPOINT_URL */
  readonly publisher?: (opts: { envName: string; runId: string }) => MetricsPublisher;
  /**
   * Whether this run was asked to stop, polled every loadTest.stopPollSeconds while the slice runs.
   * @default - ssmStopReader of LOADTEST_STOP_PARAMETER when the environment names one, else no polling
   */
  readonly stopReader?: StopReader;
}

/**
 * One worker of a fan-out (the load-generator Lambda's logic): runs its slice of the schedule, publishes
 * every interval snapshot, and stops sending early if the slice would not otherwise finish before the
 * deadline with time left to drain in-flight requests (up to `timeoutMs`) and flush the metrics.
 */
export async function runWorker(input: unknown, deps: WorkerDeps): Promise<LoadResult> {
  const event = parseEvent(input);
  const limits = readLimits(deps.env);
  checkAllowed(event, limits);
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
  // The stop flag ends the slice the way the deadline does: no new arrivals, in-flight requests drain, the
  // metrics flush, and the partial result returns to the CLI (which then starts no further slice).
  const read = deps.stopReader ?? (limits.stopParameter ? ssmStopReader(limits.stopParameter) : undefined);
  const stop = read ? watchForStop(() => read(event.runId), limits.stopPollSeconds * 1000, () => deadline.abort()) : undefined;
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
    stop?.close();
  }
  const warnings: string[] = (stop?.problems ?? []).map((p) => `worker ${event.workerIndex}: ${p}`);
  const { stopped: _engineStopped, ...ran } = result;
  result = stop?.requested ? { ...ran, stopped: true } : ran;
  if (stop?.requested) warnings.push(`worker ${event.workerIndex}: stopped on request after ${result.durationSeconds} s (npm run loadtest -- stop)`);
  else if (deadline.signal.aborted) warnings.push(`worker ${event.workerIndex}: stopped after ${result.durationSeconds} s to finish before the Lambda deadline`);
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

type Limits = ReturnType<typeof readLimits>;

function readLimits(env: WorkerDeps['env']) {
  const parsed = loadGeneratorLimitsSchema.safeParse(Object.fromEntries(Object.values(LOAD_GENERATOR_ENV).map((k) => [k, env[k]])));
  if (!parsed.success) {
    throw new Error(`load-generator: refusing to run without its limits: ${parsed.error.issues.map((i) => i.message).join('; ')}. Fix: deploy the LoadTest stack from this version.`);
  }
  const e = parsed.data;
  return {
    host: e[LOAD_GENERATOR_ENV.targetHost].toLowerCase(),
    maxRate: e[LOAD_GENERATOR_ENV.maxRatePerWorker],
    maxConcurrency: e[LOAD_GENERATOR_ENV.maxConcurrency],
    maxSliceSeconds: e[LOAD_GENERATOR_ENV.maxSliceSeconds],
    maxTimeoutMs: e[LOAD_GENERATOR_ENV.maxTimeoutMs],
    methods: e[LOAD_GENERATOR_ENV.methods],
    stopParameter: e[LOAD_GENERATOR_ENV.stopParameter],
    /** @default 2 (loadTest.stopPollSeconds' default) */
    stopPollSeconds: e[LOAD_GENERATOR_ENV.stopPollSeconds] ?? 2,
  };
}

/**
 * The function is a traffic generator inside the VPC with a route to the internet: whoever can invoke it
 * must not be able to aim it at another host or past the load the configuration plans. Its security group
 * cannot narrow the destination (see lib/constructs/load-generator.ts), so these checks are the fence. Every
 * problem is reported at once; nothing is sent when there is one.
 */
function checkAllowed(event: LoadWorkerEvent, limits: Limits): void {
  const problems: string[] = [];
  let target: URL | undefined;
  try {
    target = new URL(event.target);
  } catch {
    problems.push(`target "${event.target}" is not a URL`);
  }
  if (target) {
    if (target.protocol !== 'http:' && target.protocol !== 'https:') problems.push(`target "${event.target}" must be http:// or https://`);
    if (target.host.toLowerCase() !== limits.host) problems.push(`target "${event.target}" is not this stack's API (${limits.host})`);
    if (target.username || target.password) problems.push(`target "${event.target}" must not carry credentials`);
  }
  for (const r of event.mix) {
    for (const name of Object.keys(r.headers ?? {})) {
      if (name.trim().toLowerCase() === 'host') problems.push(`mix "${r.name}" sets the host header; the target's host is the only one sent`);
    }
    // The path goes verbatim into the request line: whitespace or a line break would start a second request or header.
    if (/[\s\x00-\x1f\x7f]/.test(r.path)) problems.push(`mix "${r.name}" path contains whitespace or a control character`);
    if (!limits.methods.includes(r.method)) problems.push(`mix "${r.name}" method ${r.method} is not one of loadTest.mix's (${limits.methods.join(', ')})`);
  }
  // Tolerance for the CLI's per-worker rounding (tools/loadtest/plan.ts rounds to 1e-6 req/s).
  const rate = peakRate(event.phases);
  if (rate > limits.maxRate * (1 + 1e-6)) problems.push(`phases peak at ${rate} req/s, above loadTest.maxRatePerWorker = ${limits.maxRate}`);
  const seconds = event.phases.reduce((sum, p) => sum + p.durationSeconds, 0);
  if (seconds > limits.maxSliceSeconds + 1e-6) problems.push(`phases last ${seconds} s, above loadTest.sliceSeconds = ${limits.maxSliceSeconds}`);
  if (event.maxConcurrency > limits.maxConcurrency) problems.push(`maxConcurrency ${event.maxConcurrency} is above loadTest.maxConcurrencyPerWorker = ${limits.maxConcurrency}`);
  if (event.timeoutMs > limits.maxTimeoutMs) problems.push(`timeoutMs ${event.timeoutMs} is above loadTest.requestTimeoutMs = ${limits.maxTimeoutMs}`);
  if (problems.length > 0) throw new Error(`load-generator: refused: ${problems.join('; ')}`);
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
