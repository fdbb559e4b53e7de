import * as fs from 'fs';
import * as path from 'path';
import type { BlueprintConfig } from '../../lib/config/schema';
import type { Phase, RunResultFile } from '../../lib/contracts/loadtest';
import { readResultFile } from '../calibrate/command';
import { readKpiReport } from '../calibrate/kpi-report-file';
import { didYouMean, parseFlags, positiveNumber } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { cannotRunExit, errorMessage, UsageError } from '../common/errors';
import { fmt } from '../kpi-report/evaluate';
import { compareWithRun, phasesOfRun } from './actual';
import { renderPlanSvg } from './chart';
import { compareSizes, type CompareReport } from './compare';
import { monthlyCost } from './cost';
import { buildReport, renderJson, renderText, type PlanReport } from './report';
import { ModelError, simulate } from './simulate';
import { FLAGS, type CliDeps } from './cli';


interface Args {
  readonly env?: string;
  readonly profile?: string;
  readonly rate?: number;
  readonly duration?: number;
  readonly tail: number;
  readonly start: number | null;
  readonly readerCapacityRps: number | null;
  readonly compare: boolean;
  readonly result?: string;
  readonly report?: string;
  readonly out?: string;
  readonly config?: string;
  readonly json: boolean;
}

function parse(argv: readonly string[]): Args {
  const v = parseFlags(argv, FLAGS);
  const rate = positiveNumber('--rate', v.rate);
  const duration = positiveNumber('--duration', v.duration);
  if ((rate === undefined) !== (duration === undefined)) throw new UsageError('--rate and --duration go together: give both (a constant rate replaces the profile), or neither.', true);
  if (rate !== undefined && v.profile) throw new UsageError('give --profile or --rate/--duration, not both.', true);
  if (v.report && !v.result) throw new UsageError('--report goes with --result: the KPI report of that run.', true);
  if (!v.env && !v.result) throw new UsageError('--env <name> is required (or --result, whose run names its environment).', true);
  let tail = 0;
  if (v.tail !== undefined) {
    tail = Number(v.tail);
    if (!Number.isFinite(tail) || tail < 0) throw new UsageError(`--tail = "${v.tail}": must be a number of seconds ≥ 0.`, true);
  }
  let start: number | null = null;
  if (v.start !== undefined) {
    start = Date.parse(v.start);
    if (Number.isNaN(start)) throw new UsageError(`--start = "${v.start}": must be an ISO time such as 2025-03-03T07:30:00Z.`, true);
  }
  return {
    env: v.env, profile: v.profile, rate, duration, tail, start, readerCapacityRps: positiveNumber('--reader-capacity-rps', v['reader-capacity-rps']) ?? null,
    compare: v.compare === true, result: v.result, report: v.report, out: v.out, config: v.config, json: v.json === true,
  };
}

interface Chosen {
  readonly name: string | null;
  readonly description: string;
  readonly phases: Phase[];
  readonly stopWhenSlaBreaks: boolean;
  readonly note: string | null;
}

function chooseProfile(args: Args, config: BlueprintConfig, result: RunResultFile | undefined): Chosen {
  if (args.rate !== undefined) {
    return { name: null, description: `constant ${fmt(args.rate)} req/s`, phases: [{ durationSeconds: args.duration!, arrivalRate: args.rate }], stopWhenSlaBreaks: false, note: null };
  }
  const profiles = config.loadTest.profiles;
  if (!args.profile && result) {
    const { phases, note } = phasesOfRun(result, profiles);
    const p = result.profile ? profiles[result.profile] : undefined;
    return { name: note === null ? result.profile ?? null : null, description: note === null && p ? p.description : `the run's ${fmt(result.requestedRps)} req/s`, phases, stopWhenSlaBreaks: note === null && !!p?.stopWhenSlaBreaks, note };
  }
  const name: string = args.profile ?? 'load';
  const p = profiles[name];
  if (!p) {
    const near = didYouMean(name, Object.keys(profiles));
    throw new UsageError(`--profile = "${name}": not in loadTest.profiles of ${config.envName} (${Object.keys(profiles).join(', ')}). Fix: ${near ? `did you mean --profile ${near}? Or ` : ''}pick one, or add it to cdk.json.`);
  }
  return { name, description: p.description, phases: p.phases.map((x) => ({ ...x })), stopWhenSlaBreaks: p.stopWhenSlaBreaks, note: null };
}

