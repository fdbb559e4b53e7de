import * as z from 'zod';

/**
 * What crosses a process boundary in a load test, as plain data: the load-generator Lambda's event and
 * its result (JSON over Lambda Invoke), the result file `npm run loadtest` writes and `npm run kpi-report`
 * reads, and the client-side CloudWatch metrics. Where a shape is parsed at run time, one zod schema gives
 * the type (`z.infer`) and the parser.
 */

/** CloudWatch namespace, metric names and dimensions of the client-side load-test metrics. */
export const LOADTEST_NAMESPACE = 'ScalingBlueprint/LoadTest';
/**
 * Every metric is published twice per minute: with Environment and RunId (the run as a whole), and with
 * Environment, RunId and Endpoint (one request-mix entry, by its `name`). The per-endpoint set carries
 * Latency, Requests, Errors, Timeouts and Http2xx-5xx; Scheduled and Dropped are properties of arrivals,
 * which have no endpoint until they are sent.
 */
export const LOADTEST_DIMENSIONS = { environment: 'Environment', runId: 'RunId', endpoint: 'Endpoint' } as const;
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

/**
 * The profiles every environment has in `loadTest.profiles` (`npm run loadtest -- --profile <name>`); an
 * environment may add profiles of any name matching PROFILE_NAME.
 */
export const LOAD_PROFILES = ['load', 'stress', 'soak', 'spike'] as const;
export type LoadProfileName = (typeof LOAD_PROFILES)[number];
/** A profile's name: the key under `loadTest.profiles`, also part of the default run id and file name. */
export const PROFILE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * A header value may name environment variables, `${env:NAME}`, resolved by `npm run loadtest` when the
 * run starts: secrets (tokens) stay out of cdk.json, and the resolved values are never written to a result
 * file or printed (tools/loadtest/headers.ts).
 */
export const ENV_REFERENCE = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}/g;

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

/**
 * One request-mix entry's share of a run (per-endpoint results): counted from the moment a request is sent
 * (an arrival dropped at the concurrency cap was never assigned an entry). Its latency is measured as the
 * run's is, from the intended send time.
 */
export const endpointResultSchema = z.object({
  /** The mix entry's `name`: also the CloudWatch Endpoint dimension's value. */
  name: z.string(),
  method: z.enum(HTTP_METHODS),
  /** The path template as configured (`/items/{{rand:1000}}`). */
  path: z.string(),
  sent: count,
  completed: count,
  timeouts: count,
  errors: count,
  status: statusCountsSchema,
  /** Requests of this entry sent per second of the run (sent / the run's duration). */
  achievedRps: z.number().min(0),
  latency: latencySummarySchema,
  /** For merging workers and slices; at most ENDPOINT_MAX_VALUES values. */
  distribution: distributionSchema,
});
export type EndpointResult = z.infer<typeof endpointResultSchema>;

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
  /** One entry per request-mix entry, in the mix's order. @default - absent in results of older versions */
  endpoints: z.array(endpointResultSchema).optional(),
  /** The run stopped before its schedule ended (a signal, `npm run loadtest -- stop`, a Lambda deadline). */
  stopped: z.boolean().optional(),
});
export type LoadResult = z.infer<typeof loadResultSchema>;

/** How a run ended: every phase sent (`completed`), or stopped early with a partial result (`aborted`). */
export const RUN_STATES = ['completed', 'aborted'] as const;
/** What stopped an aborted run: Ctrl-C or a kill of the CLI, or `npm run loadtest -- stop --run <id>`. */
export const STOP_CAUSES = ['SIGINT', 'SIGTERM', 'stop'] as const;

/**
 * What a run tested, so two result files can be compared (`npm run kpi-report -- --baseline`): the same
 * environment, configuration, code, profile and target, or not.
 */
