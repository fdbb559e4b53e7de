import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import { LoadGenerator, SLICE_MARGIN_SECONDS } from '../../lib/constructs/load-generator';
import { LOAD_GENERATOR_ENV, LOADTEST_NAMESPACE } from '../../lib/contracts/loadtest';
import { STACK_OUTPUTS } from '../../lib/contracts/stacks';
import { configFor, featureFlags } from '../helpers/context';
import { synth } from '../helpers/synth';
import { actions, policyStatements } from '../helpers/template';

describe('LoadTest stack (opt-in)', () => {
  test('absent where loadTest.enabled is false (dev, prod), present where it is true (staging)', () => {
    expect(configFor('dev').loadTest.enabled).toBe(false);
    expect(synth('dev').stacks.loadTest).toBeUndefined();
    expect(configFor('prod').loadTest.enabled).toBe(false);
    expect(synth('staging').stacks.loadTest?.stackName).toBe('ScalingBlueprint-Staging-LoadTest');
  });

  const cfg = configFor('staging');
  const { loadTest: maybe, stacks } = synth('staging');
  const t = maybe!;
  const [fnId, fn] = Object.entries(t.findResources('AWS::Lambda::Function'))[0];
  const [stopId, stop] = Object.entries(t.findResources('AWS::SSM::Parameter'))[0] ?? [];

  test('one function: Node.js 24 on arm64, memory, timeout = slice + margin, no retries', () => {
    t.resourceCountIs('AWS::Lambda::Function', 1);
    expect(fn.Properties).toEqual(expect.objectContaining({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: cfg.loadTest.lambdaMemoryMiB,
      Timeout: cfg.loadTest.sliceSeconds + SLICE_MARGIN_SECONDS,
    }));
    expect(cfg.loadTest.sliceSeconds + SLICE_MARGIN_SECONDS).toBeLessThanOrEqual(900);
    t.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: fnId }, MaximumRetryAttempts: 0 });
  });

  test('reserves no concurrency by default: a new account (concurrency limit 10) would reject any reservation', () => {
    expect(cfg.loadTest.reserveConcurrency).toBe(false);
    expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
  });

  test('loadTest.reserveConcurrency reserves loadTest.maxWorkers, which Lambda then enforces as the cap', () => {
    // The construct alone on a bare stack: a second staging synth would cost seconds for one property.
    const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    const stack = new Stack(app, 'Probe', { env: { region: 'us-east-1' } });
    new LoadGenerator(stack, 'LoadGenerator', {
      vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }),
      targetHost: 'api.example.com',
      loadTest: { ...cfg.loadTest, reserveConcurrency: true, maxWorkers: 7 },
      encryptionKey: new kms.Key(stack, 'Key'),
      logRetentionDays: 7,
      removalPolicy: 'destroy',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { ReservedConcurrentExecutions: 7 });
  });

  test('in the application subnets with its own security group: egress 80 and 443 only, no ingress', () => {
    const appSubnets = stacks.network.vpc.privateSubnets.map((s) => stacks.loadTest!.resolve(s.subnetId));
    expect(fn.Properties.VpcConfig.SubnetIds).toHaveLength(appSubnets.length);
    const [sg] = Object.values(t.findResources('AWS::EC2::SecurityGroup'));
    expect(sg.Properties.SecurityGroupIngress).toBeUndefined();
    expect(sg.Properties.SecurityGroupEgress.map((e: { FromPort: number; ToPort: number }) => [e.FromPort, e.ToPort]).sort()).toEqual([[443, 443], [80, 80]]);
    expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [expect.stringMatching(/^LoadGeneratorSecurityGroup/), 'GroupId'] }]);
  });

  test('PutMetricData only into the load-test namespace; no managed policies; logs to its own group', () => {
    const statements = policyStatements(t, 'LoadGeneratorRole');
    const put = statements.find((s) => actions([s]).includes('cloudwatch:PutMetricData'))!;
    expect(put.Condition).toEqual({ StringEquals: { 'cloudwatch:namespace': LOADTEST_NAMESPACE } });
    expect(actions(statements).filter((a) => a.startsWith('cloudwatch:'))).toEqual(['cloudwatch:PutMetricData']);
    t.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    expect(actions(statements)).toEqual(expect.arrayContaining(['logs:CreateLogStream', 'logs:PutLogEvents']));
  });

  test('log group encrypted with the stack key, retention from compute.logRetentionDays', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: cfg.compute.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
    });
    expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^LoadGeneratorLogs/) });
  });

  test('outputs the function name that npm run loadtest reads', () => {
    t.hasOutput(STACK_OUTPUTS.loadGeneratorFunctionName, { Value: { Ref: fnId } });
  });

  test('its only target is the Compute stack\'s load balancer, and its limits are loadTest\'s keys, in its environment', () => {
    expect(fn.Properties.Environment.Variables).toEqual({
      NODE_OPTIONS: '--enable-source-maps',
      [LOAD_GENERATOR_ENV.targetHost]: { 'Fn::GetStackOutput': expect.objectContaining({ StackName: stacks.compute.stackName, OutputName: expect.stringMatching(/LoadBalancer.*DNSName/) }) },
      [LOAD_GENERATOR_ENV.maxRatePerWorker]: String(cfg.loadTest.maxRatePerWorker),
      [LOAD_GENERATOR_ENV.maxConcurrency]: String(cfg.loadTest.maxConcurrencyPerWorker),
      [LOAD_GENERATOR_ENV.maxSliceSeconds]: String(cfg.loadTest.sliceSeconds),
      [LOAD_GENERATOR_ENV.maxTimeoutMs]: String(cfg.loadTest.requestTimeoutMs),
      [LOAD_GENERATOR_ENV.methods]: [...new Set(cfg.loadTest.mix.map((r) => r.method))].sort().join(','),
      [LOAD_GENERATOR_ENV.stopParameter]: { Ref: stopId },
      [LOAD_GENERATOR_ENV.stopPollSeconds]: String(cfg.loadTest.stopPollSeconds),
    });
  });

  test('a stop flag (SSM String parameter) the function may only read and the invoker role may only read and write, both on that parameter alone', () => {
    t.resourceCountIs('AWS::SSM::Parameter', 1);
    expect(stop.Properties).toMatchObject({ Type: 'String', Tier: 'Standard', Value: '{"stopped":[]}' });
    expect(stop.Properties.Name).toBeUndefined();
    const arnOf = (st: { Resource: unknown }) => JSON.stringify(st.Resource);
    const fnSsm = policyStatements(t, 'LoadGeneratorRole').filter((st) => actions([st]).some((a) => a.startsWith('ssm:')));
    expect(fnSsm.map((st) => [actions([st]), arnOf(st)])).toEqual([[['ssm:GetParameter'], expect.stringContaining(`"${stopId}"`)]]);
    expect(arnOf(fnSsm[0])).not.toContain('*');
    const invokerSsm = policyStatements(t, 'LoadGeneratorInvokerRole').filter((st) => actions([st]).some((a) => a.startsWith('ssm:')));
    expect(invokerSsm.map((st) => [actions([st]).sort(), arnOf(st)])).toEqual([[['ssm:GetParameter', 'ssm:PutParameter'], expect.stringContaining(`"${stopId}"`)]]);
    expect(arnOf(invokerSsm[0])).not.toContain('*');
    t.hasOutput(STACK_OUTPUTS.loadGeneratorStopParameterName, { Value: { Ref: stopId } });
  });

  test('a dedicated invoker role, trusted by this account, may invoke the function (and write its stop flag, above) and do nothing else', () => {
    const [roleId, role] = Object.entries(t.findResources('AWS::IAM::Role')).find(([id]) => id.startsWith('LoadGeneratorInvokerRole'))!;
    expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([expect.objectContaining({
      Action: 'sts:AssumeRole',
      Effect: 'Allow',
      Principal: { AWS: { 'Fn::Join': ['', ['arn:aws:iam::', { Ref: 'AWS::AccountId' }, ':root']] } },
    })]);
    const statements = policyStatements(t, 'LoadGeneratorInvokerRole');
    expect(actions(statements).sort()).toEqual(['lambda:InvokeFunction', 'ssm:GetParameter', 'ssm:PutParameter']);
    const invoke = statements.filter((st) => actions([st]).includes('lambda:InvokeFunction'));
    expect(invoke.flatMap((st) => [st.Resource].flat())).toEqual([{ 'Fn::GetAtt': [fnId, 'Arn'] }]);
    t.hasOutput('LoadGeneratorInvokerRoleArn', { Value: { 'Fn::GetAtt': [roleId, 'Arn'] } });
    // no resource-based policy opens the function to anyone else
    t.resourceCountIs('AWS::Lambda::Permission', 0);
  });

  test('depends on Network and Compute (its target), by weak references: Compute can be replaced without it', () => {
    expect(stacks.loadTest!.dependencies.map((s) => s.stackName).sort()).toEqual(['ScalingBlueprint-Staging-Compute', 'ScalingBlueprint-Staging-Network']);
    expect(JSON.stringify(t.toJSON())).not.toContain('Fn::ImportValue');
  });
});

describe('outputs the operator tools read', () => {
  const { compute, monitoring } = synth('dev');

  test('Compute: ApiUrl, http:// without a certificate', () => {
    const [out] = Object.values(compute.findOutputs(STACK_OUTPUTS.apiUrl));
    expect(JSON.stringify(out.Value)).toContain('http://');
    expect(JSON.stringify(out.Value)).toContain('DNSName');
  });

  test('Monitoring: KpiSources names every dimension the KPI report queries', () => {
    const [out] = Object.values(monitoring.findOutputs(STACK_OUTPUTS.kpiSources));
    const parts = (out.Value['Fn::Join'][1] as unknown[]).filter((p): p is string => typeof p === 'string').join('');
    for (const key of ['loadBalancerFullName', 'targetGroupFullName', 'clusterName', 'apiServiceName', 'workerServiceName', 'queueName', 'deadLetterQueueName', 'dbClusterIdentifier']) {
      expect(parts).toContain(`"${key}":"`);
    }
  });
});
