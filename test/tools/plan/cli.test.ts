// @aws-sdk/xml-builder is the XML parser the AWS SDK (a dependency) parses responses with: strict about
// mismatched tags, which is what "the chart is parseable" needs.
import { parseXML } from '@aws-sdk/xml-builder';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { deepMerge, type JsonObject } from '../../../lib/config/loader';
import { evaluate } from '../../../tools/kpi-report/evaluate';
import { SERVER, type Series } from '../../../tools/kpi-report/fetch';
import { renderJson, type Report } from '../../../tools/kpi-report/render';
import { main, USAGE } from '../../../tools/plan/cli';
import { planReportSchema, type PlanReport } from '../../../tools/plan/report';
import { at, ROOT, stressRun, writeJson } from '../calibrate/fixture';

/**
 * The CLI against cdk.json's real environments, plus two of our own in a copy of it:
 * - prod40: prod with api.maxTasks 40 instead of 30;
 * - fixed: two API tasks that never scale (min = max = 2) of 350 req/s each, with a stress profile of four
 *   60-second steps 200 → 800 req/s (the calibrate fixture's stress run) and other profiles under its ceiling.
 */
let dir: string;
let cdkJson: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plan-cli-'));
  const cdk = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  const envs = cdk.context['scaling-blueprint'].environments;
  envs.prod40 = deepMerge(envs.prod as JsonObject, { api: { maxTasks: 40 } });
  const steady = (rps: number) => ({ description: 'steady', stopWhenSlaBreaks: false, phases: [{ durationSeconds: 60, arrivalRate: rps }] });
  envs.fixed = {
    api: { minTasks: 2, maxTasks: 2, cpu: 1024, memoryMiB: 2048, capacityPerTaskRps: 350 },
    loadTest: {
      profiles: {
        load: steady(100), soak: steady(100), spike: steady(400),
        stress: { description: 'steps', stopWhenSlaBreaks: true, phases: [200, 400, 600, 800].map((arrivalRate) => ({ durationSeconds: 60, arrivalRate })) },
      },
    },
  };
  cdkJson = writeJson(dir, 'cdk.json', cdk);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--config', cdkJson], { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

async function json(args: string[]): Promise<{ code: number; report: PlanReport }> {
  const r = await run([...args, '--json']);
  expect(r.stderr).toBe('');
  return { code: r.code, report: planReportSchema.parse(JSON.parse(r.stdout)) };
}

const out = (name: string) => path.join(dir, name);

