import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { STSClient } from '@aws-sdk/client-sts';
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CHECKS } from '../../../tools/preflight/checks';
import { main, type CliDeps } from '../../../tools/preflight/cli';
import { runProcess, type ProcessRunner } from '../../../tools/preflight/process';
import { preflightReportSchema } from '../../../tools/preflight/report';
import { configFor, contextWith, featureFlags, type Overrides } from '../../helpers/context';
import { motoClient, uniqueId } from '../kpi-report/moto';
import { awsError, dockerRunner, fargateService, motoClients, stub, writeAssembly } from './fixture';

const ROOT = path.join(__dirname, '..', '..', '..');
const LAST_LINE = /^verdict=(ready|blocked|no-verdict) ok=\d+ warn=\d+ blocked=\d+ skipped=\d+ error=\d+ env=\S+ region=\S+ account=\S+$/;
const CHECK_IDS = ['account', ...CHECKS.map((c) => c.id)];

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-cli-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A cdk.json like the project's, with `overrides` merged into environment `env`. */
function cdkJson(env: string, overrides: Overrides): string {
  const file = path.join(tmp, `${uniqueId('cdk')}.json`);
  fs.writeFileSync(file, JSON.stringify({ app: 'false', context: { ...featureFlags(), 'scaling-blueprint': contextWith(env, overrides) } }));
  return file;
}

function capture() {
  const o = { out: '', err: '' };
  return { o, deps: { stdout: (s: string) => void (o.out += s), stderr: (s: string) => void (o.err += s) } };
}

const motoSts = () => motoClient(STSClient);

/** moto where it has the API; stubs for ElastiCache, Lambda's account settings and Service Quotas. */
function clients(quota: number) {
  const moto = motoClients();
  return {
    ...moto,
    elastiCache: stub<typeof moto.elastiCache>({
      DescribeCacheEngineVersionsCommand: () => ({ CacheEngineVersions: [{ Engine: 'valkey', EngineVersion: '8.0' }] }),
      DescribeReservedCacheNodesOfferingsCommand: () => ({ ReservedCacheNodesOfferings: [{}] }),
    }),
    lambda: stub<typeof moto.lambda>({ GetAccountSettingsCommand: () => ({ AccountLimit: { ConcurrentExecutions: 1000, UnreservedConcurrentExecutions: 1000 } }) }, moto.lambda),
    serviceQuotas: stub<typeof moto.serviceQuotas>({ GetServiceQuotaCommand: () => ({ Quota: { Value: quota } }) }),
  };
}

