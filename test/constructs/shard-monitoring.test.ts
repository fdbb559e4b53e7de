import { Match, Template } from 'aws-cdk-lib/assertions';
import { connectionBudget } from '../../lib/config/capacity';
import type { BlueprintConfig } from '../../lib/config/schema';
import { MAX_METRICS_PER_ALARM } from '../../lib/constructs/kpi-metrics';
import {
  HOT_SHARD_EVALUATION_PERIODS, HOT_SHARD_MIN_MEAN_CPU_PERCENT, HOT_SHARD_PERIOD_SECONDS, hotShardGroups, SHARD_MOVED_EVALUATION_PERIODS,
} from '../../lib/constructs/kpi-alarms';
import { hotShardExpression } from '../../lib/contracts/kpi-catalogue';
import { kpiSourcesSchema } from '../../lib/contracts/kpi-sources';
import { STACK_OUTPUTS } from '../../lib/contracts/stacks';
import { MonitoringStack, type MonitoringStackProps } from '../../lib/stacks/monitoring-stack';
import { configFor } from '../helpers/context';
import { bareApp } from '../helpers/synth';

/**
 * The shard monitoring of `database.sharding` (docs/monitoring.md, "Sharding"): a Monitoring stack built on its
 * own from a loaded config with sharding on, its sources plain names (the Data stack's wiring is tested with
 * the Data stack).
 */

type Widget = { type: string; properties: Record<string, any> };
type Resource = { Properties: Record<string, any> };

const SHARDS = [
  { dbClusterIdentifier: 'shard-0', proxyName: 'proxy-0' },
  { dbClusterIdentifier: 'shard-1' },
  { dbClusterIdentifier: 'shard-2', proxyName: 'proxy-2' },
];

function monitoring(cfg: BlueprintConfig, extra: Partial<MonitoringStackProps>): Template {
  const app = bareApp();
  const stack = new MonitoringStack(app, 'ScalingBlueprint-Test-Monitoring', {
    env: { region: 'eu-west-1', account: '111111111111' },
    envName: cfg.envName,
    sources: {
      loadBalancerFullName: 'app/alb/1', targetGroupFullName: 'targetgroup/tg/1', clusterName: 'ecs', apiServiceName: 'api', workerServiceName: 'worker',
      queueName: 'jobs', deadLetterQueueName: 'jobs-dlq', dbClusterIdentifier: 'shard-0', proxyName: 'proxy-0',
      backlogQueries: [{ id: 'visible', metricStat: { metric: { namespace: 'AWS/SQS', metricName: 'ApproximateNumberOfMessagesVisible', dimensions: [{ name: 'QueueName', value: 'jobs' }] }, stat: 'Sum' }, returnData: false }, { id: 'backlog', expression: 'visible', returnData: true }],
      cacheId: 'cache', cacheNodeIds: ['cache-001'], cacheServerless: false, cacheMaxDataStorageGb: 10, cacheMaxEcpuPerSecond: 5000,
    },
    monitoring: cfg.monitoring,
    alarms: cfg.alarms,
    slo: cfg.slo,
    api: cfg.api,
    worker: { ...cfg.worker, backlogTarget: 10 },
    connectionBudget: connectionBudget(cfg.database)!,
    removalPolicy: cfg.stateful.removalPolicy,
    ...extra,
  });
  return Template.fromStack(stack);
}

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
/** The visible series' labels. */
const labels = (w: Widget) => (w.properties.metrics as unknown[][]).map((m) => m[m.length - 1] as { label?: string; visible?: boolean })
  .filter((o) => o.visible !== false).map((o) => o.label);
/** Every plain metric of a widget (inside math too) as `<metric> <dimension=value ...>`. */
const plainMetrics = (w: Widget) => (w.properties.metrics as unknown[][]).filter((m) => typeof m[0] === 'string').map((m) => {
  const rest = m.slice(2, typeof m[m.length - 1] === 'object' ? -1 : undefined) as string[];
  const dims = Array.from({ length: rest.length / 2 }, (_, i) => `${rest[2 * i]}=${rest[2 * i + 1]}`);
  return [m[1], ...dims].join(' ');
});
const expressions = (w: Widget) => (w.properties.metrics as unknown[][]).map((m) => (m[0] as { expression?: string }).expression).filter(Boolean);

