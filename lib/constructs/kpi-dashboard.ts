import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import { ALARM_KINDS, type ThresholdKey } from '../config/alarm-kinds';
import type { AlarmsConfig } from '../config/schema';
import { kpiUnit, unitScaling, WORKLOAD_SERVICE, type KpiMetricKey, type KpiUnit } from '../contracts/kpi-catalogue';
import { WORKLOAD_METRICS_NAMESPACE } from '../contracts/workload-metrics';
import { HOT_SHARD_MIN_MEAN_CPU_PERCENT, HOT_SHARD_PERIOD_SECONDS, hotShardGroups } from './kpi-alarms';
import type { KpiMetrics, ShardCluster } from './kpi-metrics';

/** The limits the graphs draw lines at: task ranges, the backlog target, the connection budget. */
export interface KpiLimits {
  readonly api: { readonly minTasks: number; readonly maxTasks: number };
  readonly worker: { readonly maxTasks: number; readonly backlogTarget: number; readonly acceptableLatencySeconds: number };
  readonly connectionBudget: number;
}

/**
 * An HTTP service besides the API (`services`): its name, task range, and the catalogue's rows with its ECS
 * service and target group in the API's place (KpiMetrics over sources where `apiServiceName` and
 * `targetGroupFullName` are this service's).
 */
export interface ServiceKpis {
  readonly name: string;
  readonly minTasks: number;
  readonly maxTasks: number;
  readonly metrics: KpiMetrics;
}

export interface KpiDashboardProps extends KpiLimits {
  readonly metrics: KpiMetrics;
  readonly alarms: AlarmsConfig;
  readonly envName: string;
  /** One row each, after the API's: CPU, memory, tasks against its range, its target group's hosts. */
  readonly services?: readonly ServiceKpis[];
  /** `database.sharding.mode: clusters`: two rows comparing the clusters, one line per cluster in each graph. */
  readonly shards?: { readonly clusters: readonly ShardCluster[]; readonly hotShardFactor: number };
  /** `database.sharding.mode: limitless`: a row for the DB shard group (the metrics name the group). */
  readonly limitless?: boolean;
}

const WIDTH = 24;
const HEIGHT = 6;

/**
 * One screen with the KPIs a team watches in a load test and in production, rows in this order: summary
 * numbers, traffic, API service, each other HTTP service (`services`), worker, Aurora, cache. Graphs carry units and horizontal lines at the
 * alarm thresholds and the task limits.
 */
