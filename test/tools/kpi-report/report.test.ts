import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { stackPrefix } from '../../../lib/contracts/stacks';
import { renderSvg, timelineSpec } from '../../../tools/kpi-report/chart';
import { main, type CliDeps } from '../../../tools/kpi-report/cli';
import type { KpiRow } from '../../../tools/kpi-report/evaluate';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { clientRequests, fetchMetrics, MAX_QUERIES_PER_CALL } from '../../../tools/kpi-report/fetch';
import { createFixture, MINUTE, type Fixture } from './fixture';
import { MOTO_ENV, motoClient } from './moto';
import { piStub } from './pi-stub';

// GIVEN a five-minute run seeded into moto_server (client + server metrics, KpiSources stack, result file)
let fx: Fixture;
beforeAll(async () => {
  fx = await createFixture(stackPrefix);
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  out: string;
  json: { verdict: string; kpis: KpiRow[]; notes: string[]; window: { start: string; end: string; from: string }; runIds: string[]; kpiSources: string; timeline: Array<{ panel: string; name: string }> };
}

async function report(args: string[]): Promise<Outcome> {
  const out = path.join(fx.dir, 'out', Math.random().toString(36).slice(2));
  let stdout = '';
  let stderr = '';
  // Performance Insights is stubbed (pi-stub.ts): without it the report would ask real AWS for the writer.
  const deps: CliDeps = { cloudWatch: fx.cloudWatch, cloudFormation: fx.cloudFormation, ...piStub({ clusterId: fx.sources.dbClusterIdentifier }), stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) };
  const code = await main([...args, '--config', fx.cdkJson, '--results', fx.resultsDir, '--out', out], deps);
  const jsonFile = path.join(out, 'report.json');
  const json = fs.existsSync(jsonFile) ? JSON.parse(fs.readFileSync(jsonFile, 'utf8')) : undefined;
  return { code, stdout, stderr, out, json };
}

const row = (o: Outcome, id: string) => o.json.kpis.find((r) => r.id === id)!;

