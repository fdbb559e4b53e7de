import { Match, type Template } from 'aws-cdk-lib/assertions';
import { jobMaxMs, WORKER_MAX_HEALTHY_PERCENT } from '../../lib/config/capacity';
import { WORKER_HEALTH_CHECK_COMMAND, WORKER_LIVENESS_PORT } from '../../lib/contracts/container-env';
import { REFERENCE_WORKLOAD } from '../../lib/config/schema/compute';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { actions, policyStatements } from '../helpers/template';

const queueNameFromData = { 'Fn::GetStackOutput': Match.objectLike({ StackName: Match.stringLikeRegexp('-Data$'), OutputName: Match.stringLikeRegexp('JobsQueue24944186QueueName') }) };
/** The metric-math queries the policy must carry, exactly. */
function expectedQueries(includeInFlight: boolean) {
  const sqs = (id: string, name: string) => ({
    Id: id,
    MetricStat: { Metric: { Namespace: 'AWS/SQS', MetricName: name, Dimensions: [{ Name: 'QueueName', Value: queueNameFromData }] }, Stat: 'Average' },
    ReturnData: false,
  });
  return [
    sqs('visible', 'ApproximateNumberOfMessagesVisible'),
    ...(includeInFlight ? [sqs('inflight', 'ApproximateNumberOfMessagesNotVisible')] : []),
    {
      Id: 'running',
      MetricStat: {
        Metric: {
          Namespace: 'ECS/ContainerInsights',
          MetricName: 'RunningTaskCount',
          Dimensions: [
            { Name: 'ClusterName', Value: { Ref: Match.stringLikeRegexp('^Cluster') } },
            { Name: 'ServiceName', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkerService'), 'Name'] } },
          ],
        },
        Stat: 'Average',
      },
      ReturnData: false,
    },
    { Id: 'backlogPerTask', Expression: includeInFlight ? '(visible + inflight) / running' : 'visible / running', Label: 'Backlog per task', ReturnData: true },
  ];
}

/** The environment of the worker's container (the task definition without a port) and of the API's. */
function containerEnvironments(t: Template): { worker: Array<{ Name: string; Value: unknown }>; api: Array<{ Name: string; Value: unknown }> } {
  const defs = Object.values(t.findResources('AWS::ECS::TaskDefinition')).map((d) => d.Properties.ContainerDefinitions[0]);
  const [worker] = defs.filter((c) => c.PortMappings === undefined);
  const [api] = defs.filter((c) => c.PortMappings !== undefined);
  return { worker: worker.Environment, api: api.Environment };
}

describe.each(ENVIRONMENTS)('queue workers (%s)', (env) => {
  const cfg = configFor(env);
  const w = cfg.worker;
  const { compute: t } = synth(env);

  test('service: app subnets, no public IP, no load balancer, FARGATE/FARGATE_SPOT mix from config, circuit breaker', () => {
    t.hasResourceProperties('AWS::ECS::Service', {
      LaunchType: Match.absent(),
      LoadBalancers: [],
      CapacityProviderStrategy: [
        { CapacityProvider: 'FARGATE', Base: w.capacityProviders.fargateBase, Weight: w.capacityProviders.fargateWeight },
        { CapacityProvider: 'FARGATE_SPOT', Weight: w.capacityProviders.spotWeight },
      ],
      NetworkConfiguration: { AwsvpcConfiguration: Match.objectLike({ AssignPublicIp: 'DISABLED' }) },
      DeploymentConfiguration: Match.objectLike({ DeploymentCircuitBreaker: { Enable: true, Rollback: true } }),
      DesiredCount: Match.absent(),
    });
    t.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', {
      CapacityProviders: Match.arrayWith(['FARGATE', 'FARGATE_SPOT']),
    });
  });

  test('every service that names a capacity provider is created after, and deleted before, the cluster\'s capacity-provider association', () => {
    const [association, ...more] = Object.keys(t.findResources('AWS::ECS::ClusterCapacityProviderAssociations'));
    expect(association).toBeDefined();
    expect(more).toEqual([]);
    const withStrategy = Object.entries(t.findResources('AWS::ECS::Service')).filter(([, r]) => r.Properties.CapacityProviderStrategy);
    expect(withStrategy.map(([id]) => id)).toContainEqual(expect.stringMatching(/^WorkerService/));
    for (const [, service] of withStrategy) expect(service.DependsOn).toContain(association);
  });

  test('task: stop timeout and command from config; no port', () => {
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: String(w.cpu),
      Memory: String(w.memoryMiB),
      ContainerDefinitions: [Match.objectLike({
        Command: [...(w.image.command ?? REFERENCE_WORKLOAD.command.worker)],
        StopTimeout: w.stopTimeoutSeconds,
        PortMappings: Match.absent(),
      })],
    });
  });

  test(`the worker runs worker.concurrency jobs at once: WORKER_CONCURRENCY = ${w.concurrency}, in the worker only; it runs one process`, () => {
    const { worker, api } = containerEnvironments(t);
    expect(worker).toContainEqual({ Name: 'WORKER_CONCURRENCY', Value: String(w.concurrency) });
    expect(worker.map((e) => e.Name)).not.toContain('WORKLOAD_PROCESSES');
    expect(api.map((e) => e.Name)).not.toContain('WORKER_CONCURRENCY');
  });

  test(`jobs end inside the stop timeout: JOB_MAX_MS = ${jobMaxMs(w)} for the worker and the API; the API's job cost comes from config`, () => {
    const { worker, api } = containerEnvironments(t);
    expect(jobMaxMs(w)).toBeLessThanOrEqual((w.stopTimeoutSeconds - 10) * 1000);
    expect(worker).toContainEqual({ Name: 'JOB_MAX_MS', Value: String(jobMaxMs(w)) });
    expect(api).toEqual(expect.arrayContaining([
      { Name: 'JOB_MAX_MS', Value: String(jobMaxMs(w)) },
      { Name: 'JOB_CPU_MS', Value: String(w.jobCpuMs) },
      { Name: 'JOB_IO_MS', Value: String(w.jobIoMs) },
      { Name: 'JOB_COST_FROM_REQUEST', Value: String(w.jobCostFromRequest) },
    ]));
  });

  test('the reference worker has a container health check: its liveness port, asked with busybox wget', () => {
    const { worker } = containerEnvironments(t);
    expect(worker).toContainEqual({ Name: 'WORKER_LIVENESS_PORT', Value: String(WORKER_LIVENESS_PORT) });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        PortMappings: Match.absent(),
        HealthCheck: { Command: ['CMD-SHELL', WORKER_HEALTH_CHECK_COMMAND], Interval: 15, Timeout: 5, Retries: 3, StartPeriod: 30 },
      })],
    });
  });

  test(`deploys with MaximumPercent ${WORKER_MAX_HEALTHY_PERCENT}, the worker surge the connection budget counts`, () => {
    expect(WORKER_MAX_HEALTHY_PERCENT).toBe(200);
    t.hasResourceProperties('AWS::ECS::Service', {
      CapacityProviderStrategy: Match.anyValue(),
      DeploymentConfiguration: Match.objectLike({ MinimumHealthyPercent: 100, MaximumPercent: WORKER_MAX_HEALTHY_PERCENT }),
    });
  });

  test('scalable target: the worker task range', () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ScalableDimension: 'ecs:service:DesiredCount',
      MinCapacity: w.minTasks,
      MaxCapacity: w.maxTasks,
      ResourceId: { 'Fn::Join': ['', ['service/', { Ref: Match.stringLikeRegexp('^Cluster') }, '/', { 'Fn::GetAtt': [Match.stringLikeRegexp('^WorkerService'), 'Name'] }]] },
    });
  });

  test(`target tracking on backlog per task by metric math, target = ${w.acceptableLatencySeconds} × ${w.concurrency} ÷ ${w.avgProcessingSeconds}`, () => {
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      PolicyType: 'TargetTrackingScaling',
      ScalingTargetId: { Ref: Match.stringLikeRegexp('^WorkerScaling') },
      TargetTrackingScalingPolicyConfiguration: {
        TargetValue: (w.acceptableLatencySeconds * w.concurrency) / w.avgProcessingSeconds,
        CustomizedMetricSpecification: { Metrics: expectedQueries(w.scaleOnInFlightMessages) },
        ScaleOutCooldown: w.scaleOutCooldownSeconds,
        ScaleInCooldown: w.scaleInCooldownSeconds,
      },
    });
  });

  test('no step scaling of QueueProcessingFargateService: the only step policy is the scale-out from zero', () => {
    const steps = t.findResources('AWS::ApplicationAutoScaling::ScalingPolicy', { Properties: { PolicyType: 'StepScaling' } });
    expect(Object.keys(steps)).toHaveLength(w.minTasks === 0 ? 1 : 0);
  });

  if (w.minTasks === 0) {
    test('scale to zero: an alarm on "messages waiting while no task runs" adds one task', () => {
      t.hasResourceProperties('AWS::CloudWatch::Alarm', {
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: 'notBreaching',
        Metrics: Match.arrayWith([
          Match.objectLike({ Expression: `IF(FILL(running, 0) == 0, ${w.scaleOnInFlightMessages ? 'visible + inflight' : 'visible'}, 0)`, ReturnData: true }),
        ]),
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^WorkerScaleOutFromZero') }],
      });
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'StepScaling',
        ScalingTargetId: { Ref: Match.stringLikeRegexp('^WorkerScaling') },
        StepScalingPolicyConfiguration: {
          AdjustmentType: 'ChangeInCapacity',
          Cooldown: w.scaleOutCooldownSeconds,
          MetricAggregationType: 'Maximum',
          StepAdjustments: [{ MetricIntervalLowerBound: 0, ScalingAdjustment: 1 }],
        },
      });
    });
  } else {
    test('no scale-from-zero alarm when minTasks > 0', () => {
      t.resourceCountIs('AWS::CloudWatch::Alarm', 0);
    });
  }

  test('IAM: the worker may consume the queue and connect to the proxy and the cache, nothing more (no SendMessage)', () => {
    const statements = policyStatements(t, 'WorkerTaskDefinitionTaskRole');
    const all = actions(statements);
    const expected = ['elasticache:Connect', 'kms:Decrypt', 'sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'];
    // With the proxy, IAM tokens; without, the password read from the master secret when connecting (data-access.spec.ts).
    expected.push(...(cfg.database.proxy.enabled ? ['rds-db:connect'] : ['kms:Decrypt', 'secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']));
    expect(all).toEqual(expected.sort());
    for (const s of statements) expect(s.Resource).not.toBe('*');
    // Scoped to the cache and its application user (the ARNs are asserted in web-service.spec.ts).
    const connect = statements.find((s) => s.Action === 'elasticache:Connect')!;
    expect(JSON.stringify(connect.Resource)).toMatch(/:replicationgroup:.*:user:/);
  });

  test('security groups: nothing reaches the workers; they reach the database and the cache', () => {
    const ingressToWorker = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify(r.Properties.GroupId).includes('WorkerSecurityGroup'));
    expect(ingressToWorker).toEqual([]);
    const fromWorker = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))
      .filter((r) => JSON.stringify(r.Properties.SourceSecurityGroupId).includes('WorkerSecurityGroup'))
      .map((r) => [JSON.stringify(r.Properties.GroupId).match(/(DatabaseProxySecurityGroup|DatabaseSecurityGroup|CacheSecurityGroup)/)![1], r.Properties.FromPort]);
    expect(fromWorker.sort()).toEqual([
      ['CacheSecurityGroup', cfg.cache.port],
      [cfg.database.proxy.enabled ? 'DatabaseProxySecurityGroup' : 'DatabaseSecurityGroup', 5432],
    ]);
  });
});