/** The alarm whose logical id is `Kpi<id>` plus CDK's hash; fails unless there is exactly one. */
function alarm(t: Template, id: string): Resource {
  const found = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).filter(([logicalId]) => new RegExp(`^Kpi${id}[0-9A-F]{8}$`).test(logicalId));
  expect(found.map(([logicalId]) => logicalId)).toHaveLength(1);
  return found[0][1] as Resource;
}
const alarmIds = (t: Template) => Object.keys(t.findResources('AWS::CloudWatch::Alarm')).map((id) => id.replace(/^Kpi/, '').replace(/[0-9A-F]{8}$/, ''));
type Query = { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { Namespace?: string; MetricName: string; Dimensions: Array<{ Name: string; Value: string }> }; Period: number; Stat: string } };
const queries = (a: Resource) => a.Properties.Metrics as Query[];
const returned = (a: Resource) => queries(a).find((q) => q.ReturnData !== false)!;
const dimsOf = (q: Query) => Object.fromEntries(q.MetricStat!.Metric.Dimensions.map((d) => [d.Name, d.Value]));
/** The one metric of a single-metric alarm (CDK writes a labelled metric as a one-query Metrics list). */
function single(a: Resource): { namespace: string; name: string; stat: string; dimensions: Record<string, string> } {
  const p = a.Properties;
  if (p.MetricName) return { namespace: p.Namespace, name: p.MetricName, stat: p.Statistic, dimensions: Object.fromEntries((p.Dimensions as Array<{ Name: string; Value: string }>).map((d) => [d.Name, d.Value])) };
  const qs = queries(a);
  expect(qs).toHaveLength(1);
  const s = qs[0].MetricStat!;
  return { namespace: (s.Metric as { Namespace?: string }).Namespace!, name: s.Metric.MetricName, stat: s.Stat, dimensions: dimsOf(qs[0]) };
}

