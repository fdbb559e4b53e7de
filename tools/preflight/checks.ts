import { DescribeCertificateCommand, type ACMClient } from '@aws-sdk/client-acm';
import { DescribeStackResourceCommand, DescribeStacksCommand, ListStackResourcesCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DescribeCacheEngineVersionsCommand, DescribeReservedCacheNodesOfferingsCommand, type ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { GetAccountSettingsCommand, GetFunctionConcurrencyCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeDBEngineVersionsCommand, DescribeOrderableDBInstanceOptionsCommand, type OrderableDBInstanceOption, type RDSClient } from '@aws-sdk/client-rds';
import { GetAWSDefaultServiceQuotaCommand, GetServiceQuotaCommand, type ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { ListSubscriptionsByTopicCommand, type SNSClient, type Subscription } from '@aws-sdk/client-sns';
import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import type { BlueprintConfig } from '../../lib/config/schema';
import { isExampleCertificateArn } from '../../lib/config/schema/alb-security';
import { STACK_PARTS, stackId } from '../../lib/contracts/stacks';
import type { AppFacts } from './assembly';
import { checkDocker } from './docker';
import { FARGATE, FARGATE_SPOT, fargateDemand } from './fargate';
import type { ProcessRunner } from './process';
import type { CheckOutcome, CheckResult } from './report';

/** The clients the checks call, in the environment's region (tests pass moto-backed or stubbed ones). */
export interface AwsClients {
  readonly cloudFormation: Pick<CloudFormationClient, 'send'>;
  readonly ssm: Pick<SSMClient, 'send'>;
  readonly rds: Pick<RDSClient, 'send'>;
  readonly elastiCache: Pick<ElastiCacheClient, 'send'>;
  readonly lambda: Pick<LambdaClient, 'send'>;
  readonly sns: Pick<SNSClient, 'send'>;
  readonly serviceQuotas: Pick<ServiceQuotasClient, 'send'>;
  readonly acm: Pick<ACMClient, 'send'>;
}

export interface PreflightContext {
  readonly envName: string;
  readonly config: BlueprintConfig;
  readonly region: string;
  readonly account: string;
  readonly facts: AppFacts;
  readonly clients: AwsClients;
  readonly run: ProcessRunner;
  /** CDK_DOCKER, for the Docker check. */
  readonly env: NodeJS.ProcessEnv;
  /** The bootstrap stack's name (`cdk bootstrap --toolkit-stack-name`). */
  readonly toolkitStackName: string;
}

interface Check {
  readonly id: string;
  readonly title: string;
  /** IAM actions it calls: named in the fix when one is denied. */
  readonly actions: readonly string[];
  readonly run: (ctx: PreflightContext) => Promise<CheckOutcome>;
}

/** Lambda keeps this much concurrency unreserved for the functions without a reservation. */
export const MIN_UNRESERVED_CONCURRENCY = 100;
const LAMBDA_CONCURRENCY_DOC = 'https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html';
/** Service Quotas codes (service `fargate`): "Fargate On-Demand vCPU resource count", "Fargate Spot vCPU resource count". */
export const FARGATE_QUOTAS = { [FARGATE]: 'L-3032A538', [FARGATE_SPOT]: 'L-36FBB829' } as const;
/** Service Quotas code of Lambda's "Concurrent executions". */
const LAMBDA_CONCURRENCY_QUOTA = 'L-B99A9384';

// ---------------------------------------------------------------------------------------------------------
// CDK bootstrap
// ---------------------------------------------------------------------------------------------------------

async function bootstrap(ctx: PreflightContext): Promise<CheckOutcome> {
  const { ssmParameter, requiredVersion, lookupRoleVersion } = ctx.facts.bootstrap;
  const qualifier = /^\/cdk-bootstrap\/([^/]+)\/version$/.exec(ssmParameter)?.[1];
  const command = [
    `npx cdk bootstrap aws://${ctx.account}/${ctx.region}`,
    qualifier && qualifier !== 'hnb659fds' ? ` --qualifier ${qualifier}` : '',
    ctx.toolkitStackName !== 'CDKToolkit' ? ` --toolkit-stack-name ${ctx.toolkitStackName}` : '',
  ].join('');
  const status = await stackStatus(ctx.clients.cloudFormation, ctx.toolkitStackName);
  let version: number | undefined;
  try {
    const r = await ctx.clients.ssm.send(new GetParameterCommand({ Name: ssmParameter }));
    version = Number(r.Parameter?.Value);
  } catch (e) {
    if ((e as Error).name !== 'ParameterNotFound') throw e;
  }
  const details = { toolkitStackName: ctx.toolkitStackName, stackStatus: status ?? null, ssmParameter, version: version ?? null, requiredVersion, lookupRoleVersion: lookupRoleVersion ?? null };
  const stack = status ? `stack ${ctx.toolkitStackName} ${status}` : `no stack ${ctx.toolkitStackName}`;

  if (!status && version === undefined) {
    return { status: 'blocked', details, found: `${ctx.region} of account ${ctx.account} is not bootstrapped: ${stack}, no ${ssmParameter}.`, fix: command };
  }
  if (status && (/_FAILED$/.test(status) || status === 'ROLLBACK_COMPLETE')) {
    return { status: 'blocked', details, found: `${stack}: the bootstrap stack is broken.`, fix: `look at its events in the CloudFormation console; ${status === 'ROLLBACK_COMPLETE' ? `delete ${ctx.toolkitStackName}, then ` : ''}${command}` };
  }
  if (version === undefined || !Number.isFinite(version)) {
    return { status: 'blocked', details, found: `${stack}, but ${ssmParameter} is missing (cdk deploy reads the version from it).`, fix: command };
  }
  if (version < requiredVersion) {
    return { status: 'blocked', details, found: `${stack}, version ${version} < ${requiredVersion} that the app's synthesizer requires.`, fix: `${command} (upgrades the bootstrap stack in place)` };
  }
  if (status && /_IN_PROGRESS$/.test(status)) {
    return { status: 'warn', details, found: `${stack}, version ${version}: an update is running.`, fix: 'wait for it to finish before cdk deploy.' };
  }
  if (!status) {
    return { status: 'warn', details, found: `version ${version} ≥ ${requiredVersion} in ${ssmParameter}, but ${stack}.`, fix: 'pass --toolkit-stack-name <name> if it was bootstrapped under another name; else re-run ' + command };
  }
  if (lookupRoleVersion !== undefined && version < lookupRoleVersion) {
    return { status: 'warn', details, found: `${stack}, version ${version} ≥ ${requiredVersion} required to deploy, < ${lookupRoleVersion} for the lookup role (cdk diff falls back to the deploy role).`, fix: command };
  }
  return { status: 'ok', details, found: `${stack}, version ${version} ≥ ${requiredVersion} required.` };
}

/** A stack's status, or undefined when it does not exist (CloudFormation answers that with a ValidationError). */
async function stackStatus(cfn: AwsClients['cloudFormation'], stackName: string): Promise<string | undefined> {
  try {
    const r = await cfn.send(new DescribeStacksCommand({ StackName: stackName }));
    return r.Stacks?.[0]?.StackStatus;
  } catch (e) {
    if (isMissingStack(e)) return undefined;
    throw e;
  }
}

function isMissingStack(e: unknown): boolean {
  return (e as Error).name === 'ValidationError' && /does not exist/.test((e as Error).message);
}

// ---------------------------------------------------------------------------------------------------------
// Aurora PostgreSQL
// ---------------------------------------------------------------------------------------------------------

const AURORA_ENGINE = 'aurora-postgresql';

async function orderable(rds: AwsClients['rds'], engineVersion: string, instanceClass?: string): Promise<OrderableDBInstanceOption[]> {
  const out: OrderableDBInstanceOption[] = [];
  let marker: string | undefined;
  do {
    const r = await rds.send(new DescribeOrderableDBInstanceOptionsCommand({ Engine: AURORA_ENGINE, EngineVersion: engineVersion, DBInstanceClass: instanceClass, Marker: marker, MaxRecords: 1000 }));
    out.push(...(r.OrderableDBInstanceOptions ?? []));
    marker = r.Marker;
  } while (marker);
  // Not every implementation filters by class (moto does not): filter here too.
  return instanceClass ? out.filter((o) => o.DBInstanceClass === instanceClass) : out;
}

/** The zones the VPC spans: the first `maxAzs` of the configured list. */
function usedZones(config: BlueprintConfig): string[] {
  return config.network.availabilityZones.slice(0, config.network.maxAzs);
}

async function aurora(ctx: PreflightContext): Promise<CheckOutcome> {
  const db = ctx.config.database;
  const zones = usedZones(ctx.config);
  const what = `${AURORA_ENGINE} ${db.engineVersion} on ${db.instanceClass}`;
  const options = await orderable(ctx.clients.rds, db.engineVersion, db.instanceClass);
  if (options.length === 0) {
    const anyClass = await orderable(ctx.clients.rds, db.engineVersion);
    if (anyClass.length === 0) {
      return { status: 'blocked', details: { engineVersion: db.engineVersion, instanceClass: db.instanceClass }, found: `${AURORA_ENGINE} ${db.engineVersion} is not offered in ${ctx.region}.`, fix: `set database.engineVersion to a version listed by \`aws rds describe-db-engine-versions --engine ${AURORA_ENGINE} --region ${ctx.region} --query "DBEngineVersions[].EngineVersion"\`.` };
    }
    const classes = [...new Set(anyClass.map((o) => o.DBInstanceClass).filter((c): c is string => !!c))].sort();
    return { status: 'blocked', details: { engineVersion: db.engineVersion, instanceClass: db.instanceClass, offeredClasses: classes }, found: `${what} is not offered in ${ctx.region}.`, fix: `set database.instanceClass to one offered with ${db.engineVersion}: ${classes.join(', ')}.` };
  }
  const offeredZones = new Set(options.flatMap((o) => (o.AvailabilityZones ?? []).map((z) => z.Name)));
  const missing = zones.filter((z) => !offeredZones.has(z));
  const details: Record<string, unknown> = { engineVersion: db.engineVersion, instanceClass: db.instanceClass, zones, missingZones: missing };
  if (missing.length === zones.length) {
    return { status: 'blocked', details, found: `${what} is offered in ${[...offeredZones].sort().join(', ')}, none of the configured zones ${zones.join(', ')}.`, fix: 'pick network.availabilityZones among those zones, or another database.instanceClass.' };
  }
  const problems: string[] = [];
  const fixes: string[] = [];
  if (db.instanceClass === 'db.serverless') {
    // The orderable option says Serverless v2 is offered; the engine version says the capacity range.
    const versions = await ctx.clients.rds.send(new DescribeDBEngineVersionsCommand({ Engine: AURORA_ENGINE, EngineVersion: db.engineVersion }));
    const range = versions.DBEngineVersions?.find((v) => v.ServerlessV2FeaturesSupport)?.ServerlessV2FeaturesSupport;
    details.serverlessV2 = range ?? null;
    if (range?.MinCapacity !== undefined && db.serverlessV2MinCapacityAcu < range.MinCapacity) {
      problems.push(`serverlessV2MinCapacityAcu ${db.serverlessV2MinCapacityAcu} < ${range.MinCapacity}, the least ${db.engineVersion} allows${db.serverlessV2MinCapacityAcu === 0 ? ' (0 ACU auto-pause needs a newer version)' : ''}`);
      fixes.push(`raise database.serverlessV2MinCapacityAcu to ${range.MinCapacity} or pick a newer engineVersion`);
    }
    if (range?.MaxCapacity !== undefined && db.serverlessV2MaxCapacityAcu > range.MaxCapacity) {
      problems.push(`serverlessV2MaxCapacityAcu ${db.serverlessV2MaxCapacityAcu} > ${range.MaxCapacity}, the most ${db.engineVersion} allows`);
      fixes.push(`lower database.serverlessV2MaxCapacityAcu to ${range.MaxCapacity} or pick a newer engineVersion`);
    }
  }
  if (problems.length > 0) return { status: 'blocked', details, found: `${what}: ${problems.join('; ')}.`, fix: `${fixes.join('; ')}.` };
  const capacity = db.instanceClass === 'db.serverless'
    ? (details.serverlessV2 ? `, ${db.serverlessV2MinCapacityAcu}-${db.serverlessV2MaxCapacityAcu} ACU within the range offered` : ' (the API reports no Serverless v2 capacity range here: not checked)')
    : '';
  if (missing.length > 0) {
    return { status: 'warn', details, found: `${what} offered in ${zones.filter((z) => !missing.includes(z)).join(', ')}, not in ${missing.join(', ')}${capacity}: RDS cannot place an instance there, so the cluster spans fewer zones.`, fix: 'pick network.availabilityZones where the class is offered, or another database.instanceClass.' };
  }
  return { status: 'ok', details, found: `${what} offered in ${zones.join(', ')}${capacity}.` };
}

// ---------------------------------------------------------------------------------------------------------
// ElastiCache
// ---------------------------------------------------------------------------------------------------------

const majorMinor = (v: string) => v.split('.').slice(0, 2).join('.');

async function elastiCache(ctx: PreflightContext): Promise<CheckOutcome> {
  const cache = ctx.config.cache;
  const versions: string[] = [];
  let marker: string | undefined;
  do {
    const r = await ctx.clients.elastiCache.send(new DescribeCacheEngineVersionsCommand({ Engine: cache.engine, Marker: marker, MaxRecords: 100 }));
    versions.push(...(r.CacheEngineVersions ?? []).map((v) => v.EngineVersion).filter((v): v is string => !!v));
    marker = r.Marker;
  } while (marker);
  const offered = [...new Set(versions.map(majorMinor))].sort((a, b) => a.localeCompare(b, undefined, { numeric: true }));
  const details: Record<string, unknown> = { mode: cache.mode, engine: cache.engine, engineVersion: cache.engineVersion, offeredVersions: offered };

  if (cache.mode === 'serverless') {
    // A serverless cache is created with a major version only (MajorEngineVersion).
    const major = cache.engineVersion.split('.')[0];
    if (!offered.some((v) => v.split('.')[0] === major)) {
      return { status: 'blocked', details, found: `${cache.engine} ${major} is not offered in ${ctx.region} (offered: ${offered.join(', ') || 'none'}).`, fix: `set cache.engineVersion to one of ${offered.join(', ')}, or cache.engine to the other engine.` };
    }
    return { status: 'ok', details, found: `${cache.engine} ${major} offered in ${ctx.region} (serverless: no node type; ElastiCache has no API that lists where Serverless itself is offered).` };
  }

  if (!offered.includes(majorMinor(cache.engineVersion))) {
    return { status: 'blocked', details, found: `${cache.engine} ${cache.engineVersion} is not offered in ${ctx.region} (offered: ${offered.join(', ') || 'none'}).`, fix: `set cache.engineVersion to one of ${offered.join(', ')}.` };
  }
  // ElastiCache has no "orderable node types" API; reserved-node offerings exist for the node types a region sells.
  const offerings = await ctx.clients.elastiCache.send(new DescribeReservedCacheNodesOfferingsCommand({ CacheNodeType: cache.nodeType, MaxRecords: 20 }));
  const listed = (offerings.ReservedCacheNodesOfferings ?? []).length > 0;
  details.nodeTypeInReservedOfferings = listed;
  if (!listed) {
    return { status: 'warn', details, found: `${cache.engine} ${cache.engineVersion} offered; ${cache.nodeType} is in none of ${ctx.region}'s reserved-node offerings, so the region may not offer it (ElastiCache has no API that lists node types per region or zone).`, fix: `pick a cache.nodeType that \`aws elasticache describe-reserved-cache-nodes-offerings --region ${ctx.region}\` lists.` };
  }
  return { status: 'ok', details, found: `${cache.engine} ${cache.engineVersion} offered; ${cache.nodeType} sold in ${ctx.region} (per-zone availability has no API: not checked).` };
}

// ---------------------------------------------------------------------------------------------------------
// Lambda concurrency
// ---------------------------------------------------------------------------------------------------------

async function lambdaConcurrency(ctx: PreflightContext): Promise<CheckOutcome> {
  const wanted = ctx.facts.reservedConcurrency;
  const reserve = wanted.reduce((sum, f) => sum + f.reserved, 0);
  const settings = await ctx.clients.lambda.send(new GetAccountSettingsCommand({}));
  const limit = settings.AccountLimit?.ConcurrentExecutions ?? 0;
  const unreserved = settings.AccountLimit?.UnreservedConcurrentExecutions ?? 0;
  // Functions of these stacks that are already deployed hold their reservation already: counted once.
  let held = 0;
  for (const f of wanted) {
    let physicalId: string | undefined;
    try {
      const r = await ctx.clients.cloudFormation.send(new DescribeStackResourceCommand({ StackName: f.stack, LogicalResourceId: f.logicalId }));
      physicalId = r.StackResourceDetail?.PhysicalResourceId;
    } catch (e) {
      if ((e as Error).name !== 'ValidationError') throw e;
    }
    if (!physicalId) continue;
    const c = await ctx.clients.lambda.send(new GetFunctionConcurrencyCommand({ FunctionName: physicalId }));
    held += c.ReservedConcurrentExecutions ?? 0;
  }
  const after = unreserved + held - reserve;
  const details = { accountLimit: limit, unreserved, reserve, alreadyHeld: held, unreservedAfter: after, minimumUnreserved: MIN_UNRESERVED_CONCURRENCY, functions: wanted, doc: LAMBDA_CONCURRENCY_DOC };
  const list = wanted.map((f) => `${f.stack.split('-').pop()}/${f.logicalId} ${f.reserved}`).join(', ');
  if (reserve === 0) return { status: 'ok', details, found: `the stacks reserve no concurrency (account limit ${limit}, ${unreserved} unreserved).` };
  if (after < MIN_UNRESERVED_CONCURRENCY) {
    return {
      status: 'blocked', details,
      found: `the stacks reserve ${reserve} (${list}); ${unreserved} unreserved${held ? ` + ${held} they hold already` : ''} would leave ${after} < ${MIN_UNRESERVED_CONCURRENCY}, which Lambda keeps unreserved (account limit ${limit}; ${LAMBDA_CONCURRENCY_DOC}).`,
      fix: `request "Concurrent executions" (Service Quotas, lambda ${LAMBDA_CONCURRENCY_QUOTA}) of at least ${limit + MIN_UNRESERVED_CONCURRENCY - after}, or reserve less (loadTest.reserveConcurrency false, or a smaller loadTest.maxWorkers).`,
    };
  }
  return { status: 'ok', details, found: `the stacks reserve ${reserve} (${list}); ${after} stay unreserved ≥ ${MIN_UNRESERVED_CONCURRENCY} (account limit ${limit}).` };
}

// ---------------------------------------------------------------------------------------------------------
// Alarm e-mail subscriptions
// ---------------------------------------------------------------------------------------------------------

async function alarmEmails(ctx: PreflightContext): Promise<CheckOutcome> {
  const emails = ctx.config.monitoring.alarmEmails;
  const stackName = stackId(ctx.envName, STACK_PARTS.monitoring);
  if (emails.length === 0) return { status: 'skipped', found: 'monitoring.alarmEmails is []: no e-mail subscription to confirm (alarms reach only what else subscribes to the topic).' };
  const topics: string[] = [];
  let next: string | undefined;
  try {
    do {
      const r = await ctx.clients.cloudFormation.send(new ListStackResourcesCommand({ StackName: stackName, NextToken: next }));
      topics.push(...(r.StackResourceSummaries ?? []).filter((s) => s.ResourceType === 'AWS::SNS::Topic' && s.PhysicalResourceId).map((s) => s.PhysicalResourceId!));
      next = r.NextToken;
    } while (next);
  } catch (e) {
    if (!isMissingStack(e)) throw e;
  }
  if (topics.length === 0) {
    return { status: 'skipped', details: { stackName, emails }, found: `${stackName} is not deployed yet; after deploy, each of ${emails.join(', ')} gets a confirmation e-mail to open within 3 days.` };
  }
  const subs: Subscription[] = [];
  for (const topic of topics) {
    let token: string | undefined;
    do {
      const r = await ctx.clients.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topic, NextToken: token }));
      subs.push(...(r.Subscriptions ?? []));
      token = r.NextToken;
    } while (token);
  }
  const mail = subs.filter((s) => s.Protocol === 'email' || s.Protocol === 'email-json');
  const endpoint = (s: Subscription) => (s.Endpoint ?? '').toLowerCase();
  const pending = mail.filter((s) => s.SubscriptionArn === 'PendingConfirmation').map((s) => s.Endpoint!);
  const confirmed = mail.filter((s) => s.SubscriptionArn !== 'PendingConfirmation').map((s) => s.Endpoint!);
  const absent = emails.filter((e) => !mail.some((s) => endpoint(s) === e.toLowerCase()));
  const details = { stackName, topics, emails, pending, confirmed, absent };
  const resubscribe = (who: readonly string[]) => who.map((e) => `aws sns subscribe --region ${ctx.region} --topic-arn ${topics[0]} --protocol email --notification-endpoint ${e}`).join('; ');
  if (pending.length > 0 || absent.length > 0) {
    const found = [
      pending.length > 0 ? `${pending.length} pending confirmation (${pending.join(', ')})` : '',
      absent.length > 0 ? `${absent.length} not subscribed (${absent.join(', ')}: unsubscribed, or the 3-day confirmation link expired)` : '',
    ].filter(Boolean).join('; ');
    const fix = [
      pending.length > 0 ? 'open the "AWS Notification - Subscription Confirmation" e-mail and its link' : '',
      absent.length > 0 ? resubscribe(absent) : '',
    ].filter(Boolean).join('; ');
    return { status: 'warn', details, found: `alarm topic of ${stackName}: ${found}; until confirmed, alarms e-mail nobody there.`, fix: `${fix}.` };
  }
  return { status: 'ok', details, found: `${confirmed.length} e-mail subscription(s) confirmed on the alarm topic of ${stackName}.` };
}

