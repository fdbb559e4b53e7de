import { WORKLOAD_BASE_DIMENSIONS, WORKLOAD_METRICS, WORKLOAD_METRICS_NAMESPACE, type WorkloadMetricName } from '../../lib/contracts/workload-metrics';
import { freePort } from '../../workload/src/tools/api-process';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';
import { workloadBundle } from './workload-bundle';

// The API as the image runs it (the esbuild bundle) writes its own KPIs as CloudWatch EMF lines on stdout: each
// line must be EMF as CloudWatch parses it, and carry the metrics and dimensions the contract documents
// (lib/contracts/workload-metrics.ts), with the Environment the stack sets (METRICS_ENVIRONMENT).
let h: Harness;
let api: ReturnType<typeof spawnCollecting>;
let base: string;

interface EmfDoc {
  _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** The EMF specification's requirements (Top-level members, MetricDirective, DimensionSet), plus our contract's. */
function checkEmf(line: string): EmfDoc {
  const doc = JSON.parse(line) as EmfDoc;
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  expect(doc._aws.CloudWatchMetrics).toHaveLength(1);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toBe(WORKLOAD_METRICS_NAMESPACE);
    for (const m of directive.Metrics) {
      const def = WORKLOAD_METRICS[m.Name as WorkloadMetricName];
      expect(def).toBeDefined();
      expect(m.Unit).toBe(def.unit);
      const own = def.dimensions as readonly string[];
      expect(directive.Dimensions).toEqual(own.length > 0 ? [[...WORKLOAD_BASE_DIMENSIONS], [...WORKLOAD_BASE_DIMENSIONS, ...own]] : [[...WORKLOAD_BASE_DIMENSIONS]]);
      for (const set of directive.Dimensions) for (const d of set) expect(typeof doc[d]).toBe('string');
      const values = doc[m.Name] as number[];
      expect(values.length).toBeGreaterThan(0);
      expect(values.length).toBeLessThanOrEqual(100);
      for (const v of values) expect(Number.isFinite(v)).toBe(true);
    }
  }
  return doc;
}

const emfLines = (output: string) => output.split('\n').filter((l) => l.startsWith('{"_aws"'));

beforeAll(async () => {
  const [harness, bundle] = await Promise.all([createHarness(), workloadBundle()]);
  h = harness;
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  api = spawnCollecting(process.execPath, [bundle, 'api'], {
    ...process.env, ...h.env, PORT: String(port), HOST: '127.0.0.1', METRICS_ENVIRONMENT: 'staging', METRICS_FLUSH_SECONDS: '1', HTTP_MAX_IN_FLIGHT: '1',
  });
  await eventually(() => fetch(`${base}/healthz`).then((r) => (r.ok ? true : undefined), () => undefined), 30_000, `the API to listen: ${api.output}`);
});
afterAll(async () => {
  if (api?.child.exitCode === null) api.child.kill('SIGKILL');
  await h.close();
});

test('the API\'s EMF lines parse as EMF and carry the documented metrics: per-route latency and status, pool gauges and acquire time, load shed', async () => {
  const created = await fetch(`${base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"emf"}' });
  const { id } = await created.json() as { id: string };
  await fetch(`${base}/items/${id}`);
  await fetch(`${base}/items/abc`);
  await fetch(`${base}/nowhere`);
  // HTTP_MAX_IN_FLIGHT=1: of requests sent together, some are shed.
  await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/items/${id}`)));
  // The pools are sampled each second and lines are flushed each second: wait for the gauges, then stop (which flushes).
  await eventually(async () => (emfLines(api.output).some((l) => l.includes('"PoolUtilization"')) ? true : undefined), 10_000, 'pool gauges');
  api.child.kill('SIGTERM');
  expect(await api.exited).toBe(0);

  const docs = emfLines(api.output).map(checkEmf);
  for (const d of docs) expect(d).toMatchObject({ Environment: 'staging', Service: 'api' });
  const named = (name: WorkloadMetricName) => docs.filter((d) => d[name] !== undefined);
  expect(new Set(named('RequestLatency').map((d) => d.Route))).toEqual(new Set(['POST /items', 'GET /items/:id', 'unmatched', 'GET /healthz']));
  const counts = named('RequestCount').map((d) => `${d.Route} ${d.StatusClass}`);
  expect(counts).toEqual(expect.arrayContaining(['POST /items 2xx', 'GET /items/:id 2xx', 'GET /items/:id 4xx', 'GET /items/:id 5xx', 'unmatched 4xx']));
  const shed = named('LoadShed').flatMap((d) => d.LoadShed as number[]).length;
  const fivexx = named('RequestCount').filter((d) => d.StatusClass === '5xx').flatMap((d) => d.RequestCount as number[]).length;
  expect(shed).toBeGreaterThan(0);
  expect(shed).toBe(fivexx);
  for (const name of ['PoolSize', 'PoolInUse', 'PoolWaiting', 'PoolUtilization', 'PoolAcquireTime'] as const) {
    expect(named(name).map((d) => d.Pool)).toContain('writer');
  }
});
