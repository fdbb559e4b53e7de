import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_KINDS, type AlarmKind, type KpiAlarmRow, type ThresholdKey } from '../config/alarm-kinds';
import type { AlarmsConfig, MonitoringConfig, SloConfig } from '../config/schema';
import { convertUnit, isMetricKey, kpiUnit, type KpiKey } from '../contracts/kpi-catalogue';
import type { ServiceKpis } from './kpi-dashboard';
import { MAX_METRICS_PER_ALARM, type KpiMetrics, type ShardCluster } from './kpi-metrics';
import { guardException } from './guard';
import { kpiAlarmName, serviceIdOf } from './naming';

export interface KpiAlarmsProps {
  readonly metrics: KpiMetrics;
  readonly alarms: AlarmsConfig;
  readonly monitoring: MonitoringConfig;
  readonly slo: SloConfig;
  readonly topic: sns.ITopic;
  readonly apiMaxTasks: number;
  readonly acceptableLatencySeconds: number;
  /**
   * The HTTP services besides the API: each gets the API's CPU, memory and unhealthy-target alarms on its own
   * ECS service and target group (ids `<Name>ApiCpuWarning`...), and its own at-maxTasks alarm.
   */
  readonly services?: readonly ServiceKpis[];
  /**
   * `database.sharding.mode: clusters`: every cluster and the hot-shard factor. Each cluster gets the Aurora
   * alarms (ids `Shard<n><id>`, except the cluster the catalogue's `dbClusterIdentifier` already names), and
   * the clusters together the hot-shard and shard-moved alarms.
   */
  readonly shards?: { readonly clusters: readonly ShardCluster[]; readonly hotShardFactor: number };
  /** `database.sharding.mode: limitless`: the DB shard group's ACU utilization alarms (the metrics name the group). */
  readonly limitless?: boolean;
}

/** The alarm kinds about one Aurora cluster, which every shard cluster gets too. */
const PER_SHARD_ALARMS: readonly ThresholdKey[] = ['auroraCpuPercent', 'dbConnectionsPercentOfBudget', 'replicaLagMs', 'freeableMemoryMiB'];

/**
 * The hot-shard alarm judges 5-minute means of writer CPU and fires after 3 in a row breach: a quarter of an
 * hour of skew. A burst of one tenant's traffic, a batch job or a shard move skews one cluster for minutes;
 * the remedy for a hot shard is moving logical shards (docs/sharding.md), which is worth doing only for a skew
 * that lasts.
 */
export const HOT_SHARD_PERIOD_SECONDS = 300;
export const HOT_SHARD_EVALUATION_PERIODS = 3;
/**
 * Below this mean writer CPU (%) over the clusters the ratio is not judged: at idle, 4 % on one cluster and 1 %
 * on the others is a ratio of 2.7 and no load at all; and no cluster is near saturation.
 */
export const HOT_SHARD_MIN_MEAN_CPU_PERCENT = 10;
/**
 * Statements refused because a logical shard moved (ShardMoved) are expected while a move runs: its shard is
 * frozen from its copy to the directory switch, and each process meets one refusal per moved shard before it
 * reads the directory again. Refusals in every 5-minute period of an hour are not: a move stopped between
 * freeze and switch (its shard refuses every write), or processes that do not pick up the directory.
 */
export const SHARD_MOVED_PERIOD_SECONDS = 300;
export const SHARD_MOVED_EVALUATION_PERIODS = 12;

/** Clusters in groups of at most MAX_METRICS_PER_ALARM, as even as possible (16 → 8 + 8). */
export function hotShardGroups<T>(clusters: readonly T[]): T[][] {
  const groups = Math.ceil(clusters.length / MAX_METRICS_PER_ALARM);
  const size = Math.ceil(clusters.length / groups);
  return Array.from({ length: groups }, (_, g) => clusters.slice(g * size, (g + 1) * size));
}

/** The alarm kinds about the API's service and target group, which every other HTTP service gets too. */
const PER_SERVICE_ALARMS: readonly ThresholdKey[] = ['apiCpuPercent', 'apiMemoryPercent', 'unhealthyHosts'];

export type Severity = 'Warning' | 'Critical';

const COMPARISON = {
  above: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
  below: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
  atOrAbove: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
} as const;

/**
 * Every KPI alarm, from one table and one factory: a Warning and a Critical alarm per row where the
 * config sets a threshold, with datapoints-to-alarm against flapping and explicit missing-data handling,
 * notifying the topic on ALARM and OK. Then the SLO burn-rate alarms and one composite "service health"
 * alarm over everything critical.
 */