// ---------------------------------------------------------------------------------------------------------
// Fargate vCPU quotas
// ---------------------------------------------------------------------------------------------------------

async function quotaValue(sq: AwsClients['serviceQuotas'], code: string, serviceCode = 'fargate'): Promise<{ value: number; from: string }> {
  try {
    const r = await sq.send(new GetServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: code }));
    return { value: r.Quota?.Value ?? 0, from: 'applied' };
  } catch (e) {
    // Quotas never raised may have no applied value: the default applies.
    if ((e as Error).name !== 'NoSuchResourceException') throw e;
    const r = await sq.send(new GetAWSDefaultServiceQuotaCommand({ ServiceCode: serviceCode, QuotaCode: code }));
    return { value: r.Quota?.Value ?? 0, from: 'default' };
  }
}

async function fargateQuota(ctx: PreflightContext): Promise<CheckOutcome> {
  const demand = fargateDemand(ctx.facts.services);
  if (demand.services.length === 0) return { status: 'skipped', found: 'the stacks run no Fargate service.' };
  const pools = [
    { name: 'On-Demand', code: FARGATE_QUOTAS[FARGATE], vcpu: demand.onDemandVcpu },
    { name: 'Spot', code: FARGATE_QUOTAS[FARGATE_SPOT], vcpu: demand.spotVcpu },
  ].filter((p) => p.vcpu > 0);
  const rows = await Promise.all(pools.map(async (p) => ({ ...p, ...(await quotaValue(ctx.clients.serviceQuotas, p.code)) })));
  const details = { services: demand.services, onDemandVcpu: demand.onDemandVcpu, spotVcpu: demand.spotVcpu, quotas: rows.map(({ name, code, value, from }) => ({ name, code, value, from })) };
  const perService = demand.services.map((s) => `${s.logicalId} ${s.peakTasks} × ${s.vcpuPerTask} vCPU (${s.onDemandTasks} on-demand, ${s.spotTasks} spot)`).join(', ');
  const over = rows.filter((r) => r.vcpu > r.value);
  const text = rows.map((r) => `${r.name} ${r.vcpu} vCPU of ${r.value} (${r.code})`).join(', ');
  if (over.length > 0) {
    return {
      status: 'blocked', details,
      found: `at maxTasks during a deployment (${perService}): ${text}; tasks beyond the quota fail to start.`,
      fix: `${over.map((r) => `request "Fargate ${r.name} vCPU resource count" (Service Quotas, fargate ${r.code}) of at least ${Math.ceil(r.vcpu)}`).join('; ')}; or lower api/worker maxTasks or cpu.`,
    };
  }
  return { status: 'ok', details, found: `at maxTasks during a deployment: ${text} (other Fargate tasks of the account share the quota).` };
}

