import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { stackPrefix } from '../../lib/contracts/stacks';
import { loadConfig } from '../../lib/config/loader';
import { LAMBDA_RUNTIMES } from '../../lib/config/supported';
import { blueprintContext, configFor, featureFlags } from '../helpers/context';
import { normalizeTemplate } from '../helpers/normalize';
import { ENVIRONMENTS, synth } from '../helpers/synth';

/**
 * Logical ids of the stateful resources. A change here replaces a database, cache or queue on the next
 * deploy: if it is intended, update this list in the same commit and say so in the change note.
 */
const PINNED_DATA_IDS = {
  // One key per class of data; DataKey (database, Performance Insights, cache) keeps its id: a new key on the
  // cluster or the replication group would replace them.
  'AWS::KMS::Key': ['DataKey2A0DE9E6', 'LogKey15608DC4', 'QueueKey5CB3BD8B', 'SecretsKey0D2EC683'],
  'AWS::RDS::DBCluster': ['DatabaseCluster5B53A178'],
  // The services' users' secrets too: a new logical id would replace the secret, and the user's password with it.
  'AWS::SecretsManager::Secret': ['DatabaseMasterSecretC5C2A01F', 'DatabaseRolesApiSecretEC255F18', 'DatabaseRolesWorkerSecret58F757DC'],
  'AWS::ElastiCache::ReplicationGroup': ['CacheReplicationGroupBFE59FF3'],
  // Users and user groups have fixed ids: under a new logical id CloudFormation would create the "new" one
  // before deleting the old, and fail on the id that is still taken.
  'AWS::ElastiCache::User': ['CacheAppUser61A72E56', 'CacheDefaultUser47D483BA'],
  'AWS::ElastiCache::UserGroup': ['CacheUserGroup978A79CF'],
  'AWS::SQS::Queue': ['JobsDeadLetterQueue8CC426EE', 'JobsQueue24944186'],
} as const;

