import { CloudWatchClient, PutMetricDataCommand, type MetricDatum, type StandardUnit } from '@aws-sdk/client-cloudwatch';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KPI_DERIVED_ROW, KPI_METRIC } from '../../../lib/contracts/kpi-catalogue';
import type { KpiSources } from '../../../lib/contracts/kpi-sources';
import { loadEnvironmentConfig } from '../../../tools/common/cdk-json';
import { main } from '../../../tools/kpi-report/cli';
import { evaluate } from '../../../tools/kpi-report/evaluate';
import { CACHE_SERIES, SERVER_SERIES, serverRequests, type CacheSeries, type FetchResult, type ServerSeries } from '../../../tools/kpi-report/fetch';
import type { Saturation } from '../../../tools/kpi-report/saturation';
import { pendingSeconds } from '../../../tools/kpi-report/series';
import { motoClient, uniqueId } from './moto';
import { piStub } from './pi-stub';

/**
 * Three runs' server-side series (test/tools/kpi-report/fixtures/*.json, one value per minute), put into
 * moto_server as CloudWatch would hold them, then judged by the CLI end to end: the first resource to cross
 * its limit is named, with the config keys the capacity model says move it.
 */
interface RunFixture {
  description: string;
  baseEnv: string;
  sources: Partial<KpiSources>;
  minutes: number;
  series: Record<string, number[]>;
  expect: { bottleneck: string; crossedAtMinute: number; keys: string[]; then: string[] };
}

const FIXTURES = path.join(__dirname, 'fixtures');
const SOURCES: KpiSources = {
  loadBalancerFullName: 'app/lb/1', targetGroupFullName: 'targetgroup/tg/1', clusterName: 'cluster', apiServiceName: 'api',
  workerServiceName: 'worker', queueName: 'jobs', deadLetterQueueName: 'jobs-dlq', dbClusterIdentifier: 'db', cacheId: 'cache',
};
const MINUTE = 60_000;
const read = (name: string): RunFixture => JSON.parse(fs.readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8'));

let dir: string;
let cdkJson: string;
let cloudWatch: CloudWatchClient;
const envOf = new Map<string, string>();
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kpi-bottleneck-'));
  cloudWatch = motoClient(CloudWatchClient);
  // cdk.json: the project's, with one environment per fixture (unique: moto is shared), as its base env.
  const cdk = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'cdk.json'), 'utf8'));
  const root = cdk.context['scaling-blueprint'];
  for (const name of ['db-connections']) {
    const env = uniqueId(name.replace(/-/g, '')).replace(/-/g, '');
    envOf.set(name, env);
    root.environments[env] = root.environments[read(name).baseEnv];
  }
  cdkJson = path.join(dir, 'cdk.json');
  fs.writeFileSync(cdkJson, JSON.stringify(cdk));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The fixture's series into moto, under the sources' dimensions; returns the sources file and the window. */
async function seed(name: string, fx: RunFixture): Promise<{ sourcesFile: string; startMs: number; endMs: number }> {
  const id = uniqueId('b').replace(/-/g, '');
  const sources: KpiSources = {
    loadBalancerFullName: `app/${id}/0123456789abcdef`, targetGroupFullName: `targetgroup/${id}/0123456789abcdef`,
    clusterName: `${id}-cluster`, apiServiceName: `${id}-api`, workerServiceName: `${id}-worker`,
    queueName: `${id}-jobs`, deadLetterQueueName: `${id}-dlq`, dbClusterIdentifier: `${id}-db`, cacheId: `${id}-cache`,
    ...fx.sources,
    ...(fx.sources.proxyName ? { proxyName: `${id}-${fx.sources.proxyName}` } : {}),
    ...(fx.sources.cacheNodeIds ? { cacheNodeIds: fx.sources.cacheNodeIds.map((n) => `${id}-${n}`) } : {}),
  };
  const startMs = Math.floor(Date.now() / MINUTE) * MINUTE - (fx.minutes + 2) * MINUTE;
  const endMs = startMs + fx.minutes * MINUTE;
  const byKey = new Map(serverRequests(sources, 60, fx.minutes * 60, envOf.get(name)).map((r) => [r.key, r]));
  const byNamespace = new Map<string, MetricDatum[]>();
  for (const [series, values] of Object.entries(fx.series)) {
    const [base, node] = series.split('#');
    const key = node === undefined ? `server.${base}` : `server.${base}.#${node}`;
    const request = byKey.get(key);
    if (!request) throw new Error(`fixture ${name}: no query for ${series} (${key})`);
    const unit = node === undefined
      ? KPI_METRIC[SERVER_SERIES[base as ServerSeries].kpi].unit
      : (() => { const row = KPI_DERIVED_ROW[CACHE_SERIES[base as CacheSeries]]; return 'byCacheMode' in row ? KPI_METRIC[row.byCacheMode.nodes.perNode].unit : 'Count'; })();
    const data = values.map((Value, m) => ({
      MetricName: request.spec.metricName, Unit: unit as StandardUnit, Value, Timestamp: new Date(startMs + m * MINUTE),
      Dimensions: Object.entries(request.spec.dimensions).map(([Name, v]) => ({ Name, Value: v })),
    }));
    byNamespace.set(request.spec.namespace, [...(byNamespace.get(request.spec.namespace) ?? []), ...data]);
  }
  for (const [Namespace, all] of byNamespace) {
    // moto_server answers a PutMetricData of more than about 50 datums with an error page (measured): 20 per call.
    for (let i = 0; i < all.length; i += 20) await cloudWatch.send(new PutMetricDataCommand({ Namespace, MetricData: all.slice(i, i + 20) }));
  }
  const sourcesFile = path.join(dir, `${name}-sources.json`);
  fs.writeFileSync(sourcesFile, JSON.stringify(sources));
  return { sourcesFile, startMs, endMs };
}