// ---------------------------------------------------------------------------------------------------------
// The ALB's LCU reservation
// ---------------------------------------------------------------------------------------------------------

/**
 * Service Quotas codes (service `elasticloadbalancing`) of the ALB's capacity reservation: "Reserved
 * Application Load Balancer Capacity Units (LCU) per Region", 0 by default, and "... per Application Load
 * Balancer", 15,000 by default (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html#lcu-quotas).
 */
export const LCU_RESERVATION_QUOTAS = { perRegion: 'L-8A66D0E6', perLoadBalancer: 'L-0BB7B635' } as const;
const LCU_RESERVATION_DOC = 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/capacity-unit-reservation.html';

async function lcuReservation(ctx: PreflightContext): Promise<CheckOutcome> {
  const units = ctx.config.alb.minimumCapacityUnits;
  if (units === 0) return { status: 'skipped', found: 'alb.minimumCapacityUnits is 0: no LCU reservation (the ALB scales on its own).' };
  const [region, perLb] = await Promise.all([
    quotaValue(ctx.clients.serviceQuotas, LCU_RESERVATION_QUOTAS.perRegion, 'elasticloadbalancing'),
    quotaValue(ctx.clients.serviceQuotas, LCU_RESERVATION_QUOTAS.perLoadBalancer, 'elasticloadbalancing'),
  ]);
  const details = {
    minimumCapacityUnits: units,
    quotas: [
      { name: 'Reserved Application Load Balancer Capacity Units (LCU) per Region', code: LCU_RESERVATION_QUOTAS.perRegion, ...region },
      { name: 'Reserved Application Load Balancer Capacity Units (LCUs) per Application Load Balancer', code: LCU_RESERVATION_QUOTAS.perLoadBalancer, ...perLb },
    ],
    doc: LCU_RESERVATION_DOC,
  };
  const over = details.quotas.filter((q) => q.value < units);
  if (over.length > 0) {
    return {
      status: 'blocked', details,
      found: `alb.minimumCapacityUnits reserves ${units} LCU; ${over.map((q) => `"${q.name}" is ${q.value} (${q.from}, elasticloadbalancing ${q.code})`).join(' and ')}, so Elastic Load Balancing would refuse the reservation${region.value === 0 ? ' (the regional quota is 0 until you ask for more)' : ''}.`,
      fix: `${over.map((q) => `request "${q.name}" (Service Quotas, elasticloadbalancing ${q.code}) of at least ${units}`).join('; ')}, a few days before the peak; or set alb.minimumCapacityUnits to 0.`,
    };
  }
  return { status: 'ok', details, found: `${units} LCU within the regional quota ${region.value} and the per-load-balancer quota ${perLb.value} (other ALBs' reservations in ${ctx.region} share the regional one).` };
}

