import { z } from 'zod';
import { int, num } from './common';

const phaseSchema = z.strictObject({
  durationSeconds: int(1, 7 * 24 * 3600)
    .describe('Length of the phase (s).'),
  arrivalRate: num(0, 1_000_000)
    .describe('Arrivals per second at the start of the phase (open model: independent of response times).'),
  rampTo: num(0, 1_000_000).optional()
    .describe('Arrivals per second at the end of the phase; the rate moves linearly. Omitted: arrivalRate.'),
});

const loadProfileSchema = z.strictObject({
  description: z.string().min(1).max(200)
    .describe('One line for reports and the CLI\'s help.'),
  phases: z.array(phaseSchema).min(1).max(100)
    .describe('The phases, run one after the other: `[{ "durationSeconds", "arrivalRate", "rampTo"? }]`.'),
  stopWhenSlaBreaks: z.boolean()
    .describe('Stop at the end of the first phase that breaks the error SLA and report its rate (stress tests); the phases must then step up.'),
});

export const loadTestSchema = z.strictObject({
  enabled: z.boolean()
    .describe('Deploy the opt-in LoadTest stack (the load-generator Lambda).'),
  lambdaMemoryMiB: int(128, 10240)
    .describe('Memory of the load-generator Lambda (MiB); CPU grows with it (1769 MiB = one vCPU).'),
  maxWorkers: int(1, 1000)
    .describe('The most workers one test fans out to: `npm run loadtest` refuses a plan that needs more. Also the load generator\'s reserved concurrency when loadTest.reserveConcurrency is true.'),
  reserveConcurrency: z.boolean()
    .describe('Reserve loadTest.maxWorkers of the account\'s Lambda concurrency for the load generator, so Lambda itself caps a runaway fan-out and the test always gets its workers. Off by default: Lambda keeps at least 100 unreserved, so an account at the new-account limit (10) rejects any reservation; `npm run preflight` checks. Without it the CLI\'s plan caps the workers and the account\'s unreserved concurrency is the ceiling.'),
  maxRatePerWorker: int(1, 100_000)
    .describe('Arrivals per second one worker is trusted to sustain; above it the CLI fans out to more workers.'),
  maxConcurrencyPerWorker: int(1, 20_000)
    .describe('Requests one worker keeps in flight at most; arrivals beyond it are counted as dropped.'),
  sliceSeconds: int(10, 840)
    .describe('Length of one Lambda slice (s, at most 14 minutes); longer phases (soak) run as consecutive slices.'),
  requestTimeoutMs: int(100, 120_000)
    .describe('Per-request timeout (ms).'),
  mix: z.array(z.strictObject({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a label of letters, digits, ".", "_" or "-"')
      .describe('Label of the request in results.'),
    method: z.enum(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'])
      .describe('HTTP method.'),
    path: z.string().regex(/^\/\S*$/, 'a path starting with "/"')
      .describe('Request path; `{{rand:N}}` in it draws 1…N.'),
    body: z.string().max(65_536).optional()
      .describe('Request body (JSON text), if any.'),
    headers: z.record(
      z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/, 'an HTTP header name (RFC 9110 token)'),
      z.string().max(8192).regex(/^[^\r\n]*$/, 'a header value on one line'),
    ).optional()
      .describe('Request headers, `{ "name": "value" }`. A value may name environment variables as `${env:NAME}`, resolved by `npm run loadtest` when the run starts (a missing variable stops the run before it starts): keep tokens out of cdk.json this way. Resolved values are never written to result files or printed. `host` is refused (the target sets it).'),
    weight: num(0.001, 1_000_000)
      .describe('Relative weight of this request in the mix.'),
  })).min(1).max(50)
    .describe('Weighted request mix, as the workload serves it.'),
  stopPollSeconds: int(1, 60)
    .describe('How often each load-generator worker reads the stack\'s stop parameter (s): `npm run loadtest -- stop --run <id>` (or Ctrl-C) stops a Lambda run within about this long. Every worker reads it, so maxWorkers ÷ stopPollSeconds is the read rate against SSM GetParameter\'s shared account throughput (40/s by default).'),
  profiles: z.strictObject({
    load: loadProfileSchema
      .describe('load: ramp up, then hold.'),
    stress: loadProfileSchema
      .describe('stress: steps that must rise; stops at the first step that breaks the error SLA and reports its rate.'),
    soak: loadProfileSchema
      .describe('soak: steady for hours, run as consecutive slices.'),
    spike: loadProfileSchema
      .describe('spike: a sudden jump and back.'),
  }).catchall(loadProfileSchema)
    .describe('Profiles run by `npm run loadtest -- --profile <name>`: load, stress, soak and spike in every environment, plus any others by name (letters, digits, "_" or "-").'),
}).describe('The opt-in LoadTest stack and the load profiles `npm run loadtest` runs.');

export const slaSchema = z.strictObject({
  latencyP50Ms: int(1, 600_000)
    .describe('Median latency at most (ms), client and server side; at most latencyP90Ms.'),
  latencyP90Ms: int(1, 600_000)
    .describe('p90 latency at most (ms); at most latencyP99Ms.'),
  latencyP99Ms: int(1, 600_000)
    .describe('p99 latency at most (ms).'),
  errorRatePercent: num(0, 100)
    .describe('Failed requests (5xx, connection errors, timeouts) as a share of requests at most (%); at most 100 − slo.availabilityPercent.'),
  minAchievedRatePercent: num(1, 100)
    .describe('The generator must achieve at least this share of the requested rate (%), or the test proves nothing.'),
  queueAgeSeconds: int(1, 1_209_600)
    .describe('Age of the oldest job at most (s).'),
  apiCpuPercent: num(1, 100)
    .describe('API CPU utilisation, service average, at most (%).'),
}).describe('Service-level agreement a load test is judged against (`npm run kpi-report`), client and server side.');

export type LoadTestConfig = z.infer<typeof loadTestSchema>;
export type LoadProfile = z.infer<typeof loadProfileSchema>;
export type SlaConfig = z.infer<typeof slaSchema>;
