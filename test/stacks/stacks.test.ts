import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { stackPrefix } from '../../lib/app';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

/**
 * Logical ids of the stateful resources. A change here replaces a database, cache or queue on the next
 * deploy: if it is intended, update this list in the same commit and say so in the change note.
 */
const PINNED_DATA_IDS = {
  'AWS::KMS::Key': ['DataKey2A0DE9E6'],
  'AWS::RDS::DBCluster': ['DatabaseCluster5B53A178'],
  'AWS::SecretsManager::Secret': ['CacheAuthToken04672416', 'DatabaseMasterSecretC5C2A01F'],
  'AWS::ElastiCache::ReplicationGroup': ['CacheReplicationGroupBFE59FF3'],
  'AWS::SQS::Queue': ['JobsDeadLetterQueue8CC426EE', 'JobsQueue24944186'],
} as const;

describe.each(ENVIRONMENTS)('stacks of %s', (env) => {
  const cfg = configFor(env);
  const { stacks, data, network } = synth(env);

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

  test('the data key rotates and outlives the stack unless destroy is configured', () => {
    data.hasResource('AWS::KMS::Key', {
      Properties: Match.objectLike({ EnableKeyRotation: true }),
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Retain',
    });
  });

  test('the Data stack reads the VPC through CloudFormation exports (strong references), not lookups', () => {
    expect(stacks.data.dependencies).toContain(stacks.network);
    const exports = Object.values(network.findOutputs('*')).map((o) => o.Export?.Name);
    expect(exports.length).toBeGreaterThan(0);
    const text = JSON.stringify(data.toJSON());
    for (const name of exports) expect(text).toContain(JSON.stringify({ 'Fn::ImportValue': name }));
  });

  test('no security group in these stacks accepts traffic from 0.0.0.0/0 or ::/0', () => {
    for (const t of [network, data]) {
      const groups = Object.values(t.findResources('AWS::EC2::SecurityGroup'));
      const ingress = groups.flatMap((g) => g.Properties.SecurityGroupIngress ?? []);
      const standalone = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties);
      for (const rule of [...ingress, ...standalone]) {
        expect(rule.CidrIp).not.toBe('0.0.0.0/0');
        expect(rule.CidrIpv6).not.toBe('::/0');
      }
    }
  });

  test('CDK reports no errors on any stack', () => {
    for (const stack of [stacks.network, stacks.data]) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });

  test('every Lambda function (CDK-provided ones included) runs on nodejs22.x or newer', () => {
    for (const t of [network, data]) {
      for (const fn of Object.values(t.findResources('AWS::Lambda::Function'))) {
        const [, major] = /^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime) ?? [];
        expect(Number(major)).toBeGreaterThanOrEqual(22);
      }
    }
  });

  test('every stack is tagged with the project and the environment', () => {
    for (const stack of [stacks.network, stacks.data]) {
      expect(stack.tags.tagValues()).toEqual({ Project: 'scaling-blueprint', Environment: env });
    }
  });
});
