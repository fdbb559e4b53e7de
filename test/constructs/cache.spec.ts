import { Match, type Template } from 'aws-cdk-lib/assertions';
import { CACHE_ENGINE_VERSIONS } from '../../lib/config/supported';
import { CACHE_APP_ACCESS_STRING, CACHE_KEY_PREFIX, cacheAccessString, checkRbacId } from '../../lib/constructs/cache';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

const keyRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] };
const groupRef = { Ref: Match.stringLikeRegexp('^CacheUserGroup') };
/** ElastiCache user and user-group ids: lower-case letter first, letters, digits, single hyphens, at most 40. */
const RBAC_ID = /^(?=.{1,40}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

/** The access-control resources of a Data stack template, by role. */
function accessControl(t: Template) {
  const users = Object.values(t.findResources('AWS::ElastiCache::User'));
  const groups = Object.values(t.findResources('AWS::ElastiCache::UserGroup'));
  expect(users).toHaveLength(2);
  expect(groups).toHaveLength(1);
  const app = users.find((u) => u.Properties.UserName !== 'default')!;
  const disabledDefault = users.find((u) => u.Properties.UserName === 'default')!;
  return { app, disabledDefault, group: groups[0] };
}

/** What both modes promise about who may connect. */
function accessControlTests(t: () => Template, userId: () => string) {
  test('the application user authenticates with IAM: its name is its id (IAM requires it), a valid id, the scoped access string', () => {
    const { app } = accessControl(t());
    expect(app.Properties).toEqual({
      Engine: 'redis',
      UserId: userId(),
      UserName: userId(),
      AuthenticationMode: { Type: 'iam' },
      AccessString: CACHE_APP_ACCESS_STRING,
    });
    expect(userId()).toMatch(RBAC_ID);
  });

  test('the application user may run only what the workload sends, on keys under its prefix only', () => {
    const { app } = accessControl(t());
    // Written out, so that widening the constant cannot pass unnoticed.
    expect(app.Properties.AccessString).toBe('on ~app:* -@all +get +set +del +ping +info +cluster|slots +cluster|info +asking');
    expect(CACHE_KEY_PREFIX).toBe('app:');
  });

  test('the mandatory default user is off, can run nothing and has no password', () => {
    const { disabledDefault } = accessControl(t());
    expect(disabledDefault.Properties).toEqual({
      Engine: 'redis',
      UserId: expect.stringMatching(RBAC_ID),
      UserName: 'default',
      AuthenticationMode: { Type: 'no-password-required' },
      AccessString: 'off -@all',
    });
  });

  test('one user group holds exactly the default user and the application user, created after both', () => {
    const { app, disabledDefault, group } = accessControl(t());
    expect(group.Properties.Engine).toBe('redis');
    expect(group.Properties.UserGroupId).toMatch(RBAC_ID);
    expect([...group.Properties.UserIds].sort()).toEqual([app.Properties.UserId, disabledDefault.Properties.UserId].sort());
    expect([...group.DependsOn].sort()).toEqual(Object.keys(t().findResources('AWS::ElastiCache::User')).sort());
  });

  test('no password anywhere: no AUTH token, no secret, no user password', () => {
    t().resourcePropertiesCountIs('AWS::SecretsManager::Secret', { Description: Match.stringLikeRegexp('ElastiCache') }, 0);
    const text = JSON.stringify(Object.values(t().toJSON().Resources).filter((r: any) => r.Type.startsWith('AWS::ElastiCache::')));
    expect(text).not.toMatch(/"AuthToken"|"Passwords"|"NoPasswordRequired"/);
  });
}

test('user and user-group ids ElastiCache would refuse fail synth, naming the id and the fix', () => {
  expect(checkRbacId('scalingblueprint-dev-data-cache-app')).toBe('scalingblueprint-dev-data-cache-app');
  for (const bad of ['1cache', 'cache--app', 'cache-', 'Cache', 'cache_app', 'a'.repeat(41), '']) {
    expect(() => checkRbacId(bad)).toThrow(`ElastiCache user or user-group id "${bad}" (made from the stack name) must be 1 to 40 characters`);
  }
  expect(() => checkRbacId('1cache')).toThrow(/Fix: rename the stack$/);
});

test('a cache key prefix that would widen the ACL key pattern fails synth, naming the prefix', () => {
  expect(cacheAccessString('x:', ['get'])).toBe('on ~x:* -@all +get');
  for (const bad of ['', 'a*', 'a?', 'a[b]', 'a\\b', 'a b']) {
    expect(() => cacheAccessString(bad)).toThrow(`cache key prefix "${bad}" must be non-empty, without glob characters or spaces: it becomes the ACL key pattern "~${bad}*"`);
  }
});

test('every engine version the blueprint deploys supports IAM authentication (Valkey 7.2+, Redis OSS 7.0+)', () => {
  const atLeast = (v: string, min: [number, number]) => { const [a, b] = v.split('.').map(Number); return a > min[0] || (a === min[0] && b >= min[1]); };
  for (const v of CACHE_ENGINE_VERSIONS.valkey) expect({ v, ok: atLeast(v, [7, 2]) }).toEqual({ v, ok: true });
  for (const v of CACHE_ENGINE_VERSIONS.redis) expect({ v, ok: atLeast(v, [7, 0]) }).toEqual({ v, ok: true });
});

describe.each(ENVIRONMENTS)('ElastiCache replication group (%s)', (env) => {
  const cfg = configFor(env);
  const c = cfg.cache;
  const { data: t } = synth(env);
  const sharded = c.shards > 1;

  test('engine, node type, port, encryption at rest with the data key and in transit (TLS required), RBAC user group', () => {
    t.hasResourceProperties('AWS::ElastiCache::ReplicationGroup', {
      Engine: c.engine,
      EngineVersion: c.engineVersion,
      CacheNodeType: c.nodeType,
      Port: c.port,
      AtRestEncryptionEnabled: true,
      KmsKeyId: keyRef,
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      UserGroupIds: [groupRef],
      AuthToken: Match.absent(),
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
    for (const id of group.Properties.SubnetIds) expect(id['Fn::GetStackOutput'].OutputName).toMatch(/NetworkVpcDataSubnet\d/);
  });

  accessControlTests(() => t, () => synth(env).stacks.data.cache.userId);

  test('the cache security group allows nothing out and nothing in until a service is granted', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^ElastiCache'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32' })],
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('removal: snapshot unless the environment says destroy; users and group are deleted with the group', () => {
    t.hasResource('AWS::ElastiCache::ReplicationGroup', {
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Snapshot',
    });
    for (const type of ['AWS::ElastiCache::User', 'AWS::ElastiCache::UserGroup']) {
      for (const r of Object.values(t.findResources(type))) expect([r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual(['Delete', 'Delete']);
    }
  });

  test('the handle exposes the endpoint clients use', () => {
    const { cache } = synth(env).stacks.data;
    expect(cache.clusterMode).toBe(sharded);
    expect(cache.port).toBe(c.port);
    expect(cache.userId).toBe(`scalingblueprint-${env}-data-cache-app`);
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

  test('retained, since CloudFormation cannot snapshot it on delete, and so are its users and user group (in use); all deleted if their creation rolls back', () => {
    // Fixed names (the cache, the users, the group): kept after a failed first deploy, they would make the
    // retry fail with "already exists".
    t.hasResource('AWS::ElastiCache::ServerlessCache', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    for (const type of ['AWS::ElastiCache::User', 'AWS::ElastiCache::UserGroup']) {
      for (const r of Object.values(t.findResources(type))) expect([r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual(['RetainExceptOnCreate', 'Retain']);
    }
  });

  test('the RBAC user group is attached (serverless caches have no AUTH token at all)', () => {
    t.hasResourceProperties('AWS::ElastiCache::ServerlessCache', { UserGroupId: groupRef });
  });

  accessControlTests(() => t, () => stacks.data.cache.userId);

  test('the task roles may connect to this serverless cache as the application user, and the tasks know it is serverless', () => {
    const { compute } = synth('prod', { cache: { mode: 'serverless', serverlessMaxDataStorageGb: 20, serverlessMaxEcpuPerSecond: 50000 } });
    const statements = Object.values(compute.findResources('AWS::IAM::Policy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: unknown; Resource: unknown }>)
      .filter((st) => st.Action === 'elasticache:Connect');
    expect(statements).toHaveLength(2); // API and worker
    for (const st of statements) {
      expect(JSON.stringify(st.Resource)).toMatch(/:serverlesscache:scalingblueprint-prod-data-cache"\]\]\},.*:user:scalingblueprint-prod-data-cache-app"\]\]\}\]$/);
    }
    for (const def of Object.values(compute.findResources('AWS::ECS::TaskDefinition'))) {
      expect(def.Properties.ContainerDefinitions[0].Environment).toContainEqual({ Name: 'CACHE_SERVERLESS', Value: 'true' });
    }
  });
});