export class KpiAlarms extends Construct {
  /** Every alarm that notifies, by severity. */
  readonly bySeverity: Record<Severity, cloudwatch.Alarm[]> = { Warning: [], Critical: [] };
  /** The multi-window burn-rate composites (critical: they page). */
  readonly burnRateAlarms: cloudwatch.CompositeAlarm[] = [];
  readonly serviceHealth: cloudwatch.CompositeAlarm;

  constructor(scope: Construct, id: string, private readonly props: KpiAlarmsProps) {
    super(scope, id);
    const m = props.metrics;
    // Every metric is built before any alarm, in table order: math ids are numbered as they are built.
    const specs = (Object.keys(ALARM_KINDS) as ThresholdKey[]).flatMap((key) => ALARM_KINDS[key].alarms.map((row) => ({
      key, row, metric: this.alarmMetric(key, row),
    })));
    for (const spec of specs) this.addThresholdAlarms(spec.key, spec.row, spec.metric);
    if (props.alarms.apiAtMaxTasks) {
      this.addAlarm('ApiAtMaxTasks', 'Warning', `API runs at its maxTasks (${props.apiMaxTasks}): autoscaling has no capacity left`, {
        metric: m.metric('apiRunningTasks'),
        threshold: props.apiMaxTasks,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    for (const svc of props.services ?? []) {
      const pascal = serviceIdOf(svc.name);
      for (const key of PER_SERVICE_ALARMS) {
        for (const row of ALARM_KINDS[key].alarms) {
          this.addThresholdAlarms(key, { ...row, id: `${pascal}${row.id}`, summary: `service ${svc.name}: ${row.summary.replace(/^API /, '')}` }, svc.metrics.kpi(row.kpi));
        }
      }
      if (props.alarms.apiAtMaxTasks) {
        this.addAlarm(`${pascal}AtMaxTasks`, 'Warning', `service ${svc.name} runs at its maxTasks (${svc.maxTasks}): autoscaling has no capacity left`, {
          metric: svc.metrics.metric('apiRunningTasks'),
          threshold: svc.maxTasks,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        });
      }
    }
    if (props.shards) this.addShardAlarms(props.shards);
    if (props.limitless) {
      // The shard group's compute in use as a share of its maximum: the Limitless counterpart of a writer's CPU
      // (it has no instances of its own), so the same thresholds.
      this.addThresholdAlarms('auroraCpuPercent', {
        id: 'ShardGroupAcu', kpi: 'shardGroupAcuUtilization', summary: 'Aurora Limitless shard group ACU utilization (% of its max ACU)',
      }, m.metric('shardGroupAcuUtilization'));
    }
    this.addBurnRateAlarms();

    this.serviceHealth = new cloudwatch.CompositeAlarm(this, 'ServiceHealth', {
      alarmDescription: '[Critical] Service health: any critical KPI alarm or SLO burn-rate alarm is firing.',
      alarmRule: cloudwatch.AlarmRule.anyOf(...this.bySeverity.Critical, ...this.burnRateAlarms),
    });
    this.notify(this.serviceHealth);
  }

  /**
   * `database.sharding.mode: clusters`: the Aurora alarms on every other cluster; the hot-shard alarm (one per
   * group of at most MAX_METRICS_PER_ALARM clusters: CloudWatch allows no more metrics in one alarm's math,
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-limits.html; a hot cluster is judged
   * against the mean of its group); the sustained shard-moved alarm.
   */
  private addShardAlarms(shards: NonNullable<KpiAlarmsProps['shards']>): void {
    const m = this.props.metrics;
    if (shards.clusters.length < 2) throw new Error(`KpiAlarms: sharding needs at least 2 clusters, got ${shards.clusters.length}`);
    const main = m.metric('dbWriterCpu').dimensions?.DBClusterIdentifier;
    for (const cluster of shards.clusters) {
      if (cluster.dbClusterIdentifier === main) continue;
      const cm = m.forShard(cluster);
      for (const key of PER_SHARD_ALARMS) {
        for (const row of ALARM_KINDS[key].alarms) {
          this.addThresholdAlarms(key, { ...row, id: `Shard${cluster.index}${row.id}`, summary: `cluster ${cluster.index}: ${row.summary}` }, cm.kpi(row.kpi));
        }
      }
    }
    const period = Duration.seconds(HOT_SHARD_PERIOD_SECONDS);
    const groups = hotShardGroups(shards.clusters);
    groups.forEach((group, g) => {
      const which = groups.length === 1 ? '' : `${g + 1}`;
      const numbers = `${group[0].index}-${group[group.length - 1].index}`;
      this.addAlarm(`HotShard${which}Warning`, 'Warning',
        `hot shard: the busiest cluster's writer CPU is above ${shards.hotShardFactor} × the mean of clusters ${numbers} (database.sharding.hotShardFactor) for ${HOT_SHARD_EVALUATION_PERIODS} × ${HOT_SHARD_PERIOD_SECONDS / 60} min, judged while that mean is at least ${HOT_SHARD_MIN_MEAN_CPU_PERCENT} %: move logical shards off it (docs/sharding.md)`, {
          metric: m.hotShardRatio(group, HOT_SHARD_MIN_MEAN_CPU_PERCENT, period, `Busiest ÷ mean writer CPU (clusters ${numbers})`),
          threshold: shards.hotShardFactor,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          // A cluster without datapoints (a failover) is left out of MAX and AVG; no datapoint at all is no load.
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        }, { evaluationPeriods: HOT_SHARD_EVALUATION_PERIODS, datapointsToAlarm: HOT_SHARD_EVALUATION_PERIODS });
    });
    const movedPeriod = Duration.seconds(SHARD_MOVED_PERIOD_SECONDS);
    const hours = (SHARD_MOVED_PERIOD_SECONDS * SHARD_MOVED_EVALUATION_PERIODS) / 3600;
    this.addAlarm('ShardMovedWarning', 'Warning',
      `statements refused because their logical shard moved, in every ${SHARD_MOVED_PERIOD_SECONDS / 60}-minute period for ${hours} h: a move stopped with its shard frozen, or processes that do not re-read the directory (docs/sharding.md)`, {
        metric: m.math('FILL(api, 0) + FILL(worker, 0)', {
          api: m.metric('shardMovedApi').with({ period: movedPeriod }), worker: m.metric('shardMovedWorker').with({ period: movedPeriod }),
        }, 'Statements refused (shard moved)', movedPeriod),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }, { evaluationPeriods: SHARD_MOVED_EVALUATION_PERIODS, datapointsToAlarm: SHARD_MOVED_EVALUATION_PERIODS });
  }

  /** The KPI of an alarm row, guarded by traffic where the row says so. */
  private alarmMetric(key: ThresholdKey, row: KpiAlarmRow): cloudwatch.IMetric {
    const m = this.props.metrics;
    if (!row.underTraffic) return m.kpi(row.kpi);
    if (isMetricKey(row.kpi)) throw new Error(`alarm ${row.id}: only a derived KPI can be judged under traffic`);
    const { breaches, ceiling } = ALARM_KINDS[key];
    // The value while traffic is too low: one that cannot breach.
    const quiet = breaches === 'below' ? ceiling : 0;
    if (quiet === undefined) throw new Error(`alarm ${row.id}: a KPI that breaches below needs a ceiling to be quiet at`);
    return m.underTraffic(row.kpi, this.props.monitoring.minRequestsPerPeriod, quiet, row.underTraffic.label);
  }

  private addThresholdAlarms(key: ThresholdKey, row: KpiAlarmRow, metric: cloudwatch.IMetric): void {
    const thresholds = this.props.alarms[key];
    const kind = ALARM_KINDS[key];
    const summary = this.props.metrics.fillParams(row.summary);
    for (const severity of ['Warning', 'Critical'] as const) {
      const value = severity === 'Warning' ? thresholds.warning : thresholds.critical;
      if (value === null) continue;
      const word = kind.breaches === 'below' ? 'below' : kind.breaches === 'above' ? 'above' : 'at or above';
      this.addAlarm(`${row.id}${severity}`, severity, `${summary} ${word} ${value} (alarms.${key}.${severity.toLowerCase()})`, {
        metric,
        threshold: this.thresholdInKpiUnit(kind, row.kpi, value),
        comparisonOperator: COMPARISON[kind.breaches],
        // Missing data means "no traffic" or "no such resource" for these KPIs: not an incident.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }

  /** The configured value (in the unit its key names) in the unit of the KPI's metric. */
  private thresholdInKpiUnit(kind: AlarmKind, kpi: KpiKey, value: number): number {
    const configured = kind.multipleOf ? value * this.props[kind.multipleOf] : value;
    return convertUnit(configured, kind.unit, kpiUnit(kpi));
  }

  private addAlarm(
    id: string,
    severity: Severity,
    what: string,
    props: Pick<cloudwatch.AlarmProps, 'metric' | 'threshold' | 'comparisonOperator' | 'treatMissingData'>,
    evaluation: Pick<cloudwatch.AlarmProps, 'evaluationPeriods' | 'datapointsToAlarm'> = this.props.monitoring,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      // Critical alarms by a name the Compute stack can give ECS as deployment alarms (naming.ts, kpiAlarmName).
      alarmName: severity === 'Critical' ? kpiAlarmName(this, id) : undefined,
      alarmDescription: `[${severity}] ${what}`,
      evaluationPeriods: evaluation.evaluationPeriods,
      datapointsToAlarm: evaluation.datapointsToAlarm,
    });
    this.notify(alarm);
    this.bySeverity[severity].push(alarm);
    return alarm;
  }

  private notify(alarm: cloudwatch.AlarmBase): void {
    const action = new cwactions.SnsAction(this.props.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
  }

  /**
   * Multi-window, multi-burn-rate alerts (Google SRE workbook, "Alerting on SLOs"): for each configured
   * burn rate, the error budget must be burning `factor` times too fast over the long window (it matters)
   * and over the short window (it is still happening). Burn rate = error ratio ÷ error budget.
   * Availability errors are 5xx (target and load balancer); latency errors are requests slower than the
   * threshold, from the percentile rank PR(:threshold) of TargetResponseTime.
   */
  private addBurnRateAlarms(): void {
    const { slo, metrics: m, monitoring } = this.props;
    const threshold = convertUnit(slo.latencyThresholdMs, 'Milliseconds', kpiUnit('latencyP99'));
    slo.burnRates.forEach((rate, i) => {
      const windowAlarm = (objective: 'Availability' | 'Latency', minutes: number, label: 'Long' | 'Short') => {
        const period = Duration.minutes(minutes);
        const minRequests = Math.ceil(monitoring.minRequestsPerPeriod * (minutes * 60) / monitoring.periodSeconds);
        const requests = m.metric('requests').with({ period });
        const expression =
          objective === 'Availability'
            ? m.math(
                `IF(requests >= ${minRequests}, (100 * (FILL(t5xx, 0) + FILL(e5xx, 0)) / requests) / ${round(100 - slo.availabilityPercent)}, 0)`,
                { requests, t5xx: m.metric('target5xx').with({ period }), e5xx: m.metric('elb5xx').with({ period }) },
                `Availability burn rate (${minutes} min)`, period)
            : m.math(
                `IF(requests >= ${minRequests}, (100 - FILL(fast, 100)) / ${round(100 - slo.latencyPercent)}, 0)`,
                { requests, fast: m.metric('latencyP99').with({ period, statistic: cloudwatch.Stats.percentileRank(threshold), label: `Requests ≤ ${slo.latencyThresholdMs} ms (%)` }) },
                `Latency burn rate (${minutes} min)`, period);
        const alarm = new cloudwatch.Alarm(this, `Slo${objective}Burn${i + 1}${label}`, {
          metric: expression,
          threshold: rate.factor,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          alarmDescription: `${objective} SLO: error budget burning ${rate.factor}× too fast over ${minutes} min (part of a burn-rate composite; notifies through it)`,
        });
        guardException(alarm, 'CT.CLOUDWATCH.PR.1',
          'One window of a multi-window burn-rate alert: the composite alarm over both windows notifies; an action here would page on one window alone, which is what the two-window rule exists to prevent.');
        return alarm;
      };
      for (const objective of ['Availability', 'Latency'] as const) {
        const target = objective === 'Availability' ? slo.availabilityPercent : slo.latencyPercent;
        const composite = new cloudwatch.CompositeAlarm(this, `Slo${objective}Burn${i + 1}`, {
          compositeAlarmName: kpiAlarmName(this, `Slo${objective}Burn${i + 1}`),
          alarmDescription: `[Critical] ${objective} SLO ${target} %: error budget burning ${rate.factor}× too fast over ${rate.longWindowMinutes} min and ${rate.shortWindowMinutes} min`,
          alarmRule: cloudwatch.AlarmRule.allOf(
            windowAlarm(objective, rate.longWindowMinutes, 'Long'),
            windowAlarm(objective, rate.shortWindowMinutes, 'Short'),
          ),
        });
        this.notify(composite);
        this.burnRateAlarms.push(composite);
      }
    });
  }
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
