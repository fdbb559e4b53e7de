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
  /** AWS/RDS `ProxyName` of the RDS Proxy; absent without a proxy. */
  proxyName: name.optional(),
  /** AWS/RDS `DBShardGroupIdentifier` of the Aurora Limitless DB shard group; absent outside `database.sharding.mode: limitless`. */
  dbShardGroupIdentifier: name.optional(),
  /** AWS/ElastiCache: the replication group id or the serverless cache's name (`clusterId`). */
  cacheId: name.optional(),
  /** AWS/ElastiCache `CacheClusterId` of each node of a replication group; [] for a serverless cache. */
  cacheNodeIds: z.array(name).readonly().optional(),
  /** Whether the cache is ElastiCache Serverless (its KPIs come from cache-level metrics). */
  cacheServerless: z.boolean().optional(),
  /** The KPI dashboard's name, for a deep link to the run's window. */
  dashboardName: name.optional(),
});

export type KpiSources = z.infer<typeof kpiSourcesSchema>;

/**
 * The output's fields out of a larger set of values (the Monitoring stack's own sources), in the schema's
 * order: the output JSON keeps that order.
 */
export function pickKpiSources(values: KpiSources): KpiSources {
  return Object.fromEntries(Object.keys(kpiSourcesSchema.shape).flatMap((k) => {
    const v = values[k as keyof KpiSources];
    return v === undefined ? [] : [[k, v]];
  })) as KpiSources;
}

/** The fields that hold one dimension value each (the others are lists and flags). */
export type KpiSourceDimension = { [K in keyof KpiSources]-?: NonNullable<KpiSources[K]> extends string ? K : never }[keyof KpiSources];
