import { readFileSync } from 'fs';
import { join } from 'path';
import { ConfigError, CONTEXT_KEY, loadConfig, type JsonObject } from '../../lib/config/loader';
import type { BlueprintConfig } from '../../lib/config/schema';
import { UsageError } from './errors';

/** The project's cdk.json, the one `cdk synth` reads; found from this file, so the tools run from any directory. */
export const PROJECT_CDK_JSON = join(__dirname, '..', '..', 'cdk.json');

export interface CdkJson {
  readonly file: string;
  /** Everything under `context`: the CDK feature flags and the blueprint's configuration. */
  readonly context: Readonly<Record<string, unknown>>;
}

/** The `scaling-blueprint` value of the context as written: `defaults` and `environments` (loadConfig validates it). */
export interface BlueprintContext {
  defaults: JsonObject;
  environments: Record<string, JsonObject>;
}

/** Reads a cdk.json (parsed afresh on each call: callers may edit what they get). */
export function readCdkJson(file: string = PROJECT_CDK_JSON): CdkJson {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}. Fix: give the path of the project's cdk.json.`);
  }
  const context = (json as { context?: unknown } | null)?.context;
  if (!isObject(context)) throw new UsageError(`${file} has no "context" object. Fix: give the path of the project's cdk.json.`);
  return { file, context };
}

/** The context without the blueprint's configuration: the CDK feature flags, as `cdk synth` passes them. */
export function featureFlags(cdk: CdkJson = readCdkJson()): Record<string, unknown> {
  const { [CONTEXT_KEY]: _config, ...flags } = cdk.context;
  return flags;
}

/** The blueprint's configuration as written, before defaults are merged and the schema applied. */
export function blueprintContext(cdk: CdkJson = readCdkJson()): BlueprintContext {
  const value = cdk.context[CONTEXT_KEY];
  if (!isObject(value) || !isObject(value.environments)) {
    throw new UsageError(`${cdk.file} has no context."${CONTEXT_KEY}".environments object. Fix: give the path of the project's cdk.json.`);
  }
  return value as unknown as BlueprintContext;
}

/** One environment's validated configuration; a ConfigError (what to fix in cdk.json) becomes a UsageError. */
export function loadEnvironmentConfig(envName: string, file: string = PROJECT_CDK_JSON): BlueprintConfig {
  const { context } = readCdkJson(file);
  try {
    return loadConfig(context[CONTEXT_KEY], envName);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
