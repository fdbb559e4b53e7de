import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import * as path from 'path';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { UsageError } from '../common/errors';
import { fmt } from '../kpi-report/evaluate';
import { clientKeys, clientRequests, fetchMetrics, SERVER, serverRequests } from '../kpi-report/fetch';
import { readLoadResult, readSourcesFile, readSourcesFromStack } from '../kpi-report/sources';
import type { PlanReport } from './report';

/**
 * `npm run plan -- --run <id>`: the observed side of plan vs actual read from CloudWatch with the KPI report's
 * own fetcher (tools/kpi-report/fetch.ts) and sources (the Monitoring stack's KpiSources output, or --sources):
 * ECS Container Insights RunningTaskCount of the API service, the ALB's TargetResponseTime p99, the client's
 * request count and p99. Container Insights metrics:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html
 * ALB metrics: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
 */

export interface RunFlags {
  readonly runId: string;
  readonly sources?: string;
  readonly resultsDir: string;
}

const FLAGS = ['--run', '--sources', '--results'] as const;

/**
 * Takes --run/--sources/--results out of the plan's argv (its parser does not know them). When the run's
 * result file exists and no --result is given, `--result <it>` is added: the plan then simulates the run's
 * own profile and compares its windows with the client's figures.
 */
export function takeRunFlags(argv: readonly string[]): { argv: string[]; run: RunFlags | null } {
  const rest: string[] = [];
  const got: Partial<Record<(typeof FLAGS)[number], string>> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const flag = FLAGS.find((f) => a === f || a.startsWith(`${f}=`));
    if (!flag) {
      rest.push(a);
      continue;
    }
    const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
    if (value === undefined || value === '' || value.startsWith('--')) throw new UsageError(`${flag} needs a value.`, true);
    got[flag] = value;
  }
  if (!got['--run']) {
    if (got['--sources'] || got['--results']) throw new UsageError('--sources and --results go with --run <id>.', true);
    return { argv: rest, run: null };
  }
  const runId = got['--run'];
  if (!/^[\w.:-]{1,255}$/.test(runId)) throw new UsageError(`--run ${runId}: a run id is letters, digits, ".", "_", ":" and "-".`, true);
  if (rest.some((a) => a === '--result' || a.startsWith('--result='))) throw new UsageError('give --run <id> or --result <file>, not both.', true);
  const resultsDir = got['--results'] ?? 'loadtest-results';
  const found = readLoadResult(resultsDir, runId);
  if (found) rest.push('--result', found.file);
  return { argv: rest, run: { runId, sources: got['--sources'], resultsDir } };
}

export interface ObservedRun {
  readonly runId: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly windowFrom: string;
  readonly sourcesFrom: string;
  /** API RunningTaskCount over the run; null: no datapoints (Container Insights off). */
  readonly apiTasks: { readonly min: number; readonly max: number } | null;
  readonly p99Ms: number | null;
  readonly p99From: string;
  /** Client requests ÷ the run's length. */
  readonly achievedRps: number | null;
}

export interface ObserveDeps {
  readonly cloudWatch?: CloudWatchClient;
  readonly cloudFormation?: CloudFormationClient;
  readonly now?: () => number;
}

const MINUTE = 60_000;
/** How far back a run without a result file is looked for (as `npm run kpi-report` does). */
const RUN_LOOKBACK_MS = 24 * 3600_000;

