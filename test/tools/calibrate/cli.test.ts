import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main as calibrate, USAGE } from '../../../tools/calibrate/cli';
import { derive, roundCapacityDown } from '../../../tools/calibrate/derive';
import { loadEnvironmentConfig } from '../../../tools/common/cdk-json';
import type { Calibration } from '../../../tools/calibrate/render';
import { evaluate } from '../../../tools/kpi-report/evaluate';
import { SERVER, type Series } from '../../../tools/kpi-report/fetch';
import { renderJson, type Report } from '../../../tools/kpi-report/render';
import { main as loadtest } from '../../../tools/loadtest/cli';
import { startServer, type TestServer } from '../../load-engine/server';
import { at, resultFile, ROOT, stressRun, window, writeJson } from './fixture';

/**
 * An environment of our own, so that the hand-worked numbers below do not move with the project's
 * defaults: CPU target 70 %, maxTasks 4, one process per task (cpu 1024), and load profiles whose highest
 * peak that must hold the SLA is the spike's 1200 req/s (the stress profile's 2000 does not count: it is
 * meant to break).
 */
const ENV = 'calib';
const PROFILES = {
  load: { description: 'ramp and hold', stopWhenSlaBreaks: false, phases: [{ durationSeconds: 60, arrivalRate: 10, rampTo: 1000 }, { durationSeconds: 60, arrivalRate: 1000 }] },
  stress: { description: 'steps', stopWhenSlaBreaks: true, phases: [500, 1000, 2000].map((arrivalRate) => ({ durationSeconds: 60, arrivalRate })) },
  soak: { description: 'steady', stopWhenSlaBreaks: false, phases: [{ durationSeconds: 600, arrivalRate: 300 }] },
  spike: { description: 'jump', stopWhenSlaBreaks: false, phases: [{ durationSeconds: 60, arrivalRate: 100 }, { durationSeconds: 60, arrivalRate: 1200 }] },
};

