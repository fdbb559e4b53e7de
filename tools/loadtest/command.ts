import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import * as fs from 'fs';
import * as path from 'path';
import type { BlueprintConfig } from '../../lib/config/schema';
import { PROFILE_NAME, type LoadResult, type Phase, type RequestSpec, type RunResultFile } from '../../lib/contracts/loadtest';
import type { StackOutput } from '../../lib/contracts/stacks';
import { runLoad, type IntervalSnapshot } from '../../lib/load-engine/engine';
import { percentileOf } from '../../lib/load-engine/histogram';
import { cloudWatchPublisher, type MetricsPublisher } from '../../lib/load-engine/publish';
import { ArrivalSchedule } from '../../lib/load-engine/schedule';
import { didYouMean, parseFlags, positiveNumber } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { credentialsProblem, errorMessage, EXIT, usageErrorText, UsageError } from '../common/errors';
import { Progress, progressMode, type ProgressMode } from '../common/progress';
import { ALIASES, FLAGS, STOP_FLAGS } from './cli';
import { redactor, resolveMixHeaders } from './headers';
import { overridePhases, PlanError, type LoadPlan, type Slice } from './plan';
import { configHash, generatorVersion, gitState } from './provenance';
import { runProfile, runRemote, type Invoker, type ProfileOutcome } from './run';
import { endpointLines, errorRatePercent, humanSummary, summaryLine } from './summary';

/**
 * Exit codes of a run that was stopped before its schedule ended (its partial summary printed and its
 * result file written, `state: "aborted"`): 128 + the signal's number, as a shell reports a job that the
 * signal ended, so `npm run loadtest` in a script or CI step reads as interrupted, never as a completed run.
 * A run stopped from elsewhere (`npm run loadtest -- stop`) did not run its schedule either: 1.
 */
export const EXIT_STOPPED = { SIGINT: 130, SIGTERM: 143, stop: EXIT.finding } as const;
type Signal = 'SIGINT' | 'SIGTERM';


/** Where the CLI listens for SIGINT and SIGTERM (the process; tests pass an emitter). */
export interface SignalSource {
  on(signal: Signal, listener: () => void): unknown;
  off(signal: Signal, listener: () => void): unknown;
}

export interface CliDeps {
  /** @default process.stdout */
  readonly stdout?: (text: string) => void;
  /** @default process.stderr */
  readonly stderr?: (text: string) => void;
  /** The Lambda invoker (tests run the handler in-process). @default - @aws-sdk/client-lambda Invoke */
  readonly invoker?: (functionName: string, config: BlueprintConfig) => Invoker;
  /** Writes the stop flag for a run (tests write an in-memory flag). @default - tools/loadtest/stop.ts on SSM */
  readonly stopper?: (parameterName: string, config: BlueprintConfig) => (runId: string) => Promise<void>;
  /** @default - the project's cdk.json (PROJECT_CDK_JSON) */
  readonly cdkJsonPath?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default process */
  readonly signals?: SignalSource;
  /** Ends the process at once (a second Ctrl-C). @default process.exit */
  readonly exit?: (code: number) => void;
}

interface Args {
  readonly envName: string;
  /** @default - none: --rate/--duration without a profile */
  readonly profile?: string;
  /** @default - the Compute stack's ApiUrl output (Lambda runs only) */
  readonly target?: string;
  readonly local: boolean;
  readonly rate?: number;
  readonly duration?: number;
  readonly runId?: string;
  readonly publish: boolean;
  readonly functionName?: string;
  readonly stopParameter?: string;
  readonly out: string;
  readonly json: boolean;
  readonly progress: ProgressMode;
  /** @default - the project's cdk.json */
  readonly config?: string;
}

const RUN_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

function checkRunId(runId: string | undefined, flag: string): void {
  if (runId !== undefined && !RUN_ID.test(runId)) throw new UsageError(`${flag} = "${runId}": use 1-128 letters, digits, "_", ".", ":" or "-"`, true);
}

