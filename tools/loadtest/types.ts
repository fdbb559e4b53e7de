/**
 * Contracts shared by the load-generator engine, the Lambda worker, the CloudWatch publisher, the
 * `npm run loadtest` CLI and the KPI report. Plain data only: every value here crosses a Lambda
 * invocation as JSON.
 */

/** One phase of an open-model test: requests/s start at `arrivalRate` and move linearly to `rampTo`. */
export interface Phase {
  readonly durationSeconds: number;
  readonly arrivalRate: number;
  /** @default - arrivalRate (a constant-rate phase) */
  readonly rampTo?: number;
}

/** One entry of the weighted request mix. */
export interface RequestSpec {
  /** Label in reports (e.g. `item-read`). */
  readonly name: string;
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Path and query, starting with `/`. `{{rand:N}}` is replaced by a random integer in [1, N]. */
  readonly path: string;
  /** Request body; sent with `content-type: application/json` unless headers say otherwise. */
  readonly body?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Relative weight (> 0). */
  readonly weight: number;
}

/** Latency distribution as CloudWatch takes it (PutMetricData Values/Counts), milliseconds. */
export interface Distribution {
  readonly values: number[];
  readonly counts: number[];
}

export type StatusClass = '1xx' | '2xx' | '3xx' | '4xx' | '5xx';
export type StatusCounts = Record<StatusClass, number>;

/** Counters over some span of a run (an interval, a slice, a whole run). */
export interface Counters {
  /** Arrivals the schedule called for. */
  readonly scheduled: number;
  /** Requests actually sent. */
  readonly sent: number;
  /** Responses received (any status). */
  readonly completed: number;
  /** Arrivals not sent because `maxConcurrency` requests were already in flight (counted, never queued). */
  readonly dropped: number;
  /** Requests that hit the per-request timeout. */
  readonly timeouts: number;
  /** Connection or protocol errors (no HTTP status). */
  readonly errors: number;
  readonly status: StatusCounts;
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
}

export interface LatencySummary {
  readonly count: number;
  readonly minMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** The result of one engine run (one Lambda slice, or a local run); results merge with `mergeResults`. */
export interface LoadResult extends Counters {
  readonly target: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** Mean arrival rate the phases asked for, and the rate achieved (sent / duration). */
  readonly requestedRps: number;
  readonly achievedRps: number;
  readonly latency: LatencySummary;
  /** Full latency distribution (for merging slices and for CloudWatch). */
  readonly distribution: Distribution;
  /** Problems that did not stop the run (e.g. metrics that could not be published). */
  readonly warnings?: readonly string[];
}

/** The event of one load-generator Lambda invocation: one worker running one slice of a test. */
export interface LoadWorkerEvent {
  readonly runId: string;
  readonly envName: string;
  /** Base URL of the system under test. */
  readonly target: string;
  /** This worker's share of the slice (rates already divided by the number of workers). */
  readonly phases: readonly Phase[];
  readonly mix: readonly RequestSpec[];
  readonly maxConcurrency: number;
  readonly timeoutMs: number;
  /** 0-based index of this worker within the slice. */
  readonly workerIndex: number;
  /** Workers running the slice side by side; spreads their arrivals evenly. @default 1 */
  readonly workers?: number;
  /** Publish interval snapshots to CloudWatch. @default true */
  readonly publish?: boolean;
  /** Seed of the request mix draws. @default - random */
  readonly seed?: number;
}

export { LOADTEST_DIMENSIONS, LOADTEST_METRICS, LOADTEST_NAMESPACE } from '../../lib/contracts/loadtest-metrics';
export type { KpiSources } from '../../lib/contracts/kpi-sources';

/** CloudFormation outputs the operator tools read (DescribeStacks), by stack part. */
export const STACK_OUTPUTS = {
  /** LoadTest stack: the load-generator function's name. */
  loadGeneratorFunctionName: 'LoadGeneratorFunctionName',
  /** Compute stack: the API's base URL (the load balancer). */
  apiUrl: 'ApiUrl',
  /** Monitoring stack: the KpiSources JSON. */
  kpiSources: 'KpiSources',
} as const;
