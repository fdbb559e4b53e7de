import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { AlarmsConfig, MonitoringConfig, SloConfig, StatefulConfig } from '../config/schema';
import { AlarmTopic } from '../constructs/alarm-topic';
import { KpiAlarms } from '../constructs/kpi-alarms';
import { KpiDashboard, type KpiLimits } from '../constructs/kpi-dashboard';
import { KpiMetrics, type KpiMetricSources, type ShardCluster } from '../constructs/kpi-metrics';
import { pickKpiSources } from '../contracts/kpi-sources';
import { STACK_OUTPUTS } from '../contracts/stacks';

export interface MonitoringStackProps extends StackProps, KpiLimits {
  readonly envName: string;
  readonly sources: KpiMetricSources;
  readonly monitoring: MonitoringConfig;
  readonly alarms: AlarmsConfig;
  readonly slo: SloConfig;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** The HTTP services besides the API: their ECS service and target group names and task ranges. */
  readonly services?: ReadonlyArray<{ readonly name: string; readonly serviceName: string; readonly targetGroupFullName: string; readonly minTasks: number; readonly maxTasks: number }>;
  /**
   * `database.sharding.mode: clusters`: every shard cluster, index = cluster number (the `ShardCluster`
   * dimension of the workload's ShardQueries), with its RDS Proxy when it has one. Absent in the other modes.
   */
  readonly databaseShards?: ReadonlyArray<{ readonly dbClusterIdentifier: string; readonly proxyName?: string }>;
  /** `database.sharding.hotShardFactor`: required with `databaseShards` (the hot-shard alarm's threshold). */
  readonly hotShardFactor?: number;
  /** `database.sharding.mode: limitless`: the Limitless cluster and its DB shard group. Absent in the other modes. */
  readonly limitless?: { readonly dbClusterIdentifier: string; readonly dbShardGroupIdentifier: string };
}

/** The KPI dashboard, the alarms (Warning/Critical, SLO burn rates, service health) and their SNS topic. */
export class MonitoringStack extends Stack {
  readonly topic: AlarmTopic;
  readonly alarms: KpiAlarms;
  readonly dashboard: KpiDashboard;

  constructor(scope: Construct, id: string, props: MonitoringStackProps) {
    super(scope, id, props);
    const sources = { ...props.sources, dbShardGroupIdentifier: props.limitless?.dbShardGroupIdentifier };
    const metrics = new KpiMetrics({ ...sources, environment: props.envName }, props.monitoring.periodSeconds, props.connectionBudget);
    const shards = shardsOf(props);
    // Each other HTTP service reads the API's catalogue rows with its own ECS service and target group.
    const services = (props.services ?? []).map((svc) => ({
      name: svc.name, minTasks: svc.minTasks, maxTasks: svc.maxTasks,
      metrics: new KpiMetrics({ ...props.sources, apiServiceName: svc.serviceName, targetGroupFullName: svc.targetGroupFullName, environment: props.envName }, props.monitoring.periodSeconds, props.connectionBudget),
    }));
    this.topic = new AlarmTopic(this, 'Alarms', { emails: props.monitoring.alarmEmails, removalPolicy: props.removalPolicy });
    this.alarms = new KpiAlarms(this, 'Kpi', {
      metrics,
      alarms: props.alarms,
      monitoring: props.monitoring,
      slo: props.slo,
      topic: this.topic.topic,
      apiMaxTasks: props.api.maxTasks,
      acceptableLatencySeconds: props.worker.acceptableLatencySeconds,
      services,
      shards,
      limitless: props.limitless !== undefined,
    });
    this.dashboard = new KpiDashboard(this, 'Kpis', {
      metrics,
      alarms: props.alarms,
      envName: props.envName,
      api: props.api,
      worker: props.worker,
      connectionBudget: props.connectionBudget,
      services,
      shards,
      limitless: props.limitless !== undefined,
    });
    new CfnOutput(this, STACK_OUTPUTS.kpiSources, {
      value: this.toJsonString(pickKpiSources({ ...sources, dashboardName: this.dashboard.dashboard.dashboardName })),
      description: 'Dimensions of the KPI metrics, for npm run kpi-report',
    });
    new CfnOutput(this, 'DashboardUrl', {
      value: `https://${this.region}.console.aws.amazon.com/cloudwatch/home?region=${this.region}#dashboards/dashboard/${this.dashboard.dashboard.dashboardName}`,
      description: 'The KPI dashboard (npm run kpi-report links to it at the run\'s window)',
    });
  }
}

/** The shard clusters, numbered as the workload numbers them, with the hot-shard factor they are judged by. */
function shardsOf(props: MonitoringStackProps): { clusters: ShardCluster[]; hotShardFactor: number } | undefined {
  if (props.databaseShards === undefined) return undefined;
  if (props.hotShardFactor === undefined) throw new Error('MonitoringStack: databaseShards needs hotShardFactor (database.sharding.hotShardFactor)');
  return { clusters: props.databaseShards.map((c, index) => ({ index, ...c })), hotShardFactor: props.hotShardFactor };
}
