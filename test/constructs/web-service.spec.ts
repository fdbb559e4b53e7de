import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DATABASE_USERS } from '../../lib/contracts/database-roles';
import { DockerImageAsset } from 'aws-cdk-lib/aws-ecr-assets';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { processesForCpu } from '../../lib/config/capacity';
import { REFERENCE_WORKLOAD, referenceHealthCheckCommand } from '../../lib/config/schema/compute';
import { EXAMPLE_CERTIFICATE_ARN } from '../../lib/config/schema/alb-security';
import { GUARD_EXCEPTIONS_METADATA } from '../../lib/constructs/guard';
import { cfnLintInstalled, lintBatch } from '../helpers/cfn-lint';
import { configFor } from '../helpers/context';
import { FIXTURE_CERTIFICATE_ARN, twoServices } from '../helpers/two-services';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { actions, policyStatements, type Statement } from '../helpers/template';

/** A registry URI as is; a build directory becomes an image in the CDK assets repository. */
const expectedImage = (image: { uri: string }) =>
  image.uri || { 'Fn::Sub': Match.stringLikeRegexp('/cdk-hnb659fds-container-assets-\\$\\{AWS::AccountId\\}-us-east-1:[0-9a-f]{64}$') };

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
/**
 * The info annotations CDK recorded on a construct, which `cdk synth` and `cdk deploy` print. Info, not a
 * warning: CDK turns warnings into validation findings, which `npm run check` rightly refuses for a choice made
 * on purpose.
 */
const synthNotes = (node: { node: { metadata: Array<{ type: string; data: unknown }> } }) => node.node.metadata
  .filter((m) => m.type === 'aws:cdk:info').map((m) => String(m.data));
/** Every resource's guard exceptions, as "<logical id> <rule>". */
const guardExceptions = (t: Template) => Object.entries(t.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>)
  .flatMap(([id, r]) => ((r.Metadata?.[GUARD_EXCEPTIONS_METADATA] ?? []) as Array<{ rule: string }>).map((e) => `${id} ${e.rule}`));
const listenerAttributes = (listener: { Properties?: { ListenerAttributes?: Array<{ Key: string; Value: string }> } }) =>
  Object.fromEntries((listener.Properties?.ListenerAttributes ?? []).map((a) => [a.Key, a.Value]));
const sgId = (prefix: string) => ({ 'Fn::GetAtt': [Match.stringLikeRegexp(`^${prefix}`), 'GroupId'] });
const attributes = (t: Template, type: string) => {
  const [resource] = Object.values(t.findResources(type));
  const list = (resource.Properties.LoadBalancerAttributes ?? resource.Properties.TargetGroupAttributes) as Array<{ Key: string; Value: unknown }>;
  return Object.fromEntries(list.map((a) => [a.Key, a.Value]));
};
/** A value read from stack `stackName`'s output whose name matches `output` (Fn::GetStackOutput: docs/stack-references.md). */
const fromStack = (stackName: string, output: RegExp) => ({ 'Fn::GetStackOutput': expect.objectContaining({ StackName: stackName, OutputName: expect.stringMatching(output) }) });
/** The resources of the one elasticache:Connect statement, joined into strings ({Ref}, {output <name>}). */
function cacheConnectResources(statements: Statement[]): string[] {
  const flat = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = v as { 'Fn::Join'?: [string, unknown[]]; Ref?: string; 'Fn::GetStackOutput'?: { OutputName: string } };
    if (o['Fn::Join']) return o['Fn::Join'][1].map(flat).join(o['Fn::Join'][0]);
    return o.Ref ? `{${o.Ref}}` : `{output ${o['Fn::GetStackOutput']!.OutputName}}`;
  };
  const connect = statements.filter((s) => s.Action === 'elasticache:Connect');
  expect(connect).toHaveLength(1);
  return (connect[0].Resource as unknown[]).map(flat);
}

