import { App, Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import type { NlbConfig } from '../../lib/config/schema';
import { NetworkLoadBalancerFront, SOURCE_IP_STICKINESS } from '../../lib/constructs/network-load-balancer';
import { runGuard, synthWithChecks } from '../../scripts/compliance';
import { cfnLintInstalled, lintBatch } from '../helpers/cfn-lint';
import { configFor, featureFlags } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
/** The NLB switched on in dev (the cheapest environment), with an ALB LCU reservation in the same synth. */
const NLB_ON = { nlb: { enabled: true, certificateArn: CERT }, alb: { minimumCapacityUnits: 200 } };
const withNlb = () => synth('dev', NLB_ON);

const NLB_TYPE = 'AWS::ElasticLoadBalancingV2::LoadBalancer';
const sgId = (prefix: string) => ({ 'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${prefix}`)), 'GroupId'] });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a template resource as Template.findResources returns it
const attributesOf = (resource: { [key: string]: any }) =>
  Object.fromEntries(((resource.Properties.LoadBalancerAttributes ?? resource.Properties.TargetGroupAttributes) as Array<{ Key: string; Value: unknown }>).map((a) => [a.Key, a.Value]));
const nlbOf = (t: Template) => Object.entries(t.findResources(NLB_TYPE, { Properties: { Type: 'network' } }));
const targetGroupOf = (t: Template) => Object.entries(t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')).find(([id]) => id.startsWith('NlbTargetGroup'))!;

// The gates over the template with the NLB: cfn-lint in the registry's one lint process (test/helpers/cfn-lint.ts).
const lint = lintBatch(() => ({ 'nlb-dev-compute.template.json': withNlb().compute.toJSON() }));

describe.each(ENVIRONMENTS)('Network Load Balancer: off by default (%s)', (env) => {
  test('no NLB, no second target group, no LCU reservation on the ALB', () => {
    const { compute: t } = synth(env);
    expect(nlbOf(t)).toEqual([]);
    expect(Object.keys(t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')).filter((id) => id.startsWith('Nlb'))).toEqual([]);
    const [alb] = Object.values(t.findResources(NLB_TYPE));
    expect(alb.Properties.MinimumLoadBalancerCapacity).toBeUndefined();
  });
});

describe('Network Load Balancer front (nlb.enabled)', () => {
  const cfg = configFor('dev', NLB_ON);

  test('its target group is TCP to the API\'s container port on IP targets, with source-IP stickiness and no client IP preservation', () => {
    const [, tg] = targetGroupOf(withNlb().compute);
    expect(tg.Properties).toMatchObject({ Protocol: 'TCP', TargetType: 'ip', Port: cfg.api.containerPort, HealthCheckProtocol: 'HTTP', HealthCheckPath: cfg.alb.healthCheck.path });
    expect(attributesOf(tg)).toEqual({
      'stickiness.enabled': 'true',
      'stickiness.type': 'source_ip',
      'preserve_client_ip.enabled': 'false',
      'deregistration_delay.timeout_seconds': String(cfg.nlb.deregistrationDelaySeconds),
    });
  });

  test('a TLS listener on nlb.listenerPort with the certificate and the post-quantum policy forwards to that target group', () => {
    const t = withNlb().compute;
    const [tgId] = targetGroupOf(t);
    const [[nlbId]] = nlbOf(t);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      LoadBalancerArn: { Ref: nlbId },
      Protocol: 'TLS',
      Port: 443,
      Certificates: [{ CertificateArn: CERT }],
      SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09',
      DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: tgId } }],
    });
    expect(Object.values(t.findResources('AWS::ElasticLoadBalancingV2::Listener', { Properties: { LoadBalancerArn: { Ref: nlbId } } }))).toHaveLength(1);
  });

  test('internet-facing in the public subnets, with a security group, cross-zone on, access logs into the ALB\'s bucket under nlb/', () => {
    const [[, nlb]] = nlbOf(withNlb().compute);
    expect(nlb.Properties).toMatchObject({ Scheme: 'internet-facing', SecurityGroups: [sgId('NlbSecurityGroup')] });
    expect(nlb.Properties.Subnets).toEqual(cfg.network.availabilityZones.slice(0, cfg.network.maxAzs).map((_, i) =>
      ({ 'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(new RegExp(`PublicSubnet${i + 1}Subnet`)) }) })));
    expect(attributesOf(nlb)).toEqual({
      'deletion_protection.enabled': 'false',
      'load_balancing.cross_zone.enabled': 'true',
      'access_logs.s3.enabled': 'true',
      'access_logs.s3.bucket': { Ref: expect.stringMatching(/^WebAccessLogs/) },
      'access_logs.s3.prefix': 'nlb',
    });
  });

  test('security group edges: the listener port in from nlb.allowedCidrs only, the container port out to the API tasks only, and the tasks admit it', () => {
    const t = withNlb().compute;
    const [[sgLogicalId, sg]] = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('NlbSecurityGroup'));
    expect(sg.Properties.SecurityGroupIngress).toEqual([{ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443, Description: 'TLS clients from 0.0.0.0/0' }]);
    expect(sg.Properties.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })]);
    const fromNlb = { 'Fn::GetAtt': [sgLogicalId, 'GroupId'] };
    const egress = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress', { Properties: { GroupId: fromNlb } }));
    expect(egress.map((e) => e.Properties)).toEqual([expect.objectContaining({ DestinationSecurityGroupId: sgId('WebSecurityGroup'), FromPort: cfg.api.containerPort, ToPort: cfg.api.containerPort, IpProtocol: 'tcp' })]);
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress', { Properties: { SourceSecurityGroupId: fromNlb } }));
    expect(ingress.map((i) => i.Properties)).toEqual([expect.objectContaining({ GroupId: sgId('WebSecurityGroup'), FromPort: cfg.api.containerPort, ToPort: cfg.api.containerPort })]);
  });

  test('the API service registers its tasks in both target groups, and an output names the NLB\'s endpoint', () => {
    const t = withNlb().compute;
    const [tgId] = targetGroupOf(t);
    t.hasResourceProperties('AWS::ECS::Service', {
      LoadBalancers: [
        { ContainerName: 'App', ContainerPort: cfg.api.containerPort, TargetGroupArn: { Ref: Match.stringLikeRegexp('^WebTargetGroup') } },
        { ContainerName: 'App', ContainerPort: cfg.api.containerPort, TargetGroupArn: { Ref: tgId } },
      ],
    });
    t.hasOutput('NlbEndpoint', { Value: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^NlbLoadBalancer'), 'DNSName'] }, ':443']] } });
  });

  test('alb.minimumCapacityUnits sets the ALB\'s LCU reservation (MinimumLoadBalancerCapacity.CapacityUnits)', () => {
    withNlb().compute.hasResourceProperties(NLB_TYPE, { Type: 'application', MinimumLoadBalancerCapacity: { CapacityUnits: 200 } });
  });

  (cfnLintInstalled() ? test : test.skip)('gates: cfn-lint reports nothing on the Compute template with the NLB', () => {
    const run = lint();
    expect(run.findings).toEqual([]);
  });

  test('gates: the Control Tower guard rules find nothing on it (certificate, access logs, cross-zone, PR.2/6/14/15)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-nlb-guard-'));
    try {
      const file = join(dir, 'nlb-dev-compute.template.json');
      writeFileSync(file, JSON.stringify(withNlb().compute.toJSON()));
      const guard = runGuard([file]);
      expect(guard.findings).toEqual([]);
      // The NLB meets the ELB controls itself, but for deletion protection outside production (as the ALB).
      expect(guard.excepted.filter((e) => e.resource.startsWith('Nlb')).map((e) => e.control)).toEqual(['CT.ELASTICLOADBALANCING.PR.5']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The construct on a small stack of its own: a VPC, a Fargate service and a bucket, as the Compute stack gives them. */
function front(app: App, id: string, nlb: Partial<NlbConfig>): NetworkLoadBalancerFront {
  const stack = new Stack(app, id, { env: { region: 'us-east-1', account: '123456789012' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { availabilityZones: ['us-east-1a', 'us-east-1b'], natGateways: 1 });
  const task = new ecs.FargateTaskDefinition(stack, 'Task');
  task.addContainer('App', { image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/nginx:1.27'), portMappings: [{ containerPort: 8080 }] });
  const service = new ecs.FargateService(stack, 'Service', { cluster: new ecs.Cluster(stack, 'Cluster', { vpc }), taskDefinition: task });
  const bucket = new s3.Bucket(stack, 'Logs', { encryption: s3.BucketEncryption.S3_MANAGED, enforceSSL: true });
  return new NetworkLoadBalancerFront(stack, 'Nlb', {
    vpc, service, containerName: 'App', containerPort: 8080, accessLogBucket: bucket, production: true,
    healthCheck: configFor('dev').alb.healthCheck,
    nlb: { enabled: true, certificateArn: CERT, listenerPort: 443, allowedCidrs: ['0.0.0.0/0'], stickiness: true, deregistrationDelaySeconds: 30, ...nlb },
  });
}

/** The ids of the cdk-nag rules acknowledged on a construct (Validations.of(...).acknowledge). */
const acknowledged = (c: NetworkLoadBalancerFront['securityGroup']) => c.node.metadata
  .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
  .flatMap((m) => JSON.stringify(m.data).match(/AwsSolutions-[A-Z0-9]+/g) ?? []);

describe('NetworkLoadBalancerFront on its own', () => {
  const out = mkdtempSync(join(tmpdir(), 'sb-nlb-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  test('cdk-nag and CDK\'s CloudFormation validation find nothing on the NLB\'s resources; a narrowed range needs no EC23 acknowledgement, an open one has it', () => {
    let open: NetworkLoadBalancerFront | undefined;
    let narrow: NetworkLoadBalancerFront | undefined;
    const { findings, templates } = synthWithChecks((app) => {
      open = front(app, 'NlbOpen', {});
      narrow = front(app, 'NlbNarrow', { allowedCidrs: ['198.51.100.0/24', '203.0.113.0/24'], listenerPort: 8443, stickiness: false });
    }, featureFlags(), join(out, 'nag'));
    // Only the NLB is under test here; the rest of the small stacks is scaffolding cdk-nag rightly dislikes.
    expect(findings.filter((f) => f.paths.some((p) => p.includes('/Nlb/')))).toEqual([]);
    expect(acknowledged(open!.securityGroup)).toEqual(['AwsSolutions-EC23']);
    expect(acknowledged(narrow!.securityGroup)).toEqual([]);

    const template = (id: string) => Template.fromJSON(JSON.parse(readFileSync(templates.find((f) => f.endsWith(`/${id}.template.json`))!, 'utf8')));
    const t = template('NlbNarrow');
    const [sg] = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('NlbSecurityGroup')).map(([, r]) => r);
    expect(sg.Properties.SecurityGroupIngress).toEqual(['198.51.100.0/24', '203.0.113.0/24'].map((CidrIp) =>
      ({ CidrIp, IpProtocol: 'tcp', FromPort: 8443, ToPort: 8443, Description: `TLS clients from ${CidrIp}` })));
    // Stickiness off: the attributes are absent (NLB's default is no stickiness), the rest stays.
    const [, tg] = targetGroupOf(t);
    expect(Object.keys(attributesOf(tg)).filter((k) => k.startsWith('stickiness'))).toEqual([]);
    expect(attributesOf(tg)['preserve_client_ip.enabled']).toBe('false');
    // production: deletion protection on, and no guard exception for it.
    const [[, nlb]] = nlbOf(template('NlbOpen'));
    expect(attributesOf(nlb)['deletion_protection.enabled']).toBe('true');
    expect(JSON.stringify(nlb.Metadata ?? {})).not.toContain('CT.ELASTICLOADBALANCING.PR.5');
  });

  test('the stickiness attributes are the documented pair', () => {
    expect(SOURCE_IP_STICKINESS).toEqual({ 'stickiness.enabled': 'true', 'stickiness.type': 'source_ip' });
  });

  test('refuses an empty certificate (the loader refuses it first)', () => {
    expect(() => front(new App(), 'NoCert', { certificateArn: '' })).toThrow('NetworkLoadBalancerFront: nlb.certificateArn is empty; the TLS listener needs an ACM certificate');
  });
});
