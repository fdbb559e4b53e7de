import { Aspects, Fn, Token, type App, type Environment } from 'aws-cdk-lib';
import type { BlueprintConfig } from './config/schema';
import { STACK_PARTS, stackId, type StackPart } from './contracts/stacks';
import { ComputeStack } from './stacks/compute-stack';
import { DataStack } from './stacks/data-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { connectionBudget } from './config/capacity';
import { warnReferenceHealthCheck } from './constructs/app-task';
import type { TierSharding } from './constructs/data-access';
import { LambdaVpcExceptions } from './constructs/guard';
import { ServiceTrustConditions } from './constructs/trust-conditions';
import { LoadTestStack } from './stacks/load-test-stack';
import { NetworkStack } from './stacks/network-stack';

export interface BlueprintStacks {
  readonly network: NetworkStack;
  readonly data: DataStack;
  readonly compute: ComputeStack;
  readonly monitoring: MonitoringStack;
  /** Only where `loadTest.enabled`. */
  readonly loadTest?: LoadTestStack;
}

/** Every stack of one environment, wired by typed props. Tests call this with a loaded config. */
export function buildApp(app: App, config: BlueprintConfig): BlueprintStacks {
  const id = (part: StackPart) => stackId(config.envName, part);
  const env: Environment = { region: config.region, ...(config.account && { account: config.account }) };
  const common = { env, tags: { Project: 'scaling-blueprint', Environment: config.envName } };

  const network = new NetworkStack(app, id(STACK_PARTS.network), {
    ...common,
    description: `scaling-blueprint ${config.envName}: VPC, subnets, NAT, flow logs, endpoints`,
    network: config.network,
    removalPolicy: config.stateful.removalPolicy,
    images: [config.api.image, config.worker.image, ...config.services.map((s) => s.image)],
  });
  const data = new DataStack(app, id(STACK_PARTS.data), {
    ...common,
    description: `scaling-blueprint ${config.envName}: Aurora PostgreSQL, ElastiCache, SQS`,
    vpc: network.vpc,
    database: config.database,
    cache: config.cache,
    queue: config.queue,
    stateful: config.stateful,
    production: config.production,
  });
  const compute = new ComputeStack(app, id(STACK_PARTS.compute), {
    ...common,
    description: `scaling-blueprint ${config.envName}: ECS cluster, ALB and API service, queue workers, autoscaling`,
    vpc: network.vpc,
    vpcCidr: config.network.cidr,
    taskEgress: config.network.taskEgress,
    tier: {
      database: data.database,
      cache: data.cache,
      jobs: data.jobs,
      secretsKey: data.keys.secrets,
      sharding: tierSharding(config, data),
    },
    compute: config.compute,
    alb: config.alb,
    nlb: config.nlb,
    api: config.api,
    services: config.services,
    alarms: config.alarms,
    slo: config.slo,
    worker: config.worker,
    removalPolicy: config.stateful.removalPolicy,
    production: config.production,
  });
  const { web, worker } = compute;
  warnReferenceHealthCheck(web.service.taskDefinition, config.api, config.alb.healthCheck);
  // The settings that replace the target group (its port) and the replication group (its port) under the same
  // CloudFormation reference: see rereadWhen.
  const targetGroupSettings = { 'api.containerPort': config.api.containerPort };
  const cacheSettings: Record<string, number> = data.cache.serverless ? {} : { 'cache.port': config.cache.port };
  const monitoring = new MonitoringStack(app, id(STACK_PARTS.monitoring), {
    ...common,
    description: `scaling-blueprint ${config.envName}: KPI dashboard, alarms, SLO burn-rate alarms, SNS topic`,
    envName: config.envName,
    sources: {
      loadBalancerFullName: web.loadBalancer.loadBalancerFullName,
      targetGroupFullName: rereadWhen(web.targetGroup.targetGroupFullName, targetGroupSettings),
      clusterName: compute.cluster.clusterName,
      apiServiceName: web.service.serviceName,
      workerServiceName: worker.service.serviceName,
      queueName: data.jobs.queue.queueName,
      deadLetterQueueName: data.jobs.deadLetterQueue.queueName,
      backlogQueries: worker.backlogQueries,
      dbClusterIdentifier: data.database.cluster.clusterIdentifier,
      proxyName: data.database.proxy?.dbProxyName,
      cacheId: rereadWhen(data.cache.cacheId, cacheSettings),
      cacheNodeIds: data.cache.nodeIds.map((id) => rereadWhen(id, cacheSettings)),
      cacheServerless: data.cache.serverless,
      cacheMaxDataStorageGb: config.cache.serverlessMaxDataStorageGb,
      cacheMaxEcpuPerSecond: config.cache.serverlessMaxEcpuPerSecond,
    },
    monitoring: config.monitoring,
    alarms: config.alarms,
    slo: config.slo,
    api: config.api,
    worker: { ...config.worker, backlogTarget: worker.backlogTarget },
    services: config.services.map((svc, i) => ({
      name: svc.name, minTasks: svc.minTasks, maxTasks: svc.maxTasks,
      serviceName: web.httpServices.get(svc.name)!.service.serviceName,
      targetGroupFullName: rereadWhen(web.httpServices.get(svc.name)!.targetGroup.targetGroupFullName, { [`services.${i}.containerPort`]: svc.containerPort }),
    })),
    connectionBudget: connectionBudget(config.database)!,
    removalPolicy: config.stateful.removalPolicy,
    ...(config.database.sharding.mode === 'clusters' && {
      databaseShards: data.databases.map((db) => ({ dbClusterIdentifier: db.cluster.clusterIdentifier, proxyName: db.proxy?.dbProxyName })),
      hotShardFactor: config.database.sharding.hotShardFactor,
    }),
    ...(data.database.shardGroup && {
      limitless: { dbClusterIdentifier: data.database.cluster.clusterIdentifier, dbShardGroupIdentifier: data.database.shardGroup.resource.ref },
    }),
  });
  const loadTest = config.loadTest.enabled
    ? new LoadTestStack(app, id(STACK_PARTS.loadTest), {
      ...common,
      description: `scaling-blueprint ${config.envName}: load-generator Lambda for npm run loadtest (opt-in)`,
      vpc: network.vpc,
      // A weak reference (Fn::GetStackOutput): Compute can still be replaced without first touching this stack.
      targetHost: web.loadBalancer.loadBalancerDnsName,
      loadTest: config.loadTest,
      logRetentionDays: config.compute.logRetentionDays,
      removalPolicy: config.stateful.removalPolicy,
    })
    : undefined;
  for (const stack of [network, data, compute, monitoring, loadTest]) {
    if (stack) for (const aspect of [new LambdaVpcExceptions(), new ServiceTrustConditions()]) Aspects.of(stack).add(aspect);
  }
  return { network, data, compute, monitoring, loadTest };
}

