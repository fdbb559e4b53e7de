import { createHistogram, rebucket, recordMs, summarize, toDistribution, CLOUDWATCH_MAX_VALUES, RESULT_MAX_VALUES } from './histogram';
import { HttpClient, OUTCOME_ERROR, OUTCOME_TIMEOUT } from './http-client';
import { RequestMix, seededRandom } from './request-mix';
import { ArrivalSchedule, peakRate } from './schedule';
import type { Counters, IntervalSnapshot, LoadResult, Phase, RequestSpec, StatusClass, StatusCounts } from './types';

export { mergeResults, summaryLine } from './summary';

export interface RunLoadOptions {
  /** Base URL of the system under test (`http://host:port[/base]`); request paths are appended. */
  readonly target: string;
  readonly phases: readonly Phase[];
  readonly mix: readonly RequestSpec[];
  /** Requests in flight at most; an arrival beyond it is counted as dropped, never queued. */
  readonly maxConcurrency: number;
  /** Per-request timeout (ms, from the moment the request is written). */
  readonly timeoutMs: number;
  /** @default 1000 */
  readonly intervalMs?: number;
  readonly onInterval?: (snapshot: IntervalSnapshot) => void;
  /** Stops scheduling arrivals; requests in flight still finish (or time out). */
  readonly signal?: AbortSignal;
  /** Seed of the mix and `{{rand:N}}` draws. @default - random */
  readonly seed?: number;
  /**
   * Where in its inter-arrival gap each arrival falls, in [0, 1): workers of a fan-out use (w + 0.5) / W so
   * their arrivals interleave. @default 0.5
   */
  readonly arrivalOffset?: number;
}

export interface ClosedLoopOptions {
  readonly target: string;
  readonly mix: readonly RequestSpec[];
  /** Connections, each sending its next request as soon as the previous one completes. */
  readonly connections: number;
  readonly durationSeconds: number;
  readonly timeoutMs: number;
  readonly seed?: number;
}

/** Mutable counters of one interval or of the whole run. */
class Tally {
  scheduled = 0;
  sent = 0;
  completed = 0;
  dropped = 0;
  timeouts = 0;
  errors = 0;
  status: StatusCounts = { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };

  add(o: Tally): void {
    this.scheduled += o.scheduled;
    this.sent += o.sent;
    this.completed += o.completed;
    this.dropped += o.dropped;
    this.timeouts += o.timeouts;
    this.errors += o.errors;
    for (const k of Object.keys(this.status) as StatusClass[]) this.status[k] += o.status[k];
  }

  counters(): Counters {
    const { scheduled, sent, completed, dropped, timeouts, errors } = this;
    return { scheduled, sent, completed, dropped, timeouts, errors, status: { ...this.status } };
  }
}

const STATUS_CLASSES: readonly StatusClass[] = ['1xx', '2xx', '3xx', '4xx', '5xx'];
/** Connections opened before a run: enough for this many seconds of arrivals at the peak rate. */
const WARM_SECONDS = 0.02;

/**
 * Runs an open-model load test: arrivals follow the phases' rate function, evenly spaced, whatever the
 * responses do (no coordinated omission); latency is measured from each arrival's intended send time.
 *
 * The scheduler is a tight loop: every turn of the event loop (setImmediate) it sends every arrival whose
 * time has come, after the turn has read the responses that arrived; when the next arrival is ≥ 1 ms away
 * it sleeps with a timer instead, so low rates cost no CPU.
 */
