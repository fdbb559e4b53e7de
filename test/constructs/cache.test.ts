import { Match } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

const keyRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] };

describe.each(ENVIRONMENTS)('ElastiCache replication group (%s)', (env) => {
  const cfg = configFor(env);
  const c = cfg.cache;
  const { data: t } = synth(env);
  const sharded = c.shards > 1;

  test('engine, node type, port, encryption at rest with the data key and in transit, AUTH from a secret', () => {
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: c.engine,
      EngineVersion: c.engineVersion,
      CacheNodeType: c.nodeType,
      Port: c.port,
      AtRestEncryptionEnabled: true,
      KmsKeyId: keyRef,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AuthToken: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: Match.stringLikeRegexp('^CacheAuthToken') }, ':SecretString:::}}']] },
      SnapshotRetentionLimit: c.snapshotRetentionDays,
      AutoMinorVersionUpgrade: true,
    });
    expect(c.port).not.toBe(6379);
  });

  test(sharded ? `cluster mode with ${c.shards} shards of ${c.replicas} replicas` : `one shard with ${c.replicas} replica(s)`, () => {
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', sharded
      ? { ClusterMode: 'enabled', NumNodeGroups: c.shards, ReplicasPerNodeGroup: c.replicas, CacheParameterGroupName: `default.${c.engine}${c.engineVersion.split('.')[0]}.cluster.on` }
      : { ClusterMode: 'disabled', NumCacheClusters: 1 + c.replicas, CacheParameterGroupName: `default.${c.engine}${c.engineVersion.split('.')[0]}` });
  });

  test('Multi-AZ and automatic failover exactly when there is a replica to fail over to', () => {
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      MultiAZEnabled: c.replicas > 0,
      AutomaticFailoverEnabled: c.replicas > 0 || sharded,
    });
  });

  test('in the isolated data subnets', () => {
    const [group] = Object.values(t.findResources('AWS::ElastiCache::SubnetGroup'));
    for (const id of group.Properties.SubnetIds) expect(id['Fn::ImportValue']).toMatch(/NetworkVpcDataSubnet\d/);
  });

  test('the AUTH token secret is generated, encrypted with the data key, letters and digits only', () => {
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: 'ElastiCache AUTH token',
      KmsKeyId: keyRef,
      GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
    });
  });

  test('the cache security group allows nothing out and nothing in until a service is granted', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^ElastiCache'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('removal: snapshot unless the environment says destroy', () => {
    t.hasResource('AWS::ElastiCache::ReplicationGroup', {
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Snapshot',
    });
  });

  test('the handle exposes the endpoint clients use', () => {
    const { cache } = synth(env).stacks.data;
    expect(cache.clusterMode).toBe(sharded);
    expect(cache.port).toBe(c.port);
    expect(cache.authSecret).toBeDefined();
    expect(cache.connections.defaultPort?.toString()).toBe(String(c.port));
  });
});

describe('ElastiCache Serverless', () => {
  const { data: t, stacks } = synth('prod', { cache: { mode: 'serverless', serverlessMaxDataStorageGb: 20, serverlessMaxEcpuPerSecond: 50000 } });

  test('replaces the replication group, encrypted with the data key, with usage limits from config', () => {
    t.resourceCountIs('AWS::ElastiCache::ReplicationGroup', 0);
    t.hasResourceProperties('AWS::ElastiCache::ServerlessCache', {
      Engine: 'valkey',
      MajorEngineVersion: '8',
      KmsKeyId: keyRef,
      CacheUsageLimits: { DataStorage: { Maximum: 20, Unit: 'GB' }, ECPUPerSecond: { Maximum: 50000 } },
      SnapshotRetentionLimit: 7,
      ServerlessCacheName: 'scalingblueprint-prod-data-cache',
    });
  });

  test('its fixed ports (6379 primary, 6380 reader) are the ones services will be granted', () => {
    expect(stacks.data.cache.port).toBe(6379);
    expect(stacks.data.cache.connections.defaultPort?.toString()).toBe('6379-6380');
  });

  test('retained, since CloudFormation cannot snapshot it on delete', () => {
    t.hasResource('AWS::ElastiCache::ServerlessCache', { DeletionPolicy: 'Retain' });
  });
});