describe('clusters mode: 3 clusters', () => {
  const cfg = configFor('staging', { database: { sharding: { mode: 'clusters', clusters: 3, hotShardFactor: 1.7 } } });
  const t = monitoring(cfg, { databaseShards: SHARDS, hotShardFactor: cfg.database.sharding.hotShardFactor });
  const widgets = dashboard(t);

  test('a dashboard row compares the clusters: one line per cluster, each on its own cluster', () => {
    const cpu = byTitle(widgets, 'Writer CPU by cluster (%)');
    expect(labels(cpu)).toEqual(['Cluster 0', 'Cluster 1', 'Cluster 2']);
    expect(plainMetrics(cpu)).toEqual([0, 1, 2].map((i) => `CPUUtilization DBClusterIdentifier=shard-${i} Role=WRITER`));
    expect(cpu.properties.annotations.horizontal.map((a: { value: number }) => a.value)).toEqual([cfg.alarms.auroraCpuPercent.warning, cfg.alarms.auroraCpuPercent.critical]);

    const conns = byTitle(widgets, 'Writer connections by cluster');
    expect(plainMetrics(conns)).toEqual([0, 1, 2].map((i) => `DatabaseConnections DBClusterIdentifier=shard-${i} Role=WRITER`));
    // The budget is per cluster: every process opens its pools on every cluster.
    expect(conns.properties.annotations.horizontal).toEqual([expect.objectContaining({ value: connectionBudget(cfg.database) })]);

    const commits = byTitle(widgets, 'Writer commits/s by cluster');
    expect(plainMetrics(commits)).toEqual([0, 1, 2].map((i) => `CommitThroughput DBClusterIdentifier=shard-${i} Role=WRITER`));

    // Cluster 1 has no proxy: no line for it, rather than a metric of a proxy that does not exist.
    const proxy = byTitle(widgets, 'Proxy client connections by cluster');
    expect(labels(proxy)).toEqual(['Cluster 0', 'Cluster 2']);
    expect(plainMetrics(proxy)).toEqual(['ClientConnections ProxyName=proxy-0', 'ClientConnections ProxyName=proxy-2']);
  });

  test('statements per cluster from the workload\'s ShardQueries: both services summed per cluster, as a rate', () => {
    for (const [title, access] of [['Writes/s by cluster (ShardQueries)', 'write'], ['Reads/s by cluster (ShardQueries)', 'read']]) {
      const w = byTitle(widgets, title);
      expect(labels(w)).toEqual(['Cluster 0', 'Cluster 1', 'Cluster 2']);
      expect(expressions(w)).toEqual([0, 1, 2].map((i) => `(FILL(a${i}, 0) + FILL(w${i}, 0)) / PERIOD(a${i})`));
      expect(plainMetrics(w)).toEqual([0, 1, 2].flatMap((i) => ['api', 'worker'].map((svc) =>
        `ShardQueries Access=${access} Environment=${cfg.envName} Service=${svc} ShardCluster=${i}`)));
    }
  });

  test('the hot-shard alarm: busiest ÷ mean writer CPU over the clusters, guarded at idle, above hotShardFactor, sustained', () => {
    const a = alarm(t, 'HotShardWarning');
    expect(returned(a).Expression).toBe(`IF(AVG([cpu0, cpu1, cpu2]) >= ${HOT_SHARD_MIN_MEAN_CPU_PERCENT}, MAX([cpu0, cpu1, cpu2]) / AVG([cpu0, cpu1, cpu2]), 0)`);
    const cpus = queries(a).filter((q) => q.MetricStat);
    expect(cpus.map((q) => q.Id)).toEqual(['cpu0', 'cpu1', 'cpu2']);
    expect(cpus.map((q) => [q.MetricStat!.Metric.MetricName, q.MetricStat!.Stat, q.MetricStat!.Period, dimsOf(q)])).toEqual([0, 1, 2].map((i) =>
      ['CPUUtilization', 'Average', HOT_SHARD_PERIOD_SECONDS, { DBClusterIdentifier: `shard-${i}`, Role: 'WRITER' }]));
    expect(a.Properties).toMatchObject({
      Threshold: 1.7,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: HOT_SHARD_EVALUATION_PERIODS,
      DatapointsToAlarm: HOT_SHARD_EVALUATION_PERIODS,
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: expect.stringMatching(/^AlarmsTopic/) }],
      OKActions: [{ Ref: expect.stringMatching(/^AlarmsTopic/) }],
    });
    expect(a.Properties.AlarmDescription).toMatch(/^\[Warning\] hot shard: .* above 1\.7 × the mean of clusters 0-2 \(database\.sharding\.hotShardFactor\)/);
    // What is graphed is what is alarmed on.
    const graph = byTitle(widgets, 'Hot shard: busiest ÷ mean writer CPU');
    expect(expressions(graph)).toEqual([returned(a).Expression]);
    expect(graph.properties.annotations.horizontal).toEqual([expect.objectContaining({ value: 1.7, label: 'hotShardFactor' })]);
  });

  test('the hot-shard expression is quiet below the mean floor and the ratio above it (evaluated as CloudWatch would)', () => {
    const expression = hotShardExpression(['a', 'b', 'c'], 10);
    const evaluate = (cpu: number[]) => {
      const [avg, max] = [cpu.reduce((s, v) => s + v, 0) / cpu.length, Math.max(...cpu)];
      // The expression's own structure, with AVG and MAX of the array substituted.
      const js = expression.replace(/AVG\(\[a, b, c\]\)/g, String(avg)).replace(/MAX\(\[a, b, c\]\)/g, String(max))
        .replace(/^IF\((.*) >= (\d+), (.*), (\d+)\)$/, (_, l, r, then, quiet) => `(${l} >= ${r} ? ${then} : ${quiet})`);
      return Function(`return ${js}`)() as number;
    };
    expect(evaluate([4, 1, 1])).toBe(0); // idle: 4 % vs 1 % is no hot shard
    expect(evaluate([60, 10, 20])).toBe(2); // 60 ÷ 30
    expect(evaluate([30, 30, 30])).toBe(1);
    expect(() => hotShardExpression(['a'], 10)).toThrow('needs at least 2 clusters, got 1');
  });

  test('the shard-moved alarm: refusals in every period for an hour, both services', () => {
    const a = alarm(t, 'ShardMovedWarning');
    expect(returned(a).Expression).toBe('FILL(api, 0) + FILL(worker, 0)');
    expect(queries(a).filter((q) => q.MetricStat).map((q) => [q.MetricStat!.Metric.MetricName, q.MetricStat!.Stat, q.MetricStat!.Period, dimsOf(q)])).toEqual([
      ['ShardMoved', 'Sum', 300, { Environment: cfg.envName, Service: 'api' }],
      ['ShardMoved', 'Sum', 300, { Environment: cfg.envName, Service: 'worker' }],
    ]);
    expect(a.Properties).toMatchObject({
      Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching',
      EvaluationPeriods: SHARD_MOVED_EVALUATION_PERIODS, DatapointsToAlarm: SHARD_MOVED_EVALUATION_PERIODS,
    });
    expect(SHARD_MOVED_EVALUATION_PERIODS * 300).toBe(3600);
  });

  test('every other cluster gets the Aurora alarms, on its own cluster; the first keeps the unprefixed ones', () => {
    const ids = alarmIds(t);
    for (const i of [1, 2]) {
      for (const id of ['WriterCpu', 'ReaderCpu', 'DbConnections', 'ReplicaLag', 'WriterFreeableMemory', 'ReaderFreeableMemory']) {
        for (const sev of ['Warning', 'Critical']) expect(ids).toContain(`Shard${i}${id}${sev}`);
      }
    }
    expect(ids.filter((id) => id.startsWith('Shard0'))).toEqual([]);
    const cpu = alarm(t, 'Shard2WriterCpuCritical');
    expect(single(cpu)).toEqual({ namespace: 'AWS/RDS', name: 'CPUUtilization', stat: 'Average', dimensions: { DBClusterIdentifier: 'shard-2', Role: 'WRITER' } });
    expect(cpu.Properties).toMatchObject({
      Threshold: cfg.alarms.auroraCpuPercent.critical, AlarmDescription: expect.stringMatching(/^\[Critical\] cluster 2: Aurora writer CPU/),
    });
    const conns = alarm(t, 'Shard1DbConnectionsWarning');
    expect(returned(conns).Expression).toBe(`100 * connections / ${connectionBudget(cfg.database)}`);
    expect(dimsOf(queries(conns).find((q) => q.MetricStat)!)).toEqual({ DBClusterIdentifier: 'shard-1', Role: 'WRITER' });
    // The critical ones feed the service-health composite like the first cluster's.
    const [health] = Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm', { Properties: { AlarmDescription: Match.stringLikeRegexp('Service health') } }));
    expect(JSON.stringify(health.Properties.AlarmRule)).toMatch(/KpiShard2WriterCpuCritical/);
  });
});