export class KpiDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: KpiDashboardProps) {
    super(scope, id);
    const { metrics: m, alarms: a } = props;
    // Math ids must differ between the expressions of one graph.
    let ids = 0;
    /** A catalogue row drawn in another unit than CloudWatch's (ms for seconds, MiB for bytes). */
    const inUnit = (unit: KpiUnit, key: KpiMetricKey, label: string) => {
      const id = `s${++ids}`;
      return m.math(`${id} ${unitScaling(kpiUnit(key), unit)}`, { [id]: m.metric(key) }, label);
    };
    const ms = (key: KpiMetricKey, label: string) => inUnit('Milliseconds', key, label);
    /** A Sum per period as a rate per second. */
    const perSecond = (key: KpiMetricKey, label: string) => {
      const id = `r${++ids}`;
      return m.math(`${id} / PERIOD(${id})`, { [id]: m.metric(key) }, label);
    };
    /**
     * The workload's per-route metrics by SEARCH (routes are not known at synth): every Route of the API in
     * this environment (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html).
     */
    const byRoute = (metricName: string, statistic: string, label: string) => m.math(
      `SEARCH('{${WORKLOAD_METRICS_NAMESPACE},Environment,Route,Service} MetricName="${metricName}" Environment="${props.envName}" Service="${WORKLOAD_SERVICE.api}"', '${statistic}', ${m.period.toSeconds()})`,
      {}, label);
    const mib = (key: KpiMetricKey, label: string) => inUnit('Mebibytes', key, label);
    /** Lines at an alarm's thresholds, in the unit its key names (times its base where it is a multiple). */
    const lines = (key: ThresholdKey, what = '', toGraph?: (v: number) => number): cloudwatch.HorizontalAnnotation[] => {
      const t = a[key];
      const { multipleOf } = ALARM_KINDS[key];
      const value = toGraph ?? (multipleOf ? (v: number) => v * props.worker[multipleOf] : (v: number) => v);
      return [
        ...(t.warning !== null ? [{ value: value(t.warning), label: `Warning${what}`, color: cloudwatch.Color.ORANGE }] : []),
        ...(t.critical !== null ? [{ value: value(t.critical), label: `Critical${what}`, color: cloudwatch.Color.RED }] : []),
      ];
    };
    const graph = (title: string, left: cloudwatch.IMetric[], opts: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: WIDTH / 4, height: HEIGHT, ...opts });
    const axis = (label: string, min = 0, max?: number): cloudwatch.YAxisProps => ({ label, min, max, showUnits: false });

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { periodOverride: cloudwatch.PeriodOverride.AUTO });

    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: `# scaling-blueprint · ${props.envName} · KPIs`, width: WIDTH, height: 1 }),
      new cloudwatch.SingleValueWidget({
        title: 'Now',
        width: WIDTH,
        height: 4,
        metrics: [
          m.kpi('requestsPerSecond'),
          ms('latencyP99', 'p99 (ms)'),
          m.kpi('target5xxRate', '5xx %'),
          m.math('api', { api: m.metric('apiRunningTasks') }, 'API tasks'),
          m.math('worker', { worker: m.metric('workerRunningTasks') }, 'Worker tasks'),
          m.math('age', { age: m.metric('queueOldestAge') }, 'Queue age (s)'),
        ],
      }),
    );

    this.dashboard.addWidgets(
      graph('Requests/s', [m.kpi('requestsPerSecond')], { leftYAxis: axis('req/s') }),
      graph('Latency (ms)', [ms('latencyP50', 'p50'), ms('latencyP90', 'p90'), ms('latencyP99', 'p99'), ms('latencyAverage', 'average'), ms('latencyMaximum', 'max')], {
        leftYAxis: axis('ms'), leftAnnotations: lines('latencyP99Ms', ' p99'),
      }),
      graph('5xx rate (%)', [m.kpi('target5xxRate'), m.kpi('elb5xxRate')], {
        leftYAxis: axis('%', 0), leftAnnotations: lines('http5xxPercent'),
      }),
      graph('4xx rate (%) · hosts · rejected', [m.kpi('target4xxRate')], {
        leftYAxis: axis('%'),
        right: [m.metric('healthyHosts'), m.metric('unhealthyHosts'), m.metric('rejectedConnections')],
        rightYAxis: axis('count'),
      }),
    );

    this.dashboard.addWidgets(
      graph('Latency p99 by route (ms)', [byRoute('RequestLatency', 'p99', 'p99')], { width: WIDTH / 3, leftYAxis: axis('ms') }),
      graph('Responses by route and status', [byRoute('RequestCount', 'Sum', 'responses')], { width: WIDTH / 3, leftYAxis: axis('responses') }),
      graph('Network (bytes/s)', [
        perSecond('processedBytes', 'ALB processed'),
        m.metric('apiNetworkRx'), m.metric('apiNetworkTx'), m.metric('workerNetworkRx'), m.metric('workerNetworkTx'),
      ], { width: WIDTH / 3, leftYAxis: axis('bytes/s') }),
    );

    this.dashboard.addWidgets(
      graph('API CPU (%)', [m.metric('apiCpuAverage'), m.metric('apiCpuMaximum')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('apiCpuPercent') }),
      graph('API memory (%)', [m.metric('apiMemoryAverage'), m.metric('apiMemoryMaximum')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('apiMemoryPercent') }),
      graph('API tasks', [m.metric('apiRunningTasks'), m.metric('apiDesiredTasks')], {
        width: WIDTH / 2,
        leftYAxis: axis('tasks'),
        leftAnnotations: [
          { value: props.api.minTasks, label: 'minTasks', color: cloudwatch.Color.GREY },
          { value: props.api.maxTasks, label: 'maxTasks', color: cloudwatch.Color.RED },
        ],
      }),
    );

    for (const svc of props.services ?? []) {
      const sm = svc.metrics;
      this.dashboard.addWidgets(
        graph(`${svc.name} CPU (%)`, [sm.metric('apiCpuAverage'), sm.metric('apiCpuMaximum')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('apiCpuPercent') }),
        graph(`${svc.name} memory (%)`, [sm.metric('apiMemoryAverage'), sm.metric('apiMemoryMaximum')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('apiMemoryPercent') }),
        graph(`${svc.name} tasks`, [sm.metric('apiRunningTasks'), sm.metric('apiDesiredTasks')], {
          leftYAxis: axis('tasks'),
          leftAnnotations: [
            { value: svc.minTasks, label: 'minTasks', color: cloudwatch.Color.GREY },
            { value: svc.maxTasks, label: 'maxTasks', color: cloudwatch.Color.RED },
          ],
        }),
        graph(`${svc.name} targets`, [sm.metric('healthyHosts'), sm.metric('unhealthyHosts')], { leftYAxis: axis('targets'), leftAnnotations: lines('unhealthyHosts') }),
      );
    }

    this.dashboard.addWidgets(
      graph('Connection pools (%) · waiting', [m.metric('apiPoolUtilization'), m.metric('workerPoolUtilization')], {
        width: WIDTH / 2, leftYAxis: axis('% in use', 0),
        leftAnnotations: [{ value: 100, label: 'pool full', color: cloudwatch.Color.RED }],
        right: [m.metric('apiPoolWaiting')], rightYAxis: axis('waiting'),
      }),
      graph('Pool acquire (ms)', [m.metric('apiPoolAcquireTime')], { width: WIDTH / 2, leftYAxis: axis('ms') }),
    );

    this.dashboard.addWidgets(
      graph('Jobs queue', [m.metric('queueVisible'), m.metric('queueInFlight')], { leftYAxis: axis('messages') }),
      graph('Age of oldest job (s)', [m.metric('queueOldestAge')], {
        leftYAxis: axis('s'),
        leftAnnotations: [
          { value: props.worker.acceptableLatencySeconds, label: 'acceptable latency', color: cloudwatch.Color.GREY },
          ...lines('queueAgeLatencyMultiple'),
        ],
      }),
      graph('Backlog per task (the scaling metric)', [m.backlogPerTask], {
        leftYAxis: axis('messages/task'),
        leftAnnotations: [{ value: props.worker.backlogTarget, label: 'target', color: cloudwatch.Color.GREEN }],
      }),
      graph('Worker tasks · DLQ', [m.metric('workerRunningTasks'), m.metric('workerDesiredTasks')], {
        leftYAxis: axis('tasks'),
        leftAnnotations: [{ value: props.worker.maxTasks, label: 'maxTasks', color: cloudwatch.Color.RED }],
        right: [m.metric('dlqVisible')],
        rightYAxis: axis('DLQ messages'),
      }),
    );

    this.dashboard.addWidgets(
      graph('Worker CPU · memory (%)', [m.metric('workerCpuAverage'), m.metric('workerCpuMaximum'), m.metric('workerMemoryAverage'), m.metric('workerMemoryMaximum')], {
        width: WIDTH / 2, leftYAxis: axis('%', 0, 100),
      }),
      graph('Job time (ms)', [m.metric('jobProcessingAverage'), m.metric('jobProcessingMaximum'), m.metric('jobQueueWait')], { width: WIDTH / 2, leftYAxis: axis('ms') }),
    );

    this.dashboard.addWidgets(
      graph('Aurora CPU (%)', [m.metric('dbWriterCpu'), m.metric('dbReaderCpu')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('auroraCpuPercent') }),
      graph('Connections', [
        m.metric('dbWriterConnections'),
        ...(m.has('proxyClientConnections') ? [m.metric('proxyClientConnections'), m.metric('proxyDatabaseConnections')] : []),
      ], {
        leftYAxis: axis('connections'),
        leftAnnotations: [
          { value: props.connectionBudget, label: 'connection budget', color: cloudwatch.Color.RED },
          ...lines('dbConnectionsPercentOfBudget', ' (% of budget)', (pct) => (pct * props.connectionBudget) / 100),
        ],
      }),
      graph('Replica lag (ms) · readers', [m.metric('dbReplicaLag')], {
        leftYAxis: axis('ms'), leftAnnotations: lines('replicaLagMs'),
        right: [m.kpi('dbReaders')], rightYAxis: axis('readers'),
      }),
      graph('Freeable memory (MiB) · latency (ms)', [
        mib('dbWriterFreeableMemory', 'Writer freeable MiB'),
        mib('dbReaderFreeableMemory', 'Reader freeable MiB'),
      ], {
        leftYAxis: axis('MiB'), leftAnnotations: lines('freeableMemoryMiB'),
        right: [ms('dbReadLatency', 'Read latency ms'), ms('dbWriteLatency', 'Write latency ms')], rightYAxis: axis('ms'),
      }),
    );

    this.dashboard.addWidgets(
      // Performance Insights publishes DBLoad (average active sessions) while there is load
      // (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_PerfInsights.Cloudwatch.html).
      graph('DB load (average active sessions)', [m.metric('dbWriterLoad'), m.metric('dbWriterLoadCpu'), m.metric('dbWriterLoadNonCpu'), m.metric('dbReaderLoad')], {
        leftYAxis: axis('sessions'),
      }),
      graph('Aurora IOPS · disk queue', [m.metric('dbWriterReadIops'), m.metric('dbWriterWriteIops'), m.metric('dbReaderReadIops')], {
        leftYAxis: axis('IOPS'), right: [m.metric('dbWriterDiskQueueDepth')], rightYAxis: axis('queue depth'),
      }),
      graph('Aurora throughput (bytes/s)', [m.metric('dbWriterNetwork'), m.metric('dbReaderNetwork'), m.metric('dbWriterReadThroughput'), m.metric('dbWriterWriteThroughput')], {
        leftYAxis: axis('bytes/s'),
      }),
      ...(m.has('proxyPinned') ? [graph('Proxy: pinned · borrow (ms)', [m.metric('proxyPinned')], {
        leftYAxis: axis('pinned'), right: [inUnit('Milliseconds', 'proxyBorrowLatency', 'Borrow latency ms')], rightYAxis: axis('ms'),
      })] : []),
    );

    if (props.shards) {
      const { clusters, hotShardFactor } = props.shards;
      /** One line per cluster: the per-service rows summed (a service that sent nothing has no datapoint). */
      const perCluster = (api: KpiMetricKey, worker: KpiMetricKey) => clusters.map((c) => {
        const [a, w] = [`a${c.index}`, `w${c.index}`];
        return m.math(`(FILL(${a}, 0) + FILL(${w}, 0)) / PERIOD(${a})`, { [a]: m.shardMetric(api, c), [w]: m.shardMetric(worker, c) }, `Cluster ${c.index}`);
      });
      const proxied = clusters.filter((c) => m.has('proxyClientConnections', m.shardValues(c)));
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown: `### Shards · ${clusters.length} clusters (database.sharding.mode clusters): one line per cluster; a hot shard stands out`,
          width: WIDTH, height: 1,
        }),
        graph('Writer CPU by cluster (%)', clusters.map((c) => m.shardMetric('dbWriterCpu', c)), { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('auroraCpuPercent') }),
        graph('Writer connections by cluster', clusters.map((c) => m.shardMetric('dbWriterConnections', c)), {
          leftYAxis: axis('connections'),
          leftAnnotations: [{ value: props.connectionBudget, label: 'connection budget (per cluster)', color: cloudwatch.Color.RED }],
        }),
        ...(proxied.length > 0 ? [graph('Proxy client connections by cluster', proxied.map((c) => m.shardMetric('proxyClientConnections', c)), { leftYAxis: axis('connections') })] : []),
        graph('Writer commits/s by cluster', clusters.map((c) => m.shardMetric('dbWriterCommits', c)), { leftYAxis: axis('commits/s') }),
      );
      const period = Duration.seconds(HOT_SHARD_PERIOD_SECONDS);
      this.dashboard.addWidgets(
        graph('Writes/s by cluster (ShardQueries)', perCluster('shardWritesApi', 'shardWritesWorker'), { leftYAxis: axis('statements/s') }),
        graph('Reads/s by cluster (ShardQueries)', perCluster('shardReadsApi', 'shardReadsWorker'), { leftYAxis: axis('statements/s') }),
        // The hot-shard alarm's own math, at its period: what is graphed is what is alarmed on.
        graph('Hot shard: busiest ÷ mean writer CPU', hotShardGroups(clusters).map((group) =>
          m.hotShardRatio(group, HOT_SHARD_MIN_MEAN_CPU_PERCENT, period, `Clusters ${group[0].index}-${group[group.length - 1].index}`)), {
          leftYAxis: axis('ratio'),
          leftAnnotations: [{ value: hotShardFactor, label: 'hotShardFactor', color: cloudwatch.Color.ORANGE }],
        }),
        graph('Statements refused (shard moved)', [m.metric('shardMovedApi'), m.metric('shardMovedWorker')], { leftYAxis: axis('statements') }),
      );
    }

    if (props.limitless) {
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({ markdown: '### Aurora Limitless DB shard group (database.sharding.mode limitless)', width: WIDTH, height: 1 }),
        graph('Shard group ACU utilization (%)', [m.metric('shardGroupAcuUtilization')], {
          width: WIDTH / 2, leftYAxis: axis('% of max ACU', 0, 100), leftAnnotations: lines('auroraCpuPercent'),
        }),
        graph('Shard group capacity (ACU)', [
          m.metric('shardGroupCapacity'), m.metric('shardGroupStandbyCapacity'), m.metric('shardGroupMinAcu'), m.metric('shardGroupMaxAcu'),
        ], { width: WIDTH / 2, leftYAxis: axis('ACU') }),
      );
    }

    this.dashboard.addWidgets(
      graph('Cache hit rate (%)', [m.kpi('cacheHitRatePercent')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('cacheHitRatePercent') }),
      graph('Cache CPU · memory (%)', [m.kpi('cacheCpuPercent'), m.kpi('cacheMemoryPercent')], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines('cacheMemoryPercent', ' memory') }),
      graph('Cache evictions', [m.kpi('cacheEvictions')], { leftYAxis: axis('count'), leftAnnotations: lines('cacheEvictions') }),
      graph('Cache connections', [m.kpi('cacheConnections')], { leftYAxis: axis('connections') }),
    );
    this.dashboard.addWidgets(
      graph('Cache network (bytes)', [m.kpi('cacheNetworkIn'), m.kpi('cacheNetworkOut')], { width: WIDTH / 2, leftYAxis: axis('bytes') }),
    );
  }
}