let dir: string;
let cdkJson: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calibrate-cli-'));
  const cdk = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  cdk.context['scaling-blueprint'].environments[ENV] = {
    api: { minTasks: 2, maxTasks: 4, cpu: 1024, memoryMiB: 2048, targetCpuUtilizationPercent: 70, capacityPerTaskRps: 500, requestsPerTarget: 'fromCapacity' },
    loadTest: { profiles: PROFILES },
  };
  cdkJson = writeJson(dir, 'cdk.json', cdk);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const code = calibrate([...args, '--config', cdkJson], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

function json(args: string[]): Calibration {
  const r = run([...args, '--json']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Calibration;
}

const file = (name: string, value: unknown) => writeJson(dir, name, value);
const stress = () => file('stress.json', stressRun({ envName: ENV }));

describe('npm run calibrate: hand-worked examples', () => {
  test('a stress run with steps, 2 tasks: 590 req/s at step 3 → 295 per task, and what it implies', () => {
    // GIVEN steps 200, 400, 600 held (600 achieved 590), 800 broke; 2 tasks
    const c = json(['--result', stress(), '--tasks', '2']);
    // THEN 590 ÷ 2 = 295 req/s per task, below 800 ÷ 2 = 400 where it broke
    expect(c.run).toMatchObject({ kind: 'bracketed', rps: 590, at: 'step 3', brokeAtRps: 800, brokeAt: 'step 4' });
    expect(c.perTaskRps).toBe(295);
    expect(c.perTaskUpperRps).toBe(400);
    // request target 295 × 60 × 70 % = 12390 per minute; the spike's 1200 req/s needs 1200 × 60 ÷ 12390 = 5.81 → 6 tasks (> maxTasks 4)
    expect(c.values.map((v) => [v.key, v.value])).toEqual([
      ['api.capacityPerTaskRps', 295],
      ['api.requestsPerTarget', 12390],
      ['api.maxTasks', 6],
      ['scale ceiling (req/s)', 6 * 295],
      ['capacity per process (req/s)', 295],
    ]);
    expect(c.snippet).toEqual({ [ENV]: { api: { capacityPerTaskRps: 295, requestsPerTarget: 'fromCapacity', maxTasks: 6 } } });
    expect(c.notes).toContain(`api.maxTasks 4 carries 826 req/s at the request target, under the 1200 req/s of loadTest.profiles.spike: the snippet raises it to 6. More tasks open more database connections; npx cdk synth -c env=${ENV} checks the budget.`);
    expect(c.kpiReportCommand).toBe(`npm run kpi-report -- --env ${ENV} --since ${at(120)} --until ${at(180)}`);
    expect(c.exitCode).toBe(0);
  });

  test('--tasks 3 divides the capacity: 590 ÷ 3 = 196.7, written as 196', () => {
    const c = json(['--result', stress(), '--tasks', '3']);
    expect(c.perTaskRps).toBeCloseTo(196.667, 3);
    expect(c.perTaskUpperRps).toBeCloseTo(266.667, 3);
    // 196 × 60 × 70 % = 8232 per minute; 1200 × 60 ÷ 8232 = 8.75 → 9 tasks
    expect(c.snippet).toEqual({ [ENV]: { api: { capacityPerTaskRps: 196, requestsPerTarget: 'fromCapacity', maxTasks: 9 } } });
  });

  test('a constant run within the SLA: a lower bound, said so in the output', () => {
    // GIVEN 1000 req/s for 30 s on 4 tasks, 29 970 sent, p99 80 ms, no failures
    const constant = file('constant.json', resultFile({ startedAt: at(0), durationSeconds: 30, requestedRps: 1000, achievedRps: 999, p50Ms: 8, p90Ms: 30, p99Ms: 80 }, { envName: ENV }));
    const r = run(['--result', constant, '--tasks', '4']);
    expect(r.code).toBe(0);
    // 999 ÷ 4 = 249.75 → 249; 249 × 42 = 10458 per minute; 1200 × 60 ÷ 10458 = 6.88 → 7 tasks
    expect(r.stdout).toContain('Capacity at the SLA: at least 999 req/s (whole run) ÷ 4 tasks (--tasks) = 249.8 req/s per task: a LOWER BOUND, the SLA never broke, so the real capacity is higher by an unknown amount.');
    expect(r.stdout).toMatch(/^api\.capacityPerTaskRps +249 +measured: 999 req\/s \(whole run\) ÷ 4 tasks = 249\.8, rounded down to 3 digits$/m);
    expect(r.stdout).toMatch(/^api\.requestsPerTarget +10458 /m);
    expect(r.stdout).toContain(`{\n  "${ENV}": {\n    "api": {\n      "capacityPerTaskRps": 249,\n      "requestsPerTarget": "fromCapacity",\n      "maxTasks": 7\n    }\n  }\n}`);
    expect(r.stdout).toContain('Note: the capacity is a lower bound, so the request target and maxTasks are on the safe side: they scale out earlier and further than the system needs.');
    expect(r.stdout).not.toContain('npm run kpi-report');
    expect(r.stdout).not.toContain('answered 4xx');
  });

  test('a run whose requests were mostly 4xx says the figure may flatter the API', () => {
    // GIVEN 1500 sent, 1044 of them 404 (items never seeded): 69.6 %
    const base = resultFile({ startedAt: at(0), durationSeconds: 10, requestedRps: 150, achievedRps: 150, p50Ms: 6, p90Ms: 50, p99Ms: 350 }, { envName: ENV, mode: 'local' });
    const f = file('404s.json', { ...base, status: { ...base.status, '2xx': 456, '4xx': 1044 } });
    expect(json(['--result', f, '--tasks', '1']).notes).toContain('1044 of the 1500 requests (69.6 %) were answered 4xx: they count as served, but may cost the API less than the requests they stand for (a 404 for an item never created): seed the data the mix asks for (loadTest.mix) and measure again.');
  });

  test('a run that broke the SLA at its first step gives no capacity: exit 1, no snippet', () => {
    const step = { startedAt: at(0), durationSeconds: 60, requestedRps: 200, achievedRps: 200, p50Ms: 10, p90Ms: 20, p99Ms: 40, http5xx: 60 };
    const broke = file('broke.json', resultFile(step, { envName: ENV, profile: 'stress', breakingRps: 200, phaseResults: [window(step)] }));
    const r = run(['--result', broke, '--tasks', '1']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('step 1 broke the SLA: error rate 0.5 % > 0.1 % (sla.errorRatePercent)');
    expect(r.stdout).toContain('No capacity: the SLA broke in the first window (step 1, 200 req/s requested). Start the run lower (the first step of loadTest.profiles.stress, or --rate), or find what breaks the SLA at that rate.');
    expect(r.stdout).not.toContain('cdk.json, under');
    expect(json(['--result', broke, '--tasks', '1'])).toMatchObject({ exitCode: 1, snippet: null, perTaskRps: null, values: [] });
  });

  test('under 1 req/s per task (what api.capacityPerTaskRps accepts): no configuration, said why', () => {
    // GIVEN 2 req/s held on 4 tasks = 0.5 per task
    const slow = file('slow.json', resultFile({ startedAt: at(0), durationSeconds: 30, requestedRps: 2, achievedRps: 2, p50Ms: 50, p90Ms: 90, p99Ms: 99 }, { envName: ENV }));
    const c = json(['--result', slow, '--tasks', '4']);
    expect(c).toMatchObject({ exitCode: 0, perTaskRps: 0.5, values: [], snippet: null });
    expect(c.notes).toContain('0.5 req/s per task is below the 1 req/s api.capacityPerTaskRps accepts: no configuration follows from it. Find what holds the API back before calibrating.');
  });

  test('a peak that even 1000 tasks cannot carry: no maxTasks in the snippet, and why', () => {
    // GIVEN 20 req/s per task (840 per minute at 70 %: 14 req/s per task sustained, 14 000 at 1000 tasks) and a 30 000 req/s spike
    const config = loadEnvironmentConfig(ENV, cdkJson);
    const spike = { ...config.loadTest.profiles.spike, phases: [{ durationSeconds: 60, arrivalRate: 30_000 }] };
    const big = { ...config, loadTest: { ...config.loadTest, profiles: { ...config.loadTest.profiles, spike } } };
    const d = derive(big, ENV, { kind: 'lower-bound', rps: 20, at: 'whole run', brokeAtRps: null, brokeAt: null, windows: [], notes: [] }, 1);
    expect(d.snippet).toEqual({ [ENV]: { api: { capacityPerTaskRps: 20, requestsPerTarget: 'fromCapacity' } } });
    expect(d.values.map((v) => v.key)).not.toContain('api.maxTasks');
    expect(d.notes).toContain('even 1000 tasks (the most api.maxTasks allows) do not carry the 30000 req/s of loadTest.profiles.spike at 840 requests per task per minute: a bigger task (api.cpu), a faster API or a lower peak is needed.');
  });

  test('the capacity goes into cdk.json rounded DOWN to three digits', () => {
    expect([roundCapacityDown(196.667), roundCapacityDown(12.349), roundCapacityDown(4521.7), roundCapacityDown(2.95), roundCapacityDown(295)]).toEqual([196, 12.3, 4520, 2.95, 295]);
  });
});

describe('npm run calibrate --report: the KPI report of the run', () => {
  /** report.json as npm run kpi-report writes it (its own evaluate and renderJson) for the four minutes of the stress run. */
  function report(name: string, envName: string, tasks: number[]): string {
    const startMs = Date.parse(at(0));
    const series = (values: number[]): Series => ({ timestamps: values.map((_, i) => startMs + i * 60_000), values });
    const fetched = { series: new Map([[SERVER.apiCpu, series([30, 55, 78, 91])], [SERVER.apiRunning, series(tasks)]]), failed: new Map<string, string>() };
    const endMs = startMs + 4 * 60_000;
    const sla = { latencyP50Ms: 100, latencyP90Ms: 300, latencyP99Ms: 1000, errorRatePercent: 0.1, minAchievedRatePercent: 95, queueAgeSeconds: 300, apiCpuPercent: 85 };
    const r: Report = {
      envName, runIds: ['run-1'], window: { start: at(0), end: new Date(endMs).toISOString(), periodSeconds: 60, from: 'test' }, kpiSources: 'test', generatedAt: at(300),
      ...evaluate({ envName, runs: [], startMs, endMs, periodSeconds: 60, sla, fetched, requireAll: false }),
    };
    return file(name, renderJson(r));
  }

  test('takes the task count from a steady running-task series and names the CPU the report saw', () => {
    const r = run(['--result', stress(), '--report', report('steady.json', ENV, [2, 2, 2, 2])]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Capacity at the SLA: 590 req/s (step 3) ÷ 2 tasks (${path.join(dir, 'steady.json')} (running tasks)) = 295 req/s per task.`);
    expect(r.stdout).toContain(`Utilisation: API CPU peaked at 91 % (sla.apiCpuPercent 85 %) over ${at(0)} → ${at(240)}, which covers step 1, step 2, step 3, step 4, including step 4 where the SLA broke: the peak may be that step's, not the capacity's.`);
    expect(r.stdout).toContain(`API CPU at the capacity's step: npm run kpi-report -- --env ${ENV} --since ${at(120)} --until ${at(180)}, then --report <its report.json>.`);
  });

  test('refuses to divide by a task count that autoscaling moved, unless --tasks says', () => {
    const moving = report('moving.json', ENV, [2, 2, 3, 4]);
    const r = run(['--result', stress(), '--report', moving]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^calibrate: ${escape(moving)} saw 2 → 4 API tasks during the run: autoscaling moved them, so no one task count divides the rate. Fix: pass --tasks N, or rerun with api.minTasks = api.maxTasks.\n`));
    const given = json(['--result', stress(), '--report', moving, '--tasks', '2']);
    expect(given.notes).toContain(`--tasks 2, but ${moving} saw 2 → 4 API tasks running: the per-task figure is only as right as --tasks.`);
  });

  test('a report on another environment is refused', () => {
    const other = report('other.json', 'staging', [2, 2, 2, 2]);
    const r = run(['--result', stress(), '--report', other, '--tasks', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`calibrate: --report ${other} is a report on environment "staging", not "${ENV}". Fix: the report of this run.\n`);
  });
});

describe('npm run calibrate: what it cannot judge exits 2 with a message', () => {
  test.each([
    ['not JSON', '{"runId": ', (f: string) => `calibrate: --result ${f}: Unexpected end of JSON input. Fix: pass the file npm run loadtest wrote (loadtest-results/<run>.json).\n`],
    ['not a load-test result', JSON.stringify({ runId: 'x', envName: ENV }), (f: string) => new RegExp(`^calibrate: --result ${escape(f)} is not a load-test result \\(runResultFileSchema, lib/contracts/loadtest.ts\\): scheduled: Invalid input: expected number, received undefined; sent: `)],
    ['latency that is not a number', JSON.stringify({ ...stressRun({ envName: ENV }), latency: { p99Ms: 'fast' } }), (f: string) => new RegExp(`^calibrate: --result ${escape(f)} is not a load-test result .*latency\\.p99Ms: Invalid input: expected number, received string`)],
  ])('%s', (name, content, message) => {
    const f = file(`${name.replace(/ /g, '-')}.json`, content);
    const r = run(['--result', f, '--tasks', '1']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    if (typeof message(f) === 'string') expect(r.stderr).toBe(message(f));
    else expect(r.stderr).toMatch(message(f));
  });

  test('a missing file, a missing or bad --tasks, and a run of another environment', () => {
    const missing = path.join(dir, 'nope.json');
    expect(run(['--result', missing, '--tasks', '1']).stderr).toBe(`calibrate: --result ${missing}: ENOENT: no such file or directory, open '${missing}'. Fix: pass the file npm run loadtest wrote (loadtest-results/<run>.json).\n`);
    expect(run(['--tasks', '1'])).toMatchObject({ code: 2, stderr: `calibrate: --result <file> is required: the result file of npm run loadtest (loadtest-results/<run>.json).\n(npm run calibrate -- --help lists the flags)\n` });
    expect(run(['--result', stress()])).toMatchObject({ code: 2, stderr: `calibrate: --tasks <N> is required: the API tasks that served the run (1 for npm run workload:dev).\n(npm run calibrate -- --help lists the flags)\n` });
    expect(run(['--result', stress(), '--tasks', '1.5']).stderr).toMatch(/^calibrate: --tasks = "1.5": must be a whole number ≥ 1 \(the API tasks that served the run\)\.\n/);
    expect(run(['--result', stress(), '--tasks', '2', '--env', 'prod'])).toMatchObject({ code: 2, stderr: `calibrate: ${path.join(dir, 'stress.json')} is a run against environment "${ENV}", not "prod". Fix: --env ${ENV}, or the result of a run against prod.\n` });
    expect(run(['--result', stress(), '--tasks', '2', '--bogus']).stderr).toMatch(/^calibrate: unknown flag --bogus\n/);
  });
});

/** Runs the CLI as `npm run calibrate` does (a child process). */
function spawnCalibrate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'tools/calibrate/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TS_NODE_SWC: 'true' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('end to end', () => {
  let server: TestServer;
  beforeAll(async () => {
    // Generous against step 2 (100 req/s): a stall of the busy machine bunches arrivals, and one 503 in 100 breaks the error SLA.
    server = await startServer({ limitRps: 300 });
  });
  afterAll(() => server.close());

  test('--help prints the usage and exits 0; package.json runs this CLI as npm run calibrate', () => {
    expect(run(['--help'])).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts.calibrate).toBe('ts-node tools/calibrate/cli.ts');
  });

  test('a local stress run against a server that answers 503 above ~300 req/s, then calibrate on its result file', async () => {
    // GIVEN the environment's stress profile stepping 50 → 100 → 600 req/s, one second each, on GET /limited
    const cdk = JSON.parse(fs.readFileSync(cdkJson, 'utf8'));
    const env = cdk.context['scaling-blueprint'].environments[ENV];
    env.loadTest = { ...env.loadTest, mix: [{ name: 'limited', method: 'GET', path: '/limited', weight: 1 }], requestTimeoutMs: 2000, profiles: { ...PROFILES, stress: { ...PROFILES.stress, phases: [50, 100, 600].map((arrivalRate) => ({ durationSeconds: 1, arrivalRate })) } } };
    const localCdkJson = writeJson(dir, 'local-cdk.json', cdk);
    const out = path.join(dir, 'results');
    // WHEN npm run loadtest -- --local --profile stress (in this process: the test server shares its event loop)
    const ran = await loadtest(['--env', ENV, '--profile', 'stress', '--local', '--target', server.url, '--run-id', 'local-stress', '--out', out], { cdkJsonPath: localCdkJson, stdout: () => undefined, stderr: () => undefined });
    expect(ran).toBe(0);
    // AND npm run calibrate on its result file, as a child process
    const r = await spawnCalibrate(['--result', path.join(out, 'local-stress.json'), '--tasks', '1', '--config', localCdkJson, '--json']);
    // THEN step 3 (600 req/s, twice the server's limit) broke the error SLA, and the capacity is step 2's achieved rate
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as Calibration;
    expect(c.run).toMatchObject({ kind: 'bracketed', at: 'step 2', brokeAt: 'step 3', brokeAtRps: 600 });
    expect(c.run.windows[2].breaches.some((b) => b.startsWith('error rate '))).toBe(true);
    expect(c.run.rps).toBeGreaterThan(90);
    expect(c.run.rps).toBeLessThanOrEqual(101);
    expect(c.snippet?.[ENV].api.capacityPerTaskRps).toBe(roundCapacityDown(c.run.rps!));
    expect(c.notes).toContain(`a local run (mode local, ${server.url}): the capacity is that of the process(es) on this machine, not of a Fargate task with api.cpu 1024; calibrate ${ENV} from a run against its deployed API before deploying these values.`);
    expect(c.kpiReportCommand).toBeNull();
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