function parse(argv: readonly string[]): Args {
  const values = parseFlags(argv, FLAGS, ALIASES);
  if (!values.env) throw new UsageError('--env is required (an environment of cdk.json, e.g. --env dev)', true);
  const rate = positiveNumber('--rate', values.rate);
  const duration = positiveNumber('--duration', values.duration);
  if (!values.profile && rate === undefined) throw new UsageError('give --profile NAME (a key of loadTest.profiles), or --rate N --duration S', true);
  if (values.profile !== undefined && !PROFILE_NAME.test(values.profile)) throw new UsageError(`--profile = "${values.profile}": a profile name is 1-64 letters, digits, "_" or "-"`, true);
  if (!values.target && values.local) throw new UsageError('--target URL is required with --local: the base URL of the API under test (e.g. http://127.0.0.1:3000)', true);
  if (values.target) checkTarget(values.target, true);
  const runId = values.run;
  checkRunId(runId, '--run');
  return {
    envName: values.env,
    profile: values.profile,
    target: values.target,
    local: values.local === true,
    rate,
    duration,
    runId,
    publish: values.publish === true,
    functionName: values.function,
    stopParameter: values['stop-parameter'],
    out: values.out ?? 'loadtest-results',
    json: values.json === true,
    progress: progressMode(values.progress),
    config: values.config,
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
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const rawOut = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const rawErr = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  // Every line goes through the redactor once the secrets are known (resolveMixHeaders).
  let redact = (s: string) => s;
  const out = (s: string) => rawOut(redact(s));
  const err = (s: string) => rawErr(redact(s));
  const env = deps.env ?? process.env;
  try {
    if (argv[0] === 'stop') return await stopCommand(argv.slice(1), deps, out, err);
    const args = parse(argv);
    const config = loadEnvironmentConfig(args.envName, args.config ?? deps.cdkJsonPath);
    const { mix, secrets } = resolveMixHeaders(config.loadTest.mix, env);
    redact = redactor(secrets);
    return await run(args, config, mix, redact, deps, out, err, env);
  } catch (e) {
    if (e instanceof UsageError) {
      err(usageErrorText('loadtest', e));
      return EXIT.cannotRun;
    }
    if (e instanceof PlanError) {
      err(`loadtest: ${e.message}\n`);
      return EXIT.cannotRun;
    }
    const credentials = credentialsProblem(e);
    if (credentials) {
      err(`loadtest: ${credentials}\n`);
      return EXIT.cannotRun;
    }
    err(`loadtest: the run failed: ${errorMessage(e)}\n`);
    return EXIT.finding;
  }
}

/** `npm run loadtest -- stop --env <env> --run <id>`: puts the run on the stack's stop board. */
async function stopCommand(argv: readonly string[], deps: CliDeps, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const values = parseFlags(argv, STOP_FLAGS);
  if (!values.env) throw new UsageError('stop: --env is required (the environment whose LoadTest stack runs the test)', true);
  const runId = values.run;
  if (!runId) throw new UsageError('stop: --run ID is required (the run id the running loadtest printed: "loadtest <id>: ...")', true);
  checkRunId(runId, '--run');
  const config = loadEnvironmentConfig(values.env, values.config ?? deps.cdkJsonPath);
  const parameterName = values['stop-parameter'] ?? (await fromStack(values.env, config, 'loadGeneratorStopParameterName', '--stop-parameter NAME'));
  const stop = (deps.stopper ?? ssmStopper)(parameterName, config);
  await stop(runId);
  const poll = config.loadTest.stopPollSeconds;
  err(`loadtest stop: asked run ${runId} to stop (${parameterName}).\n`);
  out(`stop requested: run ${runId}; its workers read the flag every ${poll} s, then finish their requests in flight (up to ${config.loadTest.requestTimeoutMs} ms) and return; the loadtest that runs it then writes its partial result.\n`);
  return EXIT.ok;
}

function ssmStopper(parameterName: string, config: BlueprintConfig): (runId: string) => Promise<void> {
  return async (runId) => {
    // Loaded only here: a local run needs no SSM client.
    const { SSMClient } = await import('@aws-sdk/client-ssm');
    const { requestStop } = await import('./stop');
    await requestStop(new SSMClient({ region: config.region }), parameterName, runId);
  };
}

/**
 * SIGINT and SIGTERM while a run goes: the first stops it (no new arrivals; `onFirst` tells the Lambda
 * workers), the second exits at once. Listening replaces Node's default (exit on the signal), which is
 * what leaves no summary and no result behind.
 */
class Interrupts {
  readonly controller = new AbortController();
  by: Signal | undefined;
  private readonly listeners: Array<[Signal, () => void]>;

  constructor(
    private readonly source: SignalSource, private readonly err: (s: string) => void, private readonly exit: (code: number) => void,
    private readonly onFirst: (signal: Signal) => string, private readonly onSecond: string,
  ) {
    this.listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, () => this.on(signal)]);
    for (const [signal, listener] of this.listeners) source.on(signal, listener);
  }

  close(): void {
    for (const [signal, listener] of this.listeners) this.source.off(signal, listener);
  }

  private on(signal: Signal): void {
    if (this.by) {
      this.err(`\nloadtest: ${signal} again: exiting now, without a summary or result file.${this.onSecond}\n`);
      this.exit(EXIT_STOPPED[signal]);
      return;
    }
    this.by = signal;
    this.err(`\nloadtest: ${signal}: stopping. ${this.onFirst(signal)} Then the partial summary and the result file. ${signal === 'SIGINT' ? 'Ctrl-C' : signal} again exits at once, without them.\n`);
    this.controller.abort();
  }
}

