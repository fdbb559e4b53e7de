import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { thisAccountEndpointPolicy } from '../../lib/constructs/network';
import { configFor } from '../helpers/context';
import { bareApp, ENVIRONMENTS, synth } from '../helpers/synth';

describe.each(ENVIRONMENTS)('Network stack (%s)', (env) => {
  const cfg = configFor(env);
  const { network: t } = synth(env);
  const azs = cfg.network.availabilityZones.slice(0, cfg.network.maxAzs);

  test('VPC with the configured CIDR and DNS on', () => {
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: cfg.network.cidr, EnableDnsHostnames: true, EnableDnsSupport: true });
  });

  test('public, app (private with egress) and data (isolated) subnets in each configured zone', () => {
    t.resourceCountIs('AWS::EC2::Subnet', 3 * azs.length);
    for (const az of azs) {
      for (const [group, type, publicIp] of [['Public', 'Public', false], ['App', 'Private', false], ['Data', 'Isolated', false]] as const) {
        t.hasResourceProperties('AWS::EC2::Subnet', {
          AvailabilityZone: az,
          MapPublicIpOnLaunch: publicIp,
          Tags: Match.arrayWith([
            { Key: 'aws-cdk:subnet-name', Value: group },
            { Key: 'aws-cdk:subnet-type', Value: type },
          ]),
        });
      }
    }
  });

  test('no zone outside the configured ones (no lookup, no dummy zones)', () => {
    const zones = Object.values(t.findResources('AWS::EC2::Subnet')).map((r) => r.Properties.AvailabilityZone);
    expect(new Set(zones)).toEqual(new Set(azs));
  });

  test('NAT gateways as configured; the data subnets have no route out', () => {
    t.resourceCountIs('AWS::EC2::NatGateway', cfg.network.natGateways);
    // one default route per app subnet (to a NAT) and per public subnet (to the IGW); none from data subnets
    const routes = Object.values(t.findResources('AWS::EC2::Route'));
    expect(routes.filter((r) => r.Properties.NatGatewayId)).toHaveLength(azs.length);
    expect(routes.filter((r) => r.Properties.GatewayId)).toHaveLength(azs.length);
    expect(routes).toHaveLength(2 * azs.length);
  });

  test('flow logs of all traffic to an encrypted log group with the configured retention', () => {
    t.hasResourceProperties('AWS::EC2::FlowLog', {
      ResourceType: 'VPC',
      TrafficType: 'ALL',
      LogDestinationType: 'cloud-watch-logs',
      ResourceId: { Ref: Match.stringLikeRegexp('^NetworkVpc') },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: cfg.network.flowLogRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^NetworkFlowLogKey'), 'Arn'] },
    });
    t.hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Retain',
    });
  });

  test('the flow-log key rotates and lets only CloudWatch Logs of this account and region use it', () => {
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { 'Fn::Join': ['', ['logs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } },
            Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  test('S3 gateway endpoint on every route table', () => {
    t.hasResourceProperties('AWS::EC2::VPCEndpoint', {
      VpcEndpointType: 'Gateway',
      ServiceName: { 'Fn::Join': ['', ['com.amazonaws.', { Ref: 'AWS::Region' }, '.s3']] },
    });
    const [endpoint] = Object.values(t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Gateway' } }));
    expect(endpoint.Properties.RouteTableIds).toHaveLength(3 * azs.length);
  });

  test('the default security group is stripped of its rules', () => {
    t.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('synthesized for the configured region', () => {
    expect(synth(env).stacks.network.region).toBe(cfg.region);
  });
});

describe.each(ENVIRONMENTS)('Network egress to this account (%s)', (env) => {
  const { network: t } = synth(env);
  const arn = (...parts: unknown[]) => ({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ...parts]] });

  test('the S3 gateway endpoint lets through this account\'s buckets, ECR\'s layer bucket and CloudFormation\'s responses only', () => {
    const [endpoint] = Object.values(t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Gateway' } }));
    expect(endpoint.Properties.PolicyDocument.Statement).toEqual([
      { Sid: 'ThisAccountsBuckets', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:*', Resource: '*', Condition: { StringEquals: { 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } } } },
      { Sid: 'EcrImageLayers', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:GetObject', Resource: arn(':s3:::prod-', { Ref: 'AWS::Region' }, '-starport-layer-bucket/*') },
      { Sid: 'CloudFormationCustomResourceResponses', Effect: 'Allow', Principal: { AWS: '*' }, Action: 's3:PutObject', Resource: arn(':s3:::cloudformation-custom-resource-response-*/*') },
    ]);
  });

  test('every VPC endpoint has a policy, and every statement that is not a named AWS bucket requires this account', () => {
    const endpoints = Object.values(t.findResources('AWS::EC2::VPCEndpoint'));
    expect(endpoints.length).toBeGreaterThan(0);
    for (const endpoint of endpoints) {
      const statements = endpoint.Properties.PolicyDocument?.Statement as Array<{ Sid?: string; Resource: unknown; Condition?: { StringEquals?: Record<string, unknown> } }>;
      expect(statements?.length).toBeGreaterThan(0);
      for (const s of statements.filter((st) => st.Resource === '*')) expect(s.Condition?.StringEquals?.['aws:ResourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    }
  });

  test('flow logs publish with a role of their own that only this account\'s flow logs may assume', () => {
    const [log] = Object.values(t.findResources('AWS::EC2::FlowLog'));
    const roleId = log.Properties.DeliverLogsPermissionArn['Fn::GetAtt'][0] as string;
    expect(t.findResources('AWS::IAM::Role')[roleId].Properties.AssumeRolePolicyDocument.Statement).toEqual([{
      Effect: 'Allow', Action: 'sts:AssumeRole', Principal: { Service: 'vpc-flow-logs.amazonaws.com' },
      Condition: {
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
        ArnLike: { 'aws:SourceArn': arn(':ec2:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':vpc-flow-log/*') },
      },
    }]);
  });
});

test('thisAccountEndpointPolicy: callers and resources of this account only (for the interface endpoints)', () => {
  const stack = new Stack(bareApp(), 'Endpoint');
  expect(stack.resolve(thisAccountEndpointPolicy().toJSON())).toEqual({
    Version: '2012-10-17',
    Statement: [{
      Sid: 'ThisAccountOnly', Effect: 'Allow', Principal: { AWS: '*' }, Action: '*', Resource: '*',
      Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' }, 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } } },
    }],
  });
});
