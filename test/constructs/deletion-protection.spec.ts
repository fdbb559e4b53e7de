import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { GUARD_EXCEPTIONS_METADATA } from '../../lib/constructs/guard';
import { DataStack } from '../../lib/stacks/data-stack';
import { NetworkStack } from '../../lib/stacks/network-stack';
import { configFor, featureFlags } from '../helpers/context';
import { deletionOrder } from '../helpers/deletion-order';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { policyStatements } from '../helpers/template';

type Resource = { Type: string; Properties: any; DeletionPolicy?: string; UpdateReplacePolicy?: string; Metadata?: Record<string, any> };

// A first deploy of the Data stack that fails rolls back: CloudFormation deletes what it created. What it
// would keep instead (DeletionPolicy Retain) survives, and the retry then fails on the names still taken
// (the postgresql log group, the cache users) or leaves keys, secrets and queues behind; a cluster created
// with RDS deletion protection cannot be deleted at all, and the stack ends in ROLLBACK_FAILED.
describe.each(ENVIRONMENTS)('a failed first Data deploy rolls back cleanly (%s)', (env) => {
  const cfg = configFor(env);
  const { data: t } = synth(env);
  const resources = Object.entries(t.toJSON().Resources as Record<string, Resource>);
  const protectedCluster = cfg.stateful.removalPolicy !== 'destroy';

  test('nothing in the Data stack is plain Retain: what it keeps on deletion it deletes when its creation rolls back', () => {
    const kept = resources.filter(([, r]) => r.DeletionPolicy === 'Retain').map(([id, r]) => `${id} (${r.Type})`);
    expect(kept).toEqual([]);
    if (protectedCluster) {
      for (const type of ['AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::SQS::Queue', 'AWS::Logs::LogGroup']) {
        for (const [id, r] of resources.filter(([, x]) => x.Type === type)) {
          expect([id, r.DeletionPolicy, r.UpdateReplacePolicy]).toEqual([id, 'RetainExceptOnCreate', 'Retain']);
        }
      }
    }
  });

  test('the postgresql log group, whose name is fixed, goes with a rolled-back creation (else: "already exists" on the retry)', () => {
    t.hasResource('AWS::Logs::LogGroup', {
      Properties: Match.objectLike({ LogGroupName: `/aws/rds/cluster/scalingblueprint-${env}-data-aurora/postgresql` }),
      DeletionPolicy: protectedCluster ? 'RetainExceptOnCreate' : 'Delete',
    });
  });

  if (!protectedCluster) {
    test('no deletion protection where the environment is torn down with cdk destroy: no custom resource either', () => {
      t.hasResourceProperties('AWS::RDS::DBCluster', { DeletionProtection: false });
      t.resourceCountIs('Custom::AuroraDeletionProtection', 0);
    });
    return;
  }

  const [crId, cr] = resources.find(([, r]) => r.Type === 'Custom::AuroraDeletionProtection') ?? [];
  const [clusterId, cluster] = resources.find(([, r]) => r.Type === 'AWS::RDS::DBCluster')!;

  test('the cluster is created without deletion protection; one custom resource turns it on, for this cluster', () => {
    expect(cluster.Properties.DeletionProtection).toBeUndefined();
    t.resourceCountIs('Custom::AuroraDeletionProtection', 1);
    expect(cr!.Properties.ClusterIdentifier).toEqual({ Ref: clusterId });
    // Deleted, and so called, on stack deletion and on a rolled-back creation.
    expect(cr!.DeletionPolicy).toBe('Delete');
  });

  test('the custom resource is created after, and deleted before, every other resource of the stack', () => {
    const order = deletionOrder(t);
    const own = resources.filter(([id]) => id.startsWith('DatabaseDeletionProtection')).map(([id]) => id);
    const others = resources.map(([id]) => id).filter((id) => !own.includes(id) && id !== 'CDKMetadata');
    expect(others.length).toBeGreaterThan(40);
    expect(others.filter((id) => !order.deletedBefore(crId!, id))).toEqual([]);
    // Nothing waits for it, so a failure of any other resource comes before the protection is on.
    expect(resources.map(([id]) => id).filter((id) => id !== crId && order.deletedBefore(id, crId!))).toEqual([]);
    expect(order.acyclic()).toBe(true);
  });

  test('cdk-nag and Control Tower are told where the protection comes from, on the cluster', () => {
    const exceptions = cluster.Metadata?.[GUARD_EXCEPTIONS_METADATA] as Array<{ rule: string; reason: string }>;
    expect(exceptions).toContainEqual({ rule: 'CT.RDS.PR.3', reason: expect.stringMatching(/^Deletion protection is on, but set by the AuroraDeletionProtection custom resource/) });
  });

  test('handler: may modify and describe this cluster and describe this stack, nothing else; inline, no managed policy', () => {
    const role = resources.find(([id, r]) => r.Type === 'AWS::IAM::Role' && id.startsWith('DatabaseDeletionProtectionHandlerRole'))!;
    expect(role[1].Properties.ManagedPolicyArns).toBeUndefined();
    const statements = policyStatements(t, 'DatabaseDeletionProtectionHandlerRole')
      .filter((st) => [st.Action].flat().some((a) => a.startsWith('rds:') || a.startsWith('cloudformation:')));
    expect(statements).toEqual([
      expect.objectContaining({
        Action: ['rds:DescribeDBClusters', 'rds:ModifyDBCluster'],
        Resource: { 'Fn::Join': ['', [`arn:aws:rds:${cfg.region}:`, { Ref: 'AWS::AccountId' }, ':cluster:', { Ref: clusterId }]] },
      }),
      expect.objectContaining({ Action: 'cloudformation:DescribeStacks', Resource: { Ref: 'AWS::StackId' } }),
    ]);
  });

  test('its two functions: nodejs24.x, no reserved concurrency, in the app subnets behind an HTTPS-only group', () => {
    const functions = resources.filter(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('DatabaseDeletionProtection'));
    expect(functions).toHaveLength(2);
    const [groupId, group] = resources.find(([id, r]) => r.Type === 'AWS::EC2::SecurityGroup' && id.startsWith('DatabaseDeletionProtection'))!;
    expect(group.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })]);
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', VpcConfig: { SecurityGroupIds: [{ 'Fn::GetAtt': [groupId, 'GroupId'] }] } });
      expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      expect(JSON.stringify(fn.Properties.VpcConfig.SubnetIds)).toMatch(/NetworkVpcAppSubnet1/);
    }
    const handler = functions.find(([id]) => id.startsWith('DatabaseDeletionProtectionHandler'))!;
    expect(handler[1].Properties.Handler).toBe('index.onEvent');
  });
});