describe('clusters mode: more clusters than one alarm\'s math can hold', () => {
  test('16 clusters: two hot-shard alarms of 8 (CloudWatch allows at most 10 metrics in one alarm)', () => {
    expect(hotShardGroups(Array.from({ length: 16 }, (_, i) => i))).toEqual([[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]]);
    expect(hotShardGroups(Array.from({ length: 11 }, (_, i) => i)).map((g) => g.length)).toEqual([6, 5]);
    expect(hotShardGroups(Array.from({ length: 10 }, (_, i) => i)).map((g) => g.length)).toEqual([10]);
    const cfg = configFor('dev', { database: { sharding: { mode: 'clusters', clusters: 16, logicalShards: 1024 } } });
    const shards = Array.from({ length: 16 }, (_, i) => ({ dbClusterIdentifier: `shard-${i}` }));
    const t = monitoring(cfg, { databaseShards: shards, hotShardFactor: cfg.database.sharding.hotShardFactor });
    const ids = alarmIds(t).filter((id) => id.startsWith('HotShard'));
    expect(ids.sort()).toEqual(['HotShard1Warning', 'HotShard2Warning']);
    for (const id of ids) expect(queries(alarm(t, id)).filter((q) => q.MetricStat).length).toBeLessThanOrEqual(MAX_METRICS_PER_ALARM);
    expect(returned(alarm(t, 'HotShard2Warning')).Expression).toContain('MAX([cpu8, cpu9, cpu10, cpu11, cpu12, cpu13, cpu14, cpu15])');
  });

  test('databaseShards without hotShardFactor is a wiring error, said at synth', () => {
    const cfg = configFor('dev');
    expect(() => monitoring(cfg, { databaseShards: SHARDS })).toThrow('MonitoringStack: databaseShards needs hotShardFactor (database.sharding.hotShardFactor)');
  });
});

