import { spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { FLAGS as CALIBRATE, main as calibrate } from '../../tools/calibrate/cli';
import { didYouMean, FLAG, helpRequested, parseFlags, type FlagOptions } from '../../tools/common/args';
import { credentialsProblem, EXIT, UsageError } from '../../tools/common/errors';
import { Progress, progressMode } from '../../tools/common/progress';
import { FLAGS as KPI_REPORT, main as kpiReport } from '../../tools/kpi-report/cli';
import { ALIASES as LOADTEST_ALIASES, FLAGS as LOADTEST, main as loadtest, STOP_FLAGS as LOADTEST_STOP, USAGE as LOADTEST_USAGE } from '../../tools/loadtest/cli';
import { FLAGS as PLAN, main as plan, USAGE as PLAN_USAGE } from '../../tools/plan/cli';
import { ACTIONS } from '../../tools/preflight/checks';
import { FLAGS as PREFLIGHT, main as preflight, USAGE as PREFLIGHT_USAGE } from '../../tools/preflight/cli';
import { FLAGS as SEED, main as seed } from '../../tools/seed/cli';
import { FLAGS as RESHARD, main as reshard } from '../../tools/reshard/cli';
import { FLAGS as CHECK, main as check, type CheckDeps, type CheckReport } from '../../scripts/check';
import { LOAD_PROFILES } from '../../lib/contracts/loadtest';

/**
 * The CLI layer (tools/common/args.ts) across every operator CLI: --help answers before any side effect,
 * unknown flags get a did-you-mean, the shared flags are spelled alike, usage errors exit 2 in one line.
 */
const ROOT = path.join(__dirname, '..', '..');
jest.setTimeout(120_000);

type Main = (argv: string[], io: { stdout: (s: string) => void; stderr: (s: string) => void }) => number | Promise<number>;
const CLIS: Array<{ tool: string; flags: FlagOptions; aliases?: Record<string, string>; main: Main }> = [
  { tool: 'loadtest', flags: LOADTEST, aliases: LOADTEST_ALIASES, main: (a, io) => loadtest(a, io) },
  { tool: 'loadtest stop', flags: LOADTEST_STOP, main: (a, io) => loadtest(['stop', ...a], io) },
  { tool: 'kpi-report', flags: KPI_REPORT, main: kpiReport },
  { tool: 'plan', flags: PLAN, main: plan },
  { tool: 'calibrate', flags: CALIBRATE, main: calibrate },
  { tool: 'preflight', flags: PREFLIGHT, main: preflight },
  { tool: 'seed', flags: SEED, main: seed },
  { tool: 'reshard', flags: RESHARD, main: reshard },
  { tool: 'check', flags: CHECK, main: check },
];

async function capture(main: Main, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}

function usageError(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return e as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('the shared parser, with each CLI\'s flags', () => {
  // One typo per flag: its third letter dropped (--taget for --target).
  const typos = CLIS.flatMap(({ tool, flags }) => Object.keys(flags).filter((f) => f.length >= 5).map((f) => [tool, `--${f.slice(0, 2)}${f.slice(3)}`, `--${f}`, flags] as const));

  test.each(typos)('%s: %s → did you mean %s?', (_tool, typo, meant, flags) => {
    const e = usageError(() => parseFlags([typo], flags));
    expect(e.message).toBe(`unknown flag ${typo}. Did you mean ${meant}?`);
    expect(e.showUsage).toBe(true);
  });

  test.each(CLIS)('$tool: the shared flags are spelled alike; --run-id is --run; -h is --help', ({ flags, aliases }) => {
    for (const name of Object.keys(flags).filter((f) => f in FLAG)) {
      const shared = FLAG[name as keyof typeof FLAG] as FlagOptions[string];
      expect({ name, type: flags[name].type, short: flags[name].short }).toEqual({ name, type: shared.type, short: shared.short });
    }
    expect(flags.help).toEqual(FLAG.help);
    expect(parseFlags(['-h'], flags, aliases)).toMatchObject({ help: true });
    if ('env' in flags) expect(parseFlags(['-e', 'prod'], flags, aliases).env).toEqual(flags.env.multiple ? ['prod'] : 'prod');
    if ('run' in flags) expect(parseFlags(['--run-id', 'r1'], flags, aliases).run).toEqual(flags.run.multiple ? ['r1'] : 'r1');
  });

  test('every CLI with a result has --json', () => {
    for (const { tool, flags } of CLIS.filter((c) => c.tool !== 'loadtest stop')) expect({ tool, json: flags.json }).toEqual({ tool, json: FLAG.json });
  });

  test('loadtest: --results is --out; the same flag twice with two values is refused', () => {
    expect(parseFlags(['--results', 'dir'], LOADTEST, LOADTEST_ALIASES).out).toBe('dir');
    expect(usageError(() => parseFlags(['--run', 'a', '--run-id', 'b'], LOADTEST, LOADTEST_ALIASES)).message).toBe('--run given twice ("a", "b"): give it once.');
  });

  test('what is not a flag says where the value comes from; values, positionals and npm\'s trap read as what to do', () => {
    expect(usageError(() => parseFlags(['--region', 'eu-west-1'], PLAN)).message).toBe('--region is not a flag: the region is the environment\'s "region" in cdk.json (its stacks are synthesized for it; AWS_REGION does not move them).');
    expect(usageError(() => parseFlags(['--env'], PLAN)).message).toBe('--env needs a value.');
    expect(usageError(() => parseFlags(['--json=yes'], PLAN)).message).toBe('--json takes no value.');
    expect(usageError(() => parseFlags(['--tail', '-5'], PLAN)).message).toBe('--tail needs a value; a value that starts with "-" is written --tail=<value>.');
    expect(usageError(() => parseFlags(['dev'], PLAN)).message).toMatch(/^unexpected argument "dev": every value follows its flag \(--flag value\)\. With npm run, put -- between the script and its flags/);
    expect(usageError(() => parseFlags(['-x'], PLAN)).message).toBe('unknown flag -x');
    expect(usageError(() => parseFlags(['--environment', 'dev'], PLAN)).message).toBe('unknown flag --environment. Did you mean --env?');
    expect(didYouMean('zzz', ['env', 'run'])).toBeUndefined();
  });

  test('--help anywhere before --, whatever else is wrong', () => {
    expect(helpRequested(['--bogus', '-h'])).toBe(true);
    expect(helpRequested(['--env', 'dev', '--', '--help'])).toBe(false);
  });

  test.each(CLIS)('$tool: --help prints the usage and nothing else; an unknown flag exits 2 with one line and where the flags are', async ({ tool, main }) => {
    const help = await capture(main, ['--bogus', '--help']);
    expect(help).toEqual({ code: EXIT.ok, stdout: expect.stringMatching(/^Usage: npm run /), stderr: '' });
    const bad = await capture(main, ['--taget', 'x']);
    expect(bad.code).toBe(EXIT.cannotRun);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(new RegExp(`^${tool.split(' ')[0]}: unknown flag --taget(\\. Did you mean --\\w+\\?)?\\n\\(npm run ${tool.split(' ')[0]} -- --help lists the flags\\)\\n$`));
  });

  test('the profiles every environment has are in the usage of loadtest and plan (written out: --help loads no contract)', () => {
    for (const p of LOAD_PROFILES) {
      expect(LOADTEST_USAGE).toMatch(new RegExp(`\\b${p}\\b`));
      expect(PLAN_USAGE).toMatch(new RegExp(`\\b${p}\\b`));
    }
  });

  test('preflight\'s usage names every IAM action its checks call (written out: --help loads no AWS SDK)', () => {
    for (const action of ACTIONS) expect(PREFLIGHT_USAGE).toContain(action);
  });
});

describe('npm run plan: any profile of loadTest.profiles', () => {
  test('a profile added in cdk.json under a new name is planned, not refused', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cli-plan-'));
    try {
      const cdk = JSON.parse(fs.readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
      cdk.context['scaling-blueprint'].defaults.loadTest.profiles.burst = {
        description: 'two minutes at 50 req/s', stopWhenSlaBreaks: false, phases: [{ durationSeconds: 120, arrivalRate: 50 }],
      };
      fs.writeFileSync(path.join(dir, 'cdk.json'), JSON.stringify(cdk));
      const r = await capture(plan, ['--config', path.join(dir, 'cdk.json'), '--env', 'dev', '--profile', 'burst', '--out', path.join(dir, 'out'), '--json']);
      expect(r.stderr).toBe('');
      expect([EXIT.ok, EXIT.finding]).toContain(r.code);
      expect(JSON.parse(r.stdout).profile).toMatchObject({ name: 'burst', description: 'two minutes at 50 req/s', durationSeconds: 120 });
      // and a name that is in no environment's profiles says which are, with the nearest
      const typo = await capture(plan, ['--config', path.join(dir, 'cdk.json'), '--env', 'dev', '--profile', 'brust', '--out', path.join(dir, 'out')]);
      expect(typo).toEqual({ code: 2, stdout: '', stderr: 'plan: --profile = "brust": not in loadTest.profiles of dev (load, stress, soak, spike, burst). Fix: did you mean --profile burst? Or pick one, or add it to cdk.json.\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('progress', () => {
  test('in place on a terminal, nothing in a log, a line per update with --progress plain; lines that stay clear the status first', () => {
    const written: string[] = [];
    const write = (s: string) => void written.push(s);
    const tty = new Progress({ write, isTTY: true });
    tty.update('a');
    tty.update('b');
    tty.log('done');
    expect(written).toEqual(['\r\x1b[2Ka', '\r\x1b[2Kb', '\r\x1b[2K', 'done\n']);
    written.length = 0;
    const log = new Progress({ write, isTTY: false });
    log.update('a');
    log.log('done');
    log.clear();
    expect(written).toEqual(['done\n']);
    written.length = 0;
    new Progress({ write, isTTY: false }, progressMode('plain')).update('a');
    expect(written).toEqual(['a\n']);
    expect(usageError(() => progressMode('fancy')).message).toMatch(/^--progress = "fancy": must be one of auto, tty, plain, none/);
  });
});

describe('credentials', () => {
  test('an SDK error about credentials is one line naming them, with the fix; other errors are not', () => {
    const none = Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' });
    expect(credentialsProblem(none)).toBe('no AWS credentials. Fix: set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.');
    expect(credentialsProblem(Object.assign(new Error('The security token included in the request is expired'), { name: 'ExpiredTokenException' }))).toMatch(/^the AWS credentials have expired \(ExpiredTokenException\)\. Fix: refresh them/);
    expect(credentialsProblem(Object.assign(new Error('x'), { name: 'InvalidClientTokenId' }))).toMatch(/^AWS rejected the credentials/);
    expect(credentialsProblem(new Error('Throttling'))).toBeUndefined();
  });
});

describe('npm run check', () => {
  const fakes = (over: Partial<CheckDeps> = {}) => {
    const synthesized: string[] = [];
    const deps: CheckDeps = {
      environments: () => ['dev', 'staging', 'prod'],
      synth: (env, _file, outdir) => {
        synthesized.push(env);
        return {
          findings: env === 'prod' ? [{ plugin: 'AwsSolutions', rule: 'AwsSolutions-S1', severity: 'error', description: 'no access logs', paths: ['/ScalingBlueprint-Prod-Data/Bucket/Resource'] }] : [],
          templates: [path.join(outdir, `${env}.template.json`)],
        };
      },
      lint: (templates) => templates.map((t) => `${t}:12:5:12:20:W3005:Obsolete DependsOn`),
      guard: (templates) => ({ findings: [], excepted: [{ rule: 'r', control: 'CT.ECS.PR.4', template: templates[0], resource: 'Task', message: 'm', reason: 'why' }] }),
      ...over,
    };
    return { deps, synthesized };
  };
  const run = async (argv: string[], deps: CheckDeps) => {
    let stdout = '';
    let stderr = '';
    const code = await check(argv, { ...deps, stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
    return { code, stdout, stderr };
  };

  test('--env prod --json: one environment synthesized, its findings per gate as JSON, exit 1', async () => {
    const { deps, synthesized } = fakes();
    const r = await run(['--env', 'prod', '--json', '--exceptions'], deps);
    expect(synthesized).toEqual(['prod']);
    expect(r.code).toBe(EXIT.finding);
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(report).toMatchObject({
      tool: 'check', environments: ['prod'], exitCode: 1,
      gates: [
        { gate: 'CDK built-in validation', findings: [] },
        { gate: 'cdk-nag AwsSolutions', findings: [{ env: 'prod', rule: 'AwsSolutions-S1', severity: 'error', resource: '/ScalingBlueprint-Prod-Data/Bucket/Resource', message: 'no access logs' }] },
        { gate: 'cfn-lint', findings: [{ template: 'prod/prod.template.json:12:5', rule: 'W3005', message: 'Obsolete DependsOn' }] },
        { gate: 'cfn-guard Control Tower', findings: [] },
      ],
      exceptions: [{ template: 'prod/prod.template.json', rule: 'CT.ECS.PR.4', resource: 'Task', message: 'why' }],
    });
  });

  test('every environment by default, -e repeatable; no finding exits 0; cfn-lint missing exits 2 with the fix', async () => {
    const clean = fakes({ synth: (_env, _f, outdir) => ({ findings: [], templates: [path.join(outdir, 't.json')] }), lint: () => [] });
    expect((await run([], clean.deps)).code).toBe(EXIT.ok);
    const two = fakes();
    await run(['-e', 'dev', '-e', 'staging'], two.deps);
    expect(two.synthesized).toEqual(['dev', 'staging']);
    const noLint = await run(['-e', 'dev'], fakes({ lint: () => null }).deps);
    expect(noLint.code).toBe(EXIT.cannotRun);
    expect(noLint.stdout).toContain("cfn-lint                     SKIPPED: cfn-lint is not installed. Fix: pip install 'cfn-lint>=1'\n");
  });

  test('an unknown environment and a configuration error: one line, exit 2, no synth and no stack trace', async () => {
    const { deps, synthesized } = fakes();
    const typo = await run(['--env', 'prd'], deps);
    expect(typo).toEqual({ code: 2, stdout: '', stderr: 'check: --env = "prd": no such environment in cdk.json (dev, staging, prod). Did you mean --env prod?\n(npm run check -- --help lists the flags)\n' });
    expect(synthesized).toEqual([]);
    const broken = await run(['--env', 'dev'], fakes({ synth: () => { throw new Error('environments.dev.api.minTasks = 0: must be ≥ 1. Fix: set it to 1 or more.'); } }).deps);
    expect(broken).toEqual({ code: 2, stdout: '', stderr: 'check: dev: environments.dev.api.minTasks = 0: must be ≥ 1. Fix: set it to 1 or more.\n' });
  });
});

/** Runs a command line through sh like npm run does, with node_modules/.bin first on PATH. */
function sh(command: string, env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', command], { cwd: ROOT, env, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    // A --help that does the real work instead would run for minutes: stop it (and what it started).
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

describe('every npm script answers -- --help without side effects', () => {
  const scripts = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const ours = (name: string) => !/^(build|synth|test|test:update|postinstall|prepare)$/.test(name);
  let sandbox: string;
  let calls: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    sandbox = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cli-help-'));
    // What no --help may run: installs, servers, AWS tooling, docker. Each records that it was called.
    const fakebin = path.join(sandbox, 'bin');
    calls = path.join(sandbox, 'calls');
    fs.mkdirSync(fakebin);
    for (const bin of ['apt-get', 'sudo', 'service', 'nginx', 'wrk', 'taskset', 'docker', 'cfn-lint', 'npx', 'pg_ctl', 'initdb', 'redis-server', 'moto_server']) {
      fs.writeFileSync(path.join(fakebin, bin), `#!/bin/sh\necho "${bin} $*" >> "${calls}"\nexit 1\n`, { mode: 0o755 });
    }
    const tmp = path.join(sandbox, 'tmp');
    fs.mkdirSync(tmp);
    env = {
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${fakebin}:${process.env.PATH}`,
      HOME: sandbox,
      TMPDIR: tmp,
      // Any AWS call would go nowhere, and local servers would start in the sandbox, on ports nothing uses.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
      AWS_EC2_METADATA_DISABLED: 'true',
      SB_SERVICES_DIR: path.join(tmp, 'services'),
      SB_PG_PORT: '9',
      SB_REDIS_PORT: '9',
      SB_SQS_PORT: '9',
    };
  });
  afterAll(() => fs.rmSync(sandbox, { recursive: true, force: true }));

  test('exit 0 with the usage, nothing else on stderr, nothing run, nothing written', async () => {
    const names = Object.keys(scripts);
    expect(names).toEqual(expect.arrayContaining(['loadtest', 'kpi-report', 'plan', 'calibrate', 'preflight', 'seed', 'check', 'bench', 'bench:loadgen', 'bench:workload', 'workload:dev', 'docs']));
    const watched = ['docs/configuration.md', 'docs/config.schema.json'].map((f) => [f, fs.statSync(path.join(ROOT, f)).mtimeMs] as const);
    const results: Record<string, Awaited<ReturnType<typeof sh>>> = {};
    // Two at a time: the machine has two cores.
    const queue = [...names];
    await Promise.all([0, 1].map(async () => {
      for (let name = queue.shift(); name; name = queue.shift()) results[name] = await sh(`${scripts[name]} --help`, env);
    }));
    for (const name of names) {
      const r = results[name];
      expect({ name, code: r.code }).toEqual({ name, code: 0 });
      if (ours(name)) {
        const head = `Usage: npm run ${name}`;
        expect({ name, head: r.stdout.slice(0, head.length), stderr: r.stderr }).toEqual({ name, head, stderr: '' });
      } else {
        expect({ name, stdout: r.stdout.length > 100 }).toEqual({ name, stdout: true });
      }
    }
    expect(fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '').toBe('');
    // v8-compile-cache and Node 22's node-compile-cache: compile caches of node_modules/.bin (jest, tsc) and of Node itself; not a side effect of a script.
    expect(fs.readdirSync(env.TMPDIR!).filter((f) => !f.startsWith('v8-compile-cache') && f !== 'node-compile-cache')).toEqual([]);
    for (const [f, mtime] of watched) expect({ f, mtime: fs.statSync(path.join(ROOT, f)).mtimeMs }).toEqual({ f, mtime });
  });

  test('a mistyped flag, for real: one line naming the flag meant, exit 2, before anything is installed', async () => {
    const p = await sh(`${scripts.plan} --env prod --profle load`, env);
    expect(p).toMatchObject({ code: 2, stdout: '', stderr: 'plan: unknown flag --profle. Did you mean --profile?\n(npm run plan -- --help lists the flags)\n' });
    const b = await sh(`${scripts['bench:loadgen']} --conections 10`, env);
    expect(b).toMatchObject({ code: 2, stdout: '', stderr: 'bench:loadgen: unknown flag --conections. Did you mean --connections?\n(npm run bench:loadgen -- --help lists the flags)\n' });
    const n = await sh(`${scripts.bench} --runs 0`, env);
    expect(n).toMatchObject({ code: 2, stderr: 'bench: --runs = "0": must be a whole number ≥ 1 (e.g. --runs 3).\n(npm run bench -- --help lists the flags)\n' });
    expect(fs.existsSync(calls) ? fs.readFileSync(calls, 'utf8') : '').toBe('');
  });
});

describe('npm run loadtest -- --local: --json, --publish', () => {
  let server: http.Server;
  let url: string;
  let out: string;
  beforeAll(async () => {
    server = http.createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cli-publish-'));
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    fs.rmSync(out, { recursive: true, force: true });
  });

  test('--json: the result file\'s JSON on stdout (and its path), no summary lines; no status line in a log', async () => {
    const r = await capture((a, io) => loadtest(a, { ...io, env: {} }), ['--env', 'dev', '--local', '--target', url, '--rate', '5', '--duration', '1', '--run', 'as-json', '--out', out, '--json']);
    expect(r.code).toBe(EXIT.ok);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ runId: 'as-json', state: 'completed', sent: 5, resultFile: path.join(out, 'as-json.json') });
    expect(JSON.parse(fs.readFileSync(result.resultFile, 'utf8'))).toMatchObject({ runId: 'as-json', sent: 5 });
    expect(r.stderr).not.toMatch(/\[ +\d+ s\] target/);
  });

  test('CloudWatch unreachable: the result is written, the failure said in one line, exit 1 (not 0)', async () => {
    const r = await sh(`ts-node tools/loadtest/cli.ts --env dev --local --target ${url} --rate 5 --duration 1 --run publish-fails --out ${out} --publish`, {
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env.PATH}`, HOME: out,
      // A closed port: the SDK's PutMetricData fails to connect.
      AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_MAX_ATTEMPTS: '1',
    });
    expect(r.stderr).toMatch(/^loadtest: the client metrics were not published to CloudWatch: .*\. The result is in .*publish-fails\.json; exit 1\. Fix: AWS credentials and region for CloudWatch, then run again \(or leave out --publish\)\.$/m);
    expect(r.code).toBe(EXIT.finding);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'publish-fails.json'), 'utf8'))).toMatchObject({ runId: 'publish-fails', state: 'completed', sent: 5 });
  });
});