describe('npm run preflight', () => {
  test('--help prints the usage, every check and the exit codes, and exits 0', async () => {
    const { o, deps } = capture();
    expect(await main(['--help'], deps)).toBe(0);
    for (const id of CHECKS.map((c) => c.id)) expect(o.out).toContain(`  ${id}`);
    expect(o.out).toContain('Exit status: 0 ready (nothing blocked), 1 blocked');
    expect(o.out).toContain('alb.minimumCapacityUnits vs. the "Reserved ALB LCU per Region" quota (0 by default)');
  });

  test('without --env: exit 2 with the usage', async () => {
    const { o, deps } = capture();
    expect(await main([], deps)).toBe(2);
    expect(o.err).toMatch(/^preflight: --env is required/);
    expect(o.err).toContain('(npm run preflight -- --help lists the flags)');
  });

  test('without credentials: exit 2 with one line naming them, before any synth (the real CLI, no AWS variables, no ~/.aws)', async () => {
    const home = fs.mkdtempSync(path.join(tmp, 'home-'));
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'tools/preflight/cli.ts', '--env', 'dev'], {
        cwd: ROOT,
        // IMDS off: this machine is no EC2 instance, so the chain would only wait for it to time out.
        // The SDK's own Node-version notice is about Node, not about preflight's output.
        env: { PATH: process.env.PATH, HOME: home, TS_NODE_SWC: 'true', AWS_EC2_METADATA_DISABLED: 'true', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('preflight: no AWS credentials: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.\n');
  });

  test('without credentials, --json: the report says no-verdict and why', async () => {
    const { o, deps } = capture();
    const sts = () => stub<Pick<STSClient, 'send'>>({ GetCallerIdentityCommand: awsError('CredentialsProviderError', 'Could not load credentials from any providers') });
    expect(await main(['--env', 'dev', '--json'], { ...deps, sts, now: () => Date.parse('2026-12-01T00:00:00Z') })).toBe(2);
    expect(preflightReportSchema.parse(JSON.parse(o.out))).toEqual({
      tool: 'preflight', envName: 'dev', region: 'us-east-1', regionFrom: 'cdk.json `region`', account: null,
      verdict: 'no-verdict', exitCode: 2, reason: expect.stringMatching(/^no AWS credentials: set AWS_PROFILE/), checks: [], generatedAt: '2026-12-01T00:00:00.000Z',
    });
    expect(o.err.trim().split('\n')).toHaveLength(1);
  });

  describe('with an assembly (--assembly) and moto', () => {
    let assembly: string;
    let toolkit: string;
    let config: string;
    beforeAll(async () => {
      // A bootstrapped account of its own qualifier, an app of one API service and no image to build.
      const qualifier = uniqueId('q').replace(/-/g, '').slice(0, 20);
      toolkit = uniqueId('CDKToolkit');
      await motoClient(CloudFormationClient).send(new CreateStackCommand({
        StackName: toolkit,
        TemplateBody: JSON.stringify({ Resources: { V: { Type: 'AWS::SSM::Parameter', Properties: { Name: `/cdk-bootstrap/${qualifier}/version`, Type: 'String', Value: '21' } } } }),
      }));
      assembly = path.join(tmp, uniqueId('cdk.out'));
      writeAssembly(assembly, { envName: 'dev', qualifier, resources: fargateService('Api', { cpu: 1024, maxTasks: 4, maximumPercent: 200 }) });
      // moto offers aurora-postgresql up to 15.2.
      config = cdkJson('dev', { database: { engineVersion: '15.2', instanceClass: 'db.t4g.medium' } });
    });

    const args = () => ['--env', 'dev', '--assembly', assembly, '--toolkit-stack-name', toolkit, '--config', config];

    test('ready: one line per check, then the stable last line; exit 0', async () => {
      const { o, deps } = capture();
      const code = await main(args(), { ...deps, sts: motoSts, clients: () => clients(4000), run: dockerRunner({}) });
      const lines = o.out.trimEnd().split('\n');
      // dev has no certificate and no LCU reservation: both skipped
      expect(lines.slice(0, -1).map((l) => l.split(/\s+/)[0])).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'skipped', 'skipped', 'skipped', 'ok', 'skipped']);
      expect(lines[lines.length - 1]).toMatch(LAST_LINE);
      expect(lines[lines.length - 1]).toBe('verdict=ready ok=6 warn=0 blocked=0 skipped=4 error=0 env=dev region=us-east-1 account=123456789012');
      expect(code).toBe(0);
      expect(o.err).toContain('preflight dev: account 123456789012 (arn:aws:sts::123456789012:user/moto), region us-east-1 from cdk.json `region`');
    });

    test('blocked: exit 1, and --json has the shape of preflightReportSchema', async () => {
      const { o, deps } = capture();
      const code = await main([...args(), '--json'], { ...deps, sts: motoSts, clients: () => clients(6) });
      const report = preflightReportSchema.parse(JSON.parse(o.out));
      expect(code).toBe(1);
      expect(report).toMatchObject({ verdict: 'blocked', exitCode: 1, account: '123456789012' });
      expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
      expect(report.checks.find((c) => c.id === 'fargate-quota')).toMatchObject({ status: 'blocked', details: { onDemandVcpu: 8 } });
    });

    test('an account other than the configured one is blocked', async () => {
      const { o, deps } = capture();
      const other = cdkJson('dev', { account: '210987654321', database: { engineVersion: '15.2', instanceClass: 'db.t4g.medium' } });
      const code = await main(['--env', 'dev', '--assembly', assembly, '--toolkit-stack-name', toolkit, '--config', other], { ...deps, sts: motoSts, clients: () => clients(4000) });
      expect(code).toBe(1);
      expect(o.out.split('\n')[0]).toMatch(/^blocked +AWS account +the stacks are synthesized for account 210987654321 \(cdk\.json `account`\), the credentials are of 123456789012/);
    });
  });

  test('against moto with the app synthesized: every check reports, facts from the real templates', async () => {
    // GIVEN the project's cdk.json (dev) synthesized by its own app command; docker answered by a stub
    // builder without arm64 (the synth itself runs for real).
    const docker = dockerRunner({ 'docker version': { stdout: '27.3.1\n' }, 'docker buildx inspect': { stdout: 'Platforms: linux/amd64, linux/386\n' } });
    // CDK's built-in CloudFormation validation off in the app's process (~3 s of CPU; CDK reads CDK_VALIDATION):
    // preflight reads templates and manifests, and test/stacks/compliance.test.ts runs that validation.
    const run: ProcessRunner = (command, args, options) => (command === 'docker'
      ? docker(command, args, options)
      : runProcess(command, args, { ...options, env: { ...(options?.env ?? process.env), CDK_VALIDATION: 'false' } }));
    const deps: CliDeps = { sts: motoSts, clients: () => clients(4000), run, env: {} };
    const { o, deps: io } = capture();
    // WHEN
    const code = await main(['--env', 'dev', '--json', '--toolkit-stack-name', uniqueId('CDKToolkit')], { ...deps, ...io });
    // THEN
    const report = preflightReportSchema.parse(JSON.parse(o.out));
    expect(report.checks.map((c) => c.id)).toEqual(CHECK_IDS);
    expect(code).toBe(1); // not bootstrapped in moto, and moto offers no aurora-postgresql 16.6
    const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
    expect(byId.bootstrap).toMatchObject({ status: 'blocked', details: { ssmParameter: '/cdk-bootstrap/hnb659fds/version', requiredVersion: 6, lookupRoleVersion: 8 } });
    // The workload's Dockerfile RUNs nothing on arm64: an x86 builder without QEMU builds it.
    expect(byId.docker).toMatchObject({ status: 'ok', details: { platforms: ['linux/arm64'] } });
    // dev: the API on FARGATE, the worker all on FARGATE_SPOT (its weight 0 on FARGATE), both surging to 200 %.
    const dev = configFor('dev');
    expect(dev.worker.capacityProviders).toMatchObject({ fargateBase: 0, fargateWeight: 0 });
    expect(byId['fargate-quota']).toMatchObject({
      status: 'ok',
      details: {
        onDemandVcpu: Math.floor((dev.api.maxTasks * dev.api.maxHealthyPercent) / 100) * (dev.api.cpu / 1024),
        spotVcpu: dev.worker.maxTasks * 2 * (dev.worker.cpu / 1024),
      },
    });
    expect(o.out).not.toContain('"status": "error"');
  }, 240_000);
});
