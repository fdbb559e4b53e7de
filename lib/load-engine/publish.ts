import { CloudWatchClient, PutMetricDataCommand, type MetricDatum, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import { LOADTEST_DIMENSIONS, LOADTEST_METRICS, LOADTEST_NAMESPACE } from '../contracts/loadtest';
import type { EndpointSnapshot, IntervalSnapshot } from './engine';

/** Where the engine sends its interval snapshots. `record` is called from the hot loop: sync and cheap. */
export interface MetricsPublisher {
  record(snapshot: IntervalSnapshot): void;
  /** Sends everything recorded so far; rejects (a PublishError) if any datum could not be delivered. */
  flush(): Promise<void>;
}

export interface CloudWatchPublisherOptions {
  readonly envName: string;
  readonly runId: string;
  /** @default - a client from the environment's region, credentials and AWS_ENDPOINT_URL */
  readonly client?: CloudWatchClient;
  /** @default LOADTEST_NAMESPACE */
  readonly namespace?: string;
  /** How often completed minutes are sent in the background (ms); 0 sends only on flush. @default 15000 */
  readonly backgroundIntervalMs?: number;
}

/** PutMetricData limits: 1000 datums and 1 MB per request, 150 values per datum. */
export const MAX_DATUMS_PER_REQUEST = 1000;
export const MAX_VALUES_PER_DATUM = 150;
/** We stay well under 1 MB with a conservative estimate of the encoded size (see estimateBytes). */
export const MAX_REQUEST_BYTES = 800_000;
/**
 * Form fields per request at most. Not an AWS limit (CloudWatch takes 1 MB): moto_server, which the tests
 * and local runs publish to, refuses a query-protocol form of more than 1000 fields (werkzeug's
 * max_form_parts) with a 500. Per-endpoint latency put a minute's request past it; the cap costs a second
 * PutMetricData request in the minutes that need it.
 */
export const MAX_FIELDS_PER_REQUEST = 900;
/** A batch that failed this many background sends is given up (and reported by flush). */
const MAX_ATTEMPTS = 3;
const MINUTE_MS = 60_000;

/** What one minute adds up to, for the run or for one request-mix entry. */
interface Sums {
  requests: number;
  /** Run level only: arrivals have no endpoint until they are sent. */
  scheduled: number;
  dropped: number;
  errors: number;
  timeouts: number;
  http2xx: number;
  http3xx: number;
  http4xx: number;
  http5xx: number;
  /** Latency (ms, rounded to 3 significant digits) → count. */
  readonly latency: Map<number, number>;
}

/** Everything one minute of the run adds up to: the run's sums, and each endpoint's. */
interface MinuteBucket extends Sums {
  readonly startMs: number;
  readonly endpoints: Map<string, Sums>;
}

const emptySums = (): Sums => ({ requests: 0, scheduled: 0, dropped: 0, errors: 0, timeouts: 0, http2xx: 0, http3xx: 0, http4xx: 0, http5xx: 0, latency: new Map() });

function addSnapshot(b: Sums, s: IntervalSnapshot | EndpointSnapshot): void {
  b.requests += s.sent;
  b.errors += s.errors;
  b.timeouts += s.timeouts;
  b.http2xx += s.status['2xx'];
  b.http3xx += s.status['3xx'];
  b.http4xx += s.status['4xx'];
  b.http5xx += s.status['5xx'];
  const { values, counts } = s.latency;
  for (let i = 0; i < values.length; i++) {
    if (!(counts[i] > 0) || !Number.isFinite(values[i])) continue;
    const v = roundLatency(values[i]);
    b.latency.set(v, (b.latency.get(v) ?? 0) + counts[i]);
  }
}

interface Batch {
  readonly data: MetricDatum[];
  attempts: number;
}

/** Thrown by flush: some datums did not reach CloudWatch. The run itself is unaffected. */
export class PublishError extends Error {
  constructor(readonly lostDatums: number, readonly causes: readonly string[]) {
    super(`CloudWatch publishing failed: ${lostDatums} datum(s) not delivered (${causes.slice(0, 3).join('; ')})`);
    this.name = 'PublishError';
  }
}

/**
 * Publishes the engine's snapshots as the client-side load-test metrics (LOADTEST_NAMESPACE, dimensions
 * Environment and RunId; and per request-mix entry with Endpoint added), aggregated per minute.
 *
 * Why per minute: these are standard-resolution metrics, which CloudWatch stores at one-minute granularity
 * anyway, so 1-s or 10-s datums would buy nothing but 6-60x the PutMetricData calls (which are billed).
 * Several workers of one run publish the same minute independently; CloudWatch adds their sums and merges
 * their latency values/counts, so no coordination is needed.
 *
 * A snapshot belongs to the minute its interval starts in. Counters are sent even when zero (no errors
 * is 0 %, not "no data"). Latencies are rounded to 3 significant digits (at most 0.5 % off) so a minute
 * holds a bounded number of distinct values; the values/counts are split across as many datums as needed
 * (150 values each), which CloudWatch merges losslessly.
 *
 * A minute is sent in the background once a later snapshot shows it complete; flush() sends the rest,
 * including the current partial minute. Failures never throw from record() or the timer: failed batches are
 * retried on the next send, and flush() rejects with a PublishError naming what was lost.
 */
export function cloudWatchPublisher(opts: CloudWatchPublisherOptions): MetricsPublisher {
  return new CloudWatchPublisher(opts);
}

class CloudWatchPublisher implements MetricsPublisher {
  private readonly client: CloudWatchClient;
  private readonly namespace: string;
  private readonly dimensions: { Name: string; Value: string }[];
  private readonly intervalMs: number;
  private readonly buckets = new Map<number, MinuteBucket>();
  private retry: Batch[] = [];
  private latestEndMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private sending: Promise<void> = Promise.resolve();
  private lostDatums = 0;
  private causes: string[] = [];

  constructor(opts: CloudWatchPublisherOptions) {
    this.client = opts.client ?? new CloudWatchClient({});
    this.namespace = opts.namespace ?? LOADTEST_NAMESPACE;
    this.dimensions = [
      { Name: LOADTEST_DIMENSIONS.environment, Value: opts.envName },
      { Name: LOADTEST_DIMENSIONS.runId, Value: opts.runId },
    ];
    this.intervalMs = opts.backgroundIntervalMs ?? 15_000;
  }

  record(s: IntervalSnapshot): void {
    const startMs = Math.floor(s.startMs / MINUTE_MS) * MINUTE_MS;
    let b = this.buckets.get(startMs);
    if (!b) {
      b = { ...emptySums(), startMs, endpoints: new Map() };
      this.buckets.set(startMs, b);
    }
    addSnapshot(b, s);
    b.scheduled += s.scheduled;
    b.dropped += s.dropped;
    for (const e of s.endpoints ?? []) {
      let eb = b.endpoints.get(e.name);
      if (!eb) b.endpoints.set(e.name, (eb = emptySums()));
      addSnapshot(eb, e);
    }
    if (s.endMs > this.latestEndMs) this.latestEndMs = s.endMs;
    if (!this.timer && this.intervalMs > 0) {
      this.timer = setInterval(() => void this.send(false), this.intervalMs);
      this.timer.unref();
    }
  }

  async flush(): Promise<void> {
    await this.send(true);
    if (this.lostDatums > 0 || this.causes.length > 0) {
      const error = new PublishError(this.lostDatums, this.causes);
      this.lostDatums = 0;
      this.causes = [];
      throw error;
    }
  }

  /**
   * Sends are serialised, so a background send and flush never race over the same buckets. Nothing may
   * reject here: the timer's promise has no handler, and an unhandled rejection would end the run.
   */
  private send(all: boolean): Promise<void> {
    this.sending = this.sending.then(() => this.sendNow(all)).catch((e: unknown) => {
      this.causes.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
    });
    return this.sending;
  }

  private async sendNow(all: boolean): Promise<void> {
    const due: MinuteBucket[] = [];
    for (const [start, b] of this.buckets) {
      if (all || start + MINUTE_MS <= this.latestEndMs) {
        due.push(b);
        this.buckets.delete(start);
      }
    }
    const batches = [...this.retry, ...toBatches(due.flatMap((b) => this.datums(b))).map((data) => ({ data, attempts: 0 }))];
    this.retry = [];
    for (const batch of batches) {
      try {
        await this.client.send(new PutMetricDataCommand({ Namespace: this.namespace, MetricData: batch.data }));
      } catch (e) {
        batch.attempts++;
        // flush is the last chance (the SDK has already retried throttling): what fails then is reported.
        if (all || batch.attempts >= MAX_ATTEMPTS) {
          this.lostDatums += batch.data.length;
          this.causes.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e));
        } else {
          this.retry.push(batch);
        }
      }
    }
    if (this.buckets.size === 0 && this.retry.length === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** The run's datums, then each endpoint's (the same metrics but Scheduled and Dropped, with the Endpoint dimension). */
  private datums(b: MinuteBucket): MetricDatum[] {
    const out = this.sumDatums(b, b.startMs, this.dimensions, true);
    for (const [name, e] of b.endpoints) {
      out.push(...this.sumDatums(e, b.startMs, [...this.dimensions, { Name: LOADTEST_DIMENSIONS.endpoint, Value: name }], false));
    }
    return out;
  }

  private sumDatums(b: Sums, startMs: number, Dimensions: { Name: string; Value: string }[], arrivals: boolean): MetricDatum[] {
    const Timestamp = new Date(startMs);
    const count = (MetricName: string, Value: number): MetricDatum => ({ MetricName, Dimensions, Timestamp, Unit: 'Count' as StandardUnit, Value });
    const out: MetricDatum[] = [
      count(LOADTEST_METRICS.requests, b.requests),
      ...(arrivals ? [count(LOADTEST_METRICS.scheduled, b.scheduled), count(LOADTEST_METRICS.dropped, b.dropped)] : []),
      count(LOADTEST_METRICS.errors, b.errors),
      count(LOADTEST_METRICS.timeouts, b.timeouts),
      count(LOADTEST_METRICS.http2xx, b.http2xx),
      count(LOADTEST_METRICS.http3xx, b.http3xx),
      count(LOADTEST_METRICS.http4xx, b.http4xx),
      count(LOADTEST_METRICS.http5xx, b.http5xx),
    ];
    const entries = [...b.latency].sort((x, y) => x[0] - y[0]);
    for (let i = 0; i < entries.length; i += MAX_VALUES_PER_DATUM) {
      const chunk = entries.slice(i, i + MAX_VALUES_PER_DATUM);
      out.push({
        MetricName: LOADTEST_METRICS.latency, Dimensions, Timestamp, Unit: 'Milliseconds' as StandardUnit,
        Values: chunk.map(([v]) => v), Counts: chunk.map(([, c]) => c),
      });
    }
    return out;
  }
}

/** Latency rounded to 3 significant digits (relative error ≤ 0.5 %); CloudWatch needs values > 0 kept finite. */
export function roundLatency(ms: number): number {
  if (ms <= 0) return 0;
  return Number(ms.toPrecision(3));
}

/**
 * Upper bound of a datum's encoded size. The query protocol is the most verbose CloudWatch speaks:
 * `MetricData.member.1000.Values.member.150=123.456&` is under 60 bytes per value, likewise per count.
 */
export function estimateBytes(d: MetricDatum): number {
  const fixed = 400 + (d.MetricName?.length ?? 0) + (d.Dimensions ?? []).reduce((n, x) => n + 60 + (x.Name?.length ?? 0) + (x.Value?.length ?? 0), 0);
  return fixed + 60 * ((d.Values?.length ?? 0) + (d.Counts?.length ?? 0));
}

/** Splits datums into PutMetricData requests within the datum and size limits. */
export function toBatches(data: MetricDatum[]): MetricDatum[][] {
  const batches: MetricDatum[][] = [];
  let current: MetricDatum[] = [];
  let bytes = 0;
  let fields = 0;
  for (const d of data) {
    const size = estimateBytes(d);
    const n = formFields(d);
    if (current.length > 0 && (current.length >= MAX_DATUMS_PER_REQUEST || bytes + size > MAX_REQUEST_BYTES || fields + n > MAX_FIELDS_PER_REQUEST)) {
      batches.push(current);
      current = [];
      bytes = 0;
      fields = 0;
    }
    current.push(d);
    bytes += size;
    fields += n;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/** Form fields a datum takes in the query protocol: name, unit, timestamp, value, two per dimension, one per value and count. */
export function formFields(d: MetricDatum): number {
  return 4 + 2 * (d.Dimensions?.length ?? 0) + (d.Values?.length ?? 0) + (d.Counts?.length ?? 0);
}