describe('worker variants', () => {
  test.each([
    [{ worker: { acceptableLatencySeconds: 300 } }, 1500], // 300 × 10 ÷ 2
    [{ worker: { avgProcessingSeconds: 0.5, acceptableLatencySeconds: 60 } }, 1200], // 60 × 10 ÷ 0.5
  ])('changing acceptable latency or processing time moves the TargetValue (%j → %d)', (overrides, target) => {
    const { compute: t } = synth('staging', overrides);
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: target, CustomizedMetricSpecification: Match.anyValue() }),
    });
  });

  test('changing worker.concurrency changes WORKER_CONCURRENCY', () => {
    // The same edit as test/config/capacity.spec.ts (one synth serves both): 4 jobs at once, a pool of 4.
    const { compute } = synth('staging', { worker: { concurrency: 4, dbPoolSize: 4 }, api: { capacityPerTaskRps: 900 } });
    const { worker } = containerEnvironments(compute);
    expect(worker).toContainEqual({ Name: 'WORKER_CONCURRENCY', Value: '4' });
    expect(worker).toContainEqual({ Name: 'DB_POOL_SIZE', Value: '4' });
  });

  const visibleOnly = () => synth('dev', { worker: { scaleOnInFlightMessages: false }, compute: { containerInsights: 'enabled' } }).compute;

  test('visible messages only when in-flight ones are not counted', () => {
    visibleOnly().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ CustomizedMetricSpecification: { Metrics: expectedQueries(false) } }),
    });
    visibleOnly().hasResourceProperties('AWS::CloudWatch::Alarm', {
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'IF(FILL(running, 0) == 0, visible, 0)' })]),
    });
  });

  test('Container Insights mode from config (RunningTaskCount needs it on)', () => {
    visibleOnly().hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
    synth('dev').compute.hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enhanced' }] });
  });
});
