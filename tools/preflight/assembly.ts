import { existsSync, readFileSync } from 'fs';
import { join, resolve } from 'path';
import { z } from 'zod';
import { stackPrefix } from '../../lib/contracts/stacks';
import { UsageError } from '../common/errors';

/**
 * What preflight needs to know about the app, read from a synthesized cloud assembly (cdk.out): what the
 * synthesizer requires of the bootstrap stack, the Lambda concurrency the templates reserve, the Fargate
 * services' sizes and the container images `cdk deploy` will build. Read from the templates rather than
 * recomputed from cdk.json, so that it is what will be deployed.
 */
export interface AppFacts {
  readonly assemblyDir: string;
  readonly stacks: readonly string[];
  readonly bootstrap: BootstrapRequirement;
  readonly reservedConcurrency: readonly ReservedConcurrency[];
  readonly services: readonly FargateServiceFacts[];
  readonly images: readonly ImageBuild[];
}

export interface BootstrapRequirement {
  /** The SSM parameter that holds the bootstrap stack's version, e.g. /cdk-bootstrap/hnb659fds/version. */
  readonly ssmParameter: string;
  /** Highest version any stack or asset manifest requires: below it `cdk deploy` refuses. */
  readonly requiredVersion: number;
  /** Version the lookup role needs (`cdk diff` and change-set comparison fall back without it). */
  readonly lookupRoleVersion?: number;
}

export interface ReservedConcurrency {
  readonly stack: string;
  readonly logicalId: string;
  readonly reserved: number;
}

export interface CapacityProviderShare {
  /** FARGATE or FARGATE_SPOT. */
  readonly provider: string;
  readonly base: number;
  readonly weight: number;
}

export interface FargateServiceFacts {
  readonly stack: string;
  readonly logicalId: string;
  /** Task CPU units (1024 = 1 vCPU). */
  readonly cpuUnits: number;
  /** Most tasks autoscaling may ask for: the scalable target's MaxCapacity or a scheduled action's, whichever is higher. */
  readonly maxTasks: number;
  /** DeploymentConfiguration.MaximumPercent (ECS's default 200 when absent). */
  readonly maximumPercent: number;
  /** The capacity providers; a service with LaunchType FARGATE is one FARGATE share. */
  readonly strategy: readonly CapacityProviderShare[];
}

export interface ImageBuild {
  readonly assetId: string;
  /** Absolute path of the build context the assembly staged. */
  readonly directory: string;
  readonly dockerFile: string;
  /** The Dockerfile's text (read now: a synthesized assembly is temporary); undefined when it is missing. */
  readonly dockerfileText?: string;
  /** e.g. linux/arm64; undefined builds for the Docker engine's own platform. */
  readonly platform?: string;
}

const manifestSchema = z.object({
  artifacts: z.record(z.string(), z.object({
    type: z.string(),
    environment: z.string().optional(),
    properties: z.looseObject({
      templateFile: z.string().optional(),
      file: z.string().optional(),
      requiresBootstrapStackVersion: z.number().optional(),
      bootstrapStackVersionSsmParameter: z.string().optional(),
      lookupRole: z.looseObject({ requiresBootstrapStackVersion: z.number().optional() }).optional(),
    }).optional(),
    dependencies: z.array(z.string()).optional(),
  })),
});

const assetsSchema = z.object({
  dockerImages: z.record(z.string(), z.object({
    source: z.looseObject({ directory: z.string().optional(), dockerFile: z.string().optional(), platform: z.string().optional() }),
  })).optional(),
});

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

const DEFAULT_SSM_PARAMETER = '/cdk-bootstrap/hnb659fds/version';

/**
 * Reads the assembly in `dir` for `envName`: its stacks must be this environment's and target `region`
 * (a cdk.out left from another environment would answer for the wrong stacks).
 */