/** monthlyCost (tools/plan/cost.ts) at min, the profile's average and max; a failure is reported, not thrown. */
function costs(config: BlueprintConfig, averages: PlanReport['averages']): PlanReport['cost'] {
  try {
    return {
      available: true,
      value: {
        min: monthlyCost(config, { level: 'min' }),
        average: monthlyCost(config, { level: 'average', averageTasks: { api: averages.apiTasks, worker: averages.workerTasks }, averageRps: averages.rps }),
        max: monthlyCost(config, { level: 'max' }),
      },
    };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

function compare(config: BlueprintConfig, peakRps: number): NonNullable<PlanReport['compare']> {
  try {
    return { available: true, value: compareSizes(config, peakRps) as unknown as Record<string, unknown> };
  } catch (e) {
    return { available: false, reason: (e as Error).message };
  }
}

const opt = (v: number | undefined) => (v === undefined ? '—' : fmt(v));

function renderCompare(c: CompareReport): string {
  const t = (header: string[], rows: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (cells: string[]) => cells.map((x, i) => x.padEnd(widths[i])).join('  ').trimEnd();
    return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
  };
  return [
    `Vertical vs horizontal at ${fmt(c.peakRps)} req/s (${c.region}, prices of ${c.priceTableDate}, ${c.zones} zones):`,
    ...t(['cpu', 'memory', 'processes', 'req/s per task', 'tasks', '$/month', 'step req/s', 'one task lost', 'zone lost', 'writer conns', ''],
      c.taskSizes.map((r) => [String(r.cpu), String(r.memoryMiB), String(r.processesPerTask), fmt(r.capacityPerTaskRps), String(r.tasksNeeded), fmt(Math.round(r.monthlyUsd)), fmt(r.scaleOutStepRps), `${fmt(r.oneTaskLossPercent)} %`, `${fmt(r.zoneLossPercent)} %`, String(r.writerConnectionsAtPeak), r.current ? '(current)' : ''])),
    '',
    ...t(['database', 'class', 'readers', 'max_connections', 'writer vCPU', 'read vCPU', '$/month', 'note'],
      c.database.map((r) => [r.label, r.instanceClass, String(r.readers), opt(r.maxConnectionsPerInstance), opt(r.writerVcpu), opt(r.readVcpu), fmt(Math.round(r.monthlyUsd)), r.note])),
    ...c.notes.map((n) => `Note: ${n}`),
  ].join('\n');
}

/** Everything the plan says; throws UsageError for what the user must fix. */
export async function plan(args: Args): Promise<{ report: PlanReport; compareText: string | null }> {
  let result: RunResultFile | undefined;
  if (args.result) {
    result = readResultFile(args.result);
    if (args.env && result.envName && args.env !== result.envName) {
      throw new UsageError(`${args.result} is a run against environment "${result.envName}", not "${args.env}". Fix: --env ${result.envName}, or the result of a run against ${args.env}.`);
    }
  }
  const envName = args.env ?? result?.envName;
  if (!envName) throw new UsageError(`${args.result} does not say which environment it tested (no envName): pass --env <name>.`, true);
  const config = loadEnvironmentConfig(envName, args.config);
  const chosen = chooseProfile(args, config, result);
  let sim;
  try {
    sim = simulate({ config, phases: chosen.phases, tailSeconds: args.tail, startMs: args.start, readerCapacityRps: args.readerCapacityRps });
  } catch (e) {
    if (e instanceof ModelError) throw new UsageError(e.message);
    throw e;
  }
  const base = buildReport({
    config, sim, start: args.start === null ? null : new Date(args.start).toISOString(), readerCapacityRps: args.readerCapacityRps,
    profile: {
      name: chosen.name, description: chosen.description, phases: chosen.phases, durationSeconds: sim.profileSeconds, tailSeconds: args.tail, stopWhenSlaBreaks: chosen.stopWhenSlaBreaks,
    },
  });
  const notes = [...base.notes];
  if (chosen.note) notes.push(chosen.note);
  let actual: PlanReport['actual'] = null;
  if (result && args.result) {
    const kpi = args.report ? { file: args.report, data: readKpiReport(args.report) } : undefined;
    if (kpi && kpi.data.envName !== envName) throw new UsageError(`--report ${args.report} is a report on environment "${kpi.data.envName}", not "${envName}". Fix: the report of this run.`);
    actual = compareWithRun(sim, args.result, result, config.sla, kpi) as unknown as Record<string, unknown>;
  }
  const peak = base.tiers.find((t) => t.tier === 'api')!.peakDemand;
  const cmp = args.compare ? compare(config, peak) : null;
  const report: PlanReport = { ...base, notes, cost: costs(config, base.averages), compare: cmp, actual, chart: null };
  const outDir = args.out ?? path.join('plan-reports', `${envName}-${chosen.name ?? (args.rate !== undefined ? `rate-${args.rate}-${args.duration}s` : 'run')}`);
  fs.mkdirSync(outDir, { recursive: true });
  const chartFile = path.join(outDir, 'plan.svg');
  fs.writeFileSync(chartFile, await renderPlanSvg(report));
  const withChart: PlanReport = { ...report, chart: chartFile };
  fs.writeFileSync(path.join(outDir, 'plan.json'), renderJson(withChart));
  return { report: withChart, compareText: cmp?.available ? renderCompare(cmp.value as unknown as CompareReport) : null };
}

/** `npm run plan` once ./cli.ts has answered --help and unknown flags; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  try {
    const { takeRunFlags, planVsRun } = await import('./observed');
    // --run-id is --run's old spelling (FLAG_ALIASES); observed.ts takes the --run flags out by name.
    const { argv: rest, run: runFlags } = takeRunFlags(argv.map((a) => a.replace(/^--run-id(?==|$)/, '--run')));
    const args = parse(rest);
    const { report, compareText } = await plan(args);
    // --run <id>: tools/plan/observed.ts reads the run from CloudWatch (its flags were taken out before parse).
    const vsRun = runFlags ? `\n${await planVsRun(report, runFlags, args.config)}\n` : '';
    if (args.json) out(renderJson(report));
    else out(`${renderText(report)}${compareText ? `\n${compareText}\n` : ''}${vsRun}`);
    return report.exitCode;
  } catch (e) {
    return cannotRunExit('plan', e, err, (x) => `no answer: ${errorMessage(x)}`);
  }
}
