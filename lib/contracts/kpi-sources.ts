import { z } from 'zod';

/**
 * Dimension values of the server-side KPIs, as the Monitoring stack publishes them in its `KpiSources`
 * output (a JSON string). The KPI report reads them with CloudFormation DescribeStacks, or from a file
 * (`--sources`). One schema gives the type and the parser.
 */
const name = z.string().min(1);
export const kpiSourcesSchema = z.strictObject({
  /** AWS/ApplicationELB `LoadBalancer` dimension (app/<name>/<id>). */
  loadBalancerFullName: name,
  /** AWS/ApplicationELB `TargetGroup` dimension (targetgroup/<name>/<id>). */
  targetGroupFullName: name,
  /** AWS/ECS and ECS/ContainerInsights `ClusterName`. */
  clusterName: name,
  /** `ServiceName` of the API and of the worker. */
  apiServiceName: name,
  workerServiceName: name,
  /** AWS/SQS `QueueName` of the jobs queue and its dead-letter queue. */
  queueName: name,
  deadLetterQueueName: name,
  /** AWS/RDS `DBClusterIdentifier`. */
  dbClusterIdentifier: name,
});

export type KpiSources = z.infer<typeof kpiSourcesSchema>;

/**
 * The output's fields out of a larger set of values (the Monitoring stack's own sources), in the schema's
 * order: the output JSON keeps that order.
 */
export function pickKpiSources(values: KpiSources): KpiSources {
  return Object.fromEntries(Object.keys(kpiSourcesSchema.shape).map((k) => [k, values[k as keyof KpiSources]])) as KpiSources;
}