describe.each(ENVIRONMENTS)('stacks of %s', (env) => {
  const cfg = configFor(env);
  const { stacks, data, network, compute, monitoring, loadTest } = synth(env);

  test('ids follow ScalingBlueprint-<Env>-<Part>', () => {
    const prefix = stackPrefix(env);
    expect(prefix).toBe(`ScalingBlueprint-${env[0].toUpperCase()}${env.slice(1)}`);
    expect(stacks.network.stackName).toBe(`${prefix}-Network`);
    expect(stacks.data.stackName).toBe(`${prefix}-Data`);
  });

  test('logical ids of the stateful resources are pinned', () => {
    for (const [type, ids] of Object.entries(PINNED_DATA_IDS)) {
      expect(Object.keys(data.findResources(type)).sort()).toEqual([...ids].sort());
    }
  });

  test('termination protection on the Data stack follows config', () => {
    expect(stacks.data.terminationProtection).toBe(cfg.stateful.terminationProtection);
  });

  test('the data keys rotate and outlive the stack unless destroy is configured', () => {
    const keys = Object.values(data.findResources('AWS::KMS::Key'));
    expect(keys).toHaveLength(4);
    for (const key of keys) {
      expect(key).toMatchObject({
        Properties: { EnableKeyRotation: true },
        DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'RetainExceptOnCreate',
      });
    }
  });

  test('stacks read each other\'s values with Fn::GetStackOutput (weak references), not imports or lookups', () => {
    expect(stacks.data.dependencies).toEqual([stacks.network]);
    const byName = (a: { stackName: string }, b: { stackName: string }) => a.stackName.localeCompare(b.stackName);
    expect(stacks.compute.dependencies.sort(byName)).toEqual([stacks.data, stacks.network]);
    // Only stateless stacks depend on others: Compute and Monitoring can be destroyed and recreated freely.
    expect(stacks.monitoring.dependencies.sort(byName)).toEqual([stacks.compute, stacks.data]);
    expect(stacks.network.dependencies).toEqual([]);
    const templates = {
      [stacks.network.stackName]: network, [stacks.data.stackName]: data, [stacks.compute.stackName]: compute, [stacks.monitoring.stackName]: monitoring,
      ...(stacks.loadTest && loadTest && { [stacks.loadTest.stackName]: loadTest }),
    };
    const text = (t: typeof data) => JSON.stringify(t.toJSON());
    // No Fn::ImportValue: an imported export cannot change or go (docs/stack-references.md).
    for (const t of Object.values(templates)) expect(text(t)).not.toContain('{"Fn::ImportValue":');
    const reads = Object.values(templates).flatMap((t) => [...text(t).matchAll(/\{"Fn::GetStackOutput":\{"StackName":"([^"]+)","Region":"([^"]+)","OutputName":"([^"]+)"\}\}/g)]
      .map(([, stack, region, output]) => ({ stack, region, output })));
    expect(reads.length).toBeGreaterThan(0);
    for (const { stack, region, output } of reads) {
      expect(region).toBe(cfg.region);
      expect(Object.keys(templates[stack].findOutputs(output))).toEqual([output]);
    }
    // Every output CDK publishes for another stack is read by one.
    for (const [name, t] of Object.entries(templates)) {
      for (const output of Object.keys(t.findOutputs('*')).filter((o) => o.startsWith('PublishOutput'))) {
        expect(reads).toContainEqual({ stack: name, region: cfg.region, output });
      }
    }
  });

  test('no security group accepts traffic from 0.0.0.0/0 or ::/0, except the load balancer on its listener ports', () => {
    const open: string[] = [];
    for (const t of [network, data, compute]) {
      for (const [id, group] of Object.entries(t.findResources('AWS::EC2::SecurityGroup'))) {
        for (const rule of group.Properties.SecurityGroupIngress ?? []) {
          if (rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0') open.push(`${id}:${rule.FromPort}-${rule.ToPort}`);
        }
      }
      for (const [id, rule] of Object.entries(t.findResources('AWS::EC2::SecurityGroupIngress'))) {
        if (rule.Properties.CidrIp === '0.0.0.0/0' || rule.Properties.CidrIpv6 === '::/0') open.push(`${id}:${rule.Properties.FromPort}`);
      }
    }
    // In the order of open.sort(): "…:443-443" sorts before "…:80-80".
    const listenerPorts = cfg.alb.certificateArn ? [443, 80] : [80];
    expect(open.sort()).toEqual(listenerPorts.map((p) => expect.stringMatching(new RegExp(`^WebLoadBalancerSecurityGroup[0-9A-F]+:${p}-${p}$`))));
  });

  test('CDK reports no errors on any stack', () => {
    // One forced synth of the app for all its stacks: Annotations.fromStack forces a synth of the whole app
    // per stack (13 in all), and reads the same messages (level error = type aws:cdk:error, any id).
    const assembly = (stacks.network.node.root as App).synth({ force: true });
    const all = [stacks.network, stacks.data, stacks.compute, stacks.monitoring, stacks.loadTest].filter((x) => x !== undefined);
    expect(all.length).toBeGreaterThanOrEqual(4);
    for (const stack of all) {
      expect(assembly.getStackArtifact(stack.artifactId).messages.filter((m) => m.level === 'error')).toEqual([]);
    }
  });

  test('every Lambda function (CDK-provided ones included) runs on a runtime of the dated allow-list', () => {
    const runtimes = [network, data, compute, monitoring, loadTest].flatMap((t) =>
      (t ? Object.values(t.findResources('AWS::Lambda::Function')) : []).map((fn) => fn.Properties.Runtime as string));
    expect(runtimes.length).toBeGreaterThan(0);
    for (const runtime of runtimes) expect(LAMBDA_RUNTIMES).toContain(runtime);
  });

  test('every stack is tagged with the project and the environment', () => {
    for (const stack of [stacks.network, stacks.data, stacks.compute, stacks.monitoring]) {
      expect(stack.tags.tagValues()).toEqual({ Project: 'scaling-blueprint', Environment: env });
    }
  });
});

// One normalised snapshot per stack per environment. A diff here means the infrastructure changed: read it,
// then `npm run test:update` if the change is intended. Fine-grained assertions live beside the constructs.
describe.each(ENVIRONMENTS)('snapshots of %s', (env) => {
  const result = synth(env);
  const parts = (['network', 'data', 'compute', 'monitoring', 'loadTest'] as const).filter((part) => result[part] !== undefined);
  test.each(parts)('%s stack matches the snapshot', (part) => {
    expect(normalizeTemplate(result[part]!.toJSON())).toMatchSnapshot();
  });
});

// Traps that only show at deploy time, caught on the templates.

/** Every stack of an environment with a long name (a user's "performance-testing-eu-central-1" and its twin). */
function longNamed(envName: string) {
  const ctx = blueprintContext();
  ctx.environments[envName] = { ...ctx.environments.staging, cache: { mode: 'serverless' } };
  // No Lambda bundling (esbuild: ~4 s of CPU per app), as in synth(): the names are in the templates alone.
  const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false, stackTraces: false });
  const stacks = buildApp(app, loadConfig(ctx, envName));
  return Template.fromStack(stacks.data);
}

describe('names AWS limits', () => {
  const a = longNamed('performance-testing-eu-central-1');
  const b = longNamed('performance-testing-eu-central-2');
  const names = (t: Template) => {
    const [cluster] = Object.values(t.findResources('AWS::RDS::DBCluster'));
    const [endpoint] = Object.values(t.findResources('AWS::RDS::DBProxyEndpoint'));
    const [cache] = Object.values(t.findResources('AWS::ElastiCache::ServerlessCache'));
    const log = Object.values(t.findResources('AWS::Logs::LogGroup')).find((g) => typeof g.Properties.LogGroupName === 'string')!;
    const [userGroup] = Object.values(t.findResources('AWS::ElastiCache::UserGroup'));
    return {
      cluster: cluster.Properties.DBClusterIdentifier as string,
      endpoint: endpoint.Properties.DBProxyEndpointName as string,
      cache: cache.Properties.ServerlessCacheName as string,
      log: log.Properties.LogGroupName as string,
      cacheAccess: [userGroup.Properties.UserGroupId, ...Object.values(t.findResources('AWS::ElastiCache::User')).map((u) => u.Properties.UserId)] as string[],
    };
  };

  test('stay inside the limits for a long environment name', () => {
    const n = names(a);
    expect(n.cluster).toMatch(/^[a-z](?!.*--)[a-z0-9-]{0,62}$/); // DB cluster identifier: 63, letter first
    expect(n.cluster).not.toMatch(/-$/);
    expect(n.endpoint).toMatch(/^[a-z](?!.*--)[a-z0-9-]{0,62}$/);
    expect(n.cache.length).toBeLessThanOrEqual(40); // serverless cache name: 40
    expect(n.log.length).toBeLessThanOrEqual(512);
    // ElastiCache user and user-group ids: letter first, lower-case letters, digits, single hyphens; 40 is ours
    for (const id of n.cacheAccess) expect(id).toMatch(/^(?=.{1,40}$)[a-z][a-z0-9]*(-[a-z0-9]+)*$/);
  });

  test('two long names that share a prefix do not collide after truncation', () => {
    const [x, y] = [names(a), names(b)];
    expect(x.cluster).not.toBe(y.cluster);
    expect(x.endpoint).not.toBe(y.endpoint);
    expect(x.cache).not.toBe(y.cache);
    for (const id of x.cacheAccess) expect(y.cacheAccess).not.toContain(id);
  });
});

describe.each(ENVIRONMENTS)('deploy traps in %s', (env) => {
  const s = synth(env);
  const all = [s.network, s.data, s.compute, s.monitoring];

  test('every log group has a retention', () => {
    for (const t of all) {
      for (const group of Object.values(t.findResources('AWS::Logs::LogGroup'))) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test('stateful resources carry explicit DeletionPolicy and UpdateReplacePolicy', () => {
    const stateful = ['AWS::RDS::DBCluster', 'AWS::ElastiCache::ReplicationGroup', 'AWS::ElastiCache::ServerlessCache', 'AWS::SQS::Queue',
      'AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket'];
    let seen = 0;
    for (const t of all) {
      for (const type of stateful) {
        for (const [id, r] of Object.entries(t.findResources(type))) {
          seen++;
          expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({ id, deletion: expect.any(String), replace: expect.any(String) });
        }
      }
    }
    expect(seen).toBeGreaterThan(10);
  });

  test('the cache takes IAM authentication: TLS required, the user group attached, no AUTH token (they do not mix)', () => {
    const [group] = Object.values(s.data.findResources('AWS::ElastiCache::ReplicationGroup'));
    // IAM authentication needs encryption in transit; RBAC replaces the AUTH token.
    expect(group.Properties).toMatchObject({ TransitEncryptionEnabled: true, TransitEncryptionMode: 'required', UserGroupIds: [{ Ref: expect.stringMatching(/^CacheUserGroup/) }] });
    expect(group.Properties.AuthToken).toBeUndefined();
    expect(group.Properties.EngineVersion).toMatch(group.Properties.Engine === 'valkey' ? /^(7\.[2-9]|[89]|\d{2,})/ : /^([7-9]|\d{2,})\./);
  });

  test('the IAM-enabled cache user has its id as its name, and the user named default is off', () => {
    const users = Object.values(s.data.findResources('AWS::ElastiCache::User')).map((u) => u.Properties);
    const iam = users.filter((u) => u.AuthenticationMode?.Type === 'iam');
    expect(iam).toHaveLength(1);
    expect(iam[0].UserName).toBe(iam[0].UserId);
    const byName = users.filter((u) => u.UserName === 'default');
    expect(byName).toHaveLength(1);
    expect(byName[0].AccessString).toMatch(/^off\b/);
    expect(byName[0].UserId).not.toBe('default'); // the AWS-managed default user (on, no password) keeps that id
  });

  test('ALB access logs go to an SSE-S3 bucket (a KMS-encrypted bucket makes log delivery fail)', () => {
    const [bucket] = Object.values(s.compute.findResources('AWS::S3::Bucket'));
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
  });

  test('cross-stack references only from stateless to stateful stacks: Data and Network read nothing from Compute or Monitoring', () => {
    for (const t of [s.network, s.data]) expect(JSON.stringify(t.toJSON())).not.toMatch(/"StackName":"ScalingBlueprint-\w+-(Compute|Monitoring)"/);
  });
});
