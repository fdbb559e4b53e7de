import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import * as fs from 'fs';
import * as path from 'path';
import type { BlueprintConfig } from '../../lib/config/schema';
import { LOAD_PROFILES as PROFILES, type LoadProfileName as ProfileName, type LoadResult, type Phase, type RunResultFile } from '../../lib/contracts/loadtest';
import { STACK_OUTPUTS, type StackOutput } from '../../lib/contracts/stacks';
import { runLoad, type IntervalSnapshot } from '../../lib/load-engine/engine';
import { percentileOf } from '../../lib/load-engine/histogram';
import { cloudWatchPublisher, type MetricsPublisher } from '../../lib/load-engine/publish';
import { ArrivalSchedule } from '../../lib/load-engine/schedule';
import { parseFlags, positiveNumber } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { EXIT, usageErrorText, UsageError } from '../common/errors';
import { overridePhases, PlanError, type LoadPlan, type Slice } from './plan';
import { runProfile, runRemote, type Invoker, type ProfileOutcome } from './run';
import { errorRatePercent, humanSummary, summaryLine } from './summary';

const USAGE = `usage: npm run loadtest -- --env <env> --profile <${PROFILES.join('|')}> [--target URL] [options]

  --env ENV          environment in cdk.json (its loadTest and sla settings)
  --profile NAME     ${PROFILES.join(', ')} (loadTest.profiles)
  --target URL       base URL of the API under test (http:// or https://); required with --local,
                     else output ${STACK_OUTPUTS.apiUrl} of ScalingBlueprint-<Env>-Compute
  --local            run the engine in this process instead of the load-generator Lambda
  --rate N           replace the profile with one constant phase of N req/s (with --duration)
  --duration S       ... lasting S seconds
  --run-id ID        CloudWatch RunId dimension and result file name (default: <env>-<profile>-<UTC time>)
  --publish          with --local: publish the client metrics to CloudWatch (also when AWS_ENDPOINT_URL is set)
  --function NAME    load-generator function (default: output ${STACK_OUTPUTS.loadGeneratorFunctionName} of ScalingBlueprint-<Env>-LoadTest)
  --out DIR          where the result JSON goes (default: loadtest-results)

The last line on stdout is: achieved_rps=... requested_rps=... p50_ms=... p90_ms=... p99_ms=... max_ms=...
sent=... errors=... timeouts=... dropped=... 2xx=... 3xx=... 4xx=... 5xx=... (stress adds breaking_rps=...).
Exit code 0 when the run completed, whatever the SLA says (npm run kpi-report judges it); 1 when it failed;
2 when it cannot run (bad usage or configuration, a stack or output missing).`;