describe('npm run kpi-report', () => {
  test('SLA rows without data: not PASS but INCONCLUSIVE, exit 3, with the counts; --allow-no-data judges the rest', async () => {
    // GIVEN moto computes no percentiles: the three server percentile rows have no data
    const o = await report(['--env', fx.envs.pass, '--run', fx.runId]);
    expect(o.stderr).toBe('');
    expect(o.code).toBe(3);
    expect(o.json.verdict).toBe('inconclusive');
    expect(o.stdout).not.toContain('PASS');
    expect(o.stdout).toContain('Verdict: INCONCLUSIVE (8 met, 0 breached, 3 no data)');
    expect(o.json.notes.join('\n')).toContain('inconclusive: 3 SLA KPI(s) have no data (server latency p50 (target response time), server latency p90 (target response time), server latency p99 (target response time))');
    expect(fs.readFileSync(path.join(o.out, 'report.md'), 'utf8')).toContain('**Verdict: INCONCLUSIVE (8 met, 0 breached, 3 no data)**');
  });

  test('a run that meets its SLAs: table, files, exit 0; each figure names its source', async () => {
    // WHEN the report runs for the run id (window from its result file, KpiSources from the stack)
    const o = await report(['--env', fx.envs.pass, '--run', fx.runId, '--allow-no-data']);
    // THEN it passes
    expect(o.stderr).toBe('');
    expect(o.code).toBe(0);
    expect(o.json.verdict).toBe('pass');
    expect(o.json.window).toMatchObject({ start: new Date(fx.startMs).toISOString(), end: new Date(fx.startMs + 5 * MINUTE).toISOString() });
    expect(o.json.window.from).toContain(`${fx.runId}.json`);
    expect(o.json.kpiSources).toBe(`CloudFormation ${stackPrefix(fx.envs.pass)}-Monitoring output KpiSources`);
    // AND derived rates are ratios of sums: client 6 failures of 3000, server 3 × 5xx of 3000 (a missing 5xx datapoint is 0)
    expect(row(o, 'client.errorRate')).toMatchObject({ observed: 0.2, verdict: 'pass', sla: 1 });
    expect(row(o, 'client.errorRate').detail).toBe('3 5xx + 1 errors + 2 timeouts of 3000 requests');
    expect(row(o, 'client.errorRate').source).toMatch(/^CloudWatch ScalingBlueprint\/LoadTest sums/);
    expect(row(o, 'server.errorRate')).toMatchObject({ observed: 0.1, verdict: 'pass' });
    expect(row(o, 'client.achievedRate').observed).toBeCloseTo((100 * 3000) / 3030, 6);
    expect(row(o, 'server.queueAge')).toMatchObject({ observed: 120, verdict: 'pass', sla: 300 });
    expect(row(o, 'server.apiCpu')).toMatchObject({ observed: 70, verdict: 'pass' });
    expect(row(o, 'server.apiTasks').display).toBe('2 → 4 tasks');
    expect(row(o, 'client.rps').observed).toBe(10);
    // AND moto computes no percentiles: client ones come from the result file, server ones have no data
    expect(row(o, 'client.p99')).toMatchObject({ observed: 200, verdict: 'pass' });
    expect(row(o, 'client.p99').source).toContain(`${fx.runId}.json latency.p99Ms (CloudWatch percentiles unavailable)`);
    expect(row(o, 'server.p99')).toMatchObject({ observed: null, verdict: 'no data' });
    expect(o.json.notes.join('\n')).toMatch(/percentile statistics unavailable/);
    // AND the table, report.md and the timeline chart
    expect(o.stdout).toMatch(/client\s+error rate\s+0\.2 %\s+≤ 1 %\s+pass/);
    expect(o.stdout).toMatch(/server\s+latency p99 \(target response time\)\s+no data\s+≤ 1000 ms\s+no data/);
    expect(o.stdout).toContain('Verdict: PASS (8 met, 0 breached, 3 no data)');
    expect(o.json.notes.join('\n')).toContain('--allow-no-data: 3 SLA KPI(s) without data are left out of the verdict');
    expect(fs.readFileSync(path.join(o.out, 'report.md'), 'utf8')).toContain('| client | error rate | 0.2 % | ≤ 1 % | pass |');
    const svg = fs.readFileSync(path.join(o.out, 'timeline.svg'), 'utf8');
    expect(svg).toMatch(/^<svg/);
    for (const label of ['Requests/s', 'Latency p99 (ms)', 'Errors (%)', 'Running tasks', 'Queue age (s)', 'client max (p99 unavailable)']) expect(svg).toContain(label);
    expect(new Set(o.json.timeline.map((s) => s.panel)).size).toBe(5);
  });

  test('a run that breaches its SLAs: FAIL rows and exit 1; --require-all fails on no data', async () => {
    const o = await report(['--env', fx.envs.fail, '--run', fx.runId]);
    expect(o.stderr).toBe('');
    expect(o.code).toBe(1);
    expect(o.json.verdict).toBe('fail');
    expect(o.json.kpis.filter((r) => r.verdict === 'fail').map((r) => r.id).sort()).toEqual(['client.errorRate', 'client.p50', 'client.p99', 'server.queueAge']);
    expect(row(o, 'server.errorRate').verdict).toBe('pass'); // 0.1 % ≤ 0.15 %
    expect(o.stdout).toMatch(/client\s+error rate\s+0\.2 %\s+≤ 0\.15 %\s+FAIL/);
    expect(fs.readFileSync(path.join(o.out, 'report.md'), 'utf8')).toContain('**Verdict: FAIL (4 met, 4 breached, 3 no data)**');

    const strict = await report(['--env', fx.envs.pass, '--run', fx.runId, '--require-all']);
    expect(strict.code).toBe(1);
    expect(strict.json.notes.join('\n')).toMatch(/--require-all: 3 SLA KPI\(s\) without data fail the report: server latency p50/);
  });

  test('--baseline: a regression exits 1 though every SLA is met; --json prints the report; --step-summary; the dashboard link; per-endpoint rows', async () => {
    // GIVEN a baseline run whose p99 was half this run's, and KpiSources that name the dashboard
    const current = JSON.parse(fs.readFileSync(path.join(fx.resultsDir, `${fx.runId}.json`), 'utf8'));
    fs.writeFileSync(path.join(fx.resultsDir, 'baseline-run.json'), JSON.stringify({ ...current, latency: { ...current.latency, p99Ms: 100 } }));
    const sources = path.join(fx.dir, 'sources-with-dashboard.json');
    fs.writeFileSync(sources, JSON.stringify({ ...fx.sources, dashboardName: 'KpisDashboardED4BA2A9-abc' }));
    const summary = path.join(fx.dir, 'step-summary.md');
    fs.writeFileSync(summary, '# earlier step\n');
    // WHEN
    const o = await report(['--env', fx.envs.pass, '--run', fx.runId, '--allow-no-data', '--baseline', 'baseline-run', '--json', '--step-summary', summary, '--sources', sources]);
    // THEN the SLAs pass, the comparison regresses, and the exit status is the finding's
    expect(o.code).toBe(1);
    const printed = JSON.parse(o.stdout);
    expect(printed).toEqual(o.json);
    expect(printed.verdict).toBe('pass');
    expect(printed.counts).toEqual({ met: 8, breached: 0, noData: 3 });
    expect(printed.comparison.regressions).toBe(1);
    expect(printed.comparison.deltas.find((d: { kpi: string }) => d.kpi === 'latency p99')).toMatchObject({ baseline: 100, current: 200, absolute: 100, percent: 100, change: 'regressed' });
    const start = new Date(fx.startMs).toISOString();
    const end = new Date(fx.startMs + 5 * MINUTE).toISOString();
    const url = `https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#dashboards/dashboard/KpisDashboardED4BA2A9-abc?start=${start}&end=${end}`;
    expect(printed.dashboardUrl).toBe(url);
    // AND the step summary is appended: the gate with its counts, the regression, the link
    const md = fs.readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n### KPI report')).toBe(true);
    expect(md).toContain(': PASS, REGRESSED against baseline-run (1 KPI(s) beyond 10 %)');
    expect(md).toContain('8 met, 0 breached, 3 no data');
    expect(md).toContain('Compared with baseline-run: 1 regressed, 0 improved (noise 10 %)');
    expect(md).toContain(`[Dashboard for this window](${url})`);
    // AND per endpoint, from the Endpoint dimension: item-read carried the failures, health none
    const rows = printed.endpoints.filter((e: { side: string }) => e.side === 'client');
    expect(rows.map((e: { endpoint: string; requests: number; errorRatePercent: number }) => [e.endpoint, e.requests, e.errorRatePercent]))
      .toEqual([['item-read', 2400, 0.25], ['health', 600, 0]]);
  });

  test('--since without --run finds the runs of the environment; --sources reads a file', async () => {
    const since = new Date(fx.startMs).toISOString();
    const until = new Date(fx.startMs + 5 * MINUTE).toISOString();
    const o = await report(['--env', fx.envs.pass, '--since', since, '--until', until, '--sources', fx.sourcesFile, '--allow-no-data']);
    expect(o.code).toBe(0);
    expect(o.json.kpiSources).toBe(fx.sourcesFile);
    expect([...o.json.runIds].sort()).toEqual([fx.runId, fx.runWithoutFile].sort());
    // Both runs' counters are summed; the percentile is the worst of the runs that have one
    expect(row(o, 'client.errorRate').detail).toBe('6 5xx + 2 errors + 4 timeouts of 6000 requests');
    expect(row(o, 'client.p99').observed).toBe(200);
  });

  test('a run without a result file: window from its client datapoints; percentiles have no data on moto', async () => {
    const o = await report(['--env', fx.envs.pass, '--run', fx.runWithoutFile, '--sources', fx.sourcesFile, '--allow-no-data']);
    expect(o.code).toBe(0);
    expect(o.json.window).toMatchObject({ start: new Date(fx.startMs).toISOString(), end: new Date(fx.startMs + 5 * MINUTE).toISOString() });
    expect(o.json.window.from).toBe(`the first and last client datapoints of run(s) ${fx.runWithoutFile}`);
    expect(row(o, 'client.p99')).toMatchObject({ verdict: 'no data' });
    expect(row(o, 'client.p99').source).toMatch(/CloudWatch percentiles unavailable, no result file/);
    expect(row(o, 'client.errorRate').observed).toBe(0.2);
  });

  test.each([
    [['--run', 'x'], /--env is required/],
    [['--env', 'dev'], /give --run <id> or --since <time>/],
    [['--env', 'nope', '--since', '30m'], /no such environment under scaling-blueprint.environments/],
    [['--env', 'dev', '--since', '30m', '--period', '90'], /--period 90: must be a whole multiple of 60/],
    [['--env', 'dev', '--since', 'yesterday'], /--since yesterday: give a duration before now/],
    [['--env', 'dev', '--since', '30m', '--bogus'], /unknown flag --bogus/],
    [['--env', 'dev', '--run', 'no-such-run', '--sources', 'SOURCES'], /run no-such-run: no .*no-such-run\.json and no client metrics/],
  ])('usage and configuration errors exit 2 with the fix: %j', async (args, message) => {
    const o = await report(args.map((a) => (a === 'SOURCES' ? fx.sourcesFile : a)));
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(message);
    expect(o.json).toBeUndefined();
  });

  test('a result file of another environment exits 2', async () => {
    const file = path.join(fx.resultsDir, 'other-env.json');
    fs.writeFileSync(file, JSON.stringify({ ...JSON.parse(fs.readFileSync(path.join(fx.resultsDir, `${fx.runId}.json`), 'utf8')), envName: 'prod' }));
    const o = await report(['--env', fx.envs.pass, '--run', 'other-env', '--sources', fx.sourcesFile]);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain(`run other-env was a test of environment "prod" (${file}), not "${fx.envs.pass}". Fix: --env prod.`);
  });

  test('a missing Monitoring stack exits 2 and says how to fix it', async () => {
    // 'dev' on this moto has no stack (tests never create one under a shared name)
    const o = await report(['--env', 'dev', '--since', '30m']);
    expect(o.code).toBe(2);
    expect(o.stderr).toContain(`stack ${stackPrefix('dev')}-Monitoring not found`);
    expect(o.stderr).toContain('pass --sources <file.json>');
  });

  test('GetMetricData is batched (500 queries per call in production, 4 here) and every answer is kept', async () => {
    const requests = [...clientRequests(fx.envs.pass, fx.runId, 60, 300), ...clientRequests(fx.envs.pass, fx.runWithoutFile, 60, 300)]
      .filter((r) => r.spec.stat === 'Sum').map((r, i) => ({ ...r, key: `k${i}` }));
    const client = motoClient(CloudWatchClient);
    let calls = 0;
    client.middlewareStack.add((next) => async (args) => { calls++; return next(args); }, { step: 'initialize' });
    const got = await fetchMetrics(client, requests, fx.startMs, fx.startMs + 5 * MINUTE, 4);
    expect(calls).toBe(Math.ceil(requests.length / 4));
    expect(got.series.size).toBe(requests.length);
    expect(got.series.get('k0')!.values).toEqual([600, 600, 600, 600, 600]); // Requests
    expect(got.series.get('k1')!.values).toEqual([606, 606, 606, 606, 606]); // Scheduled
    expect(MAX_QUERIES_PER_CALL).toBe(500);
  });

  test('a chart Vega cannot draw fails loudly instead of rendering empty', async () => {
    // A time-interval tick count on a utc scale makes this vega build log a dataflow error mid-render.
    const spec = timelineSpec([{ panel: 'Requests/s', name: 'sent', kind: 'observed', points: [[0, 1], [60_000, 2]] }], 'broken', 0, 120_000) as { spec: { encoding: { x: { axis: object } } } };
    spec.spec.encoding.x.axis = { tickCount: { interval: 'minute', step: 2 } };
    await expect(renderSvg(spec)).rejects.toThrow(/^timeline chart: TypeError/);
  });

  test('the npm script passes its exit status to the shell', () => {
    // The exit status is main()'s (tested above for 0, 1 and 2); this checks the script and the wiring, cheaply.
    const r = spawnSync('npm', ['run', '-s', 'kpi-report', '--', '--since', '30m'], {
      cwd: path.join(__dirname, '..', '..', '..'), env: { ...process.env, ...MOTO_ENV }, encoding: 'utf8',
    });
    expect(r.stderr).toContain('kpi-report: --env is required.');
    expect(r.status).toBe(2);
  });
});