describe.each(ENVIRONMENTS)('ALB and API service (%s)', (env) => {
  const cfg = configFor(env);
  const { api, alb } = cfg;
  const { compute: t, stacks } = synth(env);

  test('internet-facing ALB in the public subnets: invalid headers dropped, desync mitigation, idle timeout, deletion protection, access logs', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Scheme: 'internet-facing', Type: 'application' });
    const [lb] = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
    for (const s of lb.Properties.Subnets) expect(s).toEqual(fromStack(stacks.network.stackName, /NetworkVpcPublicSubnet\d/));
    expect(lb.Properties.Subnets).toHaveLength(cfg.network.maxAzs);
    expect(attributes(t, 'AWS::ElasticLoadBalancingV2::LoadBalancer')).toMatchObject({
      'routing.http.drop_invalid_header_fields.enabled': 'true',
      'routing.http.desync_mitigation_mode': alb.desyncMitigationMode,
      'idle_timeout.timeout_seconds': String(alb.idleTimeoutSeconds),
      'deletion_protection.enabled': String(cfg.production),
      'access_logs.s3.enabled': 'true',
      'access_logs.s3.bucket': { Ref: expect.stringMatching(/^WebAccessLogs/) },
    });
  });

  test('access-log bucket: encrypted, private, TLS-only, expiring logs after the configured days', () => {
    t.hasResourceProperties('AWS::S3::Bucket', {
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: alb.accessLogRetentionDays, Status: 'Enabled' })] },
    });
    const [policy] = Object.values(t.findResources('AWS::S3::BucketPolicy'));
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
      Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } },
    }));
    expect(JSON.stringify(policy.Properties.PolicyDocument)).toMatch(/s3:PutObject/);
  });

  if (env === 'prod') {
    test('prod: HTTPS only — 443 with the certificate, the post-quantum TLS policy, HSTS and nosniff; 80 only answers 301 to HTTPS', () => {
      expect(alb.certificateArn).toBe(EXAMPLE_CERTIFICATE_ARN);
      const listeners = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::Listener'));
      expect(listeners).toHaveLength(2);
      const https = listeners.find((l) => l.Properties.Protocol === 'HTTPS')!;
      expect(https.Properties).toMatchObject({
        Port: 443, Certificates: [{ CertificateArn: alb.certificateArn }], SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09',
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: expect.stringMatching(/^WebTargetGroup/) } }],
      });
      expect(listenerAttributes(https)).toEqual({
        'routing.http.response.strict_transport_security.header_value': 'max-age=31536000',
        'routing.http.response.x_content_type_options.header_value': 'nosniff',
      });
      const http = listeners.find((l) => l.Properties.Protocol === 'HTTP')!;
      expect(http.Properties).toMatchObject({ Port: 80, DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }] });
      // No plain-HTTP forward anywhere: no forwarding rule hangs off the port 80 listener either.
      const httpId = Object.entries(t.findResources('AWS::ElasticLoadBalancingV2::Listener')).find(([, l]) => l.Properties.Protocol === 'HTTP')![0];
      const rulesOnHttp = Object.values(t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).filter((r) => r.Properties.ListenerArn.Ref === httpId);
      expect(rulesOnHttp).toEqual([]);
    });

    test('prod: no exception to CT.ELASTICLOADBALANCING.PR.1 (HTTP redirects to HTTPS), and synth says that the certificate is the shipped example', () => {
      expect(guardExceptions(t).filter((e) => e.endsWith('CT.ELASTICLOADBALANCING.PR.1'))).toEqual([]);
      expect(synthNotes(stacks.compute.web.listener).join('\n')).toMatch(/alb\.certificateArn is the shipped example .* `npm run preflight` refuses it/);
    });
  } else {
    test(`${env}: no certificate, so one HTTP listener on 80 forwarding to the API, with its guard exception and a synth note saying so`, () => {
      expect(alb.certificateArn).toBe('');
      t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 1);
      t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
        Protocol: 'HTTP',
        Port: 80,
        DefaultActions: [{ Type: 'forward', TargetGroupArn: { Ref: Match.stringLikeRegexp('^WebTargetGroup') } }],
        ListenerAttributes: Match.absent(),
      });
      expect(guardExceptions(t).filter((e) => e.endsWith('CT.ELASTICLOADBALANCING.PR.1'))).toEqual([expect.stringMatching(/^WebLoadBalancerHttp[0-9A-F]{8} /)]);
      expect(synthNotes(stacks.compute.web.listener)).toEqual([expect.stringMatching(/^alb\.certificateArn is empty: the API is served over plain HTTP on port 80, unencrypted\. Acceptable for development only/)]);
    });
  }

  test('/readyz is answered 404 by the load balancer itself, before any route (priority 1); the health check still reaches the targets', () => {
    expect(alb.blockedPaths).toEqual(['/readyz']);
    const [listenerId] = Object.entries(t.findResources('AWS::ElasticLoadBalancingV2::Listener')).find(([, l]) => l.Properties.Protocol === (alb.certificateArn ? 'HTTPS' : 'HTTP'))!;
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      ListenerArn: { Ref: listenerId },
      Priority: 1,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/readyz'] } }],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'application/json', MessageBody: '{"error":"not found"}' } }],
    });
    // Target group health checks are sent by the load balancer to each target, not through the listener's rules.
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckPath: alb.healthCheck.path });
  });

  test('target group: IP targets on the container port, health check, algorithm, slow start, deregistration delay', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', {
      TargetType: 'ip',
      Protocol: 'HTTP',
      Port: api.containerPort,
      HealthCheckPath: alb.healthCheck.path,
      HealthCheckIntervalSeconds: alb.healthCheck.intervalSeconds,
      HealthCheckTimeoutSeconds: alb.healthCheck.timeoutSeconds,
      HealthyThresholdCount: alb.healthCheck.healthyThresholdCount,
      UnhealthyThresholdCount: alb.healthCheck.unhealthyThresholdCount,
      Matcher: { HttpCode: alb.healthCheck.healthyHttpCodes },
    });
    expect(attributes(t, 'AWS::ElasticLoadBalancingV2::TargetGroup')).toEqual({
      'load_balancing.algorithm.type': alb.routingAlgorithm,
      // 0 is off, which CDK leaves to the default; the loader refuses slow start with least_outstanding_requests.
      ...(alb.slowStartSeconds > 0 && { 'slow_start.duration_seconds': String(alb.slowStartSeconds) }),
      'deregistration_delay.timeout_seconds': String(alb.deregistrationDelaySeconds),
      'stickiness.enabled': 'false',
    });
  });

  test('service: app subnets, no public IP, circuit breaker with rollback, deploy percentages, grace period, no fixed desired count', () => {
    t.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      LoadBalancers: [{ ContainerName: 'App', ContainerPort: api.containerPort, TargetGroupArn: { Ref: Match.stringLikeRegexp('^WebTargetGroup') } }],
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED', SecurityGroups: [sgId('WebSecurityGroup')] }) },
      DeploymentConfiguration: {
        DeploymentCircuitBreaker: { Enable: true, Rollback: true },
        MinimumHealthyPercent: api.minHealthyPercent,
        MaximumPercent: api.maxHealthyPercent,
      },
      DeploymentController: { Type: 'ECS' },
      HealthCheckGracePeriodSeconds: api.healthCheckGracePeriodSeconds,
      DesiredCount: Match.absent(),
    });
    const [service] = Object.values(t.findResources('AWS::ECS::Service', { Properties: { LaunchType: 'FARGATE' } }));
    for (const s of service.Properties.NetworkConfiguration.AwsvpcConfiguration.Subnets) expect(s).toEqual(fromStack(stacks.network.stackName, /NetworkVpcAppSubnet\d/));
  });

  test('task: size and architecture from config, image, port, container health check, logs to an encrypted group', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(api.cpu),
      Memory: String(api.memoryMiB),
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      ContainerDefinitions: [Match.objectLike({
        Image: expectedImage(api.image),
        PortMappings: [Match.objectLike({ ContainerPort: api.containerPort })],
        HealthCheck: Match.objectLike({ Command: ['CMD-SHELL', api.containerHealthCheckCommand ?? referenceHealthCheckCommand(api.containerPort)] }),
        LogConfiguration: Match.objectLike({ LogDriver: 'awslogs', Options: Match.objectLike({ mode: 'non-blocking', 'awslogs-group': { Ref: Match.stringLikeRegexp('^WebApiLogs') } }) }),
      })],
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: cfg.compute.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
    });
  });

  test('containers run as a non-root user on a read-only root filesystem, not privileged', () => {
    for (const def of Object.values(t.findResources('AWS::ECS::TaskDefinition'))) {
      expect(def.Properties.ContainerDefinitions[0]).toMatchObject({
        ReadonlyRootFilesystem: cfg.compute.readOnlyRootFilesystem,
        User: cfg.compute.runAsUser ?? REFERENCE_WORKLOAD.user,
        Privileged: false,
      });
      expect(cfg.compute.runAsUser ?? REFERENCE_WORKLOAD.user).not.toMatch(/^0(:|$)/);
    }
  });

  test('the data tier reaches the container as variables, never as plain-text credentials', () => {
    const [def] = Object.values(t.findResources('AWS::ECS::TaskDefinition', { Properties: { ContainerDefinitions: [Match.objectLike({ PortMappings: Match.anyValue() })] } }));
    const container = def.Properties.ContainerDefinitions[0];
    const envNames = (container.Environment as Array<{ Name: string }>).map((e) => e.Name).sort();
    expect(envNames).toEqual(expect.arrayContaining(['DB_WRITER_HOST', 'DB_READER_HOST', 'DB_PORT', 'DB_NAME', 'DB_POOL_SIZE', 'DB_IAM_AUTH', 'CACHE_HOST', 'CACHE_PORT', 'QUEUE_URL',
      'CACHE_IAM_AUTH', 'CACHE_USER', 'CACHE_NAME', 'CACHE_SERVERLESS']));
    expect(container.Environment).toContainEqual({ Name: 'DB_POOL_SIZE', Value: String(api.dbPoolSize) });
    expect(container.Environment).toContainEqual({ Name: 'DB_IAM_AUTH', Value: String(cfg.database.proxy.enabled) });
    // The cache takes no credential at all: the task signs IAM tokens as the user the Data stack created.
    expect(container.Environment).toContainEqual({ Name: 'CACHE_IAM_AUTH', Value: 'true' });
    expect(container.Environment).toContainEqual({ Name: 'CACHE_USER', Value: stacks.data.cache.userId });
    expect(container.Environment).toContainEqual({ Name: 'CACHE_NAME', Value: fromStack(stacks.data.stackName, /CacheReplicationGroupBFE59FF3/) });
    // No ECS secrets: the password is read at connect time where it is used (test/constructs/data-access.spec.ts).
    expect(container.Secrets).toBeUndefined();
    const text = JSON.stringify(container.Environment.filter((e: { Name: string }) => e.Name !== 'DB_SECRET_ARN'));
    expect(text).not.toMatch(/PASSWORD|TOKEN|SECRET/i);
    const writer = container.Environment.find((e: { Name: string }) => e.Name === 'DB_WRITER_HOST').Value['Fn::GetStackOutput'].OutputName;
    expect(writer).toMatch(cfg.database.proxy.enabled ? /DatabaseClusterProxy.*Endpoint/ : /DatabaseCluster5B53A178EndpointAddress/);
  });

  test('autoscaling: task range, and target tracking on CPU, memory (20-second metrics where configured) and requests per target with the configured cooldowns', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: api.minTasks,
      MaxCapacity: api.maxTasks,
      ResourceId: { 'Fn::Join': ['', ['service/', { Ref: Match.stringLikeRegexp('^Cluster') }, '/', { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebService'), 'Name'] }]] },
    });
    const cooldowns = { ScaleInCooldown: api.scaleInCooldownSeconds, ScaleOutCooldown: api.scaleOutCooldownSeconds };
    const highResolution = api.metricResolutionSeconds === 20 ? 'HighResolution' : '';
    for (const [metric, target] of [
      [`ECSServiceAverageCPUUtilization${highResolution}`, api.targetCpuUtilizationPercent],
      [`ECSServiceAverageMemoryUtilization${highResolution}`, api.targetMemoryUtilizationPercent],
      ['ALBRequestCountPerTarget', api.requestsPerTarget],
    ] as const) {
      // A blue/green-family deploy tracks RequestCountPerTarget of both target groups (lib/constructs/deployment-strategy.ts).
      const both = metric === 'ALBRequestCountPerTarget' && api.deployment.strategy !== 'rolling';
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        ScalingTargetId: { Ref: Match.stringLikeRegexp('^WebServiceTaskCountTarget') },
        TargetTrackingScalingPolicyConfiguration: Match.objectLike({
          ...(both
            ? { CustomizedMetricSpecification: { Metrics: Match.arrayWith([Match.objectLike({ Expression: 'FILL(tg0, 0) + FILL(tg1, 0)' })]) } }
            : { PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: metric }) }),
          TargetValue: target,
          ...cooldowns,
        }),
      });
    }
  });

  test(`api.metricResolutionSeconds ${api.metricResolutionSeconds}: the service publishes CPU and memory every 20 s exactly where the CPU and memory policies track the high-resolution metrics`, () => {
    const [service] = Object.values(t.findResources('AWS::ECS::Service', { Properties: { LaunchType: 'FARGATE' } }));
    const types = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))
      .map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType as string | undefined)
      .filter((type) => type?.startsWith('ECSService'))
      .sort();
    if (api.metricResolutionSeconds === 20) {
      expect(service.Properties.Monitoring).toEqual({ MetricConfigurations: [{ MetricNames: ['CPUUtilization', 'MemoryUtilization'], ResolutionSeconds: 20 }] });
      expect(types).toEqual(['ECSServiceAverageCPUUtilizationHighResolution', 'ECSServiceAverageMemoryUtilizationHighResolution']);
    } else {
      expect(service.Properties.Monitoring).toBeUndefined();
      expect(types).toEqual(['ECSServiceAverageCPUUtilization', 'ECSServiceAverageMemoryUtilization']);
    }
    // cdk.json: on in prod (and staging, the default), off in dev.
    if (env === 'prod') expect(api.metricResolutionSeconds).toBe(20);
    if (env === 'dev') expect(api.metricResolutionSeconds).toBe(60);
  });

  test(`api.predictiveScaling ${api.predictiveScaling}: a predictive policy on the API's scalable target where it is on, none where off`, () => {
    const predictive = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', { Properties: { PolicyType: 'PredictiveScaling' } }));
    const mode = { off: undefined, 'forecast-only': 'ForecastOnly', 'forecast-and-scale': 'ForecastAndScale' }[api.predictiveScaling];
    if (mode === undefined) {
      expect(predictive).toEqual([]);
    } else {
      expect(predictive.map((p) => p.Properties)).toEqual([{
        PolicyName: 'WebPredictiveScaling',
        PolicyType: 'PredictiveScaling',
        ScalingTargetId: { Ref: expect.stringMatching(/^WebServiceTaskCountTarget/) },
        PredictiveScalingPolicyConfiguration: {
          Mode: mode,
          MaxCapacityBreachBehavior: 'HonorMaxCapacity',
          MetricSpecifications: [{ TargetValue: api.targetCpuUtilizationPercent, PredefinedMetricPairSpecification: { PredefinedMetricType: 'ECSServiceCPUUtilization' } }],
        },
      }]);
    }
    // cdk.json: forecast-only in prod, off in dev.
    if (env === 'prod') expect(mode).toBe('ForecastOnly');
    if (env === 'dev') expect(predictive).toEqual([]);
  });

  test(`the API task runs one process per vCPU: WORKLOAD_PROCESSES = ${processesForCpu(api.cpu)} for api.cpu ${api.cpu}, as the connection budget counts`, () => {
    const [def] = Object.values(t.findResources('AWS::ECS::TaskDefinition', { Properties: { ContainerDefinitions: [Match.objectLike({ PortMappings: Match.anyValue() })] } }));
    expect(def.Properties.ContainerDefinitions[0].Environment).toContainEqual({ Name: 'WORKLOAD_PROCESSES', Value: String(processesForCpu(api.cpu)) });
    if (api.cpu === 1024) expect(processesForCpu(api.cpu)).toBe(1);
  });

  test('scheduled scaling entries from config', () => {
    const [target] = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget', {
      Properties: { ScalableDimension: 'ecs:service:DesiredCount', ResourceId: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^WebService'), 'Name'] }])] }) },
    }));
    const actions = (target.Properties.ScheduledActions ?? []) as Array<Record<string, unknown>>;
    expect(actions).toEqual(api.scheduledScaling.map((e) => ({
      ScheduledActionName: `Schedule-${e.name}`,
      Schedule: e.schedule,
      Timezone: e.timeZone,
      ScalableTargetAction: { MinCapacity: e.minTasks, MaxCapacity: e.maxTasks },
    })));
    if (env === 'prod') expect(actions.length).toBeGreaterThan(0);
  });

  test('security-group edges: the ALB reaches the tasks on the container port; the tasks reach the database and the cache', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: sgId('WebSecurityGroup'),
      SourceSecurityGroupId: sgId('WebLoadBalancerSecurityGroup'),
      FromPort: api.containerPort,
      ToPort: api.containerPort,
    });
    const dataSg = cfg.database.proxy.enabled ? 'DatabaseProxySecurityGroup' : 'DatabaseSecurityGroup';
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetStackOutput': Match.objectLike({ StackName: stacks.data.stackName, OutputName: Match.stringLikeRegexp(dataSg) }) },
      SourceSecurityGroupId: sgId('WebSecurityGroup'),
      FromPort: 5432,
    });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetStackOutput': Match.objectLike({ StackName: stacks.data.stackName, OutputName: Match.stringLikeRegexp('CacheSecurityGroup') }) },
      SourceSecurityGroupId: sgId('WebSecurityGroup'),
      FromPort: cfg.cache.port,
      ToPort: cfg.cache.port,
    });
    // HTTPS out: to anywhere through NAT, or with network.taskEgress "vpcEndpoints" to the VPC only (the S3
    // prefix-list rule is a separate resource: task-egress.spec.ts).
    const httpsTo = cfg.network.taskEgress === 'internet' ? '0.0.0.0/0' : cfg.network.cidr;
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^API tasks'),
      SecurityGroupEgress: [{ CidrIp: httpsTo, FromPort: 443, ToPort: 443, IpProtocol: 'tcp', Description: Match.anyValue() }],
    });
  });

  test('the ALB group reaches only the tasks: its own egress is the no-traffic rule, so EC2 adds no allow-all', () => {
    const [albSgId, albSg] = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).find(([id]) => id.startsWith('WebLoadBalancerSecurityGroup'))!;
    expect(albSg.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 }]);
    const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress')).filter((r) => r.Properties.GroupId?.['Fn::GetAtt']?.[0] === albSgId);
    expect(separate.map((r) => [r.Properties.DestinationSecurityGroupId, r.Properties.FromPort, r.Properties.ToPort])).toEqual([
      [{ 'Fn::GetAtt': [expect.stringMatching(/^WebSecurityGroup/), 'GroupId'] }, api.containerPort, api.containerPort],
    ]);
  });

  test('IAM: the API may send to the queue and connect to the proxy as the database user and to the cache, nothing more', () => {
    const statements = policyStatements(t, 'WebApiTaskDefinitionTaskRole');
    // SSE-KMS sends need GenerateDataKey and Decrypt, through SQS only (not the wildcard set of grantSendMessages)
    const expected = ['elasticache:Connect', 'kms:Decrypt', 'kms:GenerateDataKey', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'];
    // With the proxy, IAM tokens; without, the password read from the master secret when connecting (data-access.spec.ts).
    expected.push(...(cfg.database.proxy.enabled ? ['rds-db:connect'] : ['kms:Decrypt', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']));
    expect(actions(statements)).toEqual(expected.sort());
    for (const s of statements) expect(s.Resource).not.toBe('*');
    expect(statements.find((s) => JSON.stringify(s.Action).includes('kms:GenerateDataKey'))!.Condition).toEqual({
      StringEquals: {
        'kms:ViaService': { 'Fn::Join': ['', ['sqs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        'kms:EncryptionContext:aws:sqs:arn': [{ 'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/JobsQueue.*Arn/) }) }],
      },
    });
    if (cfg.database.proxy.enabled) {
      expect(JSON.stringify(statements.find((s) => s.Action === 'rds-db:connect')!.Resource)).toContain(`/${DATABASE_USERS.api}"`);
    }
  });

  test('IAM: elasticache:Connect names this replication group and the application user, nothing else', () => {
    const account = cfg.account || '{AWS::AccountId}';
    expect(cacheConnectResources(policyStatements(t, 'WebApiTaskDefinitionTaskRole'))).toEqual([
      expect.stringMatching(new RegExp(`^arn:aws:elasticache:${cfg.region}:${account}:replicationgroup:\\{output [^}]*OutputRefCacheReplicationGroupBFE59FF3[0-9A-F]{8}\\}$`)),
      `arn:aws:elasticache:${cfg.region}:${account}:user:${stacks.data.cache.userId}`,
    ]);
  });

  test('IAM: the execution role pulls the image and writes logs, and reads no secret (ECS resolves none at task start)', () => {
    const statements = policyStatements(t, 'WebApiTaskDefinitionExecutionRole');
    const pull = api.image.uri ? [] : ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetAuthorizationToken', 'ecr:GetDownloadUrlForLayer'];
    expect(actions(statements)).toEqual([...pull, 'logs:CreateLogStream', 'logs:PutLogEvents'].sort());
  });
});

