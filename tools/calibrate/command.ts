import * as fs from 'fs';
import type { BlueprintConfig } from '../../lib/config/schema';
import { runResultFileSchema, type RunResultFile } from '../../lib/contracts/loadtest';
import { parseFlags } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { cannotRunExit, errorMessage, EXIT, UsageError } from '../common/errors';
import { FLAGS, type CliDeps } from './cli';
import { fmt } from '../kpi-report/evaluate';
import { derive } from './derive';
import { readKpiReport, serverView, type ServerView } from './kpi-report-file';
import { runCapacity, type RunCapacity } from './judge';
import { renderJson, renderText, type Calibration } from './render';


interface Args {
  readonly result: string;
  readonly tasks?: number;
  readonly report?: string;
  readonly env?: string;
  readonly config?: string;
  readonly json: boolean;
}

function parse(argv: readonly string[]): Args {
  const v = parseFlags(argv, FLAGS);
  if (!v.result) throw new UsageError('--result <file> is required: the result file of npm run loadtest (loadtest-results/<run>.json).', true);
  let tasks: number | undefined;
  if (v.tasks !== undefined) {
    tasks = Number(v.tasks);
    if (!Number.isInteger(tasks) || tasks < 1) throw new UsageError(`--tasks = "${v.tasks}": must be a whole number ≥ 1 (the API tasks that served the run).`, true);
  }
  return { result: v.result, tasks, report: v.report, env: v.env, config: v.config, json: v.json === true };
}

/** The load-test CLI's result file, through the contract's schema. */
export function readResultFile(file: string): RunResultFile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--result ${file}: ${(e as Error).message}. Fix: pass the file npm run loadtest wrote (loadtest-results/<run>.json).`);
  }
  const parsed = runResultFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new UsageError(`--result ${file} is not a load-test result (runResultFileSchema, lib/contracts/loadtest.ts): ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** Everything the calibration says, from the parsed arguments; throws UsageError for what the user must fix. */
export function calibrate(args: Args): Calibration {
  const result = readResultFile(args.result);
  const envName = args.env ?? result.envName;
  if (!envName) throw new UsageError(`${args.result} does not say which environment it tested (no envName): pass --env <name>.`, true);
  if (args.env && result.envName && args.env !== result.envName) {
    throw new UsageError(`${args.result} is a run against environment "${result.envName}", not "${args.env}". Fix: --env ${result.envName}, or the result of a run against ${args.env}.`);
  }
  const config: BlueprintConfig = loadEnvironmentConfig(envName, args.config);
  const run = runCapacity(result, config.sla);
  const notes = [...run.notes];

  let server: ServerView | undefined;
  if (args.report) {
    const report = readKpiReport(args.report);
    if (report.envName !== envName) throw new UsageError(`--report ${args.report} is a report on environment "${report.envName}", not "${envName}". Fix: the report of this run.`);
    server = serverView(args.report, report, run.windows);
    if (server.covers.length === 0) {
      throw new UsageError(`--report ${args.report} covers ${report.window.start} → ${report.window.end}, none of the run's windows (${run.windows[0].startedAt} onwards). Fix: the report of this run (npm run kpi-report -- --env ${envName} --run ${result.runId ?? '<run id>'}).`);
    }
  }

  // Target tracking adds and removes tasks while the load moves
  // (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html), so a
  // stress run on an autoscaled service has no one task count; scaling policies never leave the scalable
  // target's min-max range (https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html),
  // so api.minTasks = api.maxTasks pins it for the run.
  let tasks: { count: number; from: string };
  if (args.tasks !== undefined) {
    tasks = { count: args.tasks, from: '--tasks' };
    if (server?.apiTasks && (server.apiTasks.min !== args.tasks || server.apiTasks.max !== args.tasks)) {
      notes.push(`--tasks ${args.tasks}, but ${server.file} saw ${server.apiTasks.min} → ${server.apiTasks.max} API tasks running: the per-task figure is only as right as --tasks.`);
    }
  } else if (server?.apiTasks && server.apiTasks.min === server.apiTasks.max) {
    tasks = { count: server.apiTasks.max, from: `${server.file} (running tasks)` };
  } else if (server?.apiTasks) {
    throw new UsageError(`${server.file} saw ${server.apiTasks.min} → ${server.apiTasks.max} API tasks during the run: autoscaling moved them, so no one task count divides the rate. Fix: pass --tasks N, or rerun with api.minTasks = api.maxTasks.`, true);
  } else {
    throw new UsageError(`--tasks <N> is required${server ? ` (${server.file} has no running-task data)` : ''}: the API tasks that served the run (1 for npm run workload:dev).`, true);
  }
  if (result.mode === 'local') {
    notes.push(`a local run (mode local, ${result.target}): the capacity is that of the process(es) on this machine, not of a Fargate task with api.cpu ${config.api.cpu}; calibrate ${envName} from a run against its deployed API before deploying these values.`);
  }
  if (result.status['4xx'] > 0 && result.sent > 0) {
    // 4xx are not failures by the SLA, yet a 404 for a row never seeded costs far less than a read of one.
    notes.push(`${result.status['4xx']} of the ${result.sent} requests (${fmt((100 * result.status['4xx']) / result.sent)} %) were answered 4xx: they count as served, but may cost the API less than the requests they stand for (a 404 for an item never created): seed the data the mix asks for (loadTest.mix) and measure again.`);
  }
  for (const w of result.warnings ?? []) notes.push(`the run warned: ${w}`);

  const derived = derive(config, envName, run, tasks.count);
  return {
    envName,
    resultFile: args.result,
    runId: result.runId ?? null,
    profile: result.profile ?? null,
    mode: result.mode ?? null,
    target: result.target,
    tasks,
    sla: config.sla,
    run,
    server: server ?? null,
    ...derived,
    kpiReportCommand: kpiReportCommand(envName, result, run, server),
    notes: [...notes, ...derived.notes],
    exitCode: run.kind === 'none' ? EXIT.finding : EXIT.ok,
  };
}

/**
 * The KPI report of the capacity's step alone: its API CPU is the utilisation at which the SLA held. Only
 * for a run with steps against a deployed API (a local run has no server-side metrics), and not when the
 * report given is already that one.
 */
function kpiReportCommand(envName: string, result: RunResultFile, run: RunCapacity, server: ServerView | undefined): string | null {
  const step = run.windows.find((w) => w.label === run.at);
  if (!step || run.windows.length < 2 || result.mode === 'local') return null;
  if (server && server.covers.length === 1 && server.covers[0] === step.label) return null;
  const end = new Date(Date.parse(step.startedAt) + step.durationSeconds * 1000).toISOString();
  return `npm run kpi-report -- --env ${envName} --since ${step.startedAt} --until ${end}`;
}

/** `npm run calibrate` once its flags are known (./cli.ts answers --help and unknown flags first); the exit code. */
export function main(argv: readonly string[], deps: CliDeps = {}): number {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  try {
    const args = parse(argv);
    const c = calibrate(args);
    out(args.json ? renderJson(c) : renderText(c));
    return c.exitCode;
  } catch (e) {
    return cannotRunExit('calibrate', e, err, (x) => `no answer: ${errorMessage(x)}`);
  }
}
