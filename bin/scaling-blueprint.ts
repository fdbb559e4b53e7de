#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { buildApp } from '../lib/app';
import { CONTEXT_KEY, ConfigError, loadConfig } from '../lib/config/loader';

/** The only place that reads context: `-c env=<name>` (default dev) and the `scaling-blueprint` config. */
const app = new App();
const envName = String(app.node.tryGetContext('env') ?? 'dev');
try {
  buildApp(app, loadConfig(app.node.tryGetContext(CONTEXT_KEY), envName));
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`\n${err.message}\n\n`);
  process.exit(1);
}
