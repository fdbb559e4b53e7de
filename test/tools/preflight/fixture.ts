import { ACMClient } from '@aws-sdk/client-acm';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import * as fs from 'fs';
import * as path from 'path';
import type { BlueprintConfig } from '../../../lib/config/schema';
import { stackId, STACK_PARTS } from '../../../lib/contracts/stacks';
import type { AppFacts } from '../../../tools/preflight/assembly';
import type { AwsClients, PreflightContext } from '../../../tools/preflight/checks';
import type { ProcessRunner, RunResult } from '../../../tools/preflight/process';
import { configFor, type Overrides } from '../../helpers/context';
import { motoClient } from '../kpi-report/moto';

type Sender = { send(command: unknown): Promise<unknown> };
type Handler = ((input: any) => unknown) | Error;

/**
 * A client that answers the commands named in `handlers` (by class name, e.g. GetAccountSettingsCommand)
 * and passes the others to `fallback` (a moto-backed client): for the APIs moto does not implement.
 */
export function stub<T>(handlers: Record<string, Handler>, fallback?: Sender): T {
  return {
    send: async (command: { constructor: { name: string }; input: unknown }) => {
      const h = handlers[command.constructor.name];
      if (h === undefined) {
        if (fallback) return fallback.send(command);
        throw new Error(`stub: unexpected ${command.constructor.name}`);
      }
      if (h instanceof Error) throw h;
      return h(command.input);
    },
  } as unknown as T;
}

/** An error as the SDK throws it for a service error code. */
export function awsError(name: string, message = name): Error {
  return Object.assign(new Error(message), { name });
}

/** Every client against moto_server; tests replace the ones moto lacks with stubs. */
export function motoClients(): AwsClients {
  return {
    cloudFormation: motoClient(CloudFormationClient),
    ssm: motoClient(SSMClient),
    rds: motoClient(RDSClient),
    elastiCache: motoClient(ElastiCacheClient),
    lambda: motoClient(LambdaClient),
    sns: motoClient(SNSClient),
    serviceQuotas: motoClient(ServiceQuotasClient),
    acm: motoClient(ACMClient),
  };
}

export const noProcess: ProcessRunner = async (command) => {
  throw new Error(`unexpected process ${command}`);
};

/** Facts of an app with nothing to reserve, build or run, unless overridden. */
export function facts(overrides: Partial<AppFacts> = {}): AppFacts {
  return {
    assemblyDir: '/nonexistent',
    stacks: [],
    bootstrap: { ssmParameter: '/cdk-bootstrap/hnb659fds/version', requiredVersion: 6, lookupRoleVersion: 8 },
    reservedConcurrency: [],
    services: [],
    images: [],
    ...overrides,
  };
}

export function context(overrides: Partial<Omit<PreflightContext, 'config'>> & { config?: BlueprintConfig; configOverrides?: Overrides } = {}): PreflightContext {
  const { configOverrides, ...rest } = overrides;
  return {
    envName: 'dev',
    config: configFor('dev', configOverrides),
    region: 'us-east-1',
    account: '123456789012',
    facts: facts(),
    clients: motoClients(),
    run: noProcess,
    env: {},
    toolkitStackName: 'CDKToolkit',
    ...rest,
  };
}

/** A runner that answers `docker` from a table keyed by the joined arguments. */
export function dockerRunner(answers: Record<string, Partial<RunResult>>): ProcessRunner & { calls: string[] } {
  const calls: string[] = [];
  const run = (async (command: string, args: readonly string[]) => {
    const key = [command, ...args].join(' ');
    calls.push(key);
    const a = Object.entries(answers).find(([prefix]) => key.startsWith(prefix))?.[1];
    if (!a) throw new Error(`dockerRunner: unexpected ${key}`);
    return { exitCode: 0, stdout: '', stderr: '', ...a };
  }) as unknown as ProcessRunner & { calls: string[] };
  run.calls = calls;
  return run;
}

export interface AssemblyOptions {
  readonly envName: string;
  readonly region?: string;
  /** Resources of a Compute-like stack. */
  readonly resources?: Record<string, unknown>;
  readonly requiresBootstrapStackVersion?: number;
  readonly assetsVersion?: number;
  readonly dockerfile?: string;
  readonly platform?: string;
  /** The bootstrap qualifier (default hnb659fds). */
  readonly qualifier?: string;
}

