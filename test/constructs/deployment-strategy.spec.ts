import { Match, type Template } from 'aws-cdk-lib/assertions';
import { COPIED_TARGET_GROUP_PROPERTIES, SMOKE_TEST_HEADER_VALUE } from '../../lib/constructs/deployment-strategy';
import { configFor } from '../helpers/context';
import { synth } from '../helpers/synth';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;
const resources = (t: Template) => t.toJSON().Resources as Resources;
const ofType = (t: Template, type: string) => Object.entries(resources(t)).filter(([, r]) => r.Type === type);
const apiService = (t: Template) => {
  const [entry] = ofType(t, 'AWS::ECS::Service').filter(([, r]) => (r.Properties.LoadBalancers ?? []).length > 0);
  return entry[1].Properties;
};
/** Every alarm name (metric and composite alarms) the Monitoring template defines. */
const alarmNames = (t: Template) => new Set(Object.values(resources(t))
  .filter((r) => r.Type === 'AWS::CloudWatch::Alarm' || r.Type === 'AWS::CloudWatch::CompositeAlarm')
  .map((r) => r.Properties.AlarmName)
  .filter((name): name is string => typeof name === 'string'));

describe('deployment strategies', () => {
  describe('prod: canary with alarm rollback (the default there)', () => {
    const { compute: t, monitoring: m } = synth('prod');
    const d = configFor('prod').api.deployment;

    test('the service shifts 10 % of the traffic, bakes it 5 minutes, then bakes 10 more before the old revision goes', () => {
      expect(apiService(t).DeploymentConfiguration).toMatchObject({
        Strategy: 'CANARY',
        CanaryConfiguration: { CanaryPercent: 10, CanaryBakeTimeInMinutes: 5 },
        BakeTimeInMinutes: 10,
      });
      expect(apiService(t).DeploymentConfiguration.LinearConfiguration).toBeUndefined();
    });

    test('and rolls back on the named SLO burn-rate, 5xx and p99 alarms, every one of which the Monitoring stack defines by that name', () => {
      const alarms = apiService(t).DeploymentConfiguration.Alarms;
      expect(alarms).toEqual({
        Enable: true,
        Rollback: true,
        AlarmNames: [
          'ScalingBlueprint-Prod-Kpi-SloAvailabilityBurn1', 'ScalingBlueprint-Prod-Kpi-SloLatencyBurn1',
          'ScalingBlueprint-Prod-Kpi-SloAvailabilityBurn2', 'ScalingBlueprint-Prod-Kpi-SloLatencyBurn2',
          'ScalingBlueprint-Prod-Kpi-Target5xxRateCritical', 'ScalingBlueprint-Prod-Kpi-Elb5xxRateCritical',
          'ScalingBlueprint-Prod-Kpi-LatencyP99Critical',
        ],
      });
      const defined = alarmNames(m);
      expect(alarms.AlarmNames.filter((name: string) => !defined.has(name))).toEqual([]);
      expect(d.rollbackAlarms).toEqual(['sloBurnRate', 'http5xx', 'latencyP99']);
    });

    test('the burn-rate composites and the 5xx/p99 Critical alarms carry those names in the Monitoring template', () => {
      m.hasResourceProperties('AWS::CloudWatch::CompositeAlarm', { AlarmName: 'ScalingBlueprint-Prod-Kpi-SloAvailabilityBurn1', AlarmDescription: Match.stringLikeRegexp('^\\[Critical\\] Availability SLO') });
      m.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'ScalingBlueprint-Prod-Kpi-Target5xxRateCritical', AlarmDescription: Match.stringLikeRegexp('^\\[Critical\\] target 5xx rate') });
      m.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'ScalingBlueprint-Prod-Kpi-LatencyP99Critical' });
    });

    test('production traffic comes through a catch-all rule after every route, forwarding to the primary target group', () => {
      const service = apiService(t);
      const [lb] = service.LoadBalancers;
      const rule = resources(t)[lb.AdvancedConfiguration.ProductionListenerRule.Ref];
      expect(rule.Type).toBe('AWS::ElasticLoadBalancingV2::ListenerRule');
      expect(rule.Properties).toMatchObject({
        Priority: d.productionRulePriority,
        Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: lb.TargetGroupArn }],
      });
      // No test listener rule without a smoke test.
      expect(lb.AdvancedConfiguration.TestListenerRule).toBeUndefined();
    });

    test('the alternate target group is the primary\'s twin: same port, health check and attributes', () => {
      const [lb] = apiService(t).LoadBalancers;
      const all = resources(t);
      const primary = all[lb.TargetGroupArn.Ref].Properties;
      const alternate = all[lb.AdvancedConfiguration.AlternateTargetGroupArn.Ref].Properties;
      expect(alternate).toEqual(primary);
      expect(lb.AdvancedConfiguration.AlternateTargetGroupArn.Ref).not.toEqual(lb.TargetGroupArn.Ref);
      // Every property the copy covers is one CloudFormation knows for a target group.
      for (const key of COPIED_TARGET_GROUP_PROPERTIES) expect(key).toMatch(/^[a-z][A-Za-z]+$/);
    });

    test('ECS moves the weights with a role of its own: inline, limited to the two target groups, the listener and the rule', () => {
      const [lb] = apiService(t).LoadBalancers;
      const role = resources(t)[lb.AdvancedConfiguration.RoleArn['Fn::GetAtt'][0]];
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'ecs.amazonaws.com' });
      const statements = role.Properties.Policies[0].PolicyDocument.Statement;
      const sorted = (v: unknown) => (Array.isArray(v) ? [...v].map((x) => JSON.stringify(x)).sort() : [JSON.stringify(v)]);
      expect(statements.map((st: any) => ({ actions: sorted(st.Action), resources: sorted(st.Resource) }))).toEqual([
        { actions: sorted(['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth']), resources: sorted('*') },
        { actions: sorted(['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets']), resources: sorted([lb.TargetGroupArn, lb.AdvancedConfiguration.AlternateTargetGroupArn]) },
        { actions: sorted('elasticloadbalancing:ModifyListener'), resources: [expect.stringMatching(/^\{"Ref":"WebLoadBalancerHttps/)] },
        { actions: sorted('elasticloadbalancing:ModifyRule'), resources: sorted(lb.AdvancedConfiguration.ProductionListenerRule) },
      ]);
    });

    test('the request policy tracks requests per target of both target groups, so it follows the traffic after a deployment', () => {
      const [lb] = apiService(t).LoadBalancers;
      const [, policy] = ofType(t, 'AWS::ApplicationAutoScaling::ScalingPolicy').find(([id]) => id.includes('RequestTracking'))!;
      const config = policy.Properties.TargetTrackingScalingPolicyConfiguration;
      expect(config.PredefinedMetricSpecification).toBeUndefined();
      const dims = config.CustomizedMetricSpecification.Metrics.filter((q: any) => q.MetricStat).map((q: any) => q.MetricStat.Metric.Dimensions[0].Value['Fn::GetAtt'][0]);
      expect(dims).toEqual([lb.TargetGroupArn.Ref, lb.AdvancedConfiguration.AlternateTargetGroupArn.Ref]);
      expect(config.CustomizedMetricSpecification.Metrics.at(-1)).toMatchObject({ Expression: 'FILL(tg0, 0) + FILL(tg1, 0)', ReturnData: true });
      expect(config.TargetValue).toBe(configFor('prod').api.requestsPerTarget);
    });
  });

  describe('aws-cdk#36649: a routine deploy leaves the production rule as it was', () => {
    // CloudFormation rewrites the rule's action (100 % to the primary target group, whatever ECS set) only when
    // it updates the rule, and it updates a resource only when its template changes.
    const ruleOf = (t: Template) => {
      const [lb] = apiService(t).LoadBalancers;
      const id = lb.AdvancedConfiguration.ProductionListenerRule.Ref;
      return { id, rule: resources(t)[id] };
    };
    const before = ruleOf(synth('prod').compute);
    const after = ruleOf(synth('prod', {
      api: { cpu: 2048, memoryMiB: 4096, minTasks: 4, scaleOutCooldownSeconds: 30, targetCpuUtilizationPercent: 50, deployment: { bakeTimeMinutes: 20, canary: { percent: 20, bakeTimeMinutes: 8 } } },
      alarms: { latencyP99Ms: { critical: 3000 } },
      monitoring: { evaluationPeriods: 4 },
    }).compute);

    test('a new task size, task range, scaling target, alarm threshold and canary setting: same logical id, same properties', () => {
      expect(after.id).toBe(before.id);
      expect(after.rule).toEqual(before.rule);
    });
  });

  describe('staging: blue/green with a smoke test at the test-traffic stage', () => {
    const { compute: t } = synth('staging');
    const d = configFor('staging').api.deployment;

    test('all traffic at once, 10 minutes of bake, the circuit breaker kept', () => {
      expect(apiService(t).DeploymentConfiguration).toMatchObject({ Strategy: 'BLUE_GREEN', BakeTimeInMinutes: 10, DeploymentCircuitBreaker: { Enable: true, Rollback: true } });
      expect(apiService(t).DeploymentConfiguration.CanaryConfiguration).toBeUndefined();
    });

    test('a test rule before the production rule sends requests with the test header to the service', () => {
      const [lb] = apiService(t).LoadBalancers;
      const rule = resources(t)[lb.AdvancedConfiguration.TestListenerRule.Ref].Properties;
      expect(rule).toMatchObject({
        Priority: d.smokeTest.rulePriority,
        Conditions: [
          { Field: 'path-pattern', PathPatternConfig: { Values: ['/*'] } },
          { Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: d.smokeTest.headerName, Values: [SMOKE_TEST_HEADER_VALUE] } },
        ],
        Actions: [{ Type: 'forward', TargetGroupArn: lb.TargetGroupArn }],
      });
      expect(rule.Priority).toBeLessThan(d.productionRulePriority);
    });

    test('the smoke-test Lambda runs at POST_TEST_TRAFFIC_SHIFT, in the VPC, HTTP out only, with a role that can only log and use its network interfaces', () => {
      const hook = apiService(t).DeploymentConfiguration.LifecycleHooks;
      expect(hook).toEqual([{ HookTargetArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] }, LifecycleStages: ['POST_TEST_TRAFFIC_SHIFT'], RoleArn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } }]);
      const fn = resources(t)[hook[0].HookTargetArn['Fn::GetAtt'][0]].Properties;
      expect(fn.Environment.Variables).toMatchObject({
        SMOKE_TEST_URL: { 'Fn::Join': ['', ['http://', { 'Fn::GetAtt': [expect.any(String), 'DNSName'] }, d.smokeTest.path]] },
        SMOKE_TEST_HEADER_NAME: d.smokeTest.headerName,
        SMOKE_TEST_HEADER_VALUE: SMOKE_TEST_HEADER_VALUE,
        SMOKE_TEST_TIMEOUT_MS: String(d.smokeTest.timeoutSeconds * 1000),
      });
      expect(fn.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
      const sg = resources(t)[fn.VpcConfig.SecurityGroupIds[0]['Fn::GetAtt'][0]].Properties;
      expect(sg.SecurityGroupEgress).toEqual([expect.objectContaining({ CidrIp: '0.0.0.0/0', FromPort: 80, ToPort: 80, IpProtocol: 'tcp' })]);
      const role = resources(t)[fn.Role['Fn::GetAtt'][0]].Properties;
      expect(role.ManagedPolicyArns).toBeUndefined();
      const actions = role.Policies.flatMap((p: any) => p.PolicyDocument.Statement.flatMap((s: any) => [s.Action].flat()));
      expect(actions.filter((a: string) => !a.startsWith('ec2:'))).toEqual([]);
      // ECS invokes it with the hook role, which may invoke this function and nothing else.
      const hookRole = resources(t)[hook[0].RoleArn['Fn::GetAtt'][0]].Properties;
      expect(hookRole.AssumeRolePolicyDocument.Statement[0].Principal).toEqual({ Service: 'ecs.amazonaws.com' });
      const invoke = Object.values(resources(t)).filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties.Roles.some((ref: any) => ref.Ref === hook[0].RoleArn['Fn::GetAtt'][0]));
      expect(invoke.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
        // The function alone, not `<arn>:*` (cdk-nag AwsSolutions-IAM5): ECS invokes the unqualified function.
        expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': [hook[0].HookTargetArn['Fn::GetAtt'][0], 'Arn'] } }),
      ]);
    });
  });

  describe('dev: rolling, as before', () => {
    const { compute: t } = synth('dev');

    test('no strategy, no alternate target group, no extra rule, the request policy on ALBRequestCountPerTarget', () => {
      const service = apiService(t);
      expect(service.DeploymentConfiguration.Strategy).toBeUndefined();
      expect(service.DeploymentConfiguration.Alarms).toBeUndefined();
      expect(service.LoadBalancers[0].AdvancedConfiguration).toBeUndefined();
      expect(ofType(t, 'AWS::ElasticLoadBalancingV2::TargetGroup')).toHaveLength(1);
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ALBRequestCountPerTarget' } },
      });
    });
  });

  describe('linear, from config', () => {
    const { compute: t } = synth('prod', { api: { deployment: { strategy: 'linear', linear: { stepPercent: 25, stepBakeTimeMinutes: 4 } } } });

    test('moves 25 % every 4 minutes', () => {
      expect(apiService(t).DeploymentConfiguration).toMatchObject({ Strategy: 'LINEAR', LinearConfiguration: { StepPercent: 25, StepBakeTimeInMinutes: 4 }, BakeTimeInMinutes: 10 });
    });
  });
});