// ---------------------------------------------------------------------------------------------------------
// The load balancer's certificate
// ---------------------------------------------------------------------------------------------------------

/** An imported certificate this close to its end gets a warning: ACM renews only the certificates it issued. */
export const CERTIFICATE_WARN_DAYS = 30;
const ACM_STATUS_DOC = 'https://docs.aws.amazon.com/acm/latest/APIReference/API_CertificateDetail.html';

async function certificate(ctx: PreflightContext): Promise<CheckOutcome> {
  const arn = ctx.config.alb.certificateArn;
  if (arn === '') {
    return { status: 'skipped', found: `alb.certificateArn is "": ${ctx.envName} serves the API over plain HTTP on port 80 (allowed outside production only).` };
  }
  const request = `aws acm request-certificate --domain-name <your API's domain> --validation-method DNS --region ${ctx.region}`;
  if (isExampleCertificateArn(arn)) {
    return {
      status: 'blocked', details: { certificateArn: arn, example: true },
      found: `alb.certificateArn is the shipped example ${arn}, which exists in no account; CloudFormation would fail creating the HTTPS listener.`,
      fix: `set alb.certificateArn of ${ctx.envName} in cdk.json to your ACM certificate in ${ctx.region} (\`aws acm list-certificates --region ${ctx.region}\`, or ${request} and add the validation CNAME).`,
    };
  }
  let detail;
  try {
    detail = (await ctx.clients.acm.send(new DescribeCertificateCommand({ CertificateArn: arn }))).Certificate;
  } catch (e) {
    if ((e as Error).name !== 'ResourceNotFoundException') throw e;
    return {
      status: 'blocked', details: { certificateArn: arn },
      found: `alb.certificateArn ${arn} does not exist in account ${ctx.account} (ACM answers ResourceNotFoundException).`,
      fix: `use a certificate of this account and ${ctx.region} (\`aws acm list-certificates --region ${ctx.region}\`), or ${request}.`,
    };
  }
  const status = detail?.Status ?? 'UNKNOWN';
  const notAfter = detail?.NotAfter;
  const daysLeft = notAfter ? Math.floor((notAfter.getTime() - Date.now()) / 86_400_000) : undefined;
  const details = { certificateArn: arn, status, type: detail?.Type ?? null, domainName: detail?.DomainName ?? null, notAfter: notAfter?.toISOString() ?? null, daysLeft: daysLeft ?? null, doc: ACM_STATUS_DOC };
  const what = `${detail?.DomainName ?? arn} (${detail?.Type ?? 'unknown type'})`;
  if (status === 'PENDING_VALIDATION') {
    return { status: 'blocked', details, found: `certificate ${what} is PENDING_VALIDATION: the load balancer cannot use it until ACM issues it.`, fix: `add the DNS validation record ACM asks for (\`aws acm describe-certificate --certificate-arn ${arn} --region ${ctx.region} --query Certificate.DomainValidationOptions\`), then wait for ISSUED.` };
  }
  if (status !== 'ISSUED') {
    return { status: 'blocked', details, found: `certificate ${what} is ${status}, not ISSUED (${ACM_STATUS_DOC}).`, fix: `request a new certificate (${request}) or re-import a valid one, and set alb.certificateArn to it.` };
  }
  if (daysLeft !== undefined && daysLeft < 0) {
    return { status: 'blocked', details, found: `certificate ${what} expired on ${notAfter!.toISOString()}.`, fix: `renew or re-import it, or ${request}.` };
  }
  if (daysLeft !== undefined && daysLeft < CERTIFICATE_WARN_DAYS && detail?.Type === 'IMPORTED') {
    return { status: 'warn', details, found: `certificate ${what} is ISSUED but expires in ${daysLeft} days, and ACM does not renew imported certificates.`, fix: 're-import a renewed certificate under the same ARN (aws acm import-certificate --certificate-arn ...), or switch to one ACM issues and renews.' };
  }
  return { status: 'ok', details, found: `certificate ${what} is ISSUED${notAfter ? `, valid until ${notAfter.toISOString().slice(0, 10)}` : ''}.` };
}

