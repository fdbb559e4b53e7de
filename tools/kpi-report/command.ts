import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PIClient } from '@aws-sdk/client-pi';
import { RDSClient } from '@aws-sdk/client-rds';
import * as fs from 'fs';
import * as path from 'path';
import { parseFlags } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { cannotRunExit, EXIT, noVerdict, UsageError } from '../common/errors';
import { FLAGS, type CliDeps } from './cli';
import { renderTimelineSvg } from './chart';
import { fetchDbWaits } from './db-waits';
import { compareRuns, DEFAULT_NOISE_PERCENT, type Comparison } from './compare';
import { endpointRequests, listRoutes, routeRequests } from './endpoints';
import { evaluate, type RunInput } from './evaluate';
import { clientKeys, clientRequests, fetchMetrics, listRunIds, serverRequests } from './fetch';
import { dashboardUrl, renderComparisonText, renderJson, renderMarkdown, renderSummary, renderText, type Report } from './render';
import { readLoadResult, readSourcesFile, readSourcesFromStack, type ResolvedSources } from './sources';



/** How far back a run without a result file is looked for. */
const RUN_LOOKBACK_MS = 24 * 3600_000;
const MINUTE = 60_000;

/** `npm run kpi-report` once ./cli.ts has answered --help and unknown flags; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s) => process.stdout.write(s));
  const err = deps.stderr ?? ((s) => process.stderr.write(s));
  try {
    return await buildReport(argv, deps, out, err);
  } catch (e) {
    return cannotRunExit('kpi-report', e, err, noVerdict);
  }
}

/** The exit status of a report: a breach or a regression is a finding; otherwise inconclusive or ok. */
export function exitCodeOf(verdict: Report['verdict'], comparison: Comparison | null | undefined): number {
  if (verdict === 'fail' || (comparison && comparison.regressions > 0)) return EXIT.finding;
  return verdict === 'inconclusive' ? EXIT.inconclusive : EXIT.ok;
}

