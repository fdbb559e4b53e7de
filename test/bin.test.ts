import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { blueprintContext, contextWith, featureFlags } from './helpers/context';

const root = join(__dirname, '..');

/** Runs the CDK entry point the way `cdk synth` does: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR. */
function runApp(context: Record<string, unknown>) {
  const outdir = mkdtempSync(join(tmpdir(), 'sb-synth-'));
  try {
    const result = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', 'bin/scaling-blueprint.ts'], {
      cwd: root,
      // CDK's built-in validation is checked in test/stacks/compliance.test.ts; here it would only cost time.
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ ...featureFlags(), ...context }), CDK_OUTDIR: outdir, TS_NODE_SWC: 'true', CDK_VALIDATION: 'false' },
      encoding: 'utf8',
    });
    return { ...result, templates: readdirSync(outdir).filter((f) => f.endsWith('.template.json')).sort() };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

describe('the CDK entry point (what cdk synth runs)', () => {
  test('without -c env it loads the default environment, dev', () => {
    // A bad value in dev only: the message proves which environment was picked, without a full synth
    // (a successful synth of the default environment is the README's main job; .ci/run runs it).
    const run = runApp({ 'scaling-blueprint': contextWith('dev', { api: { minTasks: 9 } }) });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('configuration of environment "dev" is invalid (1 problem):');
    expect(run.stderr).toContain('scaling-blueprint.environments.dev.api.minTasks = 9: must not exceed api.maxTasks (4)');
  });

  test('a bad value exits non-zero and prints every problem with key, value and fix, and writes no template', () => {
    const run = runApp({
      env: 'prod',
      'scaling-blueprint': contextWith('prod', { api: { minTasks: 99 }, queue: { visibilityTimeoutSeconds: 'long' } }),
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('scaling-blueprint: configuration of environment "prod" is invalid (2 problems):\n');
    expect(run.stderr).toContain('\n  - scaling-blueprint.environments.prod.queue.visibilityTimeoutSeconds = "long": must be a number, got a string. Fix: write it as a number.\n');
    expect(run.stderr).toContain('\n  - scaling-blueprint.environments.prod.api.minTasks = 99: must not exceed api.maxTasks (30). Fix: lower api.minTasks to at most 30, or raise api.maxTasks.\n');
    expect(run.stderr).not.toMatch(/\bat .*\.ts:\d+/); // a message for the user, not a stack trace
    expect(run.templates).toEqual([]);
  });

  test('a mistyped -c key stops the synth with the key meant, before any template is written', () => {
    const run = runApp({ enviroment: 'prod', 'scaling-blueprint': blueprintContext() });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('scaling-blueprint: -c enviroment=prod: unknown context key; nothing reads it. Fix: did you mean -c env=prod?');
    expect(run.templates).toEqual([]);
  });

  test('an unknown environment exits non-zero and lists the valid ones', () => {
    const run = runApp({ env: 'qa', 'scaling-blueprint': blueprintContext() });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('env = "qa": no such environment under scaling-blueprint.environments. Fix: pick one of dev, staging, prod');
  });
});
