import * as fs from 'fs';
import * as path from 'path';
import { stackPrefix } from '../../../lib/contracts/stacks';
import { loadEnvironmentConfig } from '../../../tools/common/cdk-json';
import { main } from '../../../tools/plan/cli';
import type { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { observeRun, takeRunFlags } from '../../../tools/plan/observed';
import { planReportSchema } from '../../../tools/plan/report';
import { createFixture, type Fixture } from '../kpi-report/fixture';
import { MOTO_ENV } from '../kpi-report/moto';

// GIVEN the KPI report's five-minute run seeded into moto_server: API RunningTaskCount 2, 2, 3, 4, 4 per minute,
// client p99 200 ms in its result file (moto computes no percentiles), 3000 requests in 300 s.
let fx: Fixture;
const saved = { ...process.env };
beforeAll(async () => {
  fx = await createFixture(stackPrefix);
});
afterEach(() => {
  for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

async function plan(args: string[]) {
  const out = path.join(fx.dir, 'plan', Math.random().toString(36).slice(2));
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--config', fx.cdkJson, '--results', fx.resultsDir, '--out', out], { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  const file = path.join(out, 'plan.json');
  return { code, stdout, stderr, json: fs.existsSync(file) ? planReportSchema.parse(JSON.parse(fs.readFileSync(file, 'utf8'))) : undefined };
}

describe('npm run plan -- --run <id> (plan vs actual from CloudWatch)', () => {
  test('observed task counts and p99 next to the plan, with the deltas', async () => {
    Object.assign(process.env, MOTO_ENV);
    const o = await plan(['--env', fx.envs.pass, '--run', fx.runId, '--sources', fx.sourcesFile]);
    expect(o.stderr).toBe('');
    expect(o.json).toBeDefined();
    // The plan simulated the run's result file: a constant 10.1 req/s for 300 s, which the API's minimum serves.
    const min = loadEnvironmentConfig(fx.envs.pass, fx.cdkJson).api.minTasks;
    const run = o.json!.timeline.filter((r) => r.t < 300);
    expect(new Set(run.map((r) => r.api.runningTasks))).toEqual(new Set([min]));
    const p99 = Math.max(...run.map((r) => r.api.p99Ms as number));
    const fmt2 = (n: number) => String(Math.round(n * 100) / 100);
    expect(o.stdout).toContain(`Plan vs run ${fx.runId} (CloudWatch, ${new Date(fx.startMs).toISOString()} → ${new Date(fx.startMs + 300_000).toISOString()}`);
    // THEN observed 2 → 4 tasks, off by 2 − min and 4 − min
    expect(o.stdout).toMatch(new RegExp(`API tasks min\\s+${min}\\s+2\\s+\\+${2 - min}\\n`));
    expect(o.stdout).toMatch(new RegExp(`API tasks max\\s+${min}\\s+4\\s+\\+${4 - min}\\n`));
    // AND 3000 requests in 300 s = 10 req/s against the planned mean served rate
    expect(o.stdout).toMatch(/API req\/s \(mean\)\s+10\.1\s+10\s+-0\.1 \(-0\.9901 %\)\n/);
    // AND p99 200 ms from the result file (moto has no percentiles), off by 200 − the planned worst p99
    expect(o.stdout).toMatch(new RegExp(`p99 ms \\(worst\\)\\s+\\S+\\s+200\\s+\\+?${fmt2(200 - p99).replace('.', '\\.')}`));
    expect(o.stdout).toContain(`p99: ${path.join(fx.resultsDir, `${fx.runId}.json`)} latency.p99Ms (CloudWatch percentiles unavailable)`);
  });

  test('no credentials and no endpoint: exit 2 with one line', async () => {
    for (const k of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) delete process.env[k];
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: path.join(fx.dir, 'none'), AWS_CONFIG_FILE: path.join(fx.dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true' });
    const o = await plan(['--env', fx.envs.pass, '--run', fx.runId, '--sources', fx.sourcesFile]);
    expect(o.code).toBe(2);
    expect(o.stdout).toBe('');
    expect(o.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(o.stderr).toMatch(new RegExp(`^plan: --run ${fx.runId}: cannot read CloudWatch/CloudFormation in us-east-1 \\(.+\\)\\. Fix: AWS credentials`));
  });

  test('--run flags are taken out of the plan\'s arguments; the run\'s result file becomes --result', () => {
    expect(takeRunFlags(['--env', 'dev'])).toEqual({ argv: ['--env', 'dev'], run: null });
    expect(takeRunFlags(['--env', 'dev', '--run=r1', '--results', fx.resultsDir])).toEqual({ argv: ['--env', 'dev'], run: { runId: 'r1', resultsDir: fx.resultsDir } });
    expect(takeRunFlags(['--run', fx.runId, '--results', fx.resultsDir]).argv).toEqual(['--result', path.join(fx.resultsDir, `${fx.runId}.json`)]);
    expect(() => takeRunFlags(['--sources', 'x.json'])).toThrow('--sources and --results go with --run <id>.');
    expect(() => takeRunFlags(['--run', 'a b'])).toThrow('--run a b: a run id is letters');
  });

  test('where CloudWatch has percentiles, the p99 is the ALB\'s TargetResponseTime (seconds) in ms', async () => {
    // A CloudWatch that answers every query with one datapoint: TargetResponseTime p99 0.25 s, RunningTaskCount 3.
    const cloudWatch = {
      send: async (cmd: GetMetricDataCommand) => ({
        MetricDataResults: cmd.input.MetricDataQueries!.map((q) => {
          const m = q.MetricStat!;
          const v = m.Metric!.MetricName === 'TargetResponseTime' && m.Stat === 'p99' ? 0.25 : m.Metric!.MetricName === 'RunningTaskCount' ? 3 : 1;
          return { Id: q.Id, Timestamps: [new Date(fx.startMs)], Values: [v] };
        }),
      }),
    } as unknown as CloudWatchClient;
    const obs = await observeRun(fx.envs.pass, 'us-east-1', { runId: fx.runId, sources: fx.sourcesFile, resultsDir: fx.resultsDir }, { cloudWatch });
    expect(obs).toMatchObject({ p99Ms: 250, p99From: 'ALB TargetResponseTime p99', apiTasks: { min: 3, max: 3 } });
  });
});
