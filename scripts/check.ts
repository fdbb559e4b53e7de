import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildApp } from '../lib/app';
import { loadConfig } from '../lib/config/loader';
import { blueprintContext, featureFlags, readCdkJson } from '../tools/common/cdk-json';
import { runGuard, synthWithChecks } from './compliance';

/**
 * `npm run check`: synthesizes every environment of cdk.json and runs the deployability gates over it,
 * printing one summary line per tool (findings, time) and exiting non-zero on any finding:
 *   - CDK's built-in CloudFormation validation (schema and rules of every resource),
 *   - cdk-nag's AWS Solutions rules (acknowledgements next to their resources, each with its reason),
 *   - cfn-lint on every template (ignored rules in .cfnlintrc.yaml, each with its reason),
 *   - the AWS Control Tower proactive controls as cfn-guard rules (deliberate exceptions sit on their
 *     resource, each with its reason; `--exceptions` lists them).
 */
const root = join(__dirname, '..');
const cdkJson = readCdkJson();
const context = blueprintContext(cdkJson);
const envs = Object.keys(context.environments);
const out = mkdtempSync(join(tmpdir(), 'sb-check-'));
let failed = false;
const line = (tool: string, findings: number, ms: number, detail = '') => {
  process.stdout.write(`${tool.padEnd(28)} ${String(findings).padStart(4)} finding${findings === 1 ? ' ' : 's'}  ${(ms / 1000).toFixed(1).padStart(6)} s  ${detail}\n`);
  if (findings > 0) failed = true;
};

try {
  let t = Date.now();
  const results = envs.map((env) => ({ env, ...synthWithChecks((app) => buildApp(app, loadConfig(context, env)), featureFlags(cdkJson), join(out, env)) }));
  const synthMs = Date.now() - t;
  for (const plugin of ['CloudFormation Validate', 'AwsSolutions']) {
    const found = results.flatMap((r) => r.findings.filter((f) => (plugin === 'AwsSolutions') === (f.plugin === 'AwsSolutions')).map((f) => ({ ...f, env: r.env })));
    for (const f of found) process.stdout.write(`  ${f.env}: ${f.rule} ${f.severity}: ${f.description} (${f.paths.join(', ')})\n`);
    line(plugin === 'AwsSolutions' ? 'cdk-nag AwsSolutions' : 'CDK built-in validation', found.length, synthMs, `${envs.join(', ')} (one synth serves both)`);
  }

  const templates = results.flatMap((r) => r.templates);
  t = Date.now();
  const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...templates], { cwd: root, encoding: 'utf8' });
  if (lint.error) {
    process.stdout.write(`${'cfn-lint'.padEnd(28)} SKIPPED: not installed (pip install 'cfn-lint>=1')\n`);
    failed = true;
  } else {
    const findings = lint.stdout.split('\n').filter(Boolean);
    for (const f of findings) process.stdout.write(`  ${f.replace(out, '')}\n`);
    line('cfn-lint', findings.length, Date.now() - t, `${templates.length} templates`);
  }

  t = Date.now();
  const guard = runGuard(templates);
  for (const f of guard.findings) process.stdout.write(`  ${f.template}: ${f.control} ${f.resource}: ${f.message}\n`);
  if (process.argv.includes('--exceptions')) {
    for (const e of guard.excepted) process.stdout.write(`  excepted ${e.template}: ${e.control} ${e.resource}: ${e.reason}\n`);
  }
  const controls = new Set(guard.excepted.map((e) => e.control));
  line('cfn-guard Control Tower', guard.findings.length, Date.now() - t,
    `${templates.length} templates; ${guard.excepted.length} deliberate exceptions to ${controls.size} controls (--exceptions lists them)`);
} finally {
  rmSync(out, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
