import { App, Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { AuroraDatabase } from '../../lib/constructs/aurora-database';
import { LimitlessShardGroup } from '../../lib/constructs/limitless-database';
import { LIMITLESS_DATABASE } from '../../lib/contracts/sharding';
import { configFor, featureFlags } from '../helpers/context';
import { synth } from '../helpers/synth';

// `database.sharding.mode: limitless` (dev: no readers, no proxy, no reader autoscaling already): an Aurora
// PostgreSQL Limitless Database cluster and its DB shard group, and the tasks pointed at postgres_limitless.

jest.setTimeout(60_000);

const LIMITLESS = { database: { sharding: { mode: 'limitless' }, performanceInsightsRetentionDays: 31 } };
const cfg = configFor('dev', LIMITLESS);
const { data, compute } = synth('dev', LIMITLESS);

test('the cluster: Limitless scalability, its engine version, I/O-Optimized storage, PI 31 days, cluster-level enhanced monitoring, the log exported, no database name', () => {
  data.resourceCountIs('AWS::RDS::DBCluster', 1);
  data.hasResourceProperties('AWS::RDS::DBCluster', {
    ClusterScalabilityType: 'limitless',
    Engine: 'aurora-postgresql',
    EngineVersion: cfg.database.sharding.limitless.engineVersion,
    StorageType: 'aurora-iopt1',
    StorageEncrypted: true,
    KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] },
    PerformanceInsightsEnabled: true,
    PerformanceInsightsRetentionPeriod: 31,
    MonitoringInterval: cfg.database.monitoringIntervalSeconds,
    MonitoringRoleArn: Match.anyValue(),
    EnableCloudwatchLogsExports: ['postgresql'],
    DatabaseName: Match.absent(),
  });
});

test('no DB instances, no proxy, no reader autoscaling', () => {
  data.resourceCountIs('AWS::RDS::DBInstance', 0);
  data.resourceCountIs('AWS::RDS::DBProxy', 0);
  data.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
});

test('the DB shard group: capacities and compute redundancy from config, private, on the cluster', () => {
  const ll = cfg.database.sharding.limitless;
  const [clusterId] = Object.keys(data.findResources('AWS::RDS::DBCluster'));
  data.hasResourceProperties('AWS::RDS::DBShardGroup', {
    DBClusterIdentifier: { Ref: clusterId },
    DBShardGroupIdentifier: 'scalingblueprint-dev-data-shards',
    MaxACU: ll.maxCapacityAcu,
    MinACU: ll.minCapacityAcu,
    ComputeRedundancy: ll.computeRedundancy,
    PubliclyAccessible: false,
  });
  // dev destroys its data with the stack; the shard group goes with the cluster.
  data.hasResource('AWS::RDS::DBShardGroup', { DeletionPolicy: 'Delete' });
});

test('the migrations run once the shard group exists (the database it serves), in postgres_limitless', () => {
  const [groupId] = Object.keys(data.findResources('AWS::RDS::DBShardGroup'));
  const [migrations] = Object.values(data.findResources('Custom::DatabaseMigrations'));
  expect(migrations.DependsOn).toContain(groupId);
  expect(migrations.Properties.Database).toBe(LIMITLESS_DATABASE);
});

test('the tasks: DB_SHARDING_MODE=limitless, the cluster endpoints, postgres_limitless; no DB_SHARDS', () => {
  const [clusterId] = Object.keys(data.findResources('AWS::RDS::DBCluster'));
  for (const [id, def] of Object.entries(compute.findResources('AWS::ECS::TaskDefinition'))) {
    const env = Object.fromEntries((def.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]));
    expect({ id, mode: env.DB_SHARDING_MODE, name: env.DB_NAME, shards: env.DB_SHARDS }).toEqual({ id, mode: 'limitless', name: LIMITLESS_DATABASE, shards: undefined });
    // Clients connect to the cluster's endpoints, which route to the shard group's routers
    // (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-shard.html#limitless-endpoint).
    expect(JSON.stringify(env.DB_WRITER_HOST)).toContain(`${clusterId}EndpointAddress`);
  }
});

test('no shard directory or shard mover (the database shards the tables itself)', () => {
  data.resourceCountIs('Custom::ShardDirectory', 0);
  expect(Object.keys(data.findOutputs('ReshardFunctionName'))).toEqual([]);
});

describe('refused by the construct, with the key and the fix', () => {
  const stack = () => {
    const s = new Stack(new App({ context: featureFlags() }), 'ScalingBlueprint-Test-Data', { env: { region: 'us-east-1' } });
    return { s, vpc: new ec2.Vpc(s, 'Vpc', { maxAzs: 2 }), key: new kms.Key(s, 'Key') };
  };
  const database = (overrides: Record<string, unknown>) => {
    const { s, vpc, key } = stack();
    const config = { ...cfg.database, ...overrides };
    return () => new AuroraDatabase(s, 'Database', {
      vpc, config, encryptionKey: key, secretsKey: key, logKey: key, removalPolicy: 'destroy', deletionProtection: false,
      limitless: config.sharding.limitless,
    });
  };

  test('every requirement the configuration misses, at once', () => {
    expect(database({
      performanceInsightsRetentionDays: 7, monitoringIntervalSeconds: 0, readers: 1,
      readerAutoscaling: { ...cfg.database.readerAutoscaling, enabled: true }, proxy: { ...cfg.database.proxy, enabled: true },
    })).toThrow('ScalingBlueprint-Test-Data/Database: database.sharding.mode is "limitless", which '
      + 'needs Performance Insights kept at least 31 days: database.performanceInsightsRetentionDays is 7, set it to 31 or more; '
      + 'needs enhanced monitoring: database.monitoringIntervalSeconds is 0, set it to 1, 5, 10, 15, 30 or 60; '
      + 'has no DB instances (the shard group replaces them): database.readers is 1, set it to 0; '
      + 'has no readers to scale: set database.readerAutoscaling.enabled to false; '
      + 'cannot sit behind RDS Proxy: set database.proxy.enabled to false');
  });

  test('a minimum capacity above the maximum', () => {
    const { s } = stack();
    expect(() => new LimitlessShardGroup(s, 'ShardGroup', {
      cluster: undefined as never, identifier: 'x', removalPolicy: undefined as never,
      config: { ...cfg.database.sharding.limitless, minCapacityAcu: 128, maxCapacityAcu: 64 },
    })).toThrow('ScalingBlueprint-Test-Data/ShardGroup: database.sharding.limitless.minCapacityAcu (128) is above maxCapacityAcu (64): set minCapacityAcu to at most maxCapacityAcu');
  });
});
