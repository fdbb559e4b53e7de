import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwactions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ALARM_KINDS, type ThresholdKey } from '../config/alarm-kinds';
import type { AlarmsConfig, MonitoringConfig, SloConfig } from '../config/schema';
import type { KpiMetrics } from './kpi-metrics';
import { guardException } from './guard';

export interface KpiAlarmsProps {
  readonly metrics: KpiMetrics;
  readonly alarms: AlarmsConfig;
  readonly monitoring: MonitoringConfig;
  readonly slo: SloConfig;
  readonly topic: sns.ITopic;
  readonly apiMaxTasks: number;
  readonly acceptableLatencySeconds: number;
  /** Connections the services may hold (lib/config/rules.ts connectionBudget). */
  readonly connectionBudget: number;
}

export type Severity = 'Warning' | 'Critical';

/** One KPI alarm of the table: which thresholds, on what metric, in which unit. */
interface AlarmSpec {
  readonly id: string;
  readonly key: ThresholdKey;
  readonly summary: string;
  readonly metric: cloudwatch.IMetric;
  /** Converts the configured value (the unit in the key's name) to the metric's unit. */
  readonly toMetricUnit?: (value: number) => number;
  /** Missing data means "no traffic" or "no such resource" for most KPIs: not an incident. */
  readonly treatMissingData?: cloudwatch.TreatMissingData;
}

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
    const guard = props.monitoring.minRequestsPerPeriod;
    const MiB = 1024 * 1024;
    const specs: AlarmSpec[] = [
      { id: 'LatencyP99', key: 'latencyP99Ms', summary: 'p99 response time', metric: m.latency.p99, toMetricUnit: (ms) => ms / 1000 },
      { id: 'Target5xxRate', key: 'http5xxPercent', summary: 'target 5xx rate (%)', metric: m.errorRate(m.target5xx, 'Target 5xx %', guard) },
      { id: 'Elb5xxRate', key: 'http5xxPercent', summary: 'load balancer 5xx rate (%)', metric: m.errorRate(m.elb5xx, 'ELB 5xx %', guard) },
      { id: 'UnhealthyHosts', key: 'unhealthyHosts', summary: 'unhealthy targets', metric: m.unhealthyHosts },
      { id: 'ApiCpu', key: 'apiCpuPercent', summary: 'API CPU (%)', metric: m.api.cpuAverage },
      { id: 'ApiMemory', key: 'apiMemoryPercent', summary: 'API memory (%)', metric: m.api.memoryAverage },
      { id: 'QueueAge', key: 'queueAgeLatencyMultiple', summary: 'age of the oldest job (s)', metric: m.queueOldestAge, toMetricUnit: (x) => x * props.acceptableLatencySeconds },
      { id: 'DlqMessages', key: 'dlqMessages', summary: 'messages in the dead-letter queue', metric: m.dlqVisible },
      { id: 'WriterCpu', key: 'auroraCpuPercent', summary: 'Aurora writer CPU (%)', metric: m.db.writerCpu },
      { id: 'ReaderCpu', key: 'auroraCpuPercent', summary: 'Aurora reader CPU (%)', metric: m.db.readerCpu },
      {
        id: 'DbConnections', key: 'dbConnectionsPercentOfBudget', summary: `writer connections (% of the budget of ${props.connectionBudget})`,
        metric: m.math(`100 * connections / ${props.connectionBudget}`, { connections: m.db.writerConnections }, 'Connections (% of budget)'),
      },
      { id: 'ReplicaLag', key: 'replicaLagMs', summary: 'Aurora replica lag (ms)', metric: m.db.replicaLag },
      { id: 'WriterFreeableMemory', key: 'freeableMemoryMiB', summary: 'writer freeable memory', metric: m.db.writerFreeableMemory, toMetricUnit: (mib) => mib * MiB },
      { id: 'ReaderFreeableMemory', key: 'freeableMemoryMiB', summary: 'reader freeable memory', metric: m.db.readerFreeableMemory, toMetricUnit: (mib) => mib * MiB },
      {
        // A cold or idle cache has a low hit rate without anything being wrong: judged only under traffic.
        id: 'CacheHitRate', key: 'cacheHitRatePercent', summary: 'cache hit rate (%)',
        metric: m.math(`IF(requests >= ${guard}, ${m.cache.hitRateParts.expression}, 100)`, { ...m.cache.hitRateParts.metrics, requests: m.requests }, 'Hit rate (under traffic)'),
      },
      { id: 'CacheMemory', key: 'cacheMemoryPercent', summary: 'cache memory used (%)', metric: m.cache.memoryPercent },
      { id: 'CacheEvictions', key: 'cacheEvictions', summary: 'cache evictions per period', metric: m.cache.evictions },
    ];
    for (const spec of specs) this.addThresholdAlarms(spec);
    if (props.alarms.apiAtMaxTasks) {
      this.addAlarm('ApiAtMaxTasks', 'Warning', `API runs at its maxTasks (${props.apiMaxTasks}): autoscaling has no capacity left`, {
        metric: m.api.running,
        threshold: props.apiMaxTasks,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.addBurnRateAlarms();

    this.serviceHealth = new cloudwatch.CompositeAlarm(this, 'ServiceHealth', {
      alarmDescription: '[Critical] Service health: any critical KPI alarm or SLO burn-rate alarm is firing.',
      alarmRule: cloudwatch.AlarmRule.anyOf(...this.bySeverity.Critical, ...this.burnRateAlarms),
    });
    this.notify(this.serviceHealth);
  }

  private addThresholdAlarms(spec: AlarmSpec): void {
    const thresholds = this.props.alarms[spec.key];
    const { breaches } = ALARM_KINDS[spec.key];
    for (const severity of ['Warning', 'Critical'] as const) {
      const value = severity === 'Warning' ? thresholds.warning : thresholds.critical;
      if (value === null) continue;
      const word = breaches === 'below' ? 'below' : breaches === 'above' ? 'above' : 'at or above';
      this.addAlarm(`${spec.id}${severity}`, severity, `${spec.summary} ${word} ${value} (alarms.${spec.key}.${severity.toLowerCase()})`, {
        metric: spec.metric,
        threshold: spec.toMetricUnit ? spec.toMetricUnit(value) : value,
        comparisonOperator: COMPARISON[breaches],
        treatMissingData: spec.treatMissingData ?? cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
  }

  private addAlarm(
    id: string,
    severity: Severity,
    what: string,
    props: Pick<cloudwatch.AlarmProps, 'metric' | 'threshold' | 'comparisonOperator' | 'treatMissingData'>,
  ): cloudwatch.Alarm {
    const alarm = new cloudwatch.Alarm(this, id, {
      ...props,
      alarmDescription: `[${severity}] ${what}`,
      evaluationPeriods: this.props.monitoring.evaluationPeriods,
      datapointsToAlarm: this.props.monitoring.datapointsToAlarm,
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
    const thresholdSeconds = slo.latencyThresholdMs / 1000;
    slo.burnRates.forEach((rate, i) => {
      const windowAlarm = (objective: 'Availability' | 'Latency', minutes: number, label: 'Long' | 'Short') => {
        const period = Duration.minutes(minutes);
        const minRequests = Math.ceil(monitoring.minRequestsPerPeriod * (minutes * 60) / monitoring.periodSeconds);
        const requests = m.requests.with({ period });
        const expression =
          objective === 'Availability'
            ? m.math(
                `IF(requests >= ${minRequests}, (100 * (FILL(t5xx, 0) + FILL(e5xx, 0)) / requests) / ${round(100 - slo.availabilityPercent)}, 0)`,
                { requests, t5xx: m.target5xx.with({ period }), e5xx: m.elb5xx.with({ period }) },
                `Availability burn rate (${minutes} min)`, period)
            : m.math(
                `IF(requests >= ${minRequests}, (100 - FILL(fast, 100)) / ${round(100 - slo.latencyPercent)}, 0)`,
                { requests, fast: m.latency.p99.with({ period, statistic: cloudwatch.Stats.percentileRank(thresholdSeconds), label: `Requests ≤ ${slo.latencyThresholdMs} ms (%)` }) },
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