/** The run's observed figures; AWS failures (no credentials, no endpoint) become one-line UsageErrors. */
export async function observeRun(envName: string, region: string, run: RunFlags, deps: ObserveDeps = {}): Promise<ObservedRun> {
  const cloudWatch = deps.cloudWatch ?? new CloudWatchClient({ region });
  try {
    const sources = run.sources ? readSourcesFile(run.sources) : await readSourcesFromStack(deps.cloudFormation ?? new CloudFormationClient({ region }), envName);
    const found = readLoadResult(run.resultsDir, run.runId);
    if (found?.result.envName !== undefined && found.result.envName !== envName) {
      throw new UsageError(`run ${run.runId} was a test of environment "${found.result.envName}" (${found.file}), not "${envName}". Fix: --env ${found.result.envName}.`);
    }
    const k = clientKeys(run.runId);
    let startMs: number;
    let endMs: number;
    let windowFrom: string;
    if (found) {
      startMs = Date.parse(found.result.startedAt);
      endMs = startMs + found.result.durationSeconds * 1000;
      windowFrom = found.file;
    } else {
      // The client's one-minute Requests sums over the last 24 h: the first and last minute with data.
      const until = Math.ceil((deps.now ?? Date.now)() / MINUTE) * MINUTE;
      const minutes = await fetchMetrics(cloudWatch, clientRequests(envName, run.runId, 60, 60).filter((q) => q.key === k.requests), until - RUN_LOOKBACK_MS, until);
      const ts = minutes.series.get(k.requests)?.timestamps ?? [];
      if (ts.length === 0) {
        throw new UsageError(`run ${run.runId}: no ${path.join(run.resultsDir, `${run.runId}.json`)} and no client metrics (Environment=${envName}, RunId=${run.runId}) in the last 24 h. Fix: check the run id and --env, or --results <dir>.`);
      }
      startMs = ts[0];
      endMs = ts[ts.length - 1] + MINUTE;
      windowFrom = `the first and last client datapoints of run ${run.runId}`;
    }
    const from = Math.floor(startMs / MINUTE) * MINUTE;
    const to = Math.max(from + MINUTE, Math.ceil(endMs / MINUTE) * MINUTE);
    const windowSeconds = (to - from) / 1000;
    const fetched = await fetchMetrics(cloudWatch, [...serverRequests(sources.sources, 60, windowSeconds), ...clientRequests(envName, run.runId, 60, windowSeconds)], from, to);
    const values = (key: string) => fetched.series.get(key)?.values ?? [];
    const running = values(SERVER.apiRunning);
    const worst = (key: string) => (values(key).length > 0 ? Math.max(...values(key)) : null);
    // Percentiles: the ALB's over the whole window first; an endpoint without percentiles (moto) falls back.
    let p99Ms: number | null = null;
    let p99From = 'no data';
    const server = worst(SERVER.p99);
    const client = worst(k.p99);
    if (server !== null) {
      p99Ms = server * 1000; // TargetResponseTime is in seconds.
      p99From = 'ALB TargetResponseTime p99';
    } else if (client !== null) {
      p99Ms = client;
      p99From = 'client Latency p99 (CloudWatch)';
    } else if (found) {
      p99Ms = found.result.latency.p99Ms;
      p99From = `${found.file} latency.p99Ms (CloudWatch percentiles unavailable)`;
    }
    const requests = values(k.requests);
    return {
      runId: run.runId, startMs, endMs, windowFrom, sourcesFrom: sources.from,
      apiTasks: running.length > 0 ? { min: Math.min(...running), max: Math.max(...running) } : null,
      p99Ms, p99From,
      achievedRps: requests.length > 0 ? requests.reduce((s, v) => s + v, 0) / ((endMs - startMs) / 1000) : null,
    };
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const m = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    throw new UsageError(`--run ${run.runId}: cannot read CloudWatch/CloudFormation in ${region} (${m}). Fix: AWS credentials and region for the deployed environment, or plan vs actual from the result file with --result <file>.`);
  }
}

/** Predicted (the plan's timeline over the run's length) next to observed, and by how much the model was off. */
export function renderPlanVsRun(report: PlanReport, obs: ObservedRun): string {
  const seconds = (obs.endMs - obs.startMs) / 1000;
  const ticks = report.timeline.filter((r) => r.t < seconds);
  const tasks = ticks.map((r) => r.api.runningTasks);
  const p99s = ticks.map((r) => r.api.p99Ms);
  const predicted = {
    tasks: { min: Math.min(...tasks), max: Math.max(...tasks) },
    p99Ms: p99s.includes(null) ? null : Math.max(0, ...(p99s as number[])),
    capacityRps: Math.max(0, ...ticks.map((r) => r.api.capacityRps)),
    servedRps: ticks.length > 0 ? ticks.reduce((s, r) => s + r.api.servedRps, 0) / ticks.length : 0,
  };
  const signed = (n: number) => `${n > 0 ? '+' : ''}${fmt(n)}`;
  const pct = (o: number, p: number) => (p > 0 ? ` (${signed((100 * (o - p)) / p)} %)` : '');
  const rows: string[][] = [
    ['API tasks min', String(predicted.tasks.min), obs.apiTasks ? fmt(obs.apiTasks.min) : 'no data', obs.apiTasks ? signed(obs.apiTasks.min - predicted.tasks.min) : '—'],
    ['API tasks max', String(predicted.tasks.max), obs.apiTasks ? fmt(obs.apiTasks.max) : 'no data', obs.apiTasks ? signed(obs.apiTasks.max - predicted.tasks.max) : '—'],
    ['API capacity req/s (peak)', fmt(predicted.capacityRps), '—', '—'],
    ['API req/s (mean)', fmt(predicted.servedRps), obs.achievedRps === null ? 'no data' : fmt(obs.achievedRps), obs.achievedRps === null ? '—' : `${signed(obs.achievedRps - predicted.servedRps)}${pct(obs.achievedRps, predicted.servedRps)}`],
    ['p99 ms (worst)', predicted.p99Ms === null ? '∞' : fmt(predicted.p99Ms), obs.p99Ms === null ? 'no data' : fmt(obs.p99Ms),
      obs.p99Ms === null || predicted.p99Ms === null ? '—' : `${signed(obs.p99Ms - predicted.p99Ms)}${pct(obs.p99Ms, predicted.p99Ms)}`],
  ];
  const header = ['', 'plan', 'observed', 'off'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [
    `Plan vs run ${obs.runId} (CloudWatch, ${new Date(obs.startMs).toISOString()} → ${new Date(obs.endMs).toISOString()}, window from ${obs.windowFrom}; sources ${obs.sourcesFrom}):`,
    line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line),
    `Observed tasks: ECS Container Insights RunningTaskCount; p99: ${obs.p99From}. Off = observed − plan.`,
  ].join('\n');
}

/** The `--run` section of `npm run plan`: the run observed in the environment's region, next to the plan. */
export async function planVsRun(report: PlanReport, run: RunFlags, configFile?: string, deps: ObserveDeps = {}): Promise<string> {
  const { region } = loadEnvironmentConfig(report.envName, configFile);
  return renderPlanVsRun(report, await observeRun(report.envName, region, run, deps));
}
