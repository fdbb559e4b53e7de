import { App, type AppProps } from 'aws-cdk-lib';
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
 * The App props of a test synth: cdk.json's feature flags, and only what the templates need.
 * - CDK's built-in CloudFormation validation off: a WASM rule engine, ~3 s per process;
 *   test/stacks/compliance.test.ts synths with it on (and test/bin.test.ts runs the real entry point).
 * - Lambda bundling (esbuild) skipped: ~1 s of CPU per handler, and a synth outside this helper bundled every
 *   handler again (two apps of test/stacks/stacks.spec.ts: 8 s of esbuild). The compliance test synths with
 *   bundling, as `cdk synth` does, so the handlers are still bundled in the suite.
 * - No stack trace on each construct's metadata (`stackTraces: false`) nor on each CloudFormation element
 *   (`aws:cdk:disable-creation-stack-traces`): capturing one per construct, through jest's source-map support,
 *   was ~9 s of the template specs' CPU. The traces only go to the cloud assembly's metadata, never to a
 *   template.
 * - No tree.json (`treeMetadata: false`): ~5 s of CPU for a file no template spec reads.
 */
export function testAppProps(context: Record<string, unknown> = {}): AppProps {
  return {
    context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [], 'aws:cdk:disable-creation-stack-traces': true, ...context },
    builtinCloudFormationValidation: false,
    stackTraces: false,
    treeMetadata: false,
  };
}

/** An app for a focused test of one construct on a bare `Stack` (see testAppProps). */
export function bareApp(): App {
  return new App(testAppProps());
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
    const app = new App(testAppProps());
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
