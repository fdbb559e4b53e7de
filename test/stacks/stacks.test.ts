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
  const { stacks, data, network, compute, monitoring } = synth(env);

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

  test('stacks reference each other through CloudFormation exports (strong references), not lookups', () => {
    expect(stacks.data.dependencies).toEqual([stacks.network]);
    const byName = (a: { stackName: string }, b: { stackName: string }) => a.stackName.localeCompare(b.stackName);
    expect(stacks.compute.dependencies.sort(byName)).toEqual([stacks.data, stacks.network]);
    // Only stateless stacks depend on others: Compute and Monitoring can be destroyed and recreated freely.
    expect(stacks.monitoring.dependencies.sort(byName)).toEqual([stacks.compute, stacks.data]);
    expect(stacks.network.dependencies).toEqual([]);
    const exported = new Set([network, data, compute].flatMap((t) => Object.values(t.findOutputs('*')).map((o) => o.Export?.Name)));
    const imports = (t: typeof data) => [...JSON.stringify(t.toJSON()).matchAll(/\{"Fn::ImportValue":"([^"]+)"\}/g)].map((m) => m[1]);
    const used = [...imports(data), ...imports(compute), ...imports(monitoring)];
    expect(used.length).toBeGreaterThan(0);
    for (const name of used) expect(exported).toContain(name);
    // nothing is exported that no stack uses
    for (const name of exported) expect(used).toContain(name);
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
    const listenerPorts = cfg.alb.certificateArn ? [80, 443] : [80];
    expect(open.sort()).toEqual(listenerPorts.map((p) => expect.stringMatching(new RegExp(`^WebLoadBalancerSecurityGroup[0-9A-F]+:${p}-${p}$`))));
  });

  test('CDK reports no errors on any stack', () => {
    for (const stack of [stacks.network, stacks.data, stacks.compute, stacks.monitoring]) {
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
    }
  });

  test('every Lambda function (CDK-provided ones included) runs on nodejs22.x or newer', () => {
    for (const t of [network, data, compute]) {
      for (const fn of Object.values(t.findResources('AWS::Lambda::Function'))) {
        const [, major] = /^nodejs(\d+)\.x$/.exec(fn.Properties.Runtime) ?? [];
        expect(Number(major)).toBeGreaterThanOrEqual(22);
      }
    }
  });

  test('every stack is tagged with the project and the environment', () => {
    for (const stack of [stacks.network, stacks.data, stacks.compute, stacks.monitoring]) {
      expect(stack.tags.tagValues()).toEqual({ Project: 'scaling-blueprint', Environment: env });
    }
  });
});
