import { ConfigError, deepMerge, loadConfig, type JsonObject } from '../../lib/config/loader';
import type { BlueprintConfig } from '../../lib/config/schema';
import { blueprintContext as contextOf, featureFlags as flagsOf, readCdkJson } from '../../tools/common/cdk-json';

/** The project's cdk.json, read as the tools read it: tests use the same feature flags and configuration as `cdk synth`. */
const cdkJson = readCdkJson();

export type Overrides = { [key: string]: unknown };

/** The context of cdk.json without the blueprint's own configuration: the CDK feature flags. */
export function featureFlags(): Record<string, unknown> {
  return flagsOf(cdkJson);
}

/** A deep copy of the `scaling-blueprint` context value, safe to edit in a test. */
export function blueprintContext(): { defaults: Overrides; environments: Record<string, Overrides> } {
  return JSON.parse(JSON.stringify(contextOf(cdkJson)));
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

/** The problems synth would print for `env` with `overrides` applied (fails the test if the config loads). */
export function problemsFor(env: string, overrides: Overrides): string[] {
  try {
    configFor(env, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error(`config of ${env} loaded although it should have been rejected: ${JSON.stringify(overrides)}`);
}

/** The one problem synth would print for `env` with `overrides` (fails the test if there is not exactly one). */
export function oneProblem(env: string, overrides: Overrides): string {
  const problems = problemsFor(env, overrides);
  expect(problems).toHaveLength(1);
  return problems[0];
}