async function run(
  args: Args, config: BlueprintConfig, mix: RequestSpec[], redact: (s: string) => string, deps: CliDeps,
  out: (s: string) => void, err: (s: string) => void, env: NodeJS.ProcessEnv,
): Promise<number> {
  const lt = config.loadTest;
  const profile = args.profile === undefined ? undefined : lt.profiles[args.profile];
  if (args.profile !== undefined && !profile) {
    const near = didYouMean(args.profile, Object.keys(lt.profiles));
    throw new UsageError(`--profile = "${args.profile}": not in loadTest.profiles of ${args.envName} (${Object.keys(lt.profiles).join(', ')}). Fix: ${near ? `did you mean --profile ${near}? Or p` : 'p'}ick one, or add it to cdk.json.`);
  }
  const phases = overridePhases(profile?.phases ?? [], { rate: args.rate, durationSeconds: args.duration });
  const overridden = args.rate !== undefined;
  const stopWhenSlaBreaks = Boolean(profile?.stopWhenSlaBreaks) && !overridden;
  const label = args.profile ?? `rate${args.rate}`;
  const runId = args.runId ?? `${args.envName}-${label}-${new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`;
  const schedule = new ArrivalSchedule(phases);
  const mode = args.local ? 'local' : 'lambda';
  const functionName = args.local ? undefined : (args.functionName ?? (await fromStack(args.envName, config, 'loadGeneratorFunctionName', '--function NAME')));
  const target = args.target ?? (await fromStack(args.envName, config, 'apiUrl', '--target URL'));
  checkTarget(target);
  err(
    `loadtest ${runId}: ${args.profile ?? 'constant rate'}${overridden ? ` (${args.profile ? 'overridden: ' : ''}${args.rate} req/s for ${args.duration} s)` : ` — ${profile!.description}`}\n` +
      `  ${mode}, target ${target}, ${phases.length} phase(s), ${schedule.durationSeconds} s, ${schedule.totalArrivals} arrivals\n`,
  );

  // The status line: in place on a terminal, none in a log unless --progress plain (tools/common/progress.ts).
  const status = new Progress({ write: err, isTTY: deps.stderr ? false : process.stderr.isTTY }, args.progress);
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}`.padStart(5);
  let outcome: ProfileOutcome;
  const warnings: string[] = [];
  let publishFailed: string | undefined;
  let inFlight = 0;
  const interrupts = new Interrupts(deps.signals ?? process, err, deps.exit ?? ((code) => process.exit(code)), () =>
    args.local
      ? `No new requests; waiting for the ${inFlight} in flight (at most loadTest.requestTimeoutMs = ${lt.requestTimeoutMs} ms).`
      : `Starting no new slice, and telling the workers to stop (they read the flag every ${lt.stopPollSeconds} s, then finish their requests in flight).`,
    // The stop flag may not be written yet when the process goes: say how to write it from another shell.
    args.local ? '' : ` If the workers still run: npm run loadtest -- stop --env ${args.envName} --run ${runId}`,
  );
  const signal = interrupts.controller.signal;

  try {
    if (args.local) {
      const publishing = args.publish || Boolean(env.AWS_ENDPOINT_URL);
      const publisher: MetricsPublisher | undefined = publishing
        ? cloudWatchPublisher({ envName: args.envName, runId, client: new CloudWatchClient({ region: env.AWS_REGION ?? config.region }) })
        : undefined;
      const progress = (s: IntervalSnapshot) => {
        publisher?.record(s);
        inFlight = s.inFlight;
        const seconds = (s.endMs - s.startMs) / 1000;
        // The last snapshot of a run covers the few ms after the last full interval: published, not shown.
        if (seconds < 0.5) return;
        const failures = s.status['5xx'] + s.errors + s.timeouts;
        status.update(
          `[${elapsed()} s] target ${s.targetRps.toFixed(1)} req/s  achieved ${(s.sent / seconds).toFixed(1)} req/s  ` +
            `p99 ${percentileOf(s.latency, 99).toFixed(2)} ms  errors ${failures}${s.dropped > 0 ? `  dropped ${s.dropped}` : ''}  in-flight ${s.inFlight}`,
        );
      };
      outcome = await runProfile(phases, stopWhenSlaBreaks, config.sla, (p) =>
        runLoad({ target, phases: p, mix, maxConcurrency: lt.maxConcurrencyPerWorker, timeoutMs: lt.requestTimeoutMs, onInterval: progress, signal }),
      stopWhenSlaBreaks ? (i, r, breach) => status.log(phaseLine(i, phases, r, breach)) : undefined, signal);
      status.clear();
      if (publisher) {
        try {
          await publisher.flush();
          err(`published client metrics to CloudWatch (${env.AWS_ENDPOINT_URL ?? `region ${env.AWS_REGION ?? config.region}`}), RunId=${runId}\n`);
        } catch (e) {
          // The run is done and its result written below, but kpi-report will find no client metrics of it.
          publishFailed = `the client metrics were not published to CloudWatch: ${credentialsProblem(e) ?? errorMessage(e)}`;
          warnings.push(publishFailed);
        }
      }
    } else {
      const fn = functionName!;
      const invoke = deps.invoker ? deps.invoker(fn, config) : await lambdaInvokerFor(fn, config);
      const progress = new RemoteProgress(fn, status, elapsed);
      // The first signal puts the run on the stop board: the workers of the running slice stop within a poll.
      signal.addEventListener('abort', () => {
        void (async () => {
          const name = args.stopParameter ?? (await fromStack(args.envName, config, 'loadGeneratorStopParameterName', '--stop-parameter NAME'));
          await (deps.stopper ?? ssmStopper)(name, config)(runId);
          err(`loadtest: asked the workers of ${runId} to stop (${name})\n`);
        })().catch((e: unknown) => err(`loadtest: could not tell the workers to stop (${errorMessage(e)}): they end with their slice. Fix: npm run loadtest -- stop --env ${args.envName} --run ${runId}\n`));
      }, { once: true });
      try {
        outcome = await runProfile(phases, stopWhenSlaBreaks, config.sla, (p) =>
          runRemote({
            runId,
            envName: args.envName,
            target,
            phases: p,
            mix,
            limits: lt,
            maxConcurrencyPerWorker: lt.maxConcurrencyPerWorker,
            timeoutMs: lt.requestTimeoutMs,
            invoke,
            signal,
            onPlan: (plan) => progress.plan(plan),
            onSlice: (slice, plan, r) => progress.sliceDone(slice, plan, r),
          }),
        stopWhenSlaBreaks ? (i, r, breach) => status.log(phaseLine(i, phases, r, breach)) : undefined, signal);
      } finally {
        progress.stop();
        status.clear();
      }
    }
  } finally {
    interrupts.close();
  }

  const stoppedBy = interrupts.by ?? (outcome.stopped ? 'stop' : undefined);
  const result: LoadResult = warnings.length > 0 ? { ...outcome.result, warnings: [...(outcome.result.warnings ?? []), ...warnings] } : outcome.result;
  for (const w of result.warnings ?? []) err(`warning: ${w}\n`);
  const file = path.resolve(args.out, `${runId}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const report: RunResultFile = {
    runId,
    envName: args.envName,
    ...(args.profile !== undefined && { profile: args.profile }),
    mode,
    state: stoppedBy ? 'aborted' : 'completed',
    ...(stoppedBy && { stoppedBy }),
    tested: {
      environment: args.envName,
      configHash: configHash(config),
      ...gitState(),
      profile: args.profile ?? null,
      override: overridden ? { rate: args.rate!, durationSeconds: args.duration! } : null,
      phases,
      target,
      generatorVersion: generatorVersion(),
      mode,
    },
    ...result,
    ...(outcome.breakingRps !== undefined && { breakingRps: outcome.breakingRps, breach: outcome.breach ?? null }),
    ...(outcome.phaseResults && { phaseResults: outcome.phaseResults.map(({ distribution: _d, endpoints: _e, ...rest }) => rest) }),
  };
  // Through the redactor as well: nothing in a result comes from a header, and this keeps it so.
  fs.writeFileSync(file, redact(`${JSON.stringify(report, null, 2)}\n`));

  const code = stoppedBy ? EXIT_STOPPED[stoppedBy] : publishFailed ? EXIT.finding : EXIT.ok;
  if (publishFailed) err(`loadtest: ${publishFailed}. The result is in ${file}; exit ${EXIT.finding}. Fix: AWS credentials and region for CloudWatch, then run again (or leave out --publish).\n`);
  if (args.json) {
    out(`${JSON.stringify({ ...report, resultFile: file }, null, 2)}\n`);
    return code;
  }
  const extra: Record<string, string | number> = outcome.breakingRps !== undefined ? { breaking_rps: outcome.breakingRps ?? 'none' } : {};
  if (stoppedBy) extra.state = 'aborted';
  if (stoppedBy) {
    out(`stopped         by ${stoppedBy === 'stop' ? 'npm run loadtest -- stop' : stoppedBy} after ${result.durationSeconds.toFixed(1)} of ${schedule.durationSeconds} s: a partial result\n`);
  }
  out(`${humanSummary(result)}\n`);
  for (const line of endpointLines(result)) out(`${line}\n`);
  if (outcome.breakingRps !== undefined) {
    out(outcome.breakingRps === null ? 'stress           no phase broke the SLA\n' : `stress           broke at ${outcome.breakingRps} req/s: ${outcome.breach}\n`);
  }
  out(`result          ${file}\n`);
  out(`${summaryLine(result, extra)}\n`);
  return code;
}

