#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { readFileSync } from 'fs';
import { homedir } from 'os';
import { join } from 'path';
import { buildApp } from '../lib/app';
import { CONTEXT_KEY, ConfigError, loadConfig } from '../lib/config/loader';
import { addNagChecks, ContextError, isValidationFailure, nagEnabled, synthesizedLine, unknownContextKeys } from '../lib/entry';

/**
 * The only place that reads context: `-c env=<name>` (default dev), `-c nag=false` and the `scaling-blueprint`
 * config. A `-c` key the app does not read stops the synth (a mistyped `-c enviroment=prod` would otherwise
 * synthesize dev); cdk-nag runs on the synth unless `-c nag=false`; the last line on stderr names the
 * environment synthesized.
 */
const app = new App();
try {
  const problems = unknownContextKeys(app.node.getAllContext(), declaredContextKeys());
  if (problems.length > 0) throw new ContextError(problems);
  const nag = nagEnabled(app.node.tryGetContext('nag'));
  const config = loadConfig(app.node.tryGetContext(CONTEXT_KEY), String(app.node.tryGetContext('env') ?? 'dev'));
  buildApp(app, config);
  if (nag) addNagChecks(app);
  app.synth();
  process.stderr.write(`${synthesizedLine(config, nag)}\n`);
} catch (err) {
  if (err instanceof ConfigError || err instanceof ContextError) {
    process.stderr.write(`\n${err.message}\n\n`);
    process.exit(1);
  }
  if (isValidationFailure(err)) {
    // CDK has printed the findings above; a stack trace would add nothing.
    process.stderr.write(`\n${CONTEXT_KEY}: cdk-nag found errors (listed above); fix them or acknowledge each next to its resource with Validations.of(x).acknowledge({ id, reason }) (docs/compliance.md). -c nag=false skips cdk-nag for one synth.\n\n`);
    process.exit(1);
  }
  throw err;
}

/**
 * Keys of the context files the CDK CLI merges into the app's context besides `-c`: cdk.json's and
 * ~/.cdk.json's `context`, and cdk.context.json (https://docs.aws.amazon.com/cdk/v2/guide/context.html).
 * A key in none of them came from the command line.
 */
function declaredContextKeys(): Set<string> {
  const read = (file: string): Record<string, unknown> => {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return json !== null && typeof json === 'object' ? json as Record<string, unknown> : {};
    } catch {
      return {};
    }
  };
  const contextOf = (file: string) => (read(file).context ?? {}) as Record<string, unknown>;
  return new Set([
    ...Object.keys(contextOf(join(process.cwd(), 'cdk.json'))),
    ...Object.keys(read(join(process.cwd(), 'cdk.context.json'))),
    ...Object.keys(contextOf(join(homedir(), '.cdk.json'))),
  ]);
}
