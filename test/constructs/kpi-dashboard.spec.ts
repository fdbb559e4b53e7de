import type { Template } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

type Widget = { type: string; properties: Record<string, any> };

/** The dashboard body as JSON, cross-stack references replaced by a placeholder. */
function dashboard(t: Template): Widget[] {
  const [resource] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const body = resource.Properties.DashboardBody;
  const text = typeof body === 'string' ? body : (body['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : 'REF')).join('');
  return JSON.parse(text).widgets;
}

const byTitle = (widgets: Widget[], title: string) => {
  const w = widgets.find((x) => x.properties.title === title);
  if (!w) throw new Error(`no widget "${title}" in ${widgets.map((x) => x.properties.title).join(' | ')}`);
  return w;
};
const annotations = (w: Widget) => (w.properties.annotations?.horizontal ?? []) as Array<{ value: number; label: string }>;
/** The visible series' labels. */
const labels = (w: Widget) => (w.properties.metrics as unknown[][]).map((m) => m[m.length - 1] as { label?: string; visible?: boolean }).filter((o) => o.visible !== false).map((o) => o.label);
/** [metric name, statistic] of every plain metric of a widget (inside math too). */
const metricNames = (w: Widget) => (w.properties.metrics as unknown[][]).filter((m) => typeof m[0] === 'string')
  .map((m) => [m[1] as string, (m[m.length - 1] as { stat?: string }).stat ?? 'Average']);
const expressions = (w: Widget) => (w.properties.metrics as unknown[][]).map((m) => (m[0] as { expression?: string }).expression).filter(Boolean);

describe.each(ENVIRONMENTS)('KPI dashboard (%s)', (env) => {
  const cfg = configFor(env);
  const widgets = dashboard(synth(env).monitoring);
  const titles = widgets.map((w) => w.properties.title ?? w.properties.markdown);

  test('rows in order: summary, traffic, API service, worker, Aurora, cache', () => {
    const order = ['Now', 'Requests/s', 'Latency (ms)', '5xx rate (%)', 'API CPU (%)', 'API tasks', 'Jobs queue',
      'Backlog per task (the scaling metric)', 'Aurora CPU (%)', 'Connections', 'Cache hit rate (%)', 'Cache connections'];
    const positions = order.map((title) => titles.indexOf(title));
    expect(positions.every((p) => p >= 0)).toBe(true);
    expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  });

  test('single values at the top: RPS, p99, error %, tasks, queue age', () => {
    const top = byTitle(widgets, 'Now');
    expect(top.type).toBe('metric');
    expect(top.properties.view).toBe('singleValue');
    const shown = (top.properties.metrics as unknown[][]).map((m) => m[m.length - 1] as { label?: string; visible?: boolean }).filter((o) => o.visible !== false);
    const labels = shown.map((o) => o.label);
    expect(labels).toEqual(['Requests/s', 'p99 (ms)', '5xx %', 'API tasks', 'Worker tasks', 'Queue age (s)']);
  });

  test('requests per second and error rates by metric math, not averages of counts', () => {
    expect(expressions(byTitle(widgets, 'Requests/s'))).toEqual(['requests / PERIOD(requests)']);
    const rates = expressions(byTitle(widgets, '5xx rate (%)'));
    expect(rates).toHaveLength(2);
    for (const e of rates) expect(e).toMatch(/^100 \* FILL\(errors\d+, 0\) \/ requests$/);
  });

  test('latency p50/p90/p99, average and max in ms, with lines at the p99 alarm thresholds', () => {
    const w = byTitle(widgets, 'Latency (ms)');
    expect(expressions(w)).toHaveLength(5);
    expect(labels(w)).toEqual(['p50', 'p90', 'p99', 'average', 'max']);
    expect(metricNames(w)).toEqual([['TargetResponseTime', 'p50'], ['TargetResponseTime', 'p90'], ['TargetResponseTime', 'p99'], ['TargetResponseTime', 'Average'], ['TargetResponseTime', 'Maximum']]);
    expect(annotations(w).map((a) => a.value)).toEqual([cfg.alarms.latencyP99Ms.warning, cfg.alarms.latencyP99Ms.critical].filter((v) => v !== null));
  });

  test('API tasks against min and max', () => {
    expect(annotations(byTitle(widgets, 'API tasks'))).toEqual([
      expect.objectContaining({ value: cfg.api.minTasks, label: 'minTasks' }),
      expect.objectContaining({ value: cfg.api.maxTasks, label: 'maxTasks' }),
    ]);
  });

  test('backlog per task graphs the scaling policy\'s math against its target', () => {
    const w = byTitle(widgets, 'Backlog per task (the scaling metric)');
    expect(expressions(w)).toEqual([cfg.worker.scaleOnInFlightMessages ? '(visible + inflight) / running' : 'visible / running']);
    expect(annotations(w)).toEqual([expect.objectContaining({ value: (cfg.worker.acceptableLatencySeconds * cfg.worker.concurrency) / cfg.worker.avgProcessingSeconds, label: 'target' })]);
  });

  test('database connections against the connection budget', () => {
    const labels = annotations(byTitle(widgets, 'Connections')).map((a) => a.label);
    expect(labels[0]).toBe('connection budget');
  });

  test('network I/O: ALB processed bytes per second, the API and worker tasks\' network from Container Insights', () => {
    const w = byTitle(widgets, 'Network (bytes/s)');
    expect(expressions(w)).toEqual([expect.stringMatching(/^r\d+ \/ PERIOD\(r\d+\)$/)]);
    expect(metricNames(w)).toEqual([['ProcessedBytes', 'Sum'], ['NetworkRxBytes', 'Sum'], ['NetworkTxBytes', 'Sum'], ['NetworkRxBytes', 'Sum'], ['NetworkTxBytes', 'Sum']]);
  });

  test('database: load (average active sessions), IOPS and disk queue, network and disk throughput', () => {
    expect(metricNames(byTitle(widgets, 'DB load (average active sessions)')).map(([n]) => n)).toEqual(['DBLoad', 'DBLoadCPU', 'DBLoadNonCPU', 'DBLoad']);
    expect(metricNames(byTitle(widgets, 'Aurora IOPS · disk queue')).map(([n]) => n)).toEqual(['ReadIOPS', 'WriteIOPS', 'ReadIOPS', 'DiskQueueDepth']);
    expect(metricNames(byTitle(widgets, 'Aurora throughput (bytes/s)')).map(([n]) => n)).toEqual(['NetworkThroughput', 'NetworkThroughput', 'ReadThroughput', 'WriteThroughput']);
    const proxy = widgets.find((x) => x.properties.title === 'Proxy: pinned · borrow (ms)');
    expect(proxy !== undefined).toBe(cfg.database.proxy.enabled);
    if (proxy) expect(metricNames(proxy).map(([n]) => n)).toEqual(['DatabaseConnectionsCurrentlySessionPinned', 'DatabaseConnectionsBorrowLatency']);
  });

  test('the workload\'s own KPIs: pool utilisation and waiting, acquire time, job time; the worker\'s CPU and memory', () => {
    const pools = byTitle(widgets, 'Connection pools (%) · waiting');
    expect(metricNames(pools)).toEqual([['PoolUtilization', 'Maximum'], ['PoolUtilization', 'Maximum'], ['PoolWaiting', 'Maximum']]);
    expect(JSON.stringify(pools.properties.metrics)).toContain(`"Environment","${env}","Service","api"`);
    expect(annotations(pools)).toEqual([expect.objectContaining({ value: 100, label: 'pool full' })]);
    expect(metricNames(byTitle(widgets, 'Job time (ms)'))).toEqual([['JobProcessingTime', 'Average'], ['JobProcessingTime', 'Maximum'], ['JobQueueWait', 'Average']]);
    expect(metricNames(byTitle(widgets, 'Worker CPU · memory (%)'))).toEqual([['CPUUtilization', 'Average'], ['CPUUtilization', 'Maximum'], ['MemoryUtilization', 'Average'], ['MemoryUtilization', 'Maximum']]);
  });

  test('per-route latency and responses by SEARCH over the workload\'s Route dimension, this environment only', () => {
    expect(expressions(byTitle(widgets, 'Latency p99 by route (ms)'))).toEqual([
      `SEARCH('{ScalingBlueprint/Workload,Environment,Route,Service} MetricName="RequestLatency" Environment="${env}" Service="api"', 'p99', ${cfg.monitoring.periodSeconds})`,
    ]);
    expect(expressions(byTitle(widgets, 'Responses by route and status'))[0]).toContain('MetricName="RequestCount"');
  });

  test('cache network in and out', () => {
    expect(labels(byTitle(widgets, 'Cache network (bytes)'))).toEqual(['Bytes in', 'Bytes out']);
  });

  test('a DashboardUrl output, and the dashboard\'s name in KpiSources for the report\'s deep link', () => {
    const t = synth(env).monitoring;
    const [url] = Object.values(t.findOutputs('DashboardUrl'));
    const text = JSON.stringify(url.Value);
    expect(text).toContain('.console.aws.amazon.com/cloudwatch/home?region=');
    expect(text).toContain('#dashboards/dashboard/');
    expect(text).toMatch(/"Ref":"KpisDashboard[0-9A-F]+"/);
    const [sources] = Object.values(t.findOutputs('KpiSources'));
    expect(JSON.stringify(sources.Value)).toMatch(/dashboardName.*"Ref":"KpisDashboard[0-9A-F]+"/);
  });

  test('every graph names its unit on the left axis', () => {
    for (const w of widgets.filter((x) => x.type === 'metric' && x.properties.view === 'timeSeries')) {
      expect(w.properties.yAxis?.left?.label).toBeTruthy();
    }
  });
});
