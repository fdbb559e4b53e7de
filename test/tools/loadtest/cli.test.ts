import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { handler } from '../../../lambda/load-generator/index';
import { readLoadResult } from '../../../tools/kpi-report/sources';
import { main } from '../../../tools/loadtest/cli';
import { stackPrefix } from '../../../lib/contracts/stacks';
import { loadGeneratorEnvironment } from '../../../lib/contracts/loadtest';
import { MOTO_ENV, motoClient, uniqueId } from '../kpi-report/moto';
import { startServer, type TestServer } from '../../load-engine/server';

const ROOT = path.join(__dirname, '..', '..', '..');
const SUMMARY = /^achieved_rps=[\d.]+ requested_rps=[\d.]+ p50_ms=[\d.]+ p90_ms=[\d.]+ p99_ms=[\d.]+ max_ms=[\d.]+ sent=\d+ errors=\d+ timeouts=\d+ dropped=\d+ 2xx=\d+ 3xx=\d+ 4xx=\d+ 5xx=\d+/;

let server: TestServer;
let out: string;
beforeAll(() => {
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'loadtest-cli-'));
});
afterAll(() => {
  fs.rmSync(out, { recursive: true, force: true });
});
// A server of its own for every test: the requests a run's client timed out were still written, and the
// server (on this same, busy event loop) may read them after the run returned. On a shared server they
// were counted by the next test (65 of the stress test's GET /limited in "reads them from the stacks").
beforeEach(async () => {
  server = await startServer({ limitRps: 130 });
  // The in-process handler's environment, as the LoadTest stack sets it from cdk.json's loadTest defaults,
  // with this test's server as the stack's API.
  const lt = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8')).context['scaling-blueprint'].defaults.loadTest;
  Object.assign(process.env, loadGeneratorEnvironment(new URL(server.url).host, lt));
});
afterEach(async () => {
  await server.close();
});

/** Runs `npm run loadtest`'s command as a child process (asynchronously: the test server shares this event loop). */
function loadtest(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'tools/loadtest/cli.ts', ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, TS_NODE_SWC: 'true', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run loadtest -- --local', () => {
  test('runs the engine against the target, publishes to CloudWatch, writes the result and ends with the summary line', async () => {
    const runId = uniqueId('cli');
    // WHEN (AWS_ENDPOINT_URL set: the client metrics go to moto for npm run kpi-report)
    const r = await loadtest(['--env', 'dev', '--profile', 'load', '--local', '--target', server.url, '--rate', '200', '--duration', '1', '--run-id', runId, '--out', out, '--progress', 'plain'], MOTO_ENV);
    // THEN
    expect(r.stderr).not.toMatch(/^warning:|failed/m);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const last = lines[lines.length - 1];
    expect(last).toMatch(SUMMARY);
    expect(last).toContain(' sent=200 errors=0 timeouts=0 dropped=0 ');
    expect(r.stdout).toMatch(/latency \(ms\) +p50 [\d.]+ +p90 [\d.]+ +p99 [\d.]+ +max [\d.]+/);
    expect(r.stderr).toMatch(/\[ +\d+ s\] target 200\.0 req\/s +achieved [\d.]+ req\/s +p99 [\d.]+ ms +errors 0 +in-flight \d+/);
    expect(r.stderr).toContain(`published client metrics to CloudWatch (${MOTO_ENV.AWS_ENDPOINT_URL}), RunId=${runId}`);
    const saved = JSON.parse(fs.readFileSync(path.join(out, `${runId}.json`), 'utf8'));
    expect(saved).toMatchObject({ runId, envName: 'dev', profile: 'load', mode: 'local', sent: 200, target: server.url });
    // the mix of cdk.json (GET /items/{{rand:1000}}, POST /items, POST /jobs, GET /healthz)
    expect(server.seen).toHaveLength(200);
    expect(server.seen.some((s) => /^\/items\/\d+$/.test(s.path))).toBe(true);
  });
});