describe('stateful.removalPolicy "retain": kept on stack deletion, deleted when their creation rolls back', () => {
  // Network and Data alone, without bundling: the whole environment would cost seconds for these policies.
  const cfg = configFor('staging', { stateful: { removalPolicy: 'retain' } });
  const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
  const env = { region: cfg.region };
  const network = new NetworkStack(app, 'Network', { env, network: cfg.network, removalPolicy: cfg.stateful.removalPolicy });
  const data = new DataStack(app, 'Data', {
    env, vpc: network.vpc, database: cfg.database, cache: cfg.cache, queue: cfg.queue, stateful: cfg.stateful, production: cfg.production,
  });
  const resources = Object.entries(Template.fromStack(data).toJSON().Resources as Record<string, Resource>);

  test('cluster, its instances and subnet group, cache, users, queues, key, secret, logs and both custom resources', () => {
    const types = ['AWS::RDS::DBCluster', 'AWS::RDS::DBInstance', 'AWS::RDS::DBSubnetGroup', 'AWS::ElastiCache::ReplicationGroup', 'AWS::ElastiCache::User',
      'AWS::ElastiCache::UserGroup', 'AWS::SQS::Queue', 'AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup',
      'Custom::AuroraReaderCleanup', 'Custom::AuroraDeletionProtection'];
    const policies = resources.filter(([, r]) => types.includes(r.Type)).map(([id, r]) => [id, r.DeletionPolicy, r.UpdateReplacePolicy]);
    expect(new Set(resources.filter(([, r]) => types.includes(r.Type)).map(([, r]) => r.Type))).toEqual(new Set(types));
    expect(policies.filter(([, deletion, replace]) => deletion !== 'RetainExceptOnCreate' || replace !== 'Retain')).toEqual([]);
  });
});