describe('ALB variants', () => {
  // Two synths carry the listener and target-group variants (synth is the slow part of the suite): the
  // two-service fixture (HTTPS, routes of every kind; test/constructs/http-service.spec.ts) and this one.
  const https = () => synth('staging', twoServices()).compute;
  const weighted = () => synth('staging', {
    // Rolling: a blue/green API takes its forward over (lib/constructs/deployment-strategy.ts), not the subject here.
    api: { deployment: { strategy: 'rolling', smokeTest: { enabled: false } } },
    alb: {
      routingAlgorithm: 'weighted_random', anomalyMitigation: true, slowStartSeconds: 0, stickiness: { mode: 'off' },
      defaultService: '', routes: [{ priority: 10, pathPatterns: ['/api/*', '/healthz'], action: { forward: [{ service: 'api', weight: 1 }] } }],
    },
  }).compute;

  test('with a certificate outside production: HTTPS on 443 with the post-quantum TLS policy, HSTS and nosniff, and 80 redirects to it (301)', () => {
    const t = https();
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::Listener', 2);
    expect(CERT).toBe(FIXTURE_CERTIFICATE_ARN);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: CERT }], SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09',
      ListenerAttributes: Match.arrayWith([
        { Key: 'routing.http.response.strict_transport_security.header_value', Value: 'max-age=31536000' },
        { Key: 'routing.http.response.x_content_type_options.header_value', Value: 'nosniff' },
      ]),
    });
    expect(guardExceptions(t).filter((e) => e.endsWith('CT.ELASTICLOADBALANCING.PR.1'))).toEqual([]);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      Protocol: 'HTTP', Port: 80,
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
  });

  test('alb.defaultService "": path routes forward their patterns to the API; anything else gets a fixed 404', () => {
    const t = weighted();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', {
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'application/json', MessageBody: Match.anyValue() } }],
    });
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', 2); // the route and /readyz
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*', '/healthz'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: { Ref: Match.stringLikeRegexp('^WebTargetGroup') } }],
    });
  });

  test('weighted random with anomaly mitigation', () => {
    const t = weighted();
    expect(attributes(t, 'AWS::ElasticLoadBalancingV2::TargetGroup')).toMatchObject({
      'load_balancing.algorithm.type': 'weighted_random',
      'load_balancing.algorithm.anomaly_mitigation': 'on',
    });
  });

  test('application cookie stickiness with the cookie name', () => {
    const t = tuned();
    expect(attributes(t, 'AWS::ElasticLoadBalancingV2::TargetGroup')).toMatchObject({
      'stickiness.enabled': 'true', 'stickiness.type': 'app_cookie', 'stickiness.app_cookie.cookie_name': 'SESSION', 'stickiness.app_cookie.duration_seconds': '600',
    });
  });

  // One synth serves several independent knobs (synth is the slow part of the suite).
  const tuned = () => synth('staging', {
    alb: { stickiness: { mode: 'app_cookie', durationSeconds: 600, cookieName: 'SESSION' }, slowStartSeconds: 0 },
    // 40 × 777 ÷ 60 = 518 req/s covers the 500 req/s spike profile; 2048 CPU units run 2 processes, so half the pool keeps the budget
    api: {
      requestsPerTarget: 777, maxTasks: 40, targetCpuUtilizationPercent: 55, targetMemoryUtilizationPercent: 65,
      cpu: 2048, memoryMiB: 4096, dbPoolSize: 5, metricResolutionSeconds: 60, predictiveScaling: 'forecast-and-scale',
      // Rolling, so the request policy is the predefined ALBRequestCountPerTarget (staging deploys blue/green).
      deployment: { strategy: 'rolling', smokeTest: { enabled: false } },
    },
    compute: { cpuArchitecture: 'x86_64' },
  }).compute;

  test('slow start off', () => {
    expect(attributes(tuned(), 'AWS::ElasticLoadBalancingV2::TargetGroup')['slow_start.duration_seconds']).toBeUndefined();
  });

  test.each([
    ['api.requestsPerTarget', 'ALBRequestCountPerTarget', 777],
    ['api.targetCpuUtilizationPercent', 'ECSServiceAverageCPUUtilization', 55],
    ['api.targetMemoryUtilizationPercent', 'ECSServiceAverageMemoryUtilization', 65],
  ])('changing %s changes the TargetValue', (_key, metric, value) => {
    tuned().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({
        PredefinedMetricSpecification: Match.objectLike({ PredefinedMetricType: metric }),
        TargetValue: value,
      }),
    });
  });

  test('api.cpu 2048: WORKLOAD_PROCESSES "2" in the API container', () => {
    const [def] = Object.values(tuned().findResources('AWS::ECS::TaskDefinition', { Properties: { ContainerDefinitions: [Match.objectLike({ PortMappings: Match.anyValue() })] } }));
    expect(def.Properties.Cpu).toBe('2048');
    expect(def.Properties.ContainerDefinitions[0].Environment).toContainEqual({ Name: 'WORKLOAD_PROCESSES', Value: '2' });
  });

  test('api.metricResolutionSeconds 60 in staging (20 by default): no Monitoring on the service, the CPU and memory policies on the 60-second metrics', () => {
    const t = tuned();
    const [service] = Object.values(t.findResources('AWS::ECS::Service', { Properties: { LaunchType: 'FARGATE' } }));
    expect(service.Properties.Monitoring).toBeUndefined();
    expect(JSON.stringify(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))).not.toContain('HighResolution');
    expect(configFor('staging').api.metricResolutionSeconds).toBe(20);
  });

  test('api.predictiveScaling forecast-and-scale: Mode ForecastAndScale, holding the edited CPU target', () => {
    tuned().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'PredictiveScaling',
      PredictiveScalingPolicyConfiguration: Match.objectLike({ Mode: 'ForecastAndScale', MetricSpecifications: [Match.objectLike({ TargetValue: 55 })] }),
    });
  });

  test('x86_64 when configured', () => {
    tuned().allResourcesProperties('AWS::ECS::TaskDefinition', { RuntimePlatform: { CpuArchitecture: 'X86_64', OperatingSystemFamily: 'LINUX' } });
  });

  test('by default the API and the worker run one image built from workload/ (built at deploy, not at synth)', () => {
    const { stacks } = synth('staging');
    const assets = stacks.compute.node.findAll().filter((c): c is DockerImageAsset => c instanceof DockerImageAsset);
    expect(assets).toHaveLength(2);
    expect(new Set(assets.map((a) => a.assetHash)).size).toBe(1);
    const defs = Object.values(synth('staging').compute.findResources('AWS::ECS::TaskDefinition'));
    expect(defs.map((d) => d.Properties.ContainerDefinitions[0].Command).sort()).toEqual([['api'], ['worker']]);
  });

  test('a registry image instead of the build', () => {
    const uri = 'public.ecr.aws/docker/library/nginx:1.27-alpine';
    const { compute: t, stacks } = synth('staging', { api: { image: { uri, directory: '', command: [] } } });
    const [def] = Object.values(t.findResources('AWS::ECS::TaskDefinition', { Properties: { ContainerDefinitions: [Match.objectLike({ PortMappings: Match.anyValue() })] } }));
    expect(def.Properties.ContainerDefinitions[0].Image).toBe(uri);
    expect(def.Properties.ContainerDefinitions[0].Command).toBeUndefined();
    expect(stacks.compute.node.findAll().filter((c) => c instanceof DockerImageAsset)).toHaveLength(1); // the worker's
  });

  test('a build directory of your own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-image-'));
    writeFileSync(join(dir, 'Dockerfile'), 'FROM public.ecr.aws/docker/library/busybox:1.37\n');
    const { stacks } = synth('staging', { api: { image: { directory: dir } } });
    const hashes = stacks.compute.node.findAll().filter((c): c is DockerImageAsset => c instanceof DockerImageAsset).map((a) => a.assetHash);
    expect(new Set(hashes).size).toBe(2);
  });
});

