import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { RunResultFile } from '../../../lib/contracts/loadtest';
import { main } from '../../../tools/kpi-report/cli';
import { compareRuns, delta } from '../../../tools/kpi-report/compare';

/** A result file as `npm run loadtest` writes it, with what it tested; `tweak` changes the figures. */
function result(runId: string, tweak: Partial<RunResultFile> = {}, configHash = 'a'): RunResultFile {
  return {
    runId, envName: 'dev', profile: 'load', target: 'http://127.0.0.1:8080', startedAt: '2026-01-01T10:00:00.000Z', durationSeconds: 300,
    scheduled: 30000, sent: 30000, completed: 29990, dropped: 0, timeouts: 4, errors: 1,
    status: { '1xx': 0, '2xx': 29985, '3xx': 0, '4xx': 0, '5xx': 5 },
    requestedRps: 100, achievedRps: 100,
    latency: { count: 29990, minMs: 2, meanMs: 20, p50Ms: 15, p90Ms: 40, p99Ms: 120, maxMs: 400 },
    distribution: { values: [15], counts: [29990] },
    endpoints: [{
      name: 'item-read', method: 'GET', path: '/items/{{rand:1000}}', sent: 24000, completed: 23995, timeouts: 4, errors: 1,
      status: { '1xx': 0, '2xx': 23990, '3xx': 0, '4xx': 0, '5xx': 5 }, achievedRps: 80,
      latency: { count: 23995, minMs: 2, meanMs: 18, p50Ms: 14, p90Ms: 38, p99Ms: 110, maxMs: 400 }, distribution: { values: [14], counts: [23995] },
    }],
    tested: {
      environment: 'dev', configHash: `sha256:${configHash.repeat(64).slice(0, 64)}`, gitCommit: 'abc1234', gitDirty: false, profile: 'load', override: null,
      phases: [{ durationSeconds: 300, arrivalRate: 100 }], target: 'http://127.0.0.1:8080', generatorVersion: 'scaling-blueprint@0.1.0 (local)', mode: 'local',
    },
    ...tweak,
  };
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpi-compare-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (r: RunResultFile) => {
  fs.writeFileSync(path.join(dir, `${r.runId}.json`), JSON.stringify(r));
  return path.join(dir, `${r.runId}.json`);
};

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--results', dir], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('a KPI\'s change against the baseline', () => {
  test('beyond the noise threshold, in the direction that is worse: regressed; the better way: improved', () => {
    expect(delta('latency p99', 'ms', 'lower', 100, 130, 10)).toMatchObject({ absolute: 30, percent: 30, change: 'regressed' });
    expect(delta('latency p99', 'ms', 'lower', 100, 80, 10)).toMatchObject({ absolute: -20, percent: -20, change: 'improved' });
    expect(delta('requests/s', 'rps', 'higher', 100, 80, 10)).toMatchObject({ change: 'regressed' });
  });

  test('within the noise threshold, or below the absolute floor: unchanged', () => {
    expect(delta('latency p99', 'ms', 'lower', 100, 109, 10).change).toBe('unchanged');
    // 3 ms → 3.9 ms is +30 %, but under 1 ms: noise
    expect(delta('latency p50', 'ms', 'lower', 3, 3.9, 10).change).toBe('unchanged');
    // 0 → 0.04 % errors: no percentage (from 0), under the 0.05-point floor
    expect(delta('error rate', 'percent', 'lower', 0, 0.04, 10)).toMatchObject({ percent: null, change: 'unchanged' });
    expect(delta('error rate', 'percent', 'lower', 0, 0.5, 10)).toMatchObject({ percent: null, change: 'regressed' });
    expect(delta('x', 'ms', 'lower', null, 5, 10).change).toBe('no data');
  });

  test('the comparison lists what differs in what the runs tested (a changed knob is a new config hash)', () => {
    const c = compareRuns({ result: result('a'), file: 'a.json' }, { result: result('b', {}, 'b'), file: 'b.json' });
    expect(c.differences).toEqual([`configHash: "sha256:${'a'.repeat(64)}" → "sha256:${'b'.repeat(64)}"`]);
    expect(c.regressions).toBe(0);
    const old = compareRuns({ result: { ...result('a'), tested: undefined }, file: 'old.json' }, { result: result('b'), file: 'b.json' });
    expect(old.differences).toEqual(['old.json does not say what it tested (no "tested" field): the runs may not be comparable.']);
  });
});

describe('npm run kpi-report -- --run <id> --baseline <run> --compare-only', () => {
  test('two result files: the deltas, absolute and %, and exit 1 on a regression beyond the noise', async () => {
    write(result('base'));
    write(result('worse', { latency: { count: 29990, minMs: 2, meanMs: 26, p50Ms: 15, p90Ms: 52, p99Ms: 180, maxMs: 400 } }, 'b'));
    const o = await cli(['--env', 'dev', '--run', 'worse', '--baseline', 'base', '--compare-only']);
    expect(o.stderr).toBe('');
    expect(o.code).toBe(1);
    expect(o.stdout).toContain('Compared with base (noise threshold 10 %): 3 regressed, 0 improved');
    expect(o.stdout).toMatch(/latency p99\s+120\s+180\s+\+60\s+\+50 %\s+regressed/);
    expect(o.stdout).toMatch(/latency p50\s+15\s+15\s+0\s+0 %\s+unchanged/);
    expect(o.stdout).toMatch(/item-read p99\s+110\s+110\s+0\s+0 %\s+unchanged/);
    expect(o.stdout).toContain('configHash:');
  });

  test('an improvement, or a change within --noise, exits 0; the baseline may be a path; --json prints the comparison', async () => {
    write(result('base2'));
    write(result('better', { latency: { count: 29990, minMs: 2, meanMs: 19, p50Ms: 14.5, p90Ms: 38, p99Ms: 100, maxMs: 380 } }));
    const o = await cli(['--env', 'dev', '--run', 'better', '--baseline', path.join(dir, 'base2.json'), '--compare-only', '--json']);
    expect(o.code).toBe(0);
    const json = JSON.parse(o.stdout);
    expect(json.regressions).toBe(0);
    expect(json.deltas.find((d: { kpi: string }) => d.kpi === 'latency p99')).toMatchObject({ baseline: 120, current: 100, absolute: -20, change: 'improved' });
    // +50 % on p99 is within a noise threshold of 60 %
    write(result('noisy', { latency: { count: 29990, minMs: 2, meanMs: 20, p50Ms: 15, p90Ms: 40, p99Ms: 180, maxMs: 400 } }));
    expect((await cli(['--env', 'dev', '--run', 'noisy', '--baseline', 'base2', '--compare-only', '--noise', '60'])).code).toBe(0);
  });

  test('usage: --baseline needs one --run with a result file, and an existing baseline', async () => {
    write(result('base'));
    expect(await cli(['--env', 'dev', '--run', 'base', '--run', 'worse', '--baseline', 'base', '--compare-only'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--baseline compares one run: give exactly one --run.') });
    expect(await cli(['--env', 'dev', '--run', 'nothing', '--baseline', 'base', '--compare-only'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--baseline: run nothing has no result file') });
    expect(await cli(['--env', 'dev', '--run', 'base', '--baseline', 'gone', '--compare-only'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--baseline gone: no ') });
    expect(await cli(['--env', 'dev', '--run', 'base', '--noise=-1', '--baseline', 'base', '--compare-only'])).toMatchObject({ code: 2, stderr: expect.stringContaining('--noise -1: a percentage ≥ 0.') });
  });
});
