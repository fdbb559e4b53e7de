import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import type { AlarmsConfig, Thresholds } from '../config/schema';
import type { KpiMetrics } from './kpi-metrics';

/** The limits the graphs draw lines at: task ranges, the backlog target, the connection budget. */
export interface KpiLimits {
  readonly api: { readonly minTasks: number; readonly maxTasks: number };
  readonly worker: { readonly maxTasks: number; readonly backlogTarget: number; readonly acceptableLatencySeconds: number };
  readonly connectionBudget: number;
}

export interface KpiDashboardProps extends KpiLimits {
  readonly metrics: KpiMetrics;
  readonly alarms: AlarmsConfig;
  readonly envName: string;
}

const WIDTH = 24;
const HEIGHT = 6;

/**
 * One screen with the KPIs a team watches in a load test and in production, rows in this order: summary
 * numbers, traffic, API service, worker, Aurora, cache. Graphs carry units and horizontal lines at the
 * alarm thresholds and the task limits.
 */
export class KpiDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: KpiDashboardProps) {
    super(scope, id);
    const { metrics: m, alarms: a } = props;
    // Math ids must differ between the expressions of one graph.
    let ids = 0;
    const scaled = (factor: string, metric: cloudwatch.IMetric, label: string) => {
      const id = `s${++ids}`;
      return m.math(`${id} ${factor}`, { [id]: metric }, label);
    };
    const ms = (metric: cloudwatch.IMetric, label: string) => scaled('* 1000', metric, label);
    const mib = (metric: cloudwatch.IMetric, label: string) => scaled('/ 1048576', metric, label);
    const lines = (t: Thresholds, unit: (v: number) => number = (v) => v, what = ''): cloudwatch.HorizontalAnnotation[] => [
      ...(t.warning !== null ? [{ value: unit(t.warning), label: `Warning${what}`, color: cloudwatch.Color.ORANGE }] : []),
      ...(t.critical !== null ? [{ value: unit(t.critical), label: `Critical${what}`, color: cloudwatch.Color.RED }] : []),
    ];
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
          m.requestsPerSecond,
          ms(m.latency.p99, 'p99 (ms)'),
          m.errorRate(m.target5xx, '5xx %'),
          m.math('api', { api: m.api.running }, 'API tasks'),
          m.math('worker', { worker: m.workerRunning }, 'Worker tasks'),
          m.math('age', { age: m.queueOldestAge }, 'Queue age (s)'),
        ],
      }),
    );

    this.dashboard.addWidgets(
      graph('Requests/s', [m.requestsPerSecond], { leftYAxis: axis('req/s') }),
      graph('Latency (ms)', [ms(m.latency.p50, 'p50'), ms(m.latency.p90, 'p90'), ms(m.latency.p99, 'p99')], {
        leftYAxis: axis('ms'), leftAnnotations: lines(a.latencyP99Ms, (v) => v, ' p99'),
      }),
      graph('5xx rate (%)', [m.errorRate(m.target5xx, 'Target 5xx %'), m.errorRate(m.elb5xx, 'Load balancer 5xx %')], {
        leftYAxis: axis('%', 0), leftAnnotations: lines(a.http5xxPercent),
      }),
      graph('4xx rate (%) · hosts · rejected', [m.errorRate(m.target4xx, 'Target 4xx %')], {
        leftYAxis: axis('%'),
        right: [m.healthyHosts, m.unhealthyHosts, m.rejectedConnections],
        rightYAxis: axis('count'),
      }),
    );

    this.dashboard.addWidgets(
      graph('API CPU (%)', [m.api.cpuAverage, m.api.cpuMaximum], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines(a.apiCpuPercent) }),
      graph('API memory (%)', [m.api.memoryAverage, m.api.memoryMaximum], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines(a.apiMemoryPercent) }),
      graph('API tasks', [m.api.running, m.api.desired], {
        width: WIDTH / 2,
        leftYAxis: axis('tasks'),
        leftAnnotations: [
          { value: props.api.minTasks, label: 'minTasks', color: cloudwatch.Color.GREY },
          { value: props.api.maxTasks, label: 'maxTasks', color: cloudwatch.Color.RED },
        ],
      }),
    );

    this.dashboard.addWidgets(
      graph('Jobs queue', [m.queueVisible, m.queueInFlight], { leftYAxis: axis('messages') }),
      graph('Age of oldest job (s)', [m.queueOldestAge], {
        leftYAxis: axis('s'),
        leftAnnotations: [
          { value: props.worker.acceptableLatencySeconds, label: 'acceptable latency', color: cloudwatch.Color.GREY },
          ...lines(a.queueAgeLatencyMultiple, (x) => x * props.worker.acceptableLatencySeconds),
        ],
      }),
      graph('Backlog per task (the scaling metric)', [m.backlogPerTask], {
        leftYAxis: axis('messages/task'),
        leftAnnotations: [{ value: props.worker.backlogTarget, label: 'target', color: cloudwatch.Color.GREEN }],
      }),
      graph('Worker tasks · DLQ', [m.workerRunning], {
        leftYAxis: axis('tasks'),
        leftAnnotations: [{ value: props.worker.maxTasks, label: 'maxTasks', color: cloudwatch.Color.RED }],
        right: [m.dlqVisible],
        rightYAxis: axis('DLQ messages'),
      }),
    );

    this.dashboard.addWidgets(
      graph('Aurora CPU (%)', [m.db.writerCpu, m.db.readerCpu], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines(a.auroraCpuPercent) }),
      graph('Connections', [m.db.writerConnections, ...(m.db.proxyClientConnections ? [m.db.proxyClientConnections, m.db.proxyDatabaseConnections!] : [])], {
        leftYAxis: axis('connections'),
        leftAnnotations: [
          { value: props.connectionBudget, label: 'connection budget', color: cloudwatch.Color.RED },
          ...lines(a.dbConnectionsPercentOfBudget, (pct) => (pct * props.connectionBudget) / 100, ' (% of budget)'),
        ],
      }),
      graph('Replica lag (ms) · readers', [m.db.replicaLag], {
        leftYAxis: axis('ms'), leftAnnotations: lines(a.replicaLagMs),
        right: [m.db.readers], rightYAxis: axis('readers'),
      }),
      graph('Freeable memory (MiB) · latency (ms)', [
        mib(m.db.writerFreeableMemory, 'Writer freeable MiB'),
        mib(m.db.readerFreeableMemory, 'Reader freeable MiB'),
      ], {
        leftYAxis: axis('MiB'), leftAnnotations: lines(a.freeableMemoryMiB),
        right: [ms(m.db.readLatency, 'Read latency ms'), ms(m.db.writeLatency, 'Write latency ms')], rightYAxis: axis('ms'),
      }),
    );

    this.dashboard.addWidgets(
      graph('Cache hit rate (%)', [m.cache.hitRatePercent], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines(a.cacheHitRatePercent) }),
      graph('Cache CPU · memory (%)', [m.cache.cpuPercent, m.cache.memoryPercent], { leftYAxis: axis('%', 0, 100), leftAnnotations: lines(a.cacheMemoryPercent, (v) => v, ' memory') }),
      graph('Cache evictions', [m.cache.evictions], { leftYAxis: axis('count'), leftAnnotations: lines(a.cacheEvictions) }),
      graph('Cache connections', [m.cache.connections], { leftYAxis: axis('connections') }),
    );
  }
}