export interface CliDeps {
  /** @default process.stdout */
  readonly stdout?: (text: string) => void;
  /** @default process.stderr */
  readonly stderr?: (text: string) => void;
  /** The Lambda invoker (tests run the handler in-process). @default - @aws-sdk/client-lambda Invoke */
  readonly invoker?: (functionName: string, config: BlueprintConfig) => Invoker;
  /** @default - the project's cdk.json (PROJECT_CDK_JSON) */
  readonly cdkJsonPath?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

interface Args {
  readonly envName: string;
  readonly profile: ProfileName;
  /** @default - the Compute stack's ApiUrl output (Lambda runs only) */
  readonly target?: string;
  readonly local: boolean;
  readonly rate?: number;
  readonly duration?: number;
  readonly runId?: string;
  readonly publish: boolean;
  readonly functionName?: string;
  readonly out: string;
}

function parse(argv: string[]): Args | 'help' {
  const values = parseFlags(argv, {
    env: { type: 'string' },
    profile: { type: 'string' },
    target: { type: 'string' },
    local: { type: 'boolean', default: false },
    rate: { type: 'string' },
    duration: { type: 'string' },
    'run-id': { type: 'string' },
    publish: { type: 'boolean', default: false },
    function: { type: 'string' },
    out: { type: 'string', default: 'loadtest-results' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (values.help) return 'help';
  if (!values.env) throw new UsageError('--env is required (an environment of cdk.json, e.g. --env dev)', true);
  if (!values.profile || !(PROFILES as readonly string[]).includes(values.profile)) {
    throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}${values.profile ? `, got "${values.profile}"` : ''}`, true);
  }
  if (!values.target && values.local) throw new UsageError('--target URL is required with --local: the base URL of the API under test (e.g. http://127.0.0.1:3000)', true);
  if (values.target) checkTarget(values.target, true);
  const runId = values['run-id'];
  if (runId !== undefined && !/^[A-Za-z0-9_.:-]{1,128}$/.test(runId)) throw new UsageError(`--run-id = "${runId}": use 1-128 letters, digits, "_", ".", ":" or "-"`, true);
  return {
    envName: values.env,
    profile: values.profile as ProfileName,
    target: values.target,
    local: values.local,
    rate: positiveNumber('--rate', values.rate),
    duration: positiveNumber('--duration', values.duration),
    runId,
    publish: values.publish,
    functionName: values.function,
    out: values.out,
  };
}

/** `showUsage`: the URL came from the arguments (not from the Compute stack's output). */
function checkTarget(value: string, showUsage = false): void {
  let target: URL;
  try {
    target = new URL(value);
  } catch {
    throw new UsageError(`--target = "${value}": not a URL; write it as http://host[:port][/base]`, showUsage);
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new UsageError(`--target = "${value}": must be http:// or https://`, showUsage);
}

/** `npm run loadtest`; returns the exit code. */
export async function main(argv: string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  const env = deps.env ?? process.env;
  try {
    const args = parse(argv);
    if (args === 'help') {
      out(`${USAGE}\n`);
      return EXIT.ok;
    }
    return await run(args, loadEnvironmentConfig(args.envName, deps.cdkJsonPath), deps, out, err, env);
  } catch (e) {
    if (e instanceof UsageError) {
      err(usageErrorText('loadtest', e, USAGE));
      return EXIT.cannotRun;
    }
    if (e instanceof PlanError) {
      err(`loadtest: ${e.message}\n`);
      return EXIT.cannotRun;
    }
    err(`loadtest: the run failed: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT.finding;
  }
}

async function run(args: Args, config: BlueprintConfig, deps: CliDeps, out: (s: string) => void, err: (s: string) => void, env: NodeJS.ProcessEnv): Promise<number> {
  const lt = config.loadTest;
  const profile = lt.profiles[args.profile];
  const phases = overridePhases(profile.phases, { rate: args.rate, durationSeconds: args.duration });
  const overridden = args.rate !== undefined;
  const stopWhenSlaBreaks = profile.stopWhenSlaBreaks && !overridden;
  const runId = args.runId ?? `${args.envName}-${args.profile}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  const schedule = new ArrivalSchedule(phases);
  const mode = args.local ? 'local' : 'lambda';
  const functionName = args.local ? undefined : (args.functionName ?? (await fromStack(args.envName, config, 'loadGeneratorFunctionName', '--function NAME')));
  const target = args.target ?? (await fromStack(args.envName, config, 'apiUrl', '--target URL'));
  checkTarget(target);
  err(
    `loadtest ${runId}: ${args.profile}${overridden ? ` (overridden: ${args.rate} req/s for ${args.duration} s)` : ` — ${profile.description}`}\n` +
      `  ${mode}, target ${target}, ${phases.length} phase(s), ${schedule.durationSeconds} s, ${schedule.totalArrivals} arrivals\n`,
  );

  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}`.padStart(5);
  let outcome: ProfileOutcome;
  const warnings: string[] = [];

  if (args.local) {
    const publishing = args.publish || Boolean(env.AWS_ENDPOINT_URL);
    const publisher: MetricsPublisher | undefined = publishing
      ? cloudWatchPublisher({ envName: args.envName, runId, client: new CloudWatchClient({ region: env.AWS_REGION ?? config.region }) })
      : undefined;
    const progress = (s: IntervalSnapshot) => {
      publisher?.record(s);
      const seconds = (s.endMs - s.startMs) / 1000;
      // The last snapshot of a run covers the few ms after the last full interval: published, not shown.
      if (seconds < 0.5) return;
      const failures = s.status['5xx'] + s.errors + s.timeouts;
      err(
        `[${elapsed()} s] target ${s.targetRps.toFixed(1)} req/s  achieved ${(s.sent / seconds).toFixed(1)} req/s  ` +
          `p99 ${percentileOf(s.latency, 99).toFixed(2)} ms  errors ${failures}${s.dropped > 0 ? `  dropped ${s.dropped}` : ''}  in-flight ${s.inFlight}\n`,
      );
    };
    outcome = await runProfile(phases, stopWhenSlaBreaks, config.sla, (p) =>
      runLoad({ target, phases: p, mix: lt.mix, maxConcurrency: lt.maxConcurrencyPerWorker, timeoutMs: lt.requestTimeoutMs, onInterval: progress }),
    stopWhenSlaBreaks ? (i, r, breach) => err(phaseLine(i, phases, r, breach)) : undefined);
    if (publisher) {
      try {
        await publisher.flush();
        err(`published client metrics to CloudWatch (${env.AWS_ENDPOINT_URL ?? `region ${env.AWS_REGION ?? config.region}`}), RunId=${runId}\n`);
      } catch (e) {
        warnings.push(e instanceof Error ? e.message : String(e));
      }
    }
  } else {
    const fn = functionName!;
    const invoke = deps.invoker ? deps.invoker(fn, config) : await lambdaInvokerFor(fn, config);
    const progress = new RemoteProgress(fn, err, elapsed);
    try {
      outcome = await runProfile(phases, stopWhenSlaBreaks, config.sla, (p) =>
        runRemote({
          runId,
          envName: args.envName,
          target,
          phases: p,
          mix: lt.mix,
          limits: lt,
          maxConcurrencyPerWorker: lt.maxConcurrencyPerWorker,
          timeoutMs: lt.requestTimeoutMs,
          invoke,
          onPlan: (plan) => progress.plan(plan),
          onSlice: (slice, plan, r) => progress.sliceDone(slice, plan, r),
        }),
      stopWhenSlaBreaks ? (i, r, breach) => err(phaseLine(i, phases, r, breach)) : undefined);
    } finally {
      progress.stop();
    }
  }

  const result: LoadResult = warnings.length > 0 ? { ...outcome.result, warnings: [...(outcome.result.warnings ?? []), ...warnings] } : outcome.result;
  for (const w of result.warnings ?? []) err(`warning: ${w}\n`);
  const file = path.resolve(args.out, `${runId}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const report: RunResultFile = {
    runId,
    envName: args.envName,
    profile: args.profile,
    mode,
    ...result,
    ...(outcome.breakingRps !== undefined && { breakingRps: outcome.breakingRps, breach: outcome.breach ?? null }),
    ...(outcome.phaseResults && { phaseResults: outcome.phaseResults.map(({ distribution: _d, ...rest }) => rest) }),
  };
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);

  const extra = outcome.breakingRps !== undefined ? { breaking_rps: outcome.breakingRps ?? 'none' } : undefined;
  out(`${humanSummary(result)}\n`);
  if (outcome.breakingRps !== undefined) {
    out(outcome.breakingRps === null ? 'stress           no phase broke the SLA\n' : `stress           broke at ${outcome.breakingRps} req/s: ${outcome.breach}\n`);
  }
  out(`result          ${file}\n`);
  out(`${summaryLine(result, extra)}\n`);
  return EXIT.ok;
}

/** Lambda workers report only when their slice ends; meanwhile a line a second shows where the schedule is. */
class RemoteProgress {
  private ticker: NodeJS.Timeout | undefined;
  private current: { plan: LoadPlan; slice: number; startedAt: number } | undefined;

  constructor(private readonly functionName: string, private readonly err: (s: string) => void, private readonly elapsed: () => string) {}

  plan(plan: LoadPlan): void {
    this.err(`  ${this.functionName}: ${plan.workers} worker(s) × ${plan.slices.length} slice(s), peak ${plan.peakRps} req/s\n`);
    this.current = { plan, slice: 0, startedAt: Date.now() };
    if (!this.ticker) {
      this.ticker = setInterval(() => this.tick(), 1000);
      this.ticker.unref();
    }
  }

  sliceDone(slice: Slice, plan: LoadPlan, r: LoadResult): void {
    this.err(`[${this.elapsed()} s] slice ${slice.index + 1}/${plan.slices.length} done: ${summaryLine(r)}\n`);
    if (this.current) this.current = { plan, slice: slice.index + 1, startedAt: Date.now() };
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  private tick(): void {
    const c = this.current;
    const s = c?.plan.slices[c.slice];
    if (!c || !s) return;
    const t = Math.min((Date.now() - c.startedAt) / 1000, s.durationSeconds);
    const rate = new ArrivalSchedule(s.phases).rateAt(t) * c.plan.workers;
    this.err(`[${this.elapsed()} s] slice ${c.slice + 1}/${c.plan.slices.length}  target ${rate.toFixed(1)} req/s  (achieved, p99 and errors when the slice returns)\n`);
  }
}

function phaseLine(i: number, phases: readonly Phase[], r: LoadResult, breach: string | undefined): string {
  return `phase ${i + 1}/${phases.length} (${r.requestedRps.toFixed(1)} req/s): achieved ${r.achievedRps.toFixed(1)}, error rate ${errorRatePercent(r).toFixed(2)} %, p99 ${r.latency.p99Ms.toFixed(2)} ms — ${breach ? `SLA broken: ${breach}` : 'SLA held'}\n`;
}

/** An output of one of the environment's deployed stacks. */
async function fromStack(envName: string, config: BlueprintConfig, output: StackOutput, orPass: string): Promise<string> {
  // Loaded only here: a --local run with --target needs no CloudFormation client.
  const { readStackOutput } = await import('../common/stack-outputs');
  const { CloudFormationClient } = await import('@aws-sdk/client-cloudformation');
  return readStackOutput(new CloudFormationClient({ region: config.region }), envName, output, orPass);
}

async function lambdaInvokerFor(functionName: string, config: BlueprintConfig): Promise<Invoker> {
  // Loaded only here: a --local run needs no Lambda client.
  const { lambdaInvoker } = await import('./lambda-invoker');
  return lambdaInvoker(functionName, { region: config.region, maxWorkers: config.loadTest.maxWorkers });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      process.stderr.write(`loadtest: ${e instanceof Error ? e.stack : String(e)}\n`);
      process.exitCode = EXIT.finding;
    },
  );
}