// ---------------------------------------------------------------------------------------------------------

/** Every check, in the order they are printed. */
export const CHECKS: readonly Check[] = [
  { id: 'bootstrap', title: 'CDK bootstrap', actions: ['cloudformation:DescribeStacks', 'ssm:GetParameter'], run: bootstrap },
  { id: 'aurora', title: 'Aurora PostgreSQL', actions: ['rds:DescribeOrderableDBInstanceOptions', 'rds:DescribeDBEngineVersions'], run: aurora },
  { id: 'elasticache', title: 'ElastiCache', actions: ['elasticache:DescribeCacheEngineVersions', 'elasticache:DescribeReservedCacheNodesOfferings'], run: elastiCache },
  { id: 'lambda-concurrency', title: 'Lambda concurrency', actions: ['lambda:GetAccountSettings', 'lambda:GetFunctionConcurrency', 'cloudformation:DescribeStackResource'], run: lambdaConcurrency },
  { id: 'certificate', title: 'Load balancer certificate', actions: ['acm:DescribeCertificate'], run: certificate },
  { id: 'alarm-emails', title: 'Alarm e-mail subscriptions', actions: ['cloudformation:ListStackResources', 'sns:ListSubscriptionsByTopic'], run: alarmEmails },
  { id: 'docker', title: 'Docker image build', actions: [], run: (ctx) => checkDocker(ctx.facts.images, ctx.run, ctx.env) },
  { id: 'fargate-quota', title: 'Fargate vCPU quotas', actions: ['servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota'], run: fargateQuota },
  { id: 'lcu-reservation', title: 'ALB LCU reservation quota', actions: ['servicequotas:GetServiceQuota', 'servicequotas:GetAWSDefaultServiceQuota'], run: lcuReservation },
];