export function readAssembly(dir: string, envName: string, region: string): AppFacts {
  const assemblyDir = resolve(dir);
  const manifestFile = join(assemblyDir, 'manifest.json');
  if (!existsSync(manifestFile)) {
    throw new UsageError(`${manifestFile} not found: not a cloud assembly. Fix: npx cdk synth -c env=${envName} (writes cdk.out), or leave out --assembly.`);
  }
  const parsed = manifestSchema.safeParse(readJson(manifestFile));
  if (!parsed.success) throw new UsageError(`${manifestFile}: not a cloud assembly manifest (${parsed.error.issues[0]?.message}).`);
  const artifacts = parsed.data.artifacts;
  const prefix = `${stackPrefix(envName)}-`;
  const stackIds = Object.keys(artifacts).filter((id) => artifacts[id].type === 'aws:cloudformation:stack');
  const ours = stackIds.filter((id) => id.startsWith(prefix));
  if (ours.length === 0) {
    throw new UsageError(`${assemblyDir} holds no stack of environment ${envName} (found ${stackIds.join(', ') || 'none'}). Fix: npx cdk synth -c env=${envName}.`);
  }

  let requiredVersion = 0;
  let lookupRoleVersion: number | undefined;
  let ssmParameter: string | undefined;
  const reservedConcurrency: ReservedConcurrency[] = [];
  const services: FargateServiceFacts[] = [];
  const images = new Map<string, ImageBuild>();

  for (const id of ours) {
    const artifact = artifacts[id];
    const stackRegion = artifact.environment?.split('/').pop();
    if (stackRegion && stackRegion !== region && stackRegion !== 'unknown-region') {
      throw new UsageError(`${id} in ${assemblyDir} targets ${stackRegion}, the configuration ${region}. Fix: npx cdk synth -c env=${envName} again.`);
    }
    const props = artifact.properties ?? {};
    requiredVersion = Math.max(requiredVersion, props.requiresBootstrapStackVersion ?? 0);
    ssmParameter ??= props.bootstrapStackVersionSsmParameter;
    const lookup = props.lookupRole?.requiresBootstrapStackVersion;
    if (lookup !== undefined) lookupRoleVersion = Math.max(lookupRoleVersion ?? 0, lookup);

    for (const dep of artifact.dependencies ?? []) {
      const manifest = artifacts[dep];
      if (manifest?.type !== 'cdk:asset-manifest' || !manifest.properties?.file) continue;
      requiredVersion = Math.max(requiredVersion, manifest.properties.requiresBootstrapStackVersion ?? 0);
      const assets = assetsSchema.parse(readJson(join(assemblyDir, manifest.properties.file)));
      for (const [assetId, image] of Object.entries(assets.dockerImages ?? {})) {
        if (!image.source.directory) continue; // built by an executable, not from a directory
        const directory = resolve(assemblyDir, image.source.directory);
        const dockerFile = image.source.dockerFile ?? 'Dockerfile';
        const dockerfilePath = join(directory, dockerFile);
        images.set(assetId, {
          assetId,
          directory,
          dockerFile,
          dockerfileText: existsSync(dockerfilePath) ? readFileSync(dockerfilePath, 'utf8') : undefined,
          platform: image.source.platform,
        });
      }
    }

    if (!props.templateFile) continue;
    const template = readJson(join(assemblyDir, props.templateFile)) as { Resources?: Resources };
    const resources = template.Resources ?? {};
    reservedConcurrency.push(...reservations(id, resources));
    services.push(...fargateServices(id, resources));
  }

  return {
    assemblyDir,
    stacks: ours,
    // A synthesizer without a version check (LegacyStackSynthesizer, CliCredentialsStackSynthesizer) requires none.
    bootstrap: { ssmParameter: ssmParameter ?? DEFAULT_SSM_PARAMETER, requiredVersion, lookupRoleVersion },
    reservedConcurrency,
    services,
    images: [...images.values()],
  };
}

function reservations(stack: string, resources: Resources): ReservedConcurrency[] {
  return Object.entries(resources).flatMap(([logicalId, r]) => {
    const reserved = r.Type === 'AWS::Lambda::Function' ? r.Properties?.ReservedConcurrentExecutions : undefined;
    return typeof reserved === 'number' ? [{ stack, logicalId, reserved }] : [];
  });
}

function fargateServices(stack: string, resources: Resources): FargateServiceFacts[] {
  const targets = Object.values(resources).filter((r) => r.Type === 'AWS::ApplicationAutoScaling::ScalableTarget' && r.Properties?.ScalableDimension === 'ecs:service:DesiredCount');
  return Object.entries(resources).flatMap(([logicalId, r]) => {
    if (r.Type !== 'AWS::ECS::Service') return [];
    const p = r.Properties ?? {};
    const strategy = (p.CapacityProviderStrategy as Array<{ CapacityProvider: string; Base?: number; Weight?: number }> | undefined)
      ?.map((s) => ({ provider: s.CapacityProvider, base: s.Base ?? 0, weight: s.Weight ?? 0 }));
    if (!strategy && p.LaunchType !== undefined && p.LaunchType !== 'FARGATE') return []; // EC2 or EXTERNAL: no Fargate quota
    const taskDef = resources[(p.TaskDefinition as { Ref?: string } | undefined)?.Ref ?? ''];
    const cpuUnits = Number(taskDef?.Properties?.Cpu);
    if (!Number.isFinite(cpuUnits) || cpuUnits <= 0) {
      throw new UsageError(`${stack}: the task definition of service ${logicalId} has no literal Cpu; preflight cannot size it.`);
    }
    // The scalable target names the service through Fn::GetAtt [<service>, Name] inside its ResourceId.
    const target = targets.find((t) => JSON.stringify(t.Properties?.ResourceId ?? '').includes(`"Fn::GetAtt":["${logicalId}","Name"]`));
    const scheduled = ((target?.Properties?.ScheduledActions ?? []) as Array<{ ScalableTargetAction?: { MaxCapacity?: number } }>)
      .map((a) => a.ScalableTargetAction?.MaxCapacity ?? 0);
    const maxTasks = target ? Math.max(Number(target.Properties?.MaxCapacity ?? 0), ...scheduled) : Number(p.DesiredCount ?? 1);
    const maximumPercent = Number((p.DeploymentConfiguration as { MaximumPercent?: number } | undefined)?.MaximumPercent ?? 200);
    return [{ stack, logicalId, cpuUnits, maxTasks, maximumPercent, strategy: strategy ?? [{ provider: 'FARGATE', base: 0, weight: 1 }] }];
  });
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}