describe('cfn-lint exceptions of the 20-second metrics', () => {
  // cfn-lint 1.51 knows neither the service's Monitoring nor the high-resolution metric types. Each finding is
  // ignored on the one resource that has it (Metadata.cfn-lint), never for a whole rule or template.
  const { compute: t } = synth('prod');
  const lintMetadata = () => Object.entries(t.toJSON().Resources as Record<string, { Type: string; Metadata?: Record<string, { config: { ignore_checks: string[] } }> }>)
    .filter(([, r]) => r.Metadata?.['cfn-lint'])
    .map(([id, r]) => [id, r.Type, r.Metadata!['cfn-lint'].config.ignore_checks] as const);

  const schemaExceptions = () => lintMetadata().filter(([, , rules]) => rules.includes('E3002') || rules.includes('E3030'));

  test('ignored on the API service (E3002, Monitoring) and its CPU and memory policies (E3030, the metric type), on nothing else', () => {
    expect(schemaExceptions().map(([id, type, rules]) => [id.replace(/[0-9A-F]{8}$/, ''), type, rules]).sort()).toEqual([
      ['WebService', 'AWS::ECS::Service', ['E3002']],
      ['WebServiceTaskCountTargetCpuTracking', 'AWS::ApplicationAutoScaling::ScalingPolicy', ['E3030']],
      ['WebServiceTaskCountTargetMemoryTracking', 'AWS::ApplicationAutoScaling::ScalingPolicy', ['E3030']],
    ]);
  });

  test('dev (60-second metrics) needs no such exception', () => {
    const dev = synth('dev').compute.toJSON() as { Resources: Record<string, { Metadata?: Record<string, unknown> }> };
    expect(JSON.stringify(dev.Resources)).not.toMatch(/E3002|E3030/);
  });

  // Linted in the registry's one cfn-lint process, with the other specs' templates (test/helpers/cfn-lint.ts).
  // A copy: toJSON() is the template the other specs (and the cfn-lint spec) read.
  const lintWithout = lintBatch(() => {
    const template = JSON.parse(JSON.stringify(t.toJSON())) as { Resources: Record<string, { Metadata?: Record<string, unknown> }> };
    for (const [id] of schemaExceptions()) delete template.Resources[id].Metadata!['cfn-lint'];
    return { 'compute.json': template };
  });
  (cfnLintInstalled() ? test : test.skip)('without them cfn-lint reports exactly those three findings: they hide nothing else, and go once cfn-lint learns the properties', () => {
    const findings = lintWithout().findings.map((line) => line.split(':').slice(5).join(':'));
    expect(findings.map((f) => f.replace(/ is not one of .*$/, '')).sort()).toEqual([
      "E3002:Additional properties are not allowed ('Monitoring' was unexpected)",
      "E3030:'ECSServiceAverageCPUUtilizationHighResolution'",
      "E3030:'ECSServiceAverageMemoryUtilizationHighResolution'",
    ]);
  });
});