export async function runLoad(options: RunLoadOptions): Promise<LoadResult> {
  const intervalMs = options.intervalMs ?? 1000;
  if (!(options.maxConcurrency >= 1)) throw new Error(`maxConcurrency must be ≥ 1, got ${options.maxConcurrency}`);
  if (!(intervalMs >= 10)) throw new Error(`intervalMs must be ≥ 10, got ${intervalMs}`);
  const target = new URL(options.target);
  const schedule = new ArrivalSchedule(options.phases, options.arrivalOffset ?? 0.5);
  const mix = new RequestMix(options.mix, target, seededRandom(options.seed ?? (Math.random() * 2 ** 32) >>> 0));

  const total = new Tally();
  let interval = new Tally();
  const totalHistogram = createHistogram();
  const intervalHistogram = createHistogram();

  const client = new HttpClient(target, {
    maxConnections: options.maxConcurrency,
    timeoutMs: options.timeoutMs,
    onDone: (outcome, intendedMs) => {
      if (outcome >= 100 && outcome < 600) {
        interval.completed++;
        interval.status[STATUS_CLASSES[((outcome / 100) | 0) - 1]]++;
        recordMs(intervalHistogram, performance.now() - intendedMs);
      } else if (outcome === OUTCOME_TIMEOUT) interval.timeouts++;
      else if (outcome === OUTCOME_ERROR || outcome >= 600) interval.errors++;
      if (sendingDone && client.inFlight === 0) drained();
    },
  });

  // Connections for WARM_SECONDS of arrivals at the peak rate, opened before the clock starts (see HttpClient.warm).
  await client.warm(Math.min(options.maxConcurrency, Math.ceil(peakRate(options.phases) * WARM_SECONDS)));

  const t0 = performance.now();
  const wall0 = Date.now();
  let sendingDone = false;
  let stoppedAtS = schedule.durationSeconds;
  let drained: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (drained = resolve));

  // Interval snapshots on their own timer chain, aligned to the start, so they are on time at any rate.
  let intervalStartWall = wall0;
  let nextIntervalAt = t0 + intervalMs;
  let intervalTimer: NodeJS.Timeout | undefined;
  const snapshot = () => {
    // Arrivals due before the boundary belong to this interval: send them now rather than on the next tick.
    if (!sendingDone && !aborted) sendDue(performance.now() - t0);
    const now = performance.now();
    // Fractional ms: a 100-ms window measured to the whole ms would be ±1 % off by rounding alone.
    const endWall = wall0 + Math.round((now - t0) * 1000) / 1000;
    const counters = interval.counters();
    total.add(interval);
    interval = new Tally();
    totalHistogram.add(intervalHistogram);
    const latency = rebucket(toDistribution(intervalHistogram), CLOUDWATCH_MAX_VALUES);
    intervalHistogram.reset();
    const s: IntervalSnapshot = {
      ...counters,
      startMs: intervalStartWall,
      endMs: endWall,
      // The rate asked for at the end of the interval; 0 for an interval that began after the schedule ended.
      targetRps: intervalStartWall - wall0 >= stoppedAtS * 1000 ? 0 : schedule.rateAt(Math.min((now - t0) / 1000, stoppedAtS)),
      inFlight: client.inFlight,
      latency,
    };
    intervalStartWall = endWall;
    options.onInterval?.(s);
  };
  const onIntervalTimer = () => {
    snapshot();
    nextIntervalAt += intervalMs;
    // Behind by more than an interval (a blocked loop): skip ahead rather than fire a burst of empty ones.
    const now = performance.now();
    if (nextIntervalAt < now) nextIntervalAt = now + intervalMs;
    intervalTimer = setTimeout(onIntervalTimer, nextIntervalAt - now);
  };
  intervalTimer = setTimeout(onIntervalTimer, intervalMs);

  let k = 0;
  let nextMs = schedule.totalArrivals > 0 ? schedule.timeOf(0) * 1000 : Infinity;
  let aborted = options.signal?.aborted ?? false;
  let tickTimer: NodeJS.Timeout | undefined;
  const onAbort = () => {
    aborted = true;
    // Don't sleep through an abort (a low rate, or the wait for the end of the last phase).
    clearTimeout(tickTimer);
    setImmediate(tick);
  };
  options.signal?.addEventListener('abort', onAbort);

  const stopSending = () => {
    sendingDone = true;
    options.signal?.removeEventListener('abort', onAbort);
    if (client.inFlight === 0) drained();
  };

  /** Sends every arrival due by `now` (ms since t0), or counts it dropped at the concurrency cap. */
  const sendDue = (now: number) => {
    while (nextMs <= now) {
      interval.scheduled++;
      if (client.inFlight >= options.maxConcurrency) interval.dropped++;
      else {
        const i = mix.pick();
        client.send(mix.payload(i), mix.isHead(i), t0 + nextMs, t0 + now);
        interval.sent++;
      }
      nextMs = ++k < schedule.totalArrivals ? schedule.timeOf(k) * 1000 : Infinity;
    }
  };

  const tick = () => {
    if (sendingDone) return;
    const now = performance.now() - t0;
    if (aborted) {
      stoppedAtS = Math.min(now / 1000, schedule.durationSeconds);
      return stopSending();
    }
    sendDue(now);
    if (k >= schedule.totalArrivals) {
      // Wait out the end of the last phase, so a slice lasts its full duration.
      const endIn = schedule.durationSeconds * 1000 - now;
      if (endIn > 0) return void (tickTimer = setTimeout(tick, endIn));
      return stopSending();
    }
    const wait = nextMs - now;
    if (wait >= 1) tickTimer = setTimeout(tick, Math.floor(wait));
    else setImmediate(tick);
  };
  tick();

  await finished;
  clearTimeout(intervalTimer);
  snapshot();
  client.close();

  const durationSeconds = stoppedAtS;
  const requestedRps = durationSeconds > 0 ? schedule.arrivalsBy(durationSeconds) / durationSeconds : 0;
  return {
    target: options.target,
    startedAt: new Date(wall0).toISOString(),
    durationSeconds: round(durationSeconds, 3),
    requestedRps: round(requestedRps, 3),
    achievedRps: round(durationSeconds > 0 ? total.sent / durationSeconds : 0, 3),
    ...total.counters(),
    latency: summarize(totalHistogram),
    distribution: rebucket(toDistribution(totalHistogram), RESULT_MAX_VALUES),
  };
}

