import * as z from 'zod';

/**
 * What crosses a process boundary in a load test, as plain data: the load-generator Lambda's event and
 * its result (JSON over Lambda Invoke), the result file `npm run loadtest` writes and `npm run kpi-report`
 * reads, and the client-side CloudWatch metrics. Where a shape is parsed at run time, one zod schema gives
 * the type (`z.infer`) and the parser.
 */

/** CloudWatch namespace, metric names and dimensions of the client-side load-test metrics. */
export const LOADTEST_NAMESPACE = 'ScalingBlueprint/LoadTest';
export const LOADTEST_DIMENSIONS = { environment: 'Environment', runId: 'RunId' } as const;
export const LOADTEST_METRICS = {
  latency: 'Latency',          // Milliseconds, values/counts from the interval distribution
  requests: 'Requests',        // Count, sent
  scheduled: 'Scheduled',      // Count, arrivals the schedule called for
  dropped: 'Dropped',          // Count
  errors: 'Errors',            // Count, connection/protocol errors
  timeouts: 'Timeouts',        // Count
  http2xx: 'Http2xx',
  http3xx: 'Http3xx',
  http4xx: 'Http4xx',
  http5xx: 'Http5xx',
} as const;

/** The profiles of `loadTest.profiles`, by name (`npm run loadtest -- --profile <name>`). */
export const LOAD_PROFILES = ['load', 'stress', 'soak', 'spike'] as const;
export type LoadProfileName = (typeof LOAD_PROFILES)[number];

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

// The messages read "<key path> <message>" in the load generator's errors.
const nonEmpty = z.string({ error: 'must be a non-empty string' }).min(1, 'must be a non-empty string');
const count = z.number().int().min(0);
const list = <T extends z.ZodType>(item: T) => z.array(item, { error: 'must be a non-empty array' }).min(1, 'must be a non-empty array');
const number = () => z.number({ error: 'must be a number' });

/** One phase of an open-model test: requests/s start at `arrivalRate` and move linearly to `rampTo`. */
export const phaseSchema = z.object({
  /** Fractional after the CLI cuts a schedule into slices. */
  durationSeconds: number().gt(0, 'must be > 0'),
  arrivalRate: number().min(0, 'must be ≥ 0'),
  /** @default - arrivalRate (a constant-rate phase) */
  rampTo: z.number().min(0, 'must be ≥ 0').optional(),
});
export type Phase = z.infer<typeof phaseSchema>;

/** One entry of the weighted request mix. */
export const requestSpecSchema = z.object({
  /** Label in reports (e.g. `item-read`). */
  name: nonEmpty,
  method: z.enum(HTTP_METHODS),
  /** Path and query, starting with `/`. `{{rand:N}}` is replaced by a random integer in [1, N]. */
  path: z.string().startsWith('/', 'must start with "/"'),
  /** Request body; sent with `content-type: application/json` unless headers say otherwise. */
  body: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  /** Relative weight. */
  weight: z.number().gt(0, 'must be > 0'),
});
export type RequestSpec = z.infer<typeof requestSpecSchema>;

/** The event of one load-generator Lambda invocation: one worker running one slice of a test. */
export const loadWorkerEventSchema = z
  .object({
    runId: nonEmpty,
    envName: nonEmpty,
    /** Base URL of the system under test. */
    target: nonEmpty,
    /** This worker's share of the slice (rates already divided by the number of workers). */
    phases: list(phaseSchema),
    mix: list(requestSpecSchema),
    maxConcurrency: number().int('must be an integer').min(1, 'must be ≥ 1'),
    timeoutMs: number().min(1, 'must be ≥ 1'),
    /** 0-based index of this worker within the slice. */
    workerIndex: number().int('must be an integer').min(0, 'must be ≥ 0'),
    /** Workers running the slice side by side; spreads their arrivals evenly. @default 1 */
    workers: z.number().int('must be an integer').min(1, 'must be ≥ 1').optional(),
    /** Publish interval snapshots to CloudWatch. @default true */
    publish: z.boolean().optional(),
    /** Seed of the request mix draws. @default - random */
    seed: z.number().int().min(0).optional(),
  })
  .refine((e) => e.workerIndex < (e.workers ?? 1), { path: ['workerIndex'], message: 'must be an integer in [0, workers)' });
