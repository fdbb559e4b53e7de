import { readFileSync } from 'fs';
import { join } from 'path';
import { CONTEXT_KEY, deepMerge, loadConfig, type JsonObject } from '../../lib/config/loader';
import type { BlueprintConfig } from '../../lib/config/schema';

/** cdk.json as the CLI reads it: tests use the same feature flags and the same configuration as `cdk synth`. */
const cdkJson = JSON.parse(readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8')) as {
  context: Record<string, unknown>;
};

export type Overrides = { [key: string]: unknown };

/** The context of cdk.json without the blueprint's own configuration: the CDK feature flags. */
export function featureFlags(): Record<string, unknown> {
  const { [CONTEXT_KEY]: _config, ...flags } = cdkJson.context;
  return flags;
}

/** A deep copy of the `scaling-blueprint` context value, safe to edit in a test. */
export function blueprintContext(): { defaults: Overrides; environments: Record<string, Overrides> } {
  return JSON.parse(JSON.stringify(cdkJson.context[CONTEXT_KEY]));
}

/** The context with `overrides` deep-merged into `environments.<env>`, as a user would edit cdk.json. */
export function contextWith(env: string, overrides: Overrides = {}): ReturnType<typeof blueprintContext> {
  const ctx = blueprintContext();
  ctx.environments[env] = deepMerge((ctx.environments[env] ?? {}) as JsonObject, overrides as JsonObject);
  return ctx;
}

/** The loaded configuration of `env`, with optional overrides. */
export function configFor(env: string, overrides: Overrides = {}): BlueprintConfig {
  return loadConfig(contextWith(env, overrides), env);
}
