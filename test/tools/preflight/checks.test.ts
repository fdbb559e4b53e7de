import { CloudFormationClient, CreateStackCommand, ListStackResourcesCommand } from '@aws-sdk/client-cloudformation';
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { STACK_PARTS, stackId } from '../../../lib/contracts/stacks';
import { readAssembly } from '../../../tools/preflight/assembly';
import { CHECKS, runChecks, type PreflightContext } from '../../../tools/preflight/checks';
import { motoClient, uniqueId } from '../kpi-report/moto';
import { awsError, context, facts, fargateService, motoClients, stub, writeAssembly } from './fixture';

/** Runs one check by id. */
async function check(id: string, ctx: PreflightContext) {
  const c = CHECKS.find((x) => x.id === id)!;
  const [r] = await runChecks(ctx, [c]);
  return r;
}

const cfn = motoClient(CloudFormationClient);

/** A stack in moto made of the given resources (moto creates SSM parameters and SNS topics for real). */
async function createStack(name: string, resources: Record<string, unknown>): Promise<void> {
  await cfn.send(new CreateStackCommand({ StackName: name, TemplateBody: JSON.stringify({ Resources: resources }) }));
}

describe('bootstrap (moto: CloudFormation, SSM)', () => {
  /** A bootstrap stack as `cdk bootstrap` makes it: the version parameter is one of its resources. */
  async function bootstrapped(version: number) {
    const qualifier = uniqueId('q').replace(/-/g, '').slice(0, 20);
    const toolkitStackName = uniqueId('CDKToolkit');
    const ssmParameter = `/cdk-bootstrap/${qualifier}/version`;
    await createStack(toolkitStackName, { CdkBootstrapVersion: { Type: 'AWS::SSM::Parameter', Properties: { Name: ssmParameter, Type: 'String', Value: String(version) } } });
    return { toolkitStackName, ssmParameter };
  }

  test('ok: the stack exists and the version is at least what the synthesizer requires', async () => {
    const { toolkitStackName, ssmParameter } = await bootstrapped(21);
    const r = await check('bootstrap', context({ toolkitStackName, facts: facts({ bootstrap: { ssmParameter, requiredVersion: 6, lookupRoleVersion: 8 } }) }));
    expect(r).toMatchObject({ status: 'ok', found: `stack ${toolkitStackName} CREATE_COMPLETE, version 21 ≥ 6 required.` });
  });

  test('blocked: an older bootstrap than required, with the command that upgrades it', async () => {
    const { toolkitStackName, ssmParameter } = await bootstrapped(5);
    const r = await check('bootstrap', context({ toolkitStackName, facts: facts({ bootstrap: { ssmParameter, requiredVersion: 6 } }) }));
    expect(r.status).toBe('blocked');
    expect(r.found).toContain('version 5 < 6');
    expect(r.fix).toMatch(/^npx cdk bootstrap aws:\/\/123456789012\/us-east-1 --qualifier q\w+ --toolkit-stack-name CDKToolkit-/);
  });

  test('blocked: not bootstrapped at all', async () => {
    const r = await check('bootstrap', context({ toolkitStackName: uniqueId('CDKToolkit'), facts: facts({ bootstrap: { ssmParameter: `/cdk-bootstrap/${uniqueId('none')}/version`, requiredVersion: 6 } }) }));
    expect(r.status).toBe('blocked');
    expect(r.found).toMatch(/^us-east-1 of account 123456789012 is not bootstrapped: no stack CDKToolkit-\S+, no \/cdk-bootstrap\//);
  });

  test('warn: deployable, but too old for the lookup role', async () => {
    const { toolkitStackName, ssmParameter } = await bootstrapped(7);
    const r = await check('bootstrap', context({ toolkitStackName, facts: facts({ bootstrap: { ssmParameter, requiredVersion: 6, lookupRoleVersion: 8 } }) }));
    expect(r.status).toBe('warn');
  });
});

describe('aurora (moto: RDS DescribeOrderableDBInstanceOptions)', () => {
  // moto's table of orderable options ends at aurora-postgresql 15.2 and leaves out us-east-1e.
  test('ok: version and class offered in every configured zone', async () => {
    const r = await check('aurora', context({ configOverrides: { database: { engineVersion: '15.2', instanceClass: 'db.t4g.medium' } } }));
    expect(r).toMatchObject({ status: 'ok', found: 'aurora-postgresql 15.2 on db.t4g.medium offered in us-east-1a, us-east-1b.' });
  });

  test('blocked: a class not offered with the version lists those that are', async () => {
    const r = await check('aurora', context({ configOverrides: { database: { engineVersion: '15.2', instanceClass: 'db.r8g.large' } } }));
    expect(r.status).toBe('blocked');
    expect(r.found).toBe('aurora-postgresql 15.2 on db.r8g.large is not offered in us-east-1.');
    expect(r.fix).toContain('db.r6g.large');
  });

  test('blocked: a version not offered in the region', async () => {
    const r = await check('aurora', context({ configOverrides: { database: { engineVersion: '16.6' } } }));
    expect(r).toMatchObject({ status: 'blocked', found: 'aurora-postgresql 16.6 is not offered in us-east-1.' });
  });

  test('warn: a configured zone where the class is not offered', async () => {
    const r = await check('aurora', context({ configOverrides: { network: { availabilityZones: ['us-east-1e', 'us-east-1a'] }, database: { engineVersion: '15.2', instanceClass: 'db.t4g.medium' } } }));
    expect(r.status).toBe('warn');
    expect(r.details).toMatchObject({ missingZones: ['us-east-1e'] });
  });

  test('Serverless v2: blocked below the minimum capacity the version allows (stubbed DescribeDBEngineVersions, which moto lacks)', async () => {
    const clients = motoClients();
    const rds = stub<typeof clients.rds>({ DescribeDBEngineVersionsCommand: () => ({ DBEngineVersions: [{ EngineVersion: '15.2', ServerlessV2FeaturesSupport: { MinCapacity: 0.5, MaxCapacity: 128 } }] }) }, clients.rds);
    const ctx = (min: number, max: number) => context({ clients: { ...clients, rds }, configOverrides: { database: { engineVersion: '15.2', instanceClass: 'db.serverless', serverlessV2MinCapacityAcu: min, serverlessV2MaxCapacityAcu: max } } });
    expect(await check('aurora', ctx(0.5, 64))).toMatchObject({ status: 'ok', found: expect.stringContaining('0.5-64 ACU within the range offered') });
    const low = await check('aurora', ctx(0, 64));
    expect(low.status).toBe('blocked');
    expect(low.found).toContain('serverlessV2MinCapacityAcu 0 < 0.5');
    expect((await check('aurora', ctx(1, 256))).found).toContain('serverlessV2MaxCapacityAcu 256 > 128');
  });
});

describe('elasticache (stubbed: moto has neither DescribeCacheEngineVersions nor reserved-node offerings)', () => {
  const versions = { CacheEngineVersions: [{ Engine: 'valkey', EngineVersion: '7.2' }, { Engine: 'valkey', EngineVersion: '8.0' }] };
  const withCache = (offerings: unknown[], cache: Record<string, unknown> = {}) => {
    const elastiCache = stub<ReturnType<typeof motoClients>['elastiCache']>({
      DescribeCacheEngineVersionsCommand: (input: { Engine: string }) => (input.Engine === 'valkey' ? versions : { CacheEngineVersions: [] }),
      DescribeReservedCacheNodesOfferingsCommand: () => ({ ReservedCacheNodesOfferings: offerings }),
    });
    return context({ clients: { ...motoClients(), elastiCache }, configOverrides: { cache } });
  };

  test('ok: version offered and node type sold in the region', async () => {
    const r = await check('elasticache', withCache([{ CacheNodeType: 'cache.t4g.micro' }]));
    expect(r).toMatchObject({ status: 'ok', found: expect.stringMatching(/^valkey 8\.0 offered; cache\.t4g\.micro sold in us-east-1/) });
  });

  test('blocked: a version the region does not offer', async () => {
    const r = await check('elasticache', withCache([{}], { engineVersion: '8.1' }));
    expect(r).toMatchObject({ status: 'blocked', found: 'valkey 8.1 is not offered in us-east-1 (offered: 7.2, 8.0).' });
  });

  test('warn: a node type in none of the region\'s offerings', async () => {
    const r = await check('elasticache', withCache([]));
    expect(r.status).toBe('warn');
  });

  test('serverless: the major version must be offered', async () => {
    expect((await check('elasticache', withCache([], { mode: 'serverless', engineVersion: '8.0' }))).status).toBe('ok');
    const r = await check('elasticache', withCache([], { mode: 'serverless', engine: 'redis', engineVersion: '7.1' }));
    expect(r).toMatchObject({ status: 'blocked', found: 'redis 7 is not offered in us-east-1 (offered: none).' });
  });
});

describe('lambda-concurrency (stubbed Lambda: moto lacks GetAccountSettings)', () => {
  const reserved = [{ stack: 'ScalingBlueprint-Dev-LoadTest', logicalId: 'LoadGenerator', reserved: 20 }, { stack: 'ScalingBlueprint-Dev-Data', logicalId: 'ReaderCleanup', reserved: 2 }];
  const withAccount = (limit: number, unreserved: number, held: Record<string, number> = {}) => {
    const lambda = stub<ReturnType<typeof motoClients>['lambda']>({
      GetAccountSettingsCommand: () => ({ AccountLimit: { ConcurrentExecutions: limit, UnreservedConcurrentExecutions: unreserved } }),
      GetFunctionConcurrencyCommand: (input: { FunctionName: string }) => ({ ReservedConcurrentExecutions: held[input.FunctionName] }),
    });
    const cloudFormation = stub<ReturnType<typeof motoClients>['cloudFormation']>({
      DescribeStackResourceCommand: (input: { LogicalResourceId: string; StackName: string }) => {
        if (!(input.LogicalResourceId in held)) throw awsError('ValidationError', `Stack with id ${input.StackName} does not exist`);
        return { StackResourceDetail: { PhysicalResourceId: input.LogicalResourceId } };
      },
    });
    return context({ clients: { ...motoClients(), lambda, cloudFormation }, facts: facts({ reservedConcurrency: reserved }) });
  };

  test('blocked on a new account (limit 10): reserving 22 would leave less than 100 unreserved', async () => {
    const r = await check('lambda-concurrency', withAccount(10, 10));
    expect(r.status).toBe('blocked');
    expect(r.found).toContain('the stacks reserve 22 (LoadTest/LoadGenerator 20, Data/ReaderCleanup 2); 10 unreserved would leave -12 < 100');
    expect(r.found).toContain('https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html');
    expect(r.fix).toContain('at least 122');
  });

  test('ok at the default limit of 1000', async () => {
    const r = await check('lambda-concurrency', withAccount(1000, 1000));
    expect(r).toMatchObject({ status: 'ok', details: expect.objectContaining({ unreservedAfter: 978 }) });
  });

  test('reservations the deployed functions hold already are counted once', async () => {
    // GIVEN both functions deployed with their reservations: 122 - 22 = 100 unreserved now
    const r = await check('lambda-concurrency', withAccount(122, 100, { LoadGenerator: 20, ReaderCleanup: 2 }));
    expect(r).toMatchObject({ status: 'ok', details: expect.objectContaining({ alreadyHeld: 22, unreservedAfter: 100 }) });
  });

  test('ok when the templates reserve nothing', async () => {
    const r = await check('lambda-concurrency', { ...withAccount(10, 10), facts: facts() });
    expect(r).toMatchObject({ status: 'ok', found: 'the stacks reserve no concurrency (account limit 10, 10 unreserved).' });
  });
});

describe('alarm-emails (moto: CloudFormation, SNS)', () => {
  /** A deployed Monitoring stack of a fresh environment name, its topic, and e-mails subscribed to it. */
  async function deployed(subscribed: string[]) {
    const envName = uniqueId('pf');
    const stackName = stackId(envName, STACK_PARTS.monitoring);
    await createStack(stackName, { AlarmsTopic: { Type: 'AWS::SNS::Topic' } });
    const sns = motoClient(SNSClient);
    const resources = await cfn.send(new ListStackResourcesCommand({ StackName: stackName }));
    const topic = resources.StackResourceSummaries!.find((s) => s.ResourceType === 'AWS::SNS::Topic')!.PhysicalResourceId!;
    for (const e of subscribed) await sns.send(new SubscribeCommand({ TopicArn: topic, Protocol: 'email', Endpoint: e }));
    return { envName, topic };
  }

  test('ok: every configured e-mail has confirmed', async () => {
    const { envName } = await deployed(['ops@example.com']);
    const r = await check('alarm-emails', context({ envName, configOverrides: { monitoring: { alarmEmails: ['Ops@example.com'] } } }));
    expect(r).toMatchObject({ status: 'ok', found: `1 e-mail subscription(s) confirmed on the alarm topic of ${stackId(envName, STACK_PARTS.monitoring)}.` });
  });

  test('warn: a configured e-mail that is not subscribed (expired or unsubscribed), with the command to subscribe it', async () => {
    const { envName, topic } = await deployed(['ops@example.com']);
    const r = await check('alarm-emails', context({ envName, configOverrides: { monitoring: { alarmEmails: ['ops@example.com', 'oncall@example.com'] } } }));
    expect(r.status).toBe('warn');
    expect(r.found).toContain('1 not subscribed (oncall@example.com');
    expect(r.fix).toBe(`aws sns subscribe --region us-east-1 --topic-arn ${topic} --protocol email --notification-endpoint oncall@example.com.`);
  });

  test('warn: subscriptions pending confirmation (stubbed SNS: moto confirms e-mails at once)', async () => {
    const { envName } = await deployed([]);
    const sns = stub<ReturnType<typeof motoClients>['sns']>({
      ListSubscriptionsByTopicCommand: () => ({ Subscriptions: [{ Protocol: 'email', Endpoint: 'ops@example.com', SubscriptionArn: 'PendingConfirmation' }] }),
    });
    const r = await check('alarm-emails', context({ envName, clients: { ...motoClients(), sns }, configOverrides: { monitoring: { alarmEmails: ['ops@example.com'] } } }));
    expect(r.status).toBe('warn');
    expect(r.found).toContain('1 pending confirmation (ops@example.com)');
  });

  test('skipped before the Monitoring stack is deployed, and when no e-mail is configured', async () => {
    const envName = uniqueId('pf');
    const before = await check('alarm-emails', context({ envName, configOverrides: { monitoring: { alarmEmails: ['ops@example.com'] } } }));
    expect(before).toMatchObject({ status: 'skipped', found: expect.stringContaining('is not deployed yet; after deploy, each of ops@example.com gets a confirmation e-mail') });
    expect((await check('alarm-emails', context({ envName }))).status).toBe('skipped');
  });
});

describe('fargate-quota (stubbed Service Quotas: moto knows only VPC quotas)', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-quota-'));
    // An API of 1 vCPU × 10 tasks at 200 % (20 vCPU on-demand) and a worker of 1 vCPU × 10 at 200 %,
    // base 2 then 1:1 (2 + 9 = 11 on-demand, 9 spot).
    writeAssembly(dir, {
      envName: 'dev',
      resources: {
        ...fargateService('Api', { cpu: 1024, maxTasks: 10, maximumPercent: 200 }),
        ...fargateService('Worker', { cpu: 1024, maxTasks: 10, maximumPercent: 200, strategy: [{ CapacityProvider: 'FARGATE', Base: 2, Weight: 1 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 1 }] }),
      },
    });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const withQuotas = (applied: Record<string, number | undefined>, defaults: Record<string, number> = {}) => {
    const serviceQuotas = stub<ReturnType<typeof motoClients>['serviceQuotas']>({
      GetServiceQuotaCommand: (input: { QuotaCode: string }) => {
        if (applied[input.QuotaCode] === undefined) throw awsError('NoSuchResourceException');
        return { Quota: { Value: applied[input.QuotaCode] } };
      },
      GetAWSDefaultServiceQuotaCommand: (input: { QuotaCode: string }) => ({ Quota: { Value: defaults[input.QuotaCode] } }),
    });
    return context({ clients: { ...motoClients(), serviceQuotas }, facts: readAssembly(dir, 'dev', 'us-east-1') });
  };

  test('blocked when the on-demand demand exceeds a new account\'s quota', async () => {
    const r = await check('fargate-quota', withQuotas({ 'L-3032A538': 6, 'L-36FBB829': 6 }));
    expect(r.status).toBe('blocked');
    expect(r.found).toContain('On-Demand 31 vCPU of 6 (L-3032A538), Spot 9 vCPU of 6 (L-36FBB829)');
    expect(r.fix).toContain('"Fargate On-Demand vCPU resource count" (Service Quotas, fargate L-3032A538) of at least 31');
    expect(r.fix).toContain('of at least 9');
  });

  test('ok within the quotas; an unraised quota falls back to its default', async () => {
    const r = await check('fargate-quota', withQuotas({ 'L-3032A538': 4000 }, { 'L-36FBB829': 4000 }));
    expect(r.status).toBe('ok');
    expect(r.details).toMatchObject({ quotas: [{ name: 'On-Demand', value: 4000, from: 'applied' }, { name: 'Spot', value: 4000, from: 'default' }] });
  });
});