/** Every IAM action preflight calls (the ReadOnlyAccess managed policy has them all). */
export const ACTIONS: readonly string[] = ['sts:GetCallerIdentity', ...new Set(CHECKS.flatMap((c) => c.actions))];

/** Runs every check at once; a check that throws is an `error` line, and the others still report. */
export async function runChecks(ctx: PreflightContext, only: readonly Check[] = CHECKS): Promise<CheckResult[]> {
  return Promise.all(only.map(async (check) => {
    try {
      return { id: check.id, title: check.title, ...(await check.run(ctx)) };
    } catch (e) {
      const err = e as Error & { $metadata?: { httpStatusCode?: number } };
      const denied = /AccessDenied|UnauthorizedOperation|not authorized/i.test(`${err.name} ${err.message}`);
      // The SDK could not parse the answer: not AWS answering (an emulator without the API, a proxy's page).
      const notAws = /Deserialization error/.test(err.message);
      return {
        id: check.id,
        title: check.title,
        status: 'error' as const,
        found: notAws
          ? `could not check: the endpoint answered HTTP ${err.$metadata?.httpStatusCode ?? '?'} with something other than an AWS response (${err.name}); an emulator without this API, or a proxy?`
          : `could not check: ${err.name}: ${err.message.split('\n')[0]}`,
        fix: denied ? `allow ${check.actions.join(', ')} (the ReadOnlyAccess policy has them), then run preflight again.` : 'run preflight again; if it persists, call the API by hand to see why.',
      };
    }
  }));
}