/**
 * A minimal cloud assembly as aws-cdk-lib writes it (manifest.json, one stack, its asset manifest and an
 * image build context), for reading without a synth.
 */
export function writeAssembly(dir: string, o: AssemblyOptions): string {
  const region = o.region ?? 'us-east-1';
  const stack = stackId(o.envName, STACK_PARTS.compute);
  fs.mkdirSync(dir, { recursive: true });
  const ssm = `/cdk-bootstrap/${o.qualifier ?? 'hnb659fds'}/version`;
  const manifest = {
    version: '55.0.0',
    artifacts: {
      [`${stack}.assets`]: { type: 'cdk:asset-manifest', properties: { file: `${stack}.assets.json`, requiresBootstrapStackVersion: o.assetsVersion ?? 6, bootstrapStackVersionSsmParameter: ssm } },
      [stack]: {
        type: 'aws:cloudformation:stack',
        environment: `aws://unknown-account/${region}`,
        properties: {
          templateFile: `${stack}.template.json`,
          requiresBootstrapStackVersion: o.requiresBootstrapStackVersion ?? 6,
          bootstrapStackVersionSsmParameter: ssm,
          lookupRole: { arn: 'arn', requiresBootstrapStackVersion: 8, bootstrapStackVersionSsmParameter: ssm },
        },
        dependencies: [`${stack}.assets`],
      },
      Tree: { type: 'cdk:tree', properties: { file: 'tree.json' } },
    },
  };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest));
  fs.writeFileSync(path.join(dir, `${stack}.template.json`), JSON.stringify({ Resources: o.resources ?? {} }));
  const assetId = 'a'.repeat(64);
  const dockerImages = o.dockerfile === undefined ? {} : { [assetId]: { source: { directory: `asset.${assetId}`, ...(o.platform && { platform: o.platform }) }, destinations: {} } };
  fs.writeFileSync(path.join(dir, `${stack}.assets.json`), JSON.stringify({ version: '55.0.0', files: {}, dockerImages }));
  if (o.dockerfile !== undefined) {
    fs.mkdirSync(path.join(dir, `asset.${assetId}`), { recursive: true });
    fs.writeFileSync(path.join(dir, `asset.${assetId}`, 'Dockerfile'), o.dockerfile);
  }
  return stack;
}

/** An ECS service with its task definition and scalable target, as aws-cdk-lib synthesizes them. */
export function fargateService(name: string, o: { cpu: number; maxTasks: number; maximumPercent?: number; strategy?: Array<{ CapacityProvider: string; Base?: number; Weight?: number }>; scheduledMax?: number[] }): Record<string, unknown> {
  return {
    [`${name}TaskDefinition`]: { Type: 'AWS::ECS::TaskDefinition', Properties: { Cpu: String(o.cpu), Memory: '2048' } },
    [`${name}Service`]: {
      Type: 'AWS::ECS::Service',
      Properties: {
        TaskDefinition: { Ref: `${name}TaskDefinition` },
        ...(o.strategy ? { CapacityProviderStrategy: o.strategy } : { LaunchType: 'FARGATE' }),
        ...(o.maximumPercent !== undefined && { DeploymentConfiguration: { MaximumPercent: o.maximumPercent, MinimumHealthyPercent: 100 } }),
      },
    },
    [`${name}ScalableTarget`]: {
      Type: 'AWS::ApplicationAutoScaling::ScalableTarget',
      Properties: {
        MaxCapacity: o.maxTasks,
        MinCapacity: 1,
        ScalableDimension: 'ecs:service:DesiredCount',
        ServiceNamespace: 'ecs',
        ResourceId: { 'Fn::Join': ['', ['service/', { Ref: 'Cluster' }, '/', { 'Fn::GetAtt': [`${name}Service`, 'Name'] }]] },
        ...(o.scheduledMax && { ScheduledActions: o.scheduledMax.map((m, i) => ({ ScheduledActionName: `s${i}`, Schedule: 'rate(1 hour)', ScalableTargetAction: { MinCapacity: 1, MaxCapacity: m } })) }),
      },
    },
  };
}