describe('a check that cannot run', () => {
  test('is an error line naming the IAM actions to allow, and the other checks still report', async () => {
    const serviceQuotas = stub<ReturnType<typeof motoClients>['serviceQuotas']>({ GetServiceQuotaCommand: awsError('AccessDeniedException', 'User: arn:aws:iam::123456789012:user/x is not authorized to perform: servicequotas:GetServiceQuota') });
    const ctx = context({ clients: { ...motoClients(), serviceQuotas }, facts: facts({ services: [{ stack: 'S', logicalId: 'Api', cpuUnits: 1024, maxTasks: 1, maximumPercent: 100, strategy: [{ provider: 'FARGATE', base: 0, weight: 1 }] }] }) });
    const results = await runChecks(ctx, CHECKS.filter((c) => c.id === 'fargate-quota' || c.id === 'aurora'));
    expect(results.map((r) => r.status)).toEqual(['blocked', 'error']); // aurora: 16.6 is not in moto
    expect(results[1].found).toMatch(/^could not check: AccessDeniedException: /);
    expect(results[1].fix).toBe('allow servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota (the ReadOnlyAccess policy has them), then run preflight again.');
  });

  test('an answer that is not AWS\'s (an emulator without the API) says so instead of a parser error', async () => {
    const notAws = Object.assign(new Error('Unexpected token \'<\', "<!doctype "... is not valid JSON\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.'), { name: 'SyntaxError', $metadata: { httpStatusCode: 404 } });
    const lambda = stub<ReturnType<typeof motoClients>['lambda']>({ GetAccountSettingsCommand: notAws });
    const r = await check('lambda-concurrency', context({ clients: { ...motoClients(), lambda } }));
    expect(r).toMatchObject({ status: 'error', found: 'could not check: the endpoint answered HTTP 404 with something other than an AWS response (SyntaxError); an emulator without this API, or a proxy?' });
  });
});
