import { GetResourceMetricsCommand, NotAuthorizedException, type GetResourceMetricsCommandInput, type GetResourceMetricsCommandOutput, type MetricKeyDataPoints } from '@aws-sdk/client-pi';
import { DBClusterNotFoundFault, DescribeDBClustersCommand, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import * as fs from 'fs';
import * as path from 'path';
import type { DbWaitsClients } from '../../../tools/kpi-report/db-waits';

/**
 * Stubbed RDS and Performance Insights clients for the report's top waits: moto implements neither
 * GetResourceMetrics nor Aurora's DbiResourceId faithfully, so the PI answer is a recorded one
 * (fixtures/pi/get-resource-metrics.json, the API's JSON with epoch-second times) and the RDS answers are
 * the two fields the report reads. The SDK's own exception classes stand for AWS's errors.
 */

interface RecordedPoint { Timestamp: number; Value?: number }
interface RecordedMetric { Key: { Metric: string; Dimensions?: Record<string, string> }; DataPoints: RecordedPoint[] }

/** The recorded GetResourceMetrics answer, as the SDK hands it over (times as Dates). */
export function recordedMetricList(): MetricKeyDataPoints[] {
  const file = path.join(__dirname, 'fixtures', 'pi', 'get-resource-metrics.json');
  const recorded = JSON.parse(fs.readFileSync(file, 'utf8')) as { response: { MetricList: RecordedMetric[] } };
  return recorded.response.MetricList.map((m) => ({
    Key: m.Key, DataPoints: m.DataPoints.map((p) => ({ Timestamp: new Date(p.Timestamp * 1000), Value: p.Value })),
  }));
}

export interface PiStubOptions {
  readonly clusterId: string;
  readonly writer?: string;
  readonly resourceId?: string;
  readonly performanceInsightsEnabled?: boolean;
  /** The answer's MetricList, split into this many pages (NextToken). */
  readonly pages?: number;
  /** GetResourceMetrics fails with this instead of answering. */
  readonly piError?: Error;
}

export interface PiStub extends DbWaitsClients {
  /** Every GetResourceMetrics request, in order. */
  readonly piCalls: GetResourceMetricsCommandInput[];
}

export function piStub(o: PiStubOptions): PiStub {
  const writer = o.writer ?? `${o.clusterId}-writer`;
  const piCalls: GetResourceMetricsCommandInput[] = [];
  const rds = {
    send: async (command: unknown) => {
      if (command instanceof DescribeDBClustersCommand) {
        if (command.input.DBClusterIdentifier !== o.clusterId) {
          throw new DBClusterNotFoundFault({ message: `DBCluster ${command.input.DBClusterIdentifier} not found.`, $metadata: { httpStatusCode: 404 } });
        }
        return { DBClusters: [{ DBClusterIdentifier: o.clusterId, DBClusterMembers: [
          { DBInstanceIdentifier: `${o.clusterId}-reader`, IsClusterWriter: false }, { DBInstanceIdentifier: writer, IsClusterWriter: true },
        ] }] };
      }
      if (command instanceof DescribeDBInstancesCommand) {
        const id = command.input.DBInstanceIdentifier;
        return { DBInstances: [{ DBInstanceIdentifier: id, DbiResourceId: id === writer ? o.resourceId ?? 'db-ABCDEFGHIJKLMNOPQRSTU1VW2X' : 'db-READER', PerformanceInsightsEnabled: o.performanceInsightsEnabled ?? true }] };
      }
      throw new Error(`rds stub: unexpected ${(command as object).constructor.name}`);
    },
  } as unknown as DbWaitsClients['rds'];
  const list = recordedMetricList();
  const pages = o.pages ?? 1;
  const size = Math.ceil(list.length / pages);
  const pi = {
    send: async (command: unknown): Promise<Partial<GetResourceMetricsCommandOutput>> => {
      if (!(command instanceof GetResourceMetricsCommand)) throw new Error(`pi stub: unexpected ${(command as object).constructor.name}`);
      piCalls.push(command.input);
      if (o.piError) throw o.piError;
      const page = command.input.NextToken === undefined ? 0 : Number(command.input.NextToken);
      return { MetricList: list.slice(page * size, (page + 1) * size), NextToken: page + 1 < pages ? String(page + 1) : undefined };
    },
  } as unknown as DbWaitsClients['pi'];
  return { rds, pi, piCalls };
}

/** What PI says when it is not enabled on the instance, or the caller may not read it. */
export function notAuthorized(message = 'Performance Insights not enabled on this instance.'): Error {
  return new NotAuthorizedException({ message, $metadata: { httpStatusCode: 400 } });
}