/**
 * Closed-loop mode, for the benchmark only: `connections` connections each send their next request as soon
 * as the previous one completes, so the rate is whatever the server and the generator can do together.
 * Latency is measured from the actual send (there is no intended time).
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<LoadResult> {
  const target = new URL(options.target);
  const mix = new RequestMix(options.mix, target, seededRandom(options.seed ?? (Math.random() * 2 ** 32) >>> 0));
  const tally = new Tally();
  const histogram = createHistogram();
  const t0 = performance.now();
  const endAt = t0 + options.durationSeconds * 1000;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const next = () => {
    const i = mix.pick();
    tally.scheduled++;
    tally.sent++;
    client.send(mix.payload(i), mix.isHead(i), 0);
  };
  const client = new HttpClient(target, {
    maxConnections: options.connections,
    timeoutMs: options.timeoutMs,
    onDone: (outcome, _tag, sentMs) => {
      const now = performance.now();
      if (outcome >= 100 && outcome < 600) {
        tally.completed++;
        tally.status[STATUS_CLASSES[((outcome / 100) | 0) - 1]]++;
        recordMs(histogram, now - sentMs);
      } else if (outcome === OUTCOME_TIMEOUT) tally.timeouts++;
      else tally.errors++;
      if (now < endAt) next();
      else if (client.inFlight === 0) done();
    },
  });
  const wall0 = Date.now();
  for (let c = 0; c < options.connections; c++) next();
  await finished;
  client.close();
  const durationSeconds = (performance.now() - t0) / 1000;
  const achievedRps = tally.sent / durationSeconds;
  return {
    target: options.target,
    startedAt: new Date(wall0).toISOString(),
    durationSeconds: round(durationSeconds, 3),
    requestedRps: round(achievedRps, 3),
    achievedRps: round(achievedRps, 3),
    ...tally.counters(),
    latency: summarize(histogram),
    distribution: rebucket(toDistribution(histogram), RESULT_MAX_VALUES),
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
