import { Aspects, type App, type Environment } from 'aws-cdk-lib';
import type { BlueprintConfig } from './config/schema';
import { STACK_PARTS, stackId, type StackPart } from './contracts/stacks';
import { ComputeStack } from './stacks/compute-stack';
import { DataStack } from './stacks/data-stack';
import { MonitoringStack } from './stacks/monitoring-stack';
import { connectionBudget } from './config/capacity';
import { LambdaVpcExceptions } from './constructs/guard';
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
    tier: {
      database: data.database,
      cache: data.cache,
      jobs: data.jobs,
      encryptionKey: data.encryptionKey,
      databaseUser: config.database.masterUsername,
    },
    compute: config.compute,
    alb: config.alb,
    api: config.api,
    worker: config.worker,
    removalPolicy: config.stateful.removalPolicy,
    production: config.production,
  });
  const { web, worker } = compute;
  const monitoring = new MonitoringStack(app, id(STACK_PARTS.monitoring), {
    ...common,
    description: `scaling-blueprint ${config.envName}: KPI dashboard, alarms, SLO burn-rate alarms, SNS topic`,
    envName: config.envName,
    sources: {
      loadBalancerFullName: web.loadBalancer.loadBalancerFullName,
      targetGroupFullName: web.targetGroup.targetGroupFullName,
      clusterName: compute.cluster.clusterName,
      apiServiceName: web.service.serviceName,
      workerServiceName: worker.service.serviceName,
      queueName: data.jobs.queue.queueName,
      deadLetterQueueName: data.jobs.deadLetterQueue.queueName,
      backlogQueries: worker.backlogQueries,
      dbClusterIdentifier: data.database.cluster.clusterIdentifier,
      proxyName: data.database.proxy?.dbProxyName,
      cacheId: data.cache.cacheId,
      cacheNodeIds: data.cache.nodeIds,
      cacheServerless: data.cache.serverless,
      cacheMaxDataStorageGb: config.cache.serverlessMaxDataStorageGb,
      cacheMaxEcpuPerSecond: config.cache.serverlessMaxEcpuPerSecond,
    },
    monitoring: config.monitoring,
    alarms: config.alarms,
    slo: config.slo,
    api: config.api,
    worker: { ...config.worker, backlogTarget: worker.backlogTarget },
    connectionBudget: connectionBudget(config.database)!,
    removalPolicy: config.stateful.removalPolicy,
  });
  const loadTest = config.loadTest.enabled
    ? new LoadTestStack(app, id(STACK_PARTS.loadTest), {
      ...common,
      description: `scaling-blueprint ${config.envName}: load-generator Lambda for npm run loadtest (opt-in)`,
      vpc: network.vpc,
      loadTest: config.loadTest,
      logRetentionDays: config.compute.logRetentionDays,
      removalPolicy: config.stateful.removalPolicy,
    })
    : undefined;
  for (const stack of [network, data, compute, monitoring, loadTest]) {
    if (stack) Aspects.of(stack).add(new LambdaVpcExceptions());
  }
  return { network, data, compute, monitoring, loadTest };
}
