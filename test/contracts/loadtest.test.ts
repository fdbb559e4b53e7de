import { loadResultSchema, loadWorkerEventSchema, runResultFileSchema } from '../../lib/contracts/loadtest';

const event = {
  runId: 'r', envName: 'dev', target: 'http://127.0.0.1:1', maxConcurrency: 10, timeoutMs: 1000, workerIndex: 1, workers: 2,
  phases: [{ durationSeconds: 0.5, arrivalRate: 12.5, rampTo: 20 }],
  mix: [{ name: 'read', method: 'GET', path: '/items/{{rand:10}}', weight: 1 }],
};
const result = {
  target: 'http://127.0.0.1:1', startedAt: '2026-01-01T00:00:00.000Z', durationSeconds: 1, requestedRps: 10, achievedRps: 10,
  scheduled: 10, sent: 10, completed: 10, dropped: 0, timeouts: 0, errors: 0, status: { '1xx': 0, '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 0 },
  latency: { count: 10, minMs: 1, meanMs: 2, p50Ms: 2, p90Ms: 3, p99Ms: 3, maxMs: 3 },
  distribution: { values: [1, 2, 3], counts: [2, 5, 3] },
};
const problems = (r: { success: boolean; error?: { issues: Array<{ path: PropertyKey[]; message: string }> } }) =>
  r.error?.issues.map((i) => `${i.path.join('.')} ${i.message}`) ?? [];

describe('LoadWorkerEvent', () => {
  test('a slice as the CLI cuts it parses (fractional durations and rates)', () => {
    expect(loadWorkerEventSchema.parse(event)).toEqual(event);
  });

  test('names each bad field: worker index outside the slice, phases the schedule cannot run, a request the mix cannot send', () => {
    expect(problems(loadWorkerEventSchema.safeParse({ ...event, workerIndex: 2 }))).toEqual(['workerIndex must be an integer in [0, workers)']);
    expect(problems(loadWorkerEventSchema.safeParse({ ...event, phases: [{ durationSeconds: 0, arrivalRate: -1 }] }))).toEqual([
      'phases.0.durationSeconds must be > 0',
      'phases.0.arrivalRate must be ≥ 0',
    ]);
    expect(problems(loadWorkerEventSchema.safeParse({ ...event, mix: [{ ...event.mix[0], path: 'items', weight: 0 }] }))).toEqual([
      'mix.0.path must start with "/"',
      'mix.0.weight must be > 0',
    ]);
  });
});

describe('LoadResult and the result file', () => {
  test("a result parses; counts must be whole, the distribution's values and counts as long as each other", () => {
    expect(loadResultSchema.parse(result)).toEqual(result);
    expect(problems(loadResultSchema.safeParse({ ...result, sent: 1.5 }))).toHaveLength(1);
    expect(problems(loadResultSchema.safeParse({ ...result, distribution: { values: [1], counts: [1, 2] } }))).toEqual([
      'distribution values and counts must be as long as each other',
    ]);
    expect(problems(loadResultSchema.safeParse({ ...result, startedAt: 'yesterday' }))).toHaveLength(1);
  });

  test("the run's fields are optional (a bare LoadResult is judged too), and checked when present", () => {
    expect(runResultFileSchema.parse(result)).toEqual(result);
    const file = { ...result, runId: 'r', envName: 'dev', profile: 'stress', mode: 'lambda', breakingRps: null, breach: null, phaseResults: [{ ...result, distribution: undefined }] };
    expect(runResultFileSchema.parse(file)).toMatchObject({ profile: 'stress', breakingRps: null, phaseResults: [{ sent: 10 }] });
    expect(problems(runResultFileSchema.safeParse({ ...file, mode: 'ec2' }))).toHaveLength(1);
  });
});

describe('what a result file records (issue 16: compare runs; issue 19: runs that stop)', () => {
  const tested = {
    environment: 'dev', configHash: `sha256:${'a'.repeat(64)}`, gitCommit: '0123456789abcdef0123456789abcdef01234567', gitDirty: false,
    profile: 'checkout-burst', override: null, phases: [{ durationSeconds: 60, arrivalRate: 10 }], target: 'http://127.0.0.1:1',
    generatorVersion: 'scaling-blueprint@0.1.0', mode: 'local',
  };
  const endpoint = {
    name: 'read', method: 'GET', path: '/items/{{rand:10}}', sent: 10, completed: 10, timeouts: 0, errors: 0,
    status: { '1xx': 0, '2xx': 10, '3xx': 0, '4xx': 0, '5xx': 0 }, achievedRps: 10, latency: result.latency, distribution: result.distribution,
  };

  test('an aborted run of a profile of any name, with what was tested and per-endpoint results, parses', () => {
    const file = { ...result, runId: 'r', profile: 'checkout-burst', state: 'aborted', stoppedBy: 'SIGINT', stopped: true, tested, endpoints: [endpoint] };
    expect(runResultFileSchema.parse(file)).toEqual(file);
  });

  test('names what is wrong in the new fields', () => {
    expect(problems(runResultFileSchema.safeParse({ ...result, state: 'paused' }))).toHaveLength(1);
    expect(problems(runResultFileSchema.safeParse({ ...result, stoppedBy: 'SIGKILL' }))).toHaveLength(1);
    expect(problems(runResultFileSchema.safeParse({ ...result, profile: 'a b' }))).toEqual(['profile must be a profile name (letters, digits, "_" or "-")']);
    expect(problems(runResultFileSchema.safeParse({ ...result, tested: { ...tested, configHash: 'abc' } }))).toEqual(['tested.configHash Invalid string: must match pattern /^sha256:[0-9a-f]{64}$/']);
    expect(problems(loadResultSchema.safeParse({ ...result, endpoints: [{ ...endpoint, sent: -1 }] }))).toHaveLength(1);
  });
});
