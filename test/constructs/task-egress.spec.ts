import type { Template } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

type Rule = { GroupId?: unknown; CidrIp?: string; DestinationPrefixListId?: unknown; DestinationSecurityGroupId?: unknown; IpProtocol: string; FromPort?: number; ToPort?: number; Description?: string };

/** The security groups of every ECS service (API, other HTTP services, worker), by logical id. */
function taskGroups(t: Template): string[] {
  const services = Object.values(t.findResources('AWS::ECS::Service'));
  const ids = services.flatMap((s) => s.Properties.NetworkConfiguration.AwsvpcConfiguration.SecurityGroups as Array<{ 'Fn::GetAtt': [string, string] }>)
    .map((g) => g['Fn::GetAtt'][0]);
  return [...new Set(ids)];
}

/** Every egress rule of a group: inline and separate. */
function egressOf(t: Template, id: string): Rule[] {
  const inline = (t.findResources('AWS::EC2::SecurityGroup')[id].Properties.SecurityGroupEgress ?? []) as Rule[];
  const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress'))
    .filter((r) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === id).map((r) => r.Properties as Rule);
  return [...inline, ...separate];
}

describe.each(ENVIRONMENTS)('Task egress (%s)', (env) => {
  const cfg = configFor(env);
  const t = synth(env).compute;
  const groups = taskGroups(t);

  test('every service has its own group', () => {
    expect(groups.length).toBe(2 + cfg.services.length);
  });

  if (cfg.network.taskEgress === 'internet') {
    test('"internet": HTTPS to 0.0.0.0/0 (through NAT), no S3 prefix list lookup', () => {
      for (const id of groups) {
        expect(egressOf(t, id)).toContainEqual(expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }));
      }
      t.resourceCountIs('Custom::S3PrefixList', 0);
    });
    return;
  }

  test('"vpcEndpoints": no rule to 0.0.0.0/0 in any task group', () => {
    for (const id of groups) {
      expect(egressOf(t, id).filter((r) => r.CidrIp === '0.0.0.0/0')).toEqual([]);
    }
  });

  test('"vpcEndpoints": HTTPS to the VPC (interface endpoints) and to S3\'s prefix list read at deploy time, nothing else but the data tier', () => {
    const lookups = Object.entries(t.findResources('Custom::S3PrefixList'));
    expect(lookups).toHaveLength(1);
    const [lookupId, lookup] = lookups[0];
    expect(lookup.Properties.Region).toBe(cfg.region);
    for (const id of groups) {
      const rules = egressOf(t, id);
      expect(rules).toContainEqual({ CidrIp: cfg.network.cidr, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS to the interface endpoints in the VPC (network.taskEgress vpcEndpoints)' });
      // A separate AWS::EC2::SecurityGroupEgress (the id is a token); the inline CIDR rule keeps EC2's allow-all away.
      expect(rules).toContainEqual({
        GroupId: { 'Fn::GetAtt': [id, 'GroupId'] },
        DestinationPrefixListId: { 'Fn::GetAtt': [lookupId, 'PrefixListId'] }, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS to S3 through the gateway endpoint: ECR image layers',
      });
      // What remains points at groups (database proxy, cache) only.
      const other = rules.filter((r) => r.CidrIp !== cfg.network.cidr && r.DestinationPrefixListId === undefined);
      expect(other.filter((r) => r.DestinationSecurityGroupId === undefined)).toEqual([]);
    }
  });

  test('"vpcEndpoints": the lookup may only describe managed prefix lists', () => {
    const statements = Object.values(t.findResources('AWS::IAM::Role'))
      .flatMap((r) => (r.Properties.Policies ?? []).flatMap((p: { PolicyDocument: { Statement: Array<{ Action: unknown }> } }) => p.PolicyDocument.Statement))
      .filter((s) => JSON.stringify(s.Action).includes('ec2:DescribeManagedPrefixLists'));
    // Merged by CDK with the VPC function's network-interface statement (vpcFunctionRole); nothing else.
    expect(statements).toEqual([{
      Action: ['ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface', 'ec2:DescribeManagedPrefixLists', 'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses'],
      Effect: 'Allow', Resource: '*',
    }]);
  });
});
