import { Match } from 'aws-cdk-lib/assertions';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { processesForCpu } from '../../lib/config/capacity';
import { configFor } from '../helpers/context';
import { synth } from '../helpers/synth';
import { REPORTS, twoServices } from '../helpers/two-services';

const ref = (prefix: string) => ({ Ref: Match.stringLikeRegexp(`^${prefix}`) });
const API_TG = 'WebTargetGroup';
const REPORTS_TG = 'WebReportsServiceTargetGroup';

describe('two HTTP services behind one load balancer (staging with services: reports, and header, weighted, redirect and fixed-response routes)', () => {
  const cfg = configFor('staging', twoServices());
  const reports = cfg.services[0];
  const { compute: t } = synth('staging', twoServices());

  test('the second service is its own Fargate service, registered with its own target group, from the same image with its command', () => {
    t.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      LoadBalancers: [{ ContainerName: 'App', ContainerPort: reports.containerPort, TargetGroupArn: ref(REPORTS_TG) }],
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED', SecurityGroups: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^WebReportsServiceSecurityGroup'), 'GroupId'] }] }) },
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: reports.minHealthyPercent, MaximumPercent: reports.maxHealthyPercent }),
    });
    t.hasResourceProperties('AWS::ECS::Service', { LoadBalancers: [Match.objectLike({ TargetGroupArn: ref(API_TG) })] });
    const [id, task] = Object.entries(t.findResources('AWS::ECS::TaskDefinition')).find(([logicalId]) => logicalId.startsWith('WebReportsService'))!;
    expect(id).toMatch(/^WebReportsServiceReportsTaskDefinition/);
    expect(task.Properties).toMatchObject({ Cpu: String(reports.cpu), Memory: String(reports.memoryMiB) });
    const [container] = task.Properties.ContainerDefinitions;
    expect(container.Command).toEqual(['api']);
    expect(container.LogConfiguration.Options['awslogs-stream-prefix']).toBe(REPORTS);
    const environment = Object.fromEntries((container.Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]));
    expect(environment).toMatchObject({
      METRICS_SERVICE: REPORTS,
      DB_POOL_SIZE: String(reports.dbPoolSize),
      WORKLOAD_PROCESSES: String(processesForCpu(reports.cpu)),
      // It records jobs as the API does, with the worker's limits.
      JOB_MAX_MS: expect.any(String),
    });
  });

  test('each service names itself in its metrics (METRICS_SERVICE): the API as "api"', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(cfg.api.cpu),
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'METRICS_SERVICE', Value: 'api' }]) })],
    });
  });

  test('its target group has its own algorithm, slow start, stickiness, deregistration delay and health check', () => {
    const group = t.toJSON().Resources[Object.keys(t.findResources('AWS::ElasticLoadBalancingV2::TargetGroup')).find((id) => id.startsWith(REPORTS_TG))!];
    const attributes = Object.fromEntries((group.Properties.TargetGroupAttributes as Array<{ Key: string; Value: string }>).map((a) => [a.Key, a.Value]));
    expect(attributes).toEqual({
      'load_balancing.algorithm.type': 'round_robin',
      'slow_start.duration_seconds': '60',
      'stickiness.enabled': 'true',
      'stickiness.type': 'lb_cookie',
      'stickiness.lb_cookie.duration_seconds': '1800',
      'deregistration_delay.timeout_seconds': '20',
    });
    expect(group.Properties).toMatchObject({ HealthCheckIntervalSeconds: 10, UnhealthyThresholdCount: 2, HealthCheckPath: '/healthz', Port: reports.containerPort, TargetType: 'ip' });
  });

  test('its own scaling: task range, CPU and memory targets, and requests per target of ITS target group', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: reports.minTasks, MaxCapacity: reports.maxTasks,
      ResourceId: { 'Fn::Join': ['', ['service/', Match.anyValue(), '/', { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebReportsService'), 'Name'] }]] },
    });
    const policies = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy'))
      .filter((p) => JSON.stringify(p.Properties.ScalingTargetId).includes('WebReportsServiceTaskCountTarget'))
      .map((p) => p.Properties.TargetTrackingScalingPolicyConfiguration);
    expect(policies.map((p) => [p.PredefinedMetricSpecification.PredefinedMetricType, p.TargetValue]).sort()).toEqual([
      ['ALBRequestCountPerTarget', reports.requestsPerTarget],
      ['ECSServiceAverageCPUUtilization', reports.targetCpuUtilizationPercent],
      ['ECSServiceAverageMemoryUtilization', reports.targetMemoryUtilizationPercent],
    ]);
    const request = policies.find((p) => p.PredefinedMetricSpecification.PredefinedMetricType === 'ALBRequestCountPerTarget')!;
    expect(JSON.stringify(request.PredefinedMetricSpecification.ResourceLabel)).toContain(REPORTS_TG);
    expect(JSON.stringify(request.PredefinedMetricSpecification.ResourceLabel)).not.toMatch(/"WebTargetGroup/);
  });

  test('a header rule forwards to the second service', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 10,
      Conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Service', Values: [REPORTS] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: ref(REPORTS_TG) }],
    });
  });

  test('a weighted forward splits by weight across both target groups, with target group stickiness (a group in it is sticky)', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 20,
      Conditions: [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/reports/*'] } },
        { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET', 'HEAD'] } },
      ],
      Actions: [{
        Type: 'forward',
        ForwardConfig: {
          TargetGroups: [{ TargetGroupArn: ref(API_TG), Weight: 90 }, { TargetGroupArn: ref(REPORTS_TG), Weight: 10 }],
          TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 3600 },
        },
      }],
    });
  });

  test('a redirect by host and a fixed response by path, query string and source address', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 30,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['old.example.com'] } }],
      Actions: [{ Type: 'redirect', RedirectConfig: { Host: 'api.example.com', StatusCode: 'HTTP_301' } }],
    });
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::ListenerRule', {
      Priority: 40,
      Conditions: [
        { Field: 'path-pattern', PathPatternConfig: { Values: ['/internal/*'] } },
        { Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'debug', Value: 'true' }] } },
        { Field: 'source-ip', SourceIpConfig: { Values: ['203.0.113.0/24'] } },
      ],
      Actions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '403', ContentType: 'application/json', MessageBody: '{"error":"forbidden"}' } }],
    });
    // The four routes and the blocked paths, nothing else.
    t.resourceCountIs('AWS::ElasticLoadBalancingV2::ListenerRule', cfg.alb.routes.length + 1);
  });

  test('requests no rule matches go to alb.defaultService (the API)', () => {
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::Listener', { Port: 443, DefaultActions: [{ Type: 'forward', TargetGroupArn: ref(API_TG) }] });
  });

  test('the load balancer reaches the second service on its container port, and nothing else does', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebReportsServiceSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebLoadBalancerSecurityGroup'), 'GroupId'] },
      FromPort: reports.containerPort, ToPort: reports.containerPort,
    });
    const ingress = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes('WebReportsServiceSecurityGroup'));
    expect(ingress).toHaveLength(1);
  });

  test('the dashboard has a row for the second service: CPU, memory, tasks against its range, its targets', () => {
    const { monitoring } = synth('staging', twoServices());
    const [dashboard] = Object.values(monitoring.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const title of ['CPU (%)', 'memory (%)', 'tasks', 'targets']) expect(body).toContain(`"title\\":\\"${REPORTS} ${title}\\"`);
    // Its own ECS service and target group, read from the Compute stack, in those graphs.
    expect(body).toMatch(/WebReportsService[0-9A-F]{8}Name/);
    expect(body).toMatch(/WebReportsServiceTargetGroup[0-9A-F]{8}TargetGroupFullName/);
    expect(body).toContain(`"value\\":${reports.maxTasks},\\"label\\":\\"maxTasks\\"`);
  });

  test('the second service has its own CPU, memory, unhealthy-target and at-max alarms, on its own service and target group', () => {
    const { monitoring } = synth('staging', twoServices());
    const alarms = Object.values(monitoring.findResources('AWS::CloudWatch::Alarm')).filter((a) => String(a.Properties.AlarmDescription).includes(`service ${REPORTS}:`) || String(a.Properties.AlarmDescription).includes(`service ${REPORTS} runs`));
    const described = alarms.map((a) => a.Properties.AlarmDescription as string).sort();
    const expected = [
      ...(['apiCpuPercent', 'apiMemoryPercent', 'unhealthyHosts'] as const).flatMap((key) => (['warning', 'critical'] as const)
        .filter((severity) => cfg.alarms[key][severity] !== null).map((severity) => `alarms.${key}.${severity}`)),
    ];
    expect(described.filter((d) => d.includes('(alarms.')).map((d) => /\((alarms\.[^)]+)\)/.exec(d)![1]).sort()).toEqual(expected.sort());
    expect(described.some((d) => d.startsWith(`[Warning] service ${REPORTS} runs at its maxTasks (${reports.maxTasks})`))).toBe(cfg.alarms.apiAtMaxTasks);
    for (const alarm of alarms) {
      const dims = JSON.stringify(alarm.Properties.Dimensions ?? alarm.Properties.Metrics);
      expect(dims).toMatch(/WebReportsService(TargetGroup)?[0-9A-F]{8}/);
    }
    // Critical ones join the service-health composite.
    const [health] = Object.values(monitoring.findResources('AWS::CloudWatch::CompositeAlarm', { Properties: { AlarmDescription: Match.stringLikeRegexp('^\\[Critical\\] Service health') } }));
    expect(JSON.stringify(health.Properties.AlarmRule)).toMatch(/KpiReportsApiCpuCritical/);
  });

  test('the listener rules the construct records for each service are the ones forwarding to it', () => {
    const { stacks } = synth('staging', twoServices());
    const priorities = (name: string) => stacks.compute.web.httpServices.get(name)!.listenerRules
      .map((rule) => (rule.node.defaultChild as elbv2.CfnListenerRule).priority).sort((a, b) => a - b);
    expect(priorities('api')).toEqual([20]);
    expect(priorities(REPORTS)).toEqual([10, 20]);
  });
});