export type LoadWorkerEvent = z.infer<typeof loadWorkerEventSchema>;

/** Latency distribution as CloudWatch takes it (PutMetricData Values/Counts), milliseconds. */
export const distributionSchema = z
  .object({ values: z.array(z.number().min(0)), counts: z.array(count) })
  .refine((d) => d.values.length === d.counts.length, 'values and counts must be as long as each other');
export type Distribution = z.infer<typeof distributionSchema>;

export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
export type StatusClass = (typeof STATUS_CLASSES)[number];
const statusCountsSchema = z.object({ '1xx': count, '2xx': count, '3xx': count, '4xx': count, '5xx': count });
export type StatusCounts = z.infer<typeof statusCountsSchema>;

/** Counters over some span of a run (an interval, a slice, a whole run). */
export const countersSchema = z.object({
  /** Arrivals the schedule called for. */
  scheduled: count,
  /** Requests actually sent. */
  sent: count,
  /** Responses received (any status). */
  completed: count,
  /** Arrivals not sent because `maxConcurrency` requests were already in flight (counted, never queued). */
  dropped: count,
  /** Requests that hit the per-request timeout. */
  timeouts: count,
  /** Connection or protocol errors (no HTTP status). */
  errors: count,
  status: statusCountsSchema,
});
export type Counters = z.infer<typeof countersSchema>;

const ms = z.number().min(0);
export const latencySummarySchema = z.object({ count, minMs: ms, meanMs: ms, p50Ms: ms, p90Ms: ms, p99Ms: ms, maxMs: ms });
export type LatencySummary = z.infer<typeof latencySummarySchema>;

/** The result of one engine run (one Lambda slice, or a local run); results merge with `mergeResults`. */
export const loadResultSchema = countersSchema.extend({
  target: z.string(),
  startedAt: z.iso.datetime(),
  durationSeconds: z.number().min(0),
  /** Mean arrival rate the phases asked for, and the rate achieved (sent / duration). */
  requestedRps: z.number().min(0),
  achievedRps: z.number().min(0),
  latency: latencySummarySchema,
  /** Full latency distribution (for merging slices and for CloudWatch). */
  distribution: distributionSchema,
  /** Problems that did not stop the run (e.g. metrics that could not be published). */
  warnings: z.array(z.string()).optional(),
});
export type LoadResult = z.infer<typeof loadResultSchema>;

/**
 * `loadtest-results/<runId>.json`: what `npm run loadtest` writes and `npm run kpi-report` reads. The run's
 * fields are optional: the report judges any LoadResult, written by the CLI or by hand.
 */
export const runResultFileSchema = loadResultSchema.extend({
  runId: z.string().optional(),
  envName: z.string().optional(),
  profile: z.enum(LOAD_PROFILES).optional(),
  /** Where the engine ran: in the CLI's process, or in the load-generator Lambda. */
  mode: z.enum(['local', 'lambda']).optional(),
  /** Stress runs: requested rate of the first phase that broke the SLA, null when every phase held. */
  breakingRps: z.number().nullable().optional(),
  breach: z.string().nullable().optional(),
  /** Runs that went phase by phase (stopWhenSlaBreaks): each phase's result, without its distribution. */
  phaseResults: z.array(loadResultSchema.omit({ distribution: true })).optional(),
});
export type RunResultFile = z.infer<typeof runResultFileSchema>;

/**
 * The load-generator function's environment, set by the LoadTest stack (lib/constructs/load-generator.ts):
 * the one host it may load and the limits it enforces on every event, whatever invoked it. The CLI plans
 * within the same `loadTest.*` keys, so a plan it accepts passes these checks.
 */
