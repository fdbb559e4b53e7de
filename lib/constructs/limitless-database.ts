import type { RemovalPolicy } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { DatabaseConfig } from '../config/schema';

/** Performance Insights retention a Limitless cluster needs at least (days). */
export const LIMITLESS_MIN_PI_RETENTION_DAYS = 31;

/**
 * What `database` must say for a Limitless cluster, as AWS documents it, each problem naming the key and the
 * fix (empty when none). The cluster "needs" Performance Insights kept ≥ 31 days, cluster-level enhanced
 * monitoring, I/O-Optimized storage and the postgresql log exported
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-create-cluster.html; aws-cdk-lib's
 * ClusterScalabilityType example says the same); storage and the log export are set by this construct, the
 * other two come from config. It has no DB instances (the shard group's routers and shards replace them), so
 * no readers, no reader autoscaling, and no RDS Proxy (a proxy targets a cluster's instances; AWS documents no
 * proxy for Limitless: https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html).
 */
export function limitlessProblems(config: DatabaseConfig): string[] {
  const problems: string[] = [];
  if (config.performanceInsightsRetentionDays < LIMITLESS_MIN_PI_RETENTION_DAYS) {
    problems.push(`needs Performance Insights kept at least ${LIMITLESS_MIN_PI_RETENTION_DAYS} days: database.performanceInsightsRetentionDays is ${config.performanceInsightsRetentionDays}, set it to ${LIMITLESS_MIN_PI_RETENTION_DAYS} or more`);
  }
  if (config.monitoringIntervalSeconds === 0) {
    problems.push('needs enhanced monitoring: database.monitoringIntervalSeconds is 0, set it to 1, 5, 10, 15, 30 or 60');
  }
  if (config.readers > 0) problems.push(`has no DB instances (the shard group replaces them): database.readers is ${config.readers}, set it to 0`);
  if (config.readerAutoscaling.enabled) problems.push('has no readers to scale: set database.readerAutoscaling.enabled to false');
  if (config.proxy.enabled) problems.push('cannot sit behind RDS Proxy: set database.proxy.enabled to false');
  return problems;
}

export interface LimitlessShardGroupProps {
  /** The Limitless cluster (ClusterScalabilityType.LIMITLESS). */
  readonly cluster: rds.DatabaseCluster;
  readonly config: DatabaseConfig['sharding']['limitless'];
  /** DBShardGroupIdentifier: fixed for the shard group's life. */
  readonly identifier: string;
  /** The cluster's: the shard group holds the same data's compute. */
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The DB shard group of an Aurora PostgreSQL Limitless Database cluster (L1: aws-cdk-lib has no L2).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbshardgroup.html
 * - MaxACU: the whole group's capacity (routers and shards); it also sets how many routers and shards the
 *   group is created with (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-cluster.html).
 * - MinACU: its floor, billed while it runs (16 ACU at least: limitless-create-cluster.html).
 * - ComputeRedundancy: 0 none, 1 a standby in another AZ, 2 two standbys (API_DBShardGroup.html); each standby
 *   doubles the shards' compute and its cost.
 * - PubliclyAccessible false: the group's endpoints resolve to private addresses in the cluster's subnets.
 * - DBShardGroupIdentifier: "After you create the DB shard group, you can't change the DB cluster identifier or
 *   the DB shard group identifier" (limitless-create-cluster.html), hence a name of our own, fixed per stack.
 */
export class LimitlessShardGroup extends Construct {
  readonly resource: rds.CfnDBShardGroup;

  /** The DatabaseCluster props of a Limitless cluster besides those every cluster here gets. */
  static clusterProps(): Pick<rds.DatabaseClusterProps, 'clusterScalabilityType' | 'storageType'> {
    return {
      // "You can't modify this setting after you create the DB cluster" (CreateDBCluster ClusterScalabilityType).
      clusterScalabilityType: rds.ClusterScalabilityType.LIMITLESS,
      storageType: rds.DBClusterStorageType.AURORA_IOPT1,
    };
  }

  constructor(scope: Construct, id: string, props: LimitlessShardGroupProps) {
    super(scope, id);
    const { config } = props;
    if (config.minCapacityAcu > config.maxCapacityAcu) {
      throw new Error(`${this.node.path}: database.sharding.limitless.minCapacityAcu (${config.minCapacityAcu}) is above maxCapacityAcu (${config.maxCapacityAcu}): set minCapacityAcu to at most maxCapacityAcu`);
    }
    this.resource = new rds.CfnDBShardGroup(this, 'Resource', {
      dbClusterIdentifier: props.cluster.clusterIdentifier,
      dbShardGroupIdentifier: props.identifier,
      maxAcu: config.maxCapacityAcu,
      minAcu: config.minCapacityAcu,
      computeRedundancy: config.computeRedundancy,
      publiclyAccessible: false,
    });
    this.resource.applyRemovalPolicy(props.removalPolicy);
  }
}
