import { GetResourceMetricsCommand, type MetricKeyDataPoints, type PIClient } from '@aws-sdk/client-pi';
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, type RDSClient } from '@aws-sdk/client-rds';

/**
 * What the writer's database time went to over the run: Performance Insights' DB load (average active
 * sessions) by wait event, and by tokenized statement. CloudWatch has DBLoad, DBLoadCPU and DBLoadNonCPU only;
 * the breakdown is Performance Insights' own API, GetResourceMetrics
 * (https://docs.aws.amazon.com/performance-insights/latest/APIReference/API_GetResourceMetrics.html), grouped
 * by the `db.wait_event` and `db.sql_tokenized` dimension groups
 * (https://docs.aws.amazon.com/performance-insights/latest/APIReference/API_DimensionGroup.html; DB load in
 * average active sessions: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_PerfInsights.html).
 * Optional by nature: Performance Insights may be off, the window past its retention, or the caller not
 * allowed; the report then says why and judges the run without it.
 */

/** Rows of each table: the GroupBy Limit (1-25, DimensionGroup page above). */
export const TOP_N = 5;

export interface LoadShare {
  /** The wait event's name, or the statement's text (PI returns at most its first 500 bytes). */
  readonly name: string;
  /** The wait event's type (CPU, IO, Lock, LWLock, Client, …); the statement's digest id. */
  readonly detail: string;
  /** Average active sessions over the window. */
  readonly averageActiveSessions: number;
  /** Share of the total DB load over the window, in %. */
  readonly sharePercent: number | null;
}

export type DbWaits =
  | {
    readonly available: true;
    readonly instance: string;
    readonly resourceId: string;
    readonly periodSeconds: number;
    /** The writer's DB load (average active sessions) over the window. */
    readonly totalAverageActiveSessions: number;
    readonly waits: readonly LoadShare[];
    readonly statements: readonly LoadShare[];
  }
  | { readonly available: false; readonly reason: string };

export interface DbWaitsClients {
  readonly rds: Pick<RDSClient, 'send'>;
  readonly pi: Pick<PIClient, 'send'>;
}

/** PeriodInSeconds takes 1, 60, 300, 3600 or 86400 (API reference, above); 1 is never needed here. */
const PI_PERIODS = [60, 300, 3600, 86400] as const;
/** Data points per series to aim under: a finer period than the report's window needs is only more pages. */
const MAX_POINTS = 500;

/** The smallest period PI accepts that keeps the window within MAX_POINTS points. */
export function piPeriod(windowSeconds: number): number {
  return PI_PERIODS.find((p) => windowSeconds / p <= MAX_POINTS) ?? PI_PERIODS[PI_PERIODS.length - 1];
}

/** The writer instance of an Aurora cluster and its DbiResourceId, the identifier PI takes. */
async function resolveWriter(rds: DbWaitsClients['rds'], clusterId: string): Promise<{ instance: string; resourceId: string } | { reason: string }> {
  const clusters = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterId }));
  const writer = clusters.DBClusters?.[0]?.DBClusterMembers?.find((m) => m.IsClusterWriter)?.DBInstanceIdentifier;
  if (!writer) return { reason: `DB cluster ${clusterId} has no writer instance` };
  const instances = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: writer }));
  const db = instances.DBInstances?.[0];
  if (!db?.DbiResourceId) return { reason: `DescribeDBInstances returned no DbiResourceId for ${writer}` };
  if (db.PerformanceInsightsEnabled === false) {
    return { reason: `Performance Insights is off on the writer ${writer} (the Data stack enables it on every instance: turned off outside the stack?)` };
  }
  return { instance: writer, resourceId: db.DbiResourceId };
}

/**
 * Top waits (and statements) of the cluster's writer between startMs and endMs. Never throws: an AWS error
 * (AccessDenied on pi:GetResourceMetrics or rds:Describe*, NotAuthorizedException when PI is off, a window
 * past retention) becomes `available: false` with the reason.
 */
export async function fetchDbWaits(clients: DbWaitsClients, clusterId: string | undefined, startMs: number, endMs: number): Promise<DbWaits> {
  if (!clusterId) return { available: false, reason: 'the KPI sources name no DB cluster' };
  try {
    const writer = await resolveWriter(clients.rds, clusterId);
    if ('reason' in writer) return { available: false, reason: writer.reason };
    const periodSeconds = piPeriod((endMs - startMs) / 1000);
    const byQuery: MetricKeyDataPoints[][] = [[], []];
    let NextToken: string | undefined;
    do {
      const page = await clients.pi.send(new GetResourceMetricsCommand({
        ServiceType: 'RDS',
        Identifier: writer.resourceId,
        StartTime: new Date(startMs),
        EndTime: new Date(endMs),
        PeriodInSeconds: periodSeconds,
        MetricQueries: [
          { Metric: 'db.load.avg', GroupBy: { Group: 'db.wait_event', Limit: TOP_N } },
          { Metric: 'db.load.avg', GroupBy: { Group: 'db.sql_tokenized', Limit: TOP_N } },
        ],
        NextToken,
      }));
      for (const m of page.MetricList ?? []) {
        const dims = m.Key?.Dimensions ?? {};
        byQuery[Object.keys(dims).some((k) => k.startsWith('db.sql_tokenized.')) ? 1 : 0].push(m);
      }
      NextToken = page.NextToken;
    } while (NextToken);
    return { available: true, instance: writer.instance, resourceId: writer.resourceId, periodSeconds, ...shares(byQuery[0], byQuery[1]) };
  } catch (e) {
    return { available: false, reason: reasonOf(e) };
  }
}

/**
 * Averages over the window from PI's per-period points. A grouped query answers with the total (the key
 * without dimensions) and one series per top dimension; the window's periods are the total's, so a period
 * where a wait is absent counts as 0 for it.
 */
export function shares(waitSeries: readonly MetricKeyDataPoints[], statementSeries: readonly MetricKeyDataPoints[]) {
  const points = new Map<number, number>();
  const totals = [...waitSeries, ...statementSeries].filter((m) => Object.keys(m.Key?.Dimensions ?? {}).length === 0);
  for (const m of totals) for (const p of m.DataPoints ?? []) if (p.Timestamp && p.Value !== undefined) points.set(p.Timestamp.getTime(), p.Value);
  const periods = points.size;
  const sum = (m: MetricKeyDataPoints) => (m.DataPoints ?? []).reduce((s, p) => s + (p.Value ?? 0), 0);
  const total = periods > 0 ? [...points.values()].reduce((s, v) => s + v, 0) / periods : 0;
  const rows = (series: readonly MetricKeyDataPoints[], name: string, detail: string): LoadShare[] => series
    .filter((m) => Object.keys(m.Key?.Dimensions ?? {}).length > 0)
    .map((m) => {
      const dims = m.Key!.Dimensions!;
      const aas = periods > 0 ? sum(m) / periods : 0;
      return { name: dims[name] ?? '—', detail: dims[detail] ?? '—', averageActiveSessions: aas, sharePercent: total > 0 ? (100 * aas) / total : null };
    })
    .sort((a, b) => b.averageActiveSessions - a.averageActiveSessions);
  return {
    totalAverageActiveSessions: total,
    waits: rows(waitSeries, 'db.wait_event.name', 'db.wait_event.type'),
    statements: rows(statementSeries, 'db.sql_tokenized.statement', 'db.sql_tokenized.id'),
  };
}

function reasonOf(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  return `${e.name}: ${e.message.split('\n')[0]}`;
}