describe('loadtest CLI in process', () => {
  test('stress through the Lambda fan-out: phase by phase until the error SLA breaks, reports breaking_rps', async () => {
    // GIVEN a configuration whose stress profile steps 50 → 200 → 300 req/s, 1 s each, against a
    // server that answers 503 above ~130 req/s
    const cdk = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
    const lt = cdk.context['scaling-blueprint'].defaults.loadTest;
    lt.mix = [{ name: 'limited', method: 'GET', path: '/limited', weight: 1 }];
    lt.profiles.stress.phases = [50, 200, 300].map((arrivalRate) => ({ durationSeconds: 1, arrivalRate }));
    lt.maxRatePerWorker = 120;
    lt.requestTimeoutMs = 1000;
    const cdkJsonPath = path.join(out, 'cdk.json');
    fs.writeFileSync(cdkJsonPath, JSON.stringify(cdk));
    const stdout: string[] = [];
    const stderr: string[] = [];
    const invoked: string[] = [];
    // WHEN
    const code = await main(['--env', 'dev', '--profile', 'stress', '--target', server.url, '--function', 'fn', '--run-id', 'stress-1', '--out', out], {
      cdkJsonPath,
      stdout: (s) => void stdout.push(s),
      stderr: (s) => void stderr.push(s),
      invoker: (fn) => (e) => {
        invoked.push(`${fn}:${e.workerIndex}/${e.workers}@${e.phases[0].arrivalRate}`);
        return handler({ ...e, publish: false }, { getRemainingTimeInMillis: () => 120_000 });
      },
    });
    // THEN the second phase broke the SLA (on two workers), the third never ran
    expect(stderr.join('')).not.toContain('failed');
    expect(code).toBe(0);
    expect(invoked).toEqual(['fn:0/1@50', 'fn:0/2@100', 'fn:1/2@100']);
    const text = stdout.join('');
    expect(text).toMatch(/stress +broke at 200 req\/s: error rate [\d.]+ % > 0.1 %/);
    const last = text.trimEnd().split('\n').pop()!;
    expect(last).toMatch(SUMMARY);
    expect(last).toMatch(/ breaking_rps=200$/);
    const saved = JSON.parse(fs.readFileSync(path.join(out, 'stress-1.json'), 'utf8'));
    expect(saved).toMatchObject({ mode: 'lambda', breakingRps: 200 });
    expect(saved.phaseResults).toHaveLength(2);
    // and the KPI report reads the file back through the same schema (lib/contracts/loadtest.ts)
    expect(readLoadResult(out, 'stress-1')?.result).toMatchObject({ runId: 'stress-1', profile: 'stress', mode: 'lambda', breakingRps: 200, sent: saved.sent });
  });

  test('without --function and --target, reads them from the LoadTest and Compute stacks (DescribeStacks, on moto)', async () => {
    // GIVEN an environment (of its own: moto is shared) whose stacks are deployed with their outputs
    const envName = uniqueId('lt').replace(/-/g, '');
    const cdk = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
    cdk.context['scaling-blueprint'].environments[envName] = {};
    const cdkJsonPath = path.join(out, `${envName}.json`);
    fs.writeFileSync(cdkJsonPath, JSON.stringify(cdk));
    const cfn = motoClient(CloudFormationClient);
    const stack = (part: string, key: string, value: string) =>
      cfn.send(new CreateStackCommand({
        StackName: `${stackPrefix(envName)}-${part}`,
        TemplateBody: JSON.stringify({ Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } }, Outputs: { [key]: { Value: value } } }),
      }));
    await stack('LoadTest', 'LoadGeneratorFunctionName', 'sb-load-generator-abc');
    await stack('Compute', 'ApiUrl', server.url);
    const saved = { ...process.env };
    Object.assign(process.env, MOTO_ENV);
    const invoked: string[] = [];
    try {
      // WHEN
      const code = await main(['--env', envName, '--profile', 'load', '--rate', '20', '--duration', '1', '--out', out], {
        cdkJsonPath,
        stdout: () => undefined,
        stderr: () => undefined,
        invoker: (fn) => (e) => {
          invoked.push(`${fn} ${e.target}`);
          return handler({ ...e, publish: false }, { getRemainingTimeInMillis: () => 120_000 });
        },
      });
      // THEN
      expect(code).toBe(0);
      expect(invoked).toEqual([`sb-load-generator-abc ${server.url}`]);
      expect(server.seen).toHaveLength(20);
    } finally {
      process.env = saved;
    }
  });

  test('usage and configuration errors exit 2 with the fix', async () => {
    const run = async (argv: string[]) => {
      const err: string[] = [];
      const code = await main(argv, { stdout: () => undefined, stderr: (s) => void err.push(s) });
      return { code, err: err.join('') };
    };
    expect(await run(['--env', 'dev', '--profile', 'load', '--local'])).toMatchObject({ code: 2, err: expect.stringContaining('--target URL is required with --local') });
    expect(await run(['--env', 'dev', '--profile', 'burst', '--target', server.url])).toMatchObject({ code: 2, err: expect.stringContaining('--profile = "burst": not in loadTest.profiles of dev (load, stress, soak, spike). Fix: pick one, or add it to cdk.json.') });
    expect(await run(['--env', 'dev', '--local', '--target', server.url])).toMatchObject({ code: 2, err: expect.stringContaining('give --profile NAME (a key of loadTest.profiles), or --rate N --duration S') });
    expect(await run(['--env', 'qa', '--profile', 'load', '--local', '--target', server.url])).toMatchObject({ code: 2, err: expect.stringContaining('env = "qa": no such environment') });
    expect(await run(['--env', 'dev', '--profile', 'load', '--local', '--target', server.url, '--rate', '5'])).toMatchObject({ code: 2, err: expect.stringContaining('--rate and --duration go together') });
    expect(await run(['--env', 'dev', '--profile', 'load', '--target', server.url, '--rate', '1e6', '--duration', '1', '--function', 'f'])).toMatchObject({ code: 2, err: expect.stringContaining('Fix: raise loadTest.maxWorkers') });
  });
});
