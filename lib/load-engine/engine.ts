import { createHistogram, rebucket, recordMs, summarize, toDistribution, CLOUDWATCH_MAX_VALUES, ENDPOINT_MAX_VALUES, RESULT_MAX_VALUES, type LatencyHistogram } from './histogram';
import { HttpClient, OUTCOME_ERROR, OUTCOME_TIMEOUT } from './http-client';
import { RequestMix, seededRandom } from './request-mix';
import { ArrivalSchedule, peakRate } from './schedule';
import { STATUS_CLASSES, type Counters, type Distribution, type EndpointResult, type LoadResult, type Phase, type RequestSpec, type StatusClass, type StatusCounts } from '../contracts/loadtest';

/** One request-mix entry's share of an interval. */
export interface EndpointSnapshot {
  /** The mix entry's name (the Endpoint dimension). */
  readonly name: string;
  readonly sent: number;
  readonly completed: number;
  readonly timeouts: number;
  readonly errors: number;
  readonly status: StatusCounts;
  readonly latency: Distribution;
}

/** What the engine reports every `intervalMs` while it runs (progress lines, CloudWatch publishing). */
export interface IntervalSnapshot extends Counters {
  /** Wall-clock start and end of the interval (epoch ms, fractional). */
  readonly startMs: number;
  readonly endMs: number;
  /** Arrival rate the schedule asked for at the end of the interval (req/s). */
  readonly targetRps: number;
  /** Requests currently in flight. */
  readonly inFlight: number;
  /** Latency of the requests completed in the interval, from their intended send time. */
  readonly latency: Distribution;
  /** The same per request-mix entry, in the mix's order. */
  readonly endpoints: readonly EndpointSnapshot[];
}

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

/** Counters and latency of one request-mix entry, over an interval and over the run. */
class EndpointTally {
  interval = new Tally();
  readonly total = new Tally();
  readonly intervalHistogram = createHistogram();
  readonly totalHistogram = createHistogram();

  constructor(readonly spec: RequestSpec) {}

  /** Closes the interval: its snapshot, added to the run's totals. */
  roll(): EndpointSnapshot {
    const c = this.interval;
    this.total.add(c);
    this.interval = new Tally();
    this.totalHistogram.add(this.intervalHistogram);
    const latency = rebucket(toDistribution(this.intervalHistogram), CLOUDWATCH_MAX_VALUES);
    this.intervalHistogram.reset();
    return { name: this.spec.name, sent: c.sent, completed: c.completed, timeouts: c.timeouts, errors: c.errors, status: { ...c.status }, latency };
  }

  result(durationSeconds: number): EndpointResult {
    return endpointResult(this.spec, this.total, this.totalHistogram, durationSeconds);
  }
}

function endpointResult(spec: RequestSpec, t: Tally, histogram: LatencyHistogram, durationSeconds: number): EndpointResult {
  return {
    name: spec.name,
    method: spec.method,
    path: spec.path,
    sent: t.sent,
    completed: t.completed,
    timeouts: t.timeouts,
    errors: t.errors,
    status: { ...t.status },
    achievedRps: round(durationSeconds > 0 ? t.sent / durationSeconds : 0, 3),
    latency: summarize(histogram),
    distribution: rebucket(toDistribution(histogram), ENDPOINT_MAX_VALUES),
  };
}

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
  return new OpenLoop(options).run();
}

/**
 * One open-model run. A class rather than closures: V8 keeps type feedback per closure, so closures made
 * afresh for every run start cold (interpreted, then compiled on the same pinned core) and stalled the
 * first 200 ms of each run at 30k req/s; methods share their feedback and compiled code across runs.
 */
