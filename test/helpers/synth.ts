import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp, type BlueprintStacks } from '../../lib/app';
import { configFor, featureFlags, type Overrides } from './context';

export const ENVIRONMENTS = ['dev', 'staging', 'prod'] as const;

export interface Synthesized {
  readonly stacks: BlueprintStacks;
  readonly network: Template;
  readonly data: Template;
  readonly compute: Template;
  readonly monitoring: Template;
  /** Only where `loadTest.enabled`. */
  readonly loadTest?: Template;
}

const cache = new Map<string, Synthesized>();

/**
 * An app for a focused test of one construct on a bare `Stack`: cdk.json's feature flags, and CDK's built-in
 * CloudFormation validation off (its rule engine loads in ~3 s; test/bin.test.ts runs it, see below).
 */
export function bareApp(): App {
  return new App({ context: featureFlags(), builtinCloudFormationValidation: false });
}

/**
 * Synthesizes every stack of `env` (with optional config overrides) and returns their templates.
 * Results are memoised per test file (per jest registry): synth is the slow part of the suite.
 */
export function synth(env: string, overrides: Overrides = {}): Synthesized {
  // Keyed by the loaded configuration, not by the overrides: buildApp reads nothing else, and an override
  // that restates a default (half of the cross-stack-references flips) then shares the plain synth.
  const config = configFor(env, overrides);
  const key = `${env}:${JSON.stringify(config)}`;
  let hit = cache.get(key);
  if (!hit) {
    // Same feature flags as cdk.json. CDK's built-in CloudFormation validation (a WASM rule engine, ~3 s
    // per process) is off here; test/bin.test.ts runs the real entry point with it on and checks its report.
    // Lambda bundling (esbuild) is skipped too: about 1 s per synth. test/stacks/compliance.test.ts
    // synths with bundling, as `cdk synth` does, so the handlers are still bundled in the suite.
    const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] }, builtinCloudFormationValidation: false });
    const stacks = buildApp(app, config);
    hit = {
      stacks,
      network: Template.fromStack(stacks.network),
      data: Template.fromStack(stacks.data),
      compute: Template.fromStack(stacks.compute),
      monitoring: Template.fromStack(stacks.monitoring),
      loadTest: stacks.loadTest && Template.fromStack(stacks.loadTest),
    };
    cache.set(key, hit);
  }
  return hit;
}