describe('limitless mode', () => {
  const cfg = configFor('prod', {
    database: { performanceInsightsRetentionDays: 31, readers: 0, readerAutoscaling: { enabled: false }, proxy: { enabled: false }, sharding: { mode: 'limitless' } },
  });
  const t = monitoring(cfg, { limitless: { dbClusterIdentifier: 'limitless', dbShardGroupIdentifier: 'shard-group' } });
  const widgets = dashboard(t);

  test('a dashboard row for the DB shard group: ACU utilization against the thresholds, capacity in ACUs', () => {
    const util = byTitle(widgets, 'Shard group ACU utilization (%)');
    expect(plainMetrics(util)).toEqual(['DBShardGroupACUUtilization DBShardGroupIdentifier=shard-group']);
    expect(util.properties.annotations.horizontal.map((a: { value: number }) => a.value)).toEqual([cfg.alarms.auroraCpuPercent.warning, cfg.alarms.auroraCpuPercent.critical]);
    expect(plainMetrics(byTitle(widgets, 'Shard group capacity (ACU)'))).toEqual([
      'DBShardGroupCapacity', 'DBShardGroupComputeRedundancyCapacity', 'DBShardGroupMinACU', 'DBShardGroupMaxACU',
    ].map((name) => `${name} DBShardGroupIdentifier=shard-group`));
  });

  test('ACU utilization alarms (Warning and Critical at alarms.auroraCpuPercent) on the shard group, into the topic', () => {
    for (const [sev, value] of [['Warning', cfg.alarms.auroraCpuPercent.warning], ['Critical', cfg.alarms.auroraCpuPercent.critical]] as const) {
      const a = alarm(t, `ShardGroupAcu${sev}`);
      expect(single(a)).toEqual({ namespace: 'AWS/RDS', name: 'DBShardGroupACUUtilization', stat: 'Average', dimensions: { DBShardGroupIdentifier: 'shard-group' } });
      expect(a.Properties).toMatchObject({
        Threshold: value, ComparisonOperator: 'GreaterThanThreshold',
        AlarmActions: [{ Ref: expect.stringMatching(/^AlarmsTopic/) }],
        AlarmDescription: `[${sev}] Aurora Limitless shard group ACU utilization (% of its max ACU) above ${value} (alarms.auroraCpuPercent.${sev.toLowerCase()})`,
      });
    }
    expect(alarmIds(t).filter((id) => /HotShard|ShardMoved|^Shard\d/.test(id))).toEqual([]);
  });

  test('the KpiSources output names the shard group, for the report', () => {
    const outputs = t.findOutputs(STACK_OUTPUTS.kpiSources);
    const [output] = Object.values(outputs);
    const text = JSON.stringify(output.Value);
    expect(text).toContain('\\"dbShardGroupIdentifier\\":\\"shard-group\\"');
    expect(Object.keys(kpiSourcesSchema.shape)).toContain('dbShardGroupIdentifier');
  });
});

describe('mode none', () => {
  test('no shard row, no shard alarm', () => {
    const t = monitoring(configFor('dev'), {});
    const titles = dashboard(t).map((w) => w.properties.title ?? w.properties.markdown);
    expect(titles.filter((x: string) => /cluster|shard/i.test(x))).toEqual([]);
    expect(alarmIds(t).filter((id) => /Shard/.test(id))).toEqual([]);
  });
});