/** Lambda workers report only when their slice ends; meanwhile a line a second shows where the schedule is. */
class RemoteProgress {
  private ticker: NodeJS.Timeout | undefined;
  private current: { plan: LoadPlan; slice: number; startedAt: number } | undefined;

  constructor(private readonly functionName: string, private readonly status: Progress, private readonly elapsed: () => string) {}

  plan(plan: LoadPlan): void {
    this.status.log(`  ${this.functionName}: ${plan.workers} worker(s) × ${plan.slices.length} slice(s), peak ${plan.peakRps} req/s`);
    this.current = { plan, slice: 0, startedAt: Date.now() };
    // Nothing to show between slices when the status line is off (a log): the slice lines say enough.
    if (!this.ticker && this.status.mode !== 'none') {
      this.ticker = setInterval(() => this.tick(), 1000);
      this.ticker.unref();
    }
  }

  sliceDone(slice: Slice, plan: LoadPlan, r: LoadResult): void {
    this.status.log(`[${this.elapsed()} s] slice ${slice.index + 1}/${plan.slices.length} done: ${summaryLine(r)}`);
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
    this.status.update(`[${this.elapsed()} s] slice ${c.slice + 1}/${c.plan.slices.length}  target ${rate.toFixed(1)} req/s  (achieved, p99 and errors when the slice returns)`);
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