describe('npm run plan: usage', () => {
  test('--help prints the usage before anything else happens', async () => {
    const r = await run(['--help', '--env', 'prod', '--out', out('help')]);
    expect(r).toEqual({ code: 0, stdout: `${USAGE}\n`, stderr: '' });
    expect(fs.existsSync(out('help'))).toBe(false);
  });

  test.each([
    [['--env', 'prod', '--rate', '100'], '--rate and --duration go together'],
    [['--env', 'prod', '--profile', 'burst'], '--profile = "burst": not in loadTest.profiles of prod (load, stress, soak, spike). Fix: pick one, or add it to cdk.json.'],
    [['--env', 'prod', '--profile', 'spike', '--rate', '10', '--duration', '60'], 'give --profile or --rate/--duration, not both.'],
    [['--profile', 'spike'], '--env <name> is required'],
    [['--env', 'prod', '--report', 'r.json'], '--report goes with --result'],
    [['--env', 'prod', '--start', 'monday'], '--start = "monday": must be an ISO time'],
    [['--env', 'prod', '--bogus'], 'unknown flag --bogus'],
  ])('%j exits 2: %s', async (args, message) => {
    const r = await run([...args, '--out', out('usage')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
    expect(fs.existsSync(out('usage'))).toBe(false);
  });

  test('an environment cdk.json does not have exits 2 with the loader\'s message', async () => {
    const r = await run(['--env', 'nowhere']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^plan: .*nowhere/);
  });
});

describe('npm run plan: done when', () => {
  test('--env prod --profile spike prints the table, writes the SVG and exits by the SLA', async () => {
    const r = await run(['--env', 'prod', '--profile', 'spike', '--out', out('prod-spike')]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('tier                peak demand');
    for (const col of ['ceiling', 'headroom', 'time to enough', 'min over SLA', 'saturates at', 'key']) expect(r.stdout).toContain(col);
    // prod: 3 tasks of 1500 req/s carry the spike's 500 req/s at 11 %: the SLA holds
    expect(r.stdout).toContain('SLA holds for the whole profile');
    expect(r.code).toBe(0);
    const svg = fs.readFileSync(out('prod-spike/plan.svg'), 'utf8');
    expect(Object.keys(parseXML(svg))).toEqual(['svg']);
    for (const panel of ['API req/s', 'API tasks', 'Worker jobs/s', 'Queue age s', 'Writer connections']) expect(svg).toContain(panel);
    const saved = planReportSchema.parse(JSON.parse(fs.readFileSync(out('prod-spike/plan.json'), 'utf8')));
    expect(saved.chart).toBe(out('prod-spike/plan.svg'));
    expect(saved.exitCode).toBe(0);
  });

  test('dev\'s spike breaks: one task, one-minute metrics; exit 1 names the API and api.minTasks', async () => {
    // dev: 1 task of 375 req/s against a jump to 500 req/s at 120 s; the first scale-out at 300 s (3 one-minute
    // datapoints), its task serving at 390 s, after the spike (130-250 s) is over.
    const { code, report } = await json(['--env', 'dev', '--profile', 'spike', '--out', out('dev-spike')]);
    expect(code).toBe(1);
    expect(report.verdict).toMatchObject({ slaHolds: false, tier: 'api', key: 'api.minTasks', at: 130 });
    expect(report.events.filter((e) => e.service === 'api').map((e) => [e.t, e.kind, e.to])).toEqual([[300, 'scale-out', 2], [390, 'serving', 2]]);
  });

  test('a profile above the ceiling exits 1 and names the tier and the key; raising api.maxTasks moves the ceiling', async () => {
    // prod: 30 tasks × 1500 req/s = 45000 req/s; 50000 for 30 minutes is above it
    const before = await run(['--env', 'prod', '--rate', '50000', '--duration', '1800', '--out', out('prod-50k')]);
    expect(before.code).toBe(1);
    expect(before.stdout).toMatch(/SLA predicted to break: API first, at 0 s .* api\.maxTasks: the API is pinned at its maximum task count/);
    const p30 = (await json(['--env', 'prod', '--rate', '50000', '--duration', '1800', '--out', out('prod-50k')])).report;
    const p40 = (await json(['--env', 'prod40', '--rate', '50000', '--duration', '1800', '--out', out('prod40-50k')])).report;
    const api = (r: PlanReport) => r.tiers.find((t) => t.tier === 'api')!;
    expect(api(p30)).toMatchObject({ ceiling: 45000, ceilingAtTarget: 27000, key: 'api.maxTasks' });
    // 40 × 1500 = 60000 ≥ 50000: no longer pinned; what still breaks it is the minutes a scale-out from 3 tasks takes
    // (every task serves from 270 s, by which time millions of requests wait): the backlog now drains, at
    // 10000 req/s, before the 30 minutes are over, where with 30 tasks it grows to the end.
    expect(api(p40)).toMatchObject({ ceiling: 60000, ceilingAtTarget: 36000, key: 'api.minTasks' });
    expect(api(p30).minutesOverSla).toBe(30);
    expect(api(p40).minutesOverSla).toBeLessThan(30);
    // and the cost at max follows the tasks
    if (!p30.cost.available || !p40.cost.available) throw new Error(`cost not available: ${JSON.stringify([p30.cost, p40.cost])}`);
    const maxUsd = (r: PlanReport) => ((r.cost as unknown as { value: { max: { totalMonthlyUsd: number } } }).value.max.totalMonthlyUsd);
    expect(maxUsd(p40)).toBeGreaterThan(maxUsd(p30));
  });
});

describe('npm run plan: plan vs actual', () => {
  test('a stress run, step by step, against the prediction', async () => {
    const result = writeJson(dir, 'stress.json', stressRun({ envName: 'fixed' }));
    const { code, report } = await json(['--result', result, '--out', out('actual')]);
    // The run's profile is simulated: fixed's stress, 200 → 800 req/s; 2 tasks × 350 = 700 req/s.
    expect(report.profile).toMatchObject({ name: 'stress', durationSeconds: 240, stopWhenSlaBreaks: true });
    expect(code).toBe(1);
    const actual = report.actual as unknown as { windows: Array<{ label: string; predicted: { servedRps: number; p99Ms: number | null; slaHolds: boolean }; observed: { achievedRps: number; slaHolds: boolean }; off: { rpsPercent: number; p99Ms: number | null; verdictAgrees: boolean } }>; text: string };
    // Step 1: 100 req/s per task of 350 (M/M/1): p99 wait ln(0.2857 ÷ 0.01) ÷ 250 = 13.4 ms + service ln(100) ÷ 350 = 13.2 ms
    const step1 = actual.windows[0];
    expect(step1.label).toBe('step 1');
    expect(step1.predicted.servedRps).toBeCloseTo(200, 9);
    expect(step1.predicted.p99Ms).toBeCloseTo(1000 * (Math.log((100 / 350) / 0.01) / 250 + Math.log(100) / 350), 6);
    // observed 199.5 req/s and p99 120 ms: the model was off by −0.25 % in rate, and 93.4 ms optimistic in p99
    expect(step1.off.rpsPercent).toBeCloseTo(-0.25, 9);
    expect(step1.off.p99Ms).toBeCloseTo(120 - step1.predicted.p99Ms!, 9);
    // Step 3 (600 req/s, ρ = 0.857) held in both; step 4 (800 > 700) broke in both: the model serves 700
    expect(actual.windows.map((w) => [w.label, w.predicted.slaHolds, w.observed.slaHolds, w.off.verdictAgrees])).toEqual([
      ['step 1', true, true, true], ['step 2', true, true, true], ['step 3', true, true, true], ['step 4', false, false, true],
    ]);
    expect(actual.windows[3].predicted.servedRps).toBeCloseTo(700, 9);
    expect(actual.text).toContain('The model\'s SLA verdict matched the run in every window.');
    expect(actual.text).toContain('observed task counts are not compared');
  });

  test('with the run\'s KPI report, the running tasks CloudWatch saw next to the plan\'s', async () => {
    // report.json as npm run kpi-report writes it (its own evaluate and renderJson) over the run's four minutes,
    // with 2 API tasks running throughout: fixed never scales (min = max = 2), and the plan agrees.
    const startMs = Date.parse(at(0));
    const series = (values: number[]): Series => ({ timestamps: values.map((_, i) => startMs + i * 60_000), values });
    const fetched = { series: new Map([[SERVER.apiRunning, series([2, 2, 2, 2])]]), failed: new Map<string, string>() };
    const endMs = startMs + 4 * 60_000;
    const sla = { latencyP50Ms: 100, latencyP90Ms: 300, latencyP99Ms: 1000, errorRatePercent: 0.1, minAchievedRatePercent: 95, queueAgeSeconds: 300, apiCpuPercent: 85 };
    const kpi: Report = {
      envName: 'fixed', runIds: ['run-1'], window: { start: at(0), end: new Date(endMs).toISOString(), periodSeconds: 60, from: 'test' }, kpiSources: 'test', generatedAt: at(300),
      ...evaluate({ envName: 'fixed', runs: [], startMs, endMs, periodSeconds: 60, sla, fetched, requireAll: false }),
    };
    const reportFile = writeJson(dir, 'report.json', renderJson(kpi));
    const result = writeJson(dir, 'stress-2.json', stressRun({ envName: 'fixed' }));
    const { report } = await json(['--result', result, '--report', reportFile, '--out', out('actual-report')]);
    const actual = report.actual as unknown as { tasks: unknown; text: string };
    expect(actual.tasks).toEqual({ source: `${reportFile} (CloudWatch RunningTaskCount via npm run kpi-report)`, observed: { min: 2, max: 2 }, predicted: { min: 2, max: 2 } });
    expect(actual.text).toContain(`API tasks running: plan 2-2, observed 2-2 (${reportFile} (CloudWatch RunningTaskCount via npm run kpi-report))`);
  });

  test('a result of another environment is refused', async () => {
    const result = writeJson(dir, 'other.json', stressRun({ envName: 'staging' }));
    const r = await run(['--env', 'fixed', '--result', result]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${result} is a run against environment "staging", not "fixed".`);
  });
});