/** The data tier's sharding as the services see it (DataTier.sharding). */
function tierSharding(config: BlueprintConfig, data: DataStack): TierSharding {
  const { sharding } = config.database;
  return sharding.mode === 'clusters'
    ? { mode: 'clusters', clusters: data.databases, logicalShards: sharding.logicalShards }
    : sharding.mode === 'limitless' ? { mode: 'limitless', logicalShards: sharding.logicalShards } : { mode: sharding.mode };
}

/**
 * `value`, a token of another stack, spelt in the consumer's template together with the settings that replace
 * the resource behind it.
 *
 * Stacks read each other's values with Fn::GetStackOutput (cdk.json: `@aws-cdk/core:defaultCrossStackReferences`
 * is "weak"; docs/stack-references.md), which CloudFormation resolves "at stack create or update time"; the
 * consumer "is not automatically updated"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html),
 * and `cdk deploy` skips a stack whose template did not change. CDK names the output after the reference
 * ({"Fn::GetAtt": [target group, "TargetGroupFullName"]}), so a change that moves the reference to another
 * resource changes the consumer's template; a change that replaces the resource does not: the replacement
 * has a new name behind the same reference and output. Written into every use of the value, the settings
 * make the consumer's template change with them. {"Fn::Select": [0, ["", "<settings>"]]} is the empty
 * string: CloudFormation joins the value with nothing.
 */
function rereadWhen(value: string, settings: Record<string, string | number>): string {
  const spelt = Object.entries(settings).map(([key, v]) => `${key}=${v}`).join(' ');
  if (!spelt) return value;
  // A token, not Fn.select: CDK would evaluate a select over literals at synth, and the settings would vanish.
  return Fn.join('', [value, Token.asString({ 'Fn::Select': [0, ['', spelt]] })]);
}