interface ReportJson { verdict: string; saturation: Saturation; kpis: Array<{ id: string; observed: number | null }> }

/** The fixture as a FetchResult, keyed as fetch.ts keys its queries: what the CLI would have fetched. */
function recorded(fx: RunFixture, startMs: number): FetchResult {
  const series = new Map(Object.entries(fx.series).map(([name, values]) => {
    const [base, node] = name.split('#');
    return [node === undefined ? `server.${base}` : `server.${base}.#${node}`, { timestamps: values.map((_, m) => startMs + m * MINUTE), values }];
  }));
  return { series, failed: new Map() };
}

function expectAttribution(fx: RunFixture, saturation: Saturation, startMs: number): void {
  const b = saturation.bottleneck!;
  expect(b.id).toBe(fx.expect.bottleneck);
  expect(b.keys.map((k) => k.key)).toEqual(fx.expect.keys);
  for (const k of b.keys) expect(k.value).not.toBeUndefined();
  const row = saturation.rows.find((r) => r.id === fx.expect.bottleneck)!;
  expect(row.firstCrossedAt).toBe(new Date(startMs + fx.expect.crossedAtMinute * MINUTE).toISOString());
  expect(b.evidence).toContain(row.series);
  expect(b.evidence).toContain(row.firstCrossedAt);
  const then = saturation.rows.filter((r) => r.state === 'saturated' && r.id !== b.id).map((r) => r.id);
  expect(then.sort()).toEqual([...fx.expect.then].sort());
}

describe.each(['cache-saturates', 'db-connections', 'api-max-tasks'])('bottleneck attribution on the recorded series: %s', (name) => {
  const fx = read(name);

  test('names the first resource to saturate and the config keys that move it, with the evidence', () => {
    const startMs = Date.parse('2026-01-01T10:00:00Z');
    const config = loadEnvironmentConfig(fx.baseEnv);
    const evaluation = evaluate({
      envName: fx.baseEnv, runs: [], startMs, endMs: startMs + fx.minutes * MINUTE, periodSeconds: 60, sla: config.sla, config,
      sources: { ...SOURCES, ...fx.sources }, fetched: recorded(fx, startMs), requireAll: false,
    });
    expectAttribution(fx, evaluation.saturation, startMs);
  });
});

describe('bottleneck attribution through CloudWatch (moto) and the CLI', () => {
  test('the DB-connections run: the report names the connection budget and the proxy\'s share, in the table and the JSON', async () => {
    const name = 'db-connections';
    const fx = read(name);
    // GIVEN the fixture's series in CloudWatch (moto)
    const { sourcesFile, startMs, endMs } = await seed(name, fx);
    let stdout = '';
    let stderr = '';
    const out = path.join(dir, `${name}-out`);
    // WHEN the report runs over the window
    const code = await main([
      '--env', envOf.get(name)!, '--since', new Date(startMs).toISOString(), '--until', new Date(endMs).toISOString(),
      '--sources', sourcesFile, '--config', cdkJson, '--results', path.join(dir, 'none'), '--out', out, '--allow-no-data',
    ], { cloudWatch, ...piStub({ clusterId: 'db' }), stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    expect(stderr).toBe('');
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as ReportJson;
    // THEN the same attribution as from the recorded series
    expectAttribution(fx, report.saturation, startMs);
    const b = report.saturation.bottleneck!;
    expect(stdout).toContain(`Bottleneck: ${b.resource}. Change: ${b.keys.map((k) => `${k.key} (now ${JSON.stringify(k.value)})`).join(', ')}`);
    expect(stdout).toMatch(/DB connections vs budget\s+saturated\s+1390\s+> 1236\s/);
    // AND the capacity, not an SLA: no SLA row breached (no client ran), so the gate passes with --allow-no-data
    expect(report.verdict).toBe('pass');
    expect(code).toBe(0);
  });
});

describe('task start time', () => {
  const s = (values: number[]) => ({ timestamps: values.map((_, i) => i * MINUTE), values });

  test('a ramp whose tasks start within the period stays at 0; a task still pending two periods later shows 120 s', () => {
    expect(pendingSeconds(s([3, 4, 5, 5]), s([2, 3, 4, 5]))!.values).toEqual([0, 0, 0, 0]);
    expect(pendingSeconds(s([2, 4, 4, 4, 4]), s([2, 2, 2, 3, 4]))!.values).toEqual([0, 0, 60, 120, 0]);
    // A scale-in leaves no pending time, and an earlier higher desire does not count after it was met.
    expect(pendingSeconds(s([5, 3, 3, 4]), s([5, 5, 3, 3]))!.values).toEqual([0, 0, 0, 0]);
  });
});