export const runTestedSchema = z.object({
  /** The cdk.json environment (`--env`). */
  environment: z.string(),
  /** `sha256:<hex>` of that environment's loaded configuration (defaults merged), as canonical JSON (keys sorted). */
  configHash: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  /** HEAD of the checkout the CLI ran from; null outside a git checkout. */
  gitCommit: z.string().nullable(),
  /** Uncommitted changes to tracked files at the time; null when unknown. */
  gitDirty: z.boolean().nullable(),
  /** The loadTest.profiles entry; null when `--rate/--duration` ran without `--profile`. */
  profile: z.string().nullable(),
  /** `--rate/--duration`, when they replaced the profile's phases. */
  override: z.object({ rate: z.number(), durationSeconds: z.number() }).nullable(),
  /** The phases that were run (all workers together). */
  phases: z.array(phaseSchema),
  /** Base URL of the system under test. */
  target: z.string(),
  /** `<package name>@<version>` of the generator (package.json), with its engine mode. */
  generatorVersion: z.string(),
  mode: z.enum(['local', 'lambda']),
});
export type RunTested = z.infer<typeof runTestedSchema>;

/**
 * `loadtest-results/<runId>.json`: what `npm run loadtest` writes and `npm run kpi-report` reads. The run's
 * fields are optional: the report judges any LoadResult, written by the CLI or by hand.
 */
export const runResultFileSchema = loadResultSchema.extend({
  runId: z.string().optional(),
  envName: z.string().optional(),
  /** loadTest.profiles' key (any PROFILE_NAME); absent for a `--rate/--duration` run without `--profile`. */
  profile: z.string().regex(PROFILE_NAME, 'must be a profile name (letters, digits, "_" or "-")').optional(),
  /** @default - completed (files written before this field) */
  state: z.enum(RUN_STATES).optional(),
  /** Set when state is aborted. */
  stoppedBy: z.enum(STOP_CAUSES).optional(),
  /** What was tested (environment, config hash, git commit, profile, target, generator version). */
  tested: runTestedSchema.optional(),
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
  /** Name of the SSM parameter `npm run loadtest -- stop` writes (StopBoard) and the workers poll. Optional. */
  stopParameter: 'LOADTEST_STOP_PARAMETER',
  /** loadTest.stopPollSeconds: how often a worker reads it (s). */
  stopPollSeconds: 'LOADTEST_STOP_POLL_SECONDS',
} as const;

/**
 * The value of the stop parameter: the runs stopped lately, newest first (`npm run loadtest -- stop` keeps
 * STOP_BOARD_MAX of them, which keeps it far below the 4 KB of a standard SSM parameter). One parameter per
 * stack, so the invoker role's and the function's permissions name one ARN.
 */
export const stopBoardSchema = z.object({
  stopped: z.array(z.object({ runId: nonEmpty, at: z.iso.datetime() })),
});
export type StopBoard = z.infer<typeof stopBoardSchema>;
export const STOP_BOARD_MAX = 20;
export const EMPTY_STOP_BOARD: StopBoard = { stopped: [] };

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
  [LOAD_GENERATOR_ENV.stopParameter]: z.string().min(1).optional(),
  [LOAD_GENERATOR_ENV.stopPollSeconds]: positiveFromEnv(LOAD_GENERATOR_ENV.stopPollSeconds).optional(),
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

/** Where the workers look for a stop (the stack's StopBoard parameter) and how often. */
export interface LoadGeneratorStop {
  readonly parameterName: string;
  readonly pollSeconds: number;
}

/** The function's environment for `targetHost` (a token in the stack; a test server's host:port in tests). */
export function loadGeneratorEnvironment(targetHost: string, limits: LoadGeneratorLimits, stop?: LoadGeneratorStop): Record<string, string> {
  return {
    ...(stop && { [LOAD_GENERATOR_ENV.stopParameter]: stop.parameterName, [LOAD_GENERATOR_ENV.stopPollSeconds]: String(stop.pollSeconds) }),
    [LOAD_GENERATOR_ENV.targetHost]: targetHost,
    [LOAD_GENERATOR_ENV.maxRatePerWorker]: String(limits.maxRatePerWorker),
    [LOAD_GENERATOR_ENV.maxConcurrency]: String(limits.maxConcurrencyPerWorker),
    [LOAD_GENERATOR_ENV.maxSliceSeconds]: String(limits.sliceSeconds),
    [LOAD_GENERATOR_ENV.maxTimeoutMs]: String(limits.requestTimeoutMs),
    [LOAD_GENERATOR_ENV.methods]: [...new Set(limits.mix.map((r) => r.method))].sort().join(','),
  };
}