export const LOAD_GENERATOR_ENV = {
  /** Host name of the stack's API (the load balancer's DNS name); the only host a target may name. */
  targetHost: 'LOADTEST_TARGET_HOST',
  /** loadTest.maxRatePerWorker: highest arrival rate in one event's phases (req/s). */
  maxRatePerWorker: 'LOADTEST_MAX_RATE_PER_WORKER',
  /** loadTest.maxConcurrencyPerWorker: highest `maxConcurrency`. */
  maxConcurrency: 'LOADTEST_MAX_CONCURRENCY',
  /** loadTest.sliceSeconds: longest total duration of one event's phases (s). */
  maxSliceSeconds: 'LOADTEST_MAX_SLICE_SECONDS',
  /** loadTest.requestTimeoutMs: longest per-request timeout (ms). */
  maxTimeoutMs: 'LOADTEST_MAX_TIMEOUT_MS',
  /** The methods of loadTest.mix, comma-separated: the only methods a mix may use. */
  methods: 'LOADTEST_METHODS',
} as const;

const positiveFromEnv = (name: string) =>
  z.coerce.number({ error: `${name} must be a number` }).positive(`${name} must be > 0`);

/** The limits as the handler reads them from its environment (missing or malformed: the handler refuses to run). */
export const loadGeneratorLimitsSchema = z.object({
  [LOAD_GENERATOR_ENV.targetHost]: z
    .string({ error: `${LOAD_GENERATOR_ENV.targetHost} must be set` })
    .regex(/^[A-Za-z0-9.-]+(:\d+)?$/, `${LOAD_GENERATOR_ENV.targetHost} must be a host name (with an optional port)`),
  [LOAD_GENERATOR_ENV.maxRatePerWorker]: positiveFromEnv(LOAD_GENERATOR_ENV.maxRatePerWorker),
  [LOAD_GENERATOR_ENV.maxConcurrency]: positiveFromEnv(LOAD_GENERATOR_ENV.maxConcurrency),
  [LOAD_GENERATOR_ENV.maxSliceSeconds]: positiveFromEnv(LOAD_GENERATOR_ENV.maxSliceSeconds),
  [LOAD_GENERATOR_ENV.maxTimeoutMs]: positiveFromEnv(LOAD_GENERATOR_ENV.maxTimeoutMs),
  [LOAD_GENERATOR_ENV.methods]: z
    .string({ error: `${LOAD_GENERATOR_ENV.methods} must be set` })
    .transform((s) => s.split(',').filter(Boolean))
    .pipe(z.array(z.enum(HTTP_METHODS)).min(1, `${LOAD_GENERATOR_ENV.methods} must name at least one method`)),
});
export type LoadGeneratorLimitsEnv = z.input<typeof loadGeneratorLimitsSchema>;

/** The `loadTest.*` keys the load generator enforces. */
export interface LoadGeneratorLimits {
  readonly maxRatePerWorker: number;
  readonly maxConcurrencyPerWorker: number;
  readonly sliceSeconds: number;
  readonly requestTimeoutMs: number;
  readonly mix: ReadonlyArray<{ readonly method: (typeof HTTP_METHODS)[number] }>;
}

/** The function's environment for `targetHost` (a token in the stack; a test server's host:port in tests). */
export function loadGeneratorEnvironment(targetHost: string, limits: LoadGeneratorLimits): Record<string, string> {
  return {
    [LOAD_GENERATOR_ENV.targetHost]: targetHost,
    [LOAD_GENERATOR_ENV.maxRatePerWorker]: String(limits.maxRatePerWorker),
    [LOAD_GENERATOR_ENV.maxConcurrency]: String(limits.maxConcurrencyPerWorker),
    [LOAD_GENERATOR_ENV.maxSliceSeconds]: String(limits.sliceSeconds),
    [LOAD_GENERATOR_ENV.maxTimeoutMs]: String(limits.requestTimeoutMs),
    [LOAD_GENERATOR_ENV.methods]: [...new Set(limits.mix.map((r) => r.method))].sort().join(','),
  };
}