class OpenLoop {
  private readonly intervalMs: number;
  private readonly schedule: ArrivalSchedule;
  private readonly mix: RequestMix;
  private readonly client: HttpClient;
  private readonly total = new Tally();
  private interval = new Tally();
  private readonly totalHistogram = createHistogram();
  private readonly intervalHistogram = createHistogram();
  private readonly endpoints: EndpointTally[];
  private t0 = 0;
  private wall0 = 0;
  private k = 0;
  private nextMs = Infinity;
  private sendingDone = false;
  private aborted = false;
  private stoppedAtS: number;
  private drained: () => void = () => undefined;
  private intervalStartWall = 0;
  private nextIntervalAt = 0;
  private intervalTimer: NodeJS.Timeout | undefined;
  private tickTimer: NodeJS.Timeout | undefined;
  private readonly tickBound = this.tick.bind(this);
  private readonly onIntervalBound = this.onIntervalTimer.bind(this);
  private readonly onAbortBound = this.onAbort.bind(this);

  constructor(private readonly options: RunLoadOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    if (!(options.maxConcurrency >= 1)) throw new Error(`maxConcurrency must be ≥ 1, got ${options.maxConcurrency}`);
    if (!(this.intervalMs >= 10)) throw new Error(`intervalMs must be ≥ 10, got ${this.intervalMs}`);
    const target = new URL(options.target);
    this.schedule = new ArrivalSchedule(options.phases, options.arrivalOffset ?? 0.5);
    this.stoppedAtS = this.schedule.durationSeconds;
    this.mix = new RequestMix(options.mix, target, seededRandom(options.seed ?? (Math.random() * 2 ** 32) >>> 0));
    this.endpoints = options.mix.map((spec) => new EndpointTally(spec));
    this.client = new HttpClient(target, { maxConnections: options.maxConcurrency, timeoutMs: options.timeoutMs, onDone: this.onDone.bind(this) });
  }

  async run(): Promise<LoadResult> {
    const { options, schedule, client } = this;
    // Connections for WARM_SECONDS of arrivals at the peak rate, opened before the clock starts (see HttpClient.warm).
    await client.warm(Math.min(options.maxConcurrency, Math.ceil(peakRate(options.phases) * WARM_SECONDS)));
    const finished = new Promise<void>((resolve) => (this.drained = resolve));
    this.t0 = performance.now();
    this.wall0 = Date.now();
    // Interval snapshots on their own timer chain, aligned to the start, so they are on time at any rate.
    this.intervalStartWall = this.wall0;
    this.nextIntervalAt = this.t0 + this.intervalMs;
    this.intervalTimer = setTimeout(this.onIntervalBound, this.intervalMs);
    this.nextMs = schedule.totalArrivals > 0 ? schedule.timeOf(0) * 1000 : Infinity;
    this.aborted = options.signal?.aborted ?? false;
    options.signal?.addEventListener('abort', this.onAbortBound);
    this.tick();

    await finished;
    clearTimeout(this.intervalTimer);
    this.snapshot();
    client.close();

    const durationSeconds = this.stoppedAtS;
    const requestedRps = durationSeconds > 0 ? schedule.arrivalsBy(durationSeconds) / durationSeconds : 0;
    return {
      target: options.target,
      startedAt: new Date(this.wall0).toISOString(),
      durationSeconds: round(durationSeconds, 3),
      requestedRps: round(requestedRps, 3),
      achievedRps: round(durationSeconds > 0 ? this.total.sent / durationSeconds : 0, 3),
      ...this.total.counters(),
      latency: summarize(this.totalHistogram),
      distribution: rebucket(toDistribution(this.totalHistogram), RESULT_MAX_VALUES),
      endpoints: this.endpoints.map((e) => e.result(durationSeconds)),
      ...(this.aborted && { stopped: true }),
    };
  }

  private onDone(outcome: number, intendedMs: number, _sentMs: number, kind: number): void {
    const interval = this.interval;
    const endpoint = this.endpoints[kind];
    const ei = endpoint.interval;
    if (outcome >= 100 && outcome < 600) {
      const cls = STATUS_CLASSES[((outcome / 100) | 0) - 1];
      const ms = performance.now() - intendedMs;
      interval.completed++;
      interval.status[cls]++;
      recordMs(this.intervalHistogram, ms);
      ei.completed++;
      ei.status[cls]++;
      recordMs(endpoint.intervalHistogram, ms);
    } else if (outcome === OUTCOME_TIMEOUT) {
      interval.timeouts++;
      ei.timeouts++;
    } else if (outcome === OUTCOME_ERROR || outcome >= 600) {
      interval.errors++;
      ei.errors++;
    }
    if (this.sendingDone && this.client.inFlight === 0) this.drained();
  }

