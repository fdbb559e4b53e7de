import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { ImageConfig } from '../../lib/config/schema';
import { INTERFACE_ENDPOINT_SERVICES } from '../../lib/config/schema/network';
import { imageResources, INTERFACE_ENDPOINTS, InterfaceEndpoints } from '../../lib/constructs/interface-endpoints';
import { thisAccountEndpointPolicy } from '../../lib/constructs/network';
import { configFor } from '../helpers/context';
import { bareApp, ENVIRONMENTS, synth } from '../helpers/synth';

const THIS_ACCOUNT_ONLY = {
  Sid: 'ThisAccountOnly', Effect: 'Allow', Principal: { AWS: '*' }, Action: '*', Resource: '*',
  Condition: { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' }, 'aws:ResourceAccount': { Ref: 'AWS::AccountId' } } },
};
const interfaceEndpoints = (t: Template) => Object.entries(t.findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Interface' } }));

describe.each(ENVIRONMENTS)('Interface VPC endpoints (%s)', (env) => {
  const cfg = configFor(env);
  const azs = cfg.network.availabilityZones.slice(0, cfg.network.maxAzs);

  test('one per configured service, in the app subnets of every zone, with private DNS', () => {
    const t = synth(env).network;
    const endpoints = interfaceEndpoints(t);
    expect(endpoints.map(([, e]) => e.Properties.ServiceName).sort())
      .toEqual(cfg.network.interfaceEndpoints.map((s) => `com.amazonaws.${cfg.region}.${s}`).sort());
    for (const [, e] of endpoints) {
      expect(e.Properties.PrivateDnsEnabled).toBe(true);
      expect(e.Properties.SubnetIds).toEqual(azs.map((_, i) => ({ Ref: expect.stringMatching(new RegExp(`^NetworkVpcAppSubnet${i + 1}Subnet`)) })));
    }
  });

  test('each admits only this account\'s principals to this account\'s resources (the shipped images are built here)', () => {
    for (const [, e] of interfaceEndpoints(synth(env).network)) {
      expect(e.Properties.PolicyDocument).toEqual({ Version: '2012-10-17', Statement: [THIS_ACCOUNT_ONLY] });
    }
  });

  test('each has a security group of its own: HTTPS in from the VPC\'s CIDR only, nothing out', () => {
    const t = synth(env).network;
    const endpoints = interfaceEndpoints(t);
    const groups = endpoints.map(([, e]) => e.Properties.SecurityGroupIds as Array<{ 'Fn::GetAtt': [string, string] }>);
    expect(groups.every((g) => g.length === 1)).toBe(true);
    expect(new Set(groups.map(([g]) => g['Fn::GetAtt'][0])).size).toBe(endpoints.length);
    const all = t.findResources('AWS::EC2::SecurityGroup');
    for (const [g] of groups) {
      const sg = all[g['Fn::GetAtt'][0]];
      expect(sg.Properties.SecurityGroupIngress).toEqual([{ CidrIp: cfg.network.cidr, IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'HTTPS from the VPC' }]);
      expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })]);
    }
    // No separate rule opens them further.
    const ids = new Set(groups.map(([g]) => g['Fn::GetAtt'][0]));
    for (const type of ['AWS::EC2::SecurityGroupIngress', 'AWS::EC2::SecurityGroupEgress']) {
      const extra = Object.values(t.findResources(type)).filter((r) => ids.has(r.Properties.GroupId?.['Fn::GetAtt']?.[0]));
      expect(extra).toEqual([]);
    }
  });
});

test('prod has all seven, dev and staging none (the S3 gateway endpoint everywhere)', () => {
  expect(interfaceEndpoints(synth('prod').network)).toHaveLength(INTERFACE_ENDPOINT_SERVICES.length);
  expect(interfaceEndpoints(synth('dev').network)).toHaveLength(0);
  expect(interfaceEndpoints(synth('staging').network)).toHaveLength(0);
});

describe('InterfaceEndpoints with images of other accounts', () => {
  const image = (o: Partial<ImageConfig>): ImageConfig => ({ uri: '', directory: '', command: null, credentialsSecretArn: '', ...o });
  const SECRET = 'arn:aws:secretsmanager:us-east-1:210987654321:secret:ghcr-pull-AbCdEf';
  const images = [
    image({ uri: '210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.4.2' }),
    image({ uri: '210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/api@sha256:' + 'a'.repeat(64) }),
    image({ uri: 'ghcr.io/acme/worker:2', credentialsSecretArn: SECRET }),
    image({ directory: 'workload' }),
  ];

  test('imageResources: each ECR repository once (tag or digest), each registry secret; other registries and builds name none', () => {
    const stack = new Stack(bareApp(), 'Resolve');
    const r = imageResources(images);
    expect(stack.resolve(r.ecrRepositoryArns)).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:210987654321:repository/team/api']] }]);
    expect(r.secretArns).toEqual([SECRET]);
    expect(imageResources([image({ directory: 'workload' })])).toEqual({ ecrRepositoryArns: [], secretArns: [] });
  });

  test('the ECR endpoints let this account pull those repositories by ARN, Secrets Manager reads that secret; the others stay this-account-only', () => {
    const stack = new Stack(bareApp(), 'Endpoints', { env: { region: 'us-east-1', account: '123456789012' } });
    const vpc = new ec2.Vpc(stack, 'Vpc', { ipAddresses: ec2.IpAddresses.cidr('10.9.0.0/16'), availabilityZones: ['us-east-1a', 'us-east-1b'], natGateways: 1 });
    new InterfaceEndpoints(stack, 'Endpoints', { vpc, vpcCidr: '10.9.0.0/16', services: INTERFACE_ENDPOINT_SERVICES, images: imageResources(images), basePolicy: thisAccountEndpointPolicy });
    const t = Template.fromStack(stack);
    const policyOf = (name: keyof typeof INTERFACE_ENDPOINTS) => {
      const [[, e]] = Object.entries(t.findResources('AWS::EC2::VPCEndpoint')).filter(([id]) => id.startsWith(`Endpoints${INTERFACE_ENDPOINTS[name].id}`) && !id.includes('SecurityGroup'));
      return e.Properties.PolicyDocument.Statement;
    };
    const thisAccountsPrincipals = { StringEquals: { 'aws:PrincipalAccount': { Ref: 'AWS::AccountId' } } };
    for (const name of ['ecr.api', 'ecr.dkr'] as const) {
      expect(policyOf(name)).toEqual([THIS_ACCOUNT_ONLY, {
        Sid: 'ConfiguredImageRepositories', Effect: 'Allow', Principal: { AWS: '*' },
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:210987654321:repository/team/api']] },
        Condition: thisAccountsPrincipals,
      }]);
    }
    expect(policyOf('secretsmanager')).toEqual([THIS_ACCOUNT_ONLY, {
      Sid: 'ConfiguredRegistrySecrets', Effect: 'Allow', Principal: { AWS: '*' }, Action: 'secretsmanager:GetSecretValue', Resource: SECRET, Condition: thisAccountsPrincipals,
    }]);
    for (const name of ['sqs', 'logs', 'sts', 'monitoring'] as const) expect(policyOf(name)).toEqual([THIS_ACCOUNT_ONLY]);
  });
});