async function buildReport(argv: readonly string[], deps: CliDeps, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const args = parse(argv);
  const now = (deps.now ?? Date.now)();
  const envName = required(args.env, '--env');
  const runIdsGiven = args.run ?? [];
  const noise = args.noise === undefined ? DEFAULT_NOISE_PERCENT : Number(args.noise);
  if (!Number.isFinite(noise) || noise < 0) throw new UsageError(`--noise ${args.noise}: a percentage ≥ 0.`, true);
  if (args['allow-no-data'] && args['require-all']) throw new UsageError('--allow-no-data and --require-all contradict each other: give one.', true);
  if (args.baseline && runIdsGiven.length !== 1) throw new UsageError('--baseline compares one run: give exactly one --run.', true);
  if (args['compare-only'] && (!args.baseline || runIdsGiven.length !== 1)) throw new UsageError('--compare-only needs --baseline and one --run.', true);
  const resultsDir = args.results ?? 'loadtest-results';
  let comparison: Comparison | null = null;
  if (args.baseline) {
    const current = readLoadResult(resultsDir, runIdsGiven[0]);
    if (!current) throw new UsageError(`--baseline: run ${runIdsGiven[0]} has no result file ${path.join(resultsDir, `${runIdsGiven[0]}.json`)} to compare. Fix: --results <dir> where npm run loadtest wrote it.`);
    const baseline = readBaseline(resultsDir, args.baseline);
    comparison = compareRuns(baseline, current, noise);
  }
  if (args['compare-only']) {
    const c = comparison!;
    if (args.json) out(`${JSON.stringify(c, null, 2)}\n`);
    else out(renderComparisonText(c));
    return c.regressions > 0 ? EXIT.finding : EXIT.ok;
  }
  if (runIdsGiven.length === 0 && !args.since) throw new UsageError('give --run <id> or --since <time> (or both).', true);
  if (args.until && !args.since && runIdsGiven.length === 0) throw new UsageError('--until needs --since or --run.', true);
  const periodSeconds = Number(args.period ?? '60');
  if (!Number.isInteger(periodSeconds) || periodSeconds < 60 || periodSeconds % 60 !== 0) {
    throw new UsageError(`--period ${args.period}: must be a whole multiple of 60 seconds (standard-resolution metrics).`, true);
  }
  for (const id of runIdsGiven) if (!/^[\w.:-]{1,255}$/.test(id)) throw new UsageError(`--run ${id}: a run id is letters, digits, ".", "_", ":" and "-".`, true);

  const untilMs = args.until ? parseTime(args.until, now, '--until') : now;
  const sinceMs = args.since ? parseTime(args.since, now, '--since') : undefined;
  const config = loadEnvironmentConfig(envName, args.config);
  const cloudWatch = deps.cloudWatch ?? new CloudWatchClient({ region: config.region });

  // KPI sources first: without them there is no report.
  let sources: ResolvedSources;
  if (args.sources) sources = readSourcesFile(args.sources);
  else sources = await readSourcesFromStack(deps.cloudFormation ?? new CloudFormationClient({ region: config.region }), envName);

  // The window.
  let startMs: number;
  let endMs: number;
  let windowFrom: string;
  const results = new Map(runIdsGiven.map((id) => [id, readLoadResult(resultsDir, id)]));
  for (const [id, r] of results) {
    const ranOn = r?.result.envName;
    if (ranOn !== undefined && ranOn !== envName) {
      throw new UsageError(`run ${id} was a test of environment "${ranOn}" (${r!.file}), not "${envName}". Fix: --env ${ranOn}.`);
    }
  }
  if (sinceMs !== undefined) {
    startMs = sinceMs;
    endMs = untilMs;
    windowFrom = `--since ${args.since}${args.until ? ` --until ${args.until}` : ''}`;
  } else {
    const spans: Array<[number, number]> = [];
    const fromFiles: string[] = [];
    const lookFor: string[] = [];
    for (const id of runIdsGiven) {
      const r = results.get(id);
      if (r) {
        const s = Date.parse(r.result.startedAt);
        spans.push([s, s + r.result.durationSeconds * 1000]);
        fromFiles.push(r.file);
      } else lookFor.push(id);
    }
    const fromMetrics: string[] = [];
    if (lookFor.length > 0) {
      const found = await findRuns(cloudWatch, envName, lookFor, untilMs);
      for (const id of lookFor) {
        const span = found.get(id);
        if (!span) {
          throw new UsageError(`run ${id}: no ${path.join(resultsDir, `${id}.json`)} and no client metrics (Environment=${envName}, RunId=${id}) in the 24 h before ${new Date(untilMs).toISOString()}. Fix: check the run id and --env, or give the window with --since/--until.`);
        }
        spans.push(span);
        fromMetrics.push(id);
      }
    }
    startMs = Math.min(...spans.map(([s]) => s));
    endMs = Math.max(...spans.map(([, e]) => e));
    windowFrom = [
      fromFiles.length > 0 ? `the result file(s) ${fromFiles.join(', ')}` : '',
      fromMetrics.length > 0 ? `the first and last client datapoints of run(s) ${fromMetrics.join(', ')}` : '',
    ].filter(Boolean).join(' and ');
  }
  startMs = Math.floor(startMs / MINUTE) * MINUTE;
  endMs = Math.ceil(endMs / MINUTE) * MINUTE;
  if (endMs <= startMs) throw new UsageError(`the window ${new Date(startMs).toISOString()} → ${new Date(endMs).toISOString()} is empty: --since must be before --until.`);
  const windowSeconds = Math.ceil((endMs - startMs) / MINUTE) * 60;

  // Runs: the given ones, or every run of the environment with client data in the window.
  let runIds = runIdsGiven;
  const notes: string[] = [];
  if (runIds.length === 0) {
    runIds = await listRunIds(cloudWatch, envName);
    for (const id of runIds) results.set(id, readLoadResult(resultsDir, id));
  }
  const routes = await listRoutes(cloudWatch, envName);
  const mixNames = config.loadTest.mix.map((m) => m.name);
  const endpointsOf = (id: string) => [...new Set([...(results.get(id)?.result.endpoints?.map((e) => e.name) ?? []), ...mixNames])];
  const fetched = await fetchMetrics(cloudWatch, [
    ...serverRequests(sources.sources, periodSeconds, windowSeconds, envName),
    ...runIds.flatMap((id) => clientRequests(envName, id, periodSeconds, windowSeconds)),
    ...runIds.flatMap((id) => endpointRequests(envName, id, endpointsOf(id), periodSeconds, windowSeconds)),
    ...routeRequests(envName, routes, periodSeconds, windowSeconds),
  ], startMs, endMs);
  if (runIdsGiven.length === 0) {
    const listed = runIds.length;
    runIds = runIds.filter((id) => (fetched.series.get(clientKeys(id).requests)?.values.length ?? 0) > 0);
    notes.push(runIds.length > 0
      ? `client metrics of ${runIds.length} run(s) of ${envName} found in the window (of ${listed} listed): ${runIds.join(', ')}.`
      : `no load-test run of ${envName} has client metrics in the window: server-side KPIs only.`);
  }
  const runs: RunInput[] = runIds.map((runId) => ({ runId, result: results.get(runId) }));

  const evaluation = evaluate({
    envName, runs, startMs, endMs, periodSeconds, sla: config.sla, config, sources: sources.sources, fetched, routes: routes.routes,
    requireAll: !!args['require-all'], allowNoData: !!args['allow-no-data'], profile: args.profile,
  });
  const window = { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), periodSeconds, from: windowFrom };
  const dbWaits = await fetchDbWaits({
    rds: deps.rds ?? new RDSClient({ region: config.region }),
    pi: deps.pi ?? new PIClient({ region: config.region }),
  }, sources.sources.dbClusterIdentifier, startMs, endMs);
  const report: Report = {
    envName, runIds, window,
    kpiSources: sources.from,
    generatedAt: new Date(now).toISOString(),
    ...evaluation,
    dashboardUrl: sources.sources.dashboardName ? dashboardUrl(config.region, sources.sources.dashboardName, window.start, window.end) : null,
    comparison,
    dbWaits,
    notes: [...notes, ...evaluation.notes],
  };

  const dir = args.out ?? path.join('kpi-reports', runIdsGiven.length === 1 ? runIdsGiven[0] : `${envName}-${report.window.start.replace(/:/g, '-').replace(/\.\d+Z$/, 'Z')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'report.md'), renderMarkdown(report));
  fs.writeFileSync(path.join(dir, 'report.json'), renderJson(report));
  if (args['step-summary']) fs.appendFileSync(args['step-summary'], renderSummary(report));
  out(args.json ? renderJson(report) : renderText(report));
  try {
    fs.writeFileSync(path.join(dir, 'timeline.svg'), await renderTimelineSvg(report.timeline, `${envName} ${runIds.join(', ') || 'server-side'}: ${report.window.start} → ${report.window.end}`, startMs, endMs));
    (args.json ? err : out)(`Wrote ${path.join(dir, 'report.md')}, report.json and timeline.svg\n`);
  } catch (e) {
    // The verdict stands without the picture.
    err(`kpi-report: ${(e as Error).message}\n`);
    (args.json ? err : out)(`Wrote ${path.join(dir, 'report.md')} and report.json (no timeline.svg)\n`);
  }
  return exitCodeOf(report.verdict, comparison);
}

/** A baseline: a run id (its result file in the results directory) or the path of a result file. */
function readBaseline(resultsDir: string, value: string): { result: RunResult; file: string } {
  if (value.endsWith('.json') || value.includes(path.sep)) {
    const r = readLoadResult(path.dirname(value), path.basename(value, '.json'));
    if (!r) throw new UsageError(`--baseline ${value}: no such file.`);
    return r;
  }
  const r = readLoadResult(resultsDir, value);
  if (!r) throw new UsageError(`--baseline ${value}: no ${path.join(resultsDir, `${value}.json`)}. Fix: give a run id whose result file is in --results, or the path of a result file.`);
  return r;
}

type RunResult = NonNullable<ReturnType<typeof readLoadResult>>['result'];


/**
 * First and last minute with client requests of each run, in the 24 h before `untilMs`: hourly sums first,
 * then minutes within the hours that have data (1440 datapoints per run per query otherwise).
 */
async function findRuns(cloudWatch: CloudWatchClient, envName: string, runIds: readonly string[], untilMs: number): Promise<Map<string, [number, number]>> {
  const HOUR = 3600_000;
  const requestsOf = (id: string, periodSeconds: number) => clientRequests(envName, id, periodSeconds, periodSeconds).filter((q) => q.key === clientKeys(id).requests);
  const endMs = Math.ceil(untilMs / HOUR) * HOUR;
  const hourly = await fetchMetrics(cloudWatch, runIds.flatMap((id) => requestsOf(id, 3600)), endMs - RUN_LOOKBACK_MS, endMs);
  const spans = new Map<string, [number, number]>();
  for (const id of runIds) {
    const hours = hourly.series.get(clientKeys(id).requests)?.timestamps ?? [];
    if (hours.length === 0) continue;
    const minutes = await fetchMetrics(cloudWatch, requestsOf(id, 60), hours[0], hours[hours.length - 1] + HOUR);
    const ts = minutes.series.get(clientKeys(id).requests)?.timestamps ?? [];
    if (ts.length > 0) spans.set(id, [ts[0], ts[ts.length - 1] + MINUTE]);
  }
  return spans;
}

function parse(argv: readonly string[]) {
  return parseFlags(argv, FLAGS);
}

function required(value: string | undefined, flag: string): string {
  if (!value) throw new UsageError(`${flag} is required.`, true);
  return value;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: MINUTE, h: 3600_000, d: 86_400_000 };

/** `30m` (before now) or an ISO 8601 time. */
export function parseTime(value: string, now: number, flag: string): number {
  const rel = /^(\d+)(s|m|h|d)$/.exec(value);
  if (rel) return now - Number(rel[1]) * UNIT_MS[rel[2]];
  const abs = /^\d{4}-\d\d-\d\d/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(abs)) throw new UsageError(`${flag} ${value}: give a duration before now (90s, 30m, 2h, 1d) or an ISO time (2025-01-31T12:00:00Z).`, true);
  return abs;
}