  /** Sends every arrival due by `now` (ms since t0), or counts it dropped at the concurrency cap. */
  private sendDue(now: number): void {
    const { schedule, mix, client, interval, t0 } = this;
    const cap = this.options.maxConcurrency;
    const total = schedule.totalArrivals;
    let nextMs = this.nextMs;
    let k = this.k;
    while (nextMs <= now) {
      interval.scheduled++;
      if (client.inFlight >= cap) interval.dropped++;
      else {
        const i = mix.pick();
        client.send(mix.payload(i), mix.isHead(i), t0 + nextMs, t0 + now, i);
        interval.sent++;
        this.endpoints[i].interval.sent++;
      }
      nextMs = ++k < total ? schedule.timeOf(k) * 1000 : Infinity;
    }
    this.nextMs = nextMs;
    this.k = k;
  }

  private tick(): void {
    if (this.sendingDone) return;
    const now = performance.now() - this.t0;
    if (this.aborted) {
      this.stoppedAtS = Math.min(now / 1000, this.schedule.durationSeconds);
      return this.stopSending();
    }
    this.sendDue(now);
    if (this.k >= this.schedule.totalArrivals) {
      // Wait out the end of the last phase, so a slice lasts its full duration.
      const endIn = this.schedule.durationSeconds * 1000 - now;
      if (endIn > 0) this.tickTimer = setTimeout(this.tickBound, endIn);
      else this.stopSending();
      return;
    }
    const wait = this.nextMs - now;
    if (wait >= 1) this.tickTimer = setTimeout(this.tickBound, Math.floor(wait));
    else setImmediate(this.tickBound);
  }

  private onAbort(): void {
    this.aborted = true;
    // Don't sleep through an abort (a low rate, or the wait for the end of the last phase).
    clearTimeout(this.tickTimer);
    setImmediate(this.tickBound);
  }

  private stopSending(): void {
    this.sendingDone = true;
    this.options.signal?.removeEventListener('abort', this.onAbortBound);
    if (this.client.inFlight === 0) this.drained();
  }

  private onIntervalTimer(): void {
    this.snapshot();
    this.nextIntervalAt += this.intervalMs;
    // Behind by more than an interval (a blocked loop): skip ahead rather than fire a burst of empty ones.
    const now = performance.now();
    if (this.nextIntervalAt < now) this.nextIntervalAt = now + this.intervalMs;
    this.intervalTimer = setTimeout(this.onIntervalBound, this.nextIntervalAt - now);
  }

  private snapshot(): void {
    // Arrivals due before the boundary belong to this interval: send them now rather than on the next tick.
    if (!this.sendingDone && !this.aborted) this.sendDue(performance.now() - this.t0);
    const now = performance.now();
    // Fractional ms: a 100-ms window measured to the whole ms would be ±1 % off by rounding alone.
    const endWall = this.wall0 + Math.round((now - this.t0) * 1000) / 1000;
    const counters = this.interval.counters();
    this.total.add(this.interval);
    this.interval = new Tally();
    this.totalHistogram.add(this.intervalHistogram);
    const latency = rebucket(toDistribution(this.intervalHistogram), CLOUDWATCH_MAX_VALUES);
    this.intervalHistogram.reset();
    const endpoints = this.endpoints.map((e) => e.roll());
    const s: IntervalSnapshot = {
      ...counters,
      startMs: this.intervalStartWall,
      endMs: endWall,
      // The rate asked for at the end of the interval; 0 for an interval that began after the schedule ended.
      targetRps:
        this.intervalStartWall - this.wall0 >= this.stoppedAtS * 1000 ? 0 : this.schedule.rateAt(Math.min((now - this.t0) / 1000, this.stoppedAtS)),
      inFlight: this.client.inFlight,
      latency,
      endpoints,
    };
    this.intervalStartWall = endWall;
    this.options.onInterval?.(s);
  }
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
