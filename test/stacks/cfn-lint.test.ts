import { App } from 'aws-cdk-lib';
import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildApp } from '../../lib/app';
import { configFor, featureFlags } from '../helpers/context';
import { ENVIRONMENTS } from '../helpers/synth';

// cfn-lint, the CloudFormation linter (a Python tool), on every template of every environment.
// Ignored rules, each with its reason: .cfnlintrc.yaml.
const root = join(__dirname, '..', '..');
const out = mkdtempSync(join(tmpdir(), 'sb-lint-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const cfnLintInstalled = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
if (!cfnLintInstalled) {
  // Visible, never silent: jest prints this and reports the cfn-lint tests as skipped.
  console.warn("cfn-lint is not installed, so the template lint is SKIPPED. Install it with: pip install 'cfn-lint>=1'");
}
const cfnLint = (files: string[]) => spawnSync('cfn-lint', ['--format', 'parseable', '--', ...files], { cwd: root, encoding: 'utf8' });

(cfnLintInstalled ? test : test.skip)('cfn-lint: no error or warning in any template of any environment', () => {
  const templates = ENVIRONMENTS.flatMap((env) => {
    const outdir = join(out, env);
    // Only the templates matter here: no Lambda bundling (compliance.test.ts bundles, as cdk synth does).
    const app = new App({ context: { ...featureFlags(), 'aws:cdk:bundling-stacks': [] }, outdir, builtinCloudFormationValidation: false });
    buildApp(app, configFor(env));
    app.synth();
    return readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f));
  });
  const loadTestStacks = ENVIRONMENTS.filter((env) => configFor(env).loadTest.enabled).length;
  expect(templates).toHaveLength(ENVIRONMENTS.length * 4 + loadTestStacks);
  const run = cfnLint(templates);
  expect(run.stdout + run.stderr).toBe('');
  expect(run.status).toBe(0);
});

(cfnLintInstalled ? test : test.skip)('cfn-lint reports a broken template with its rule id', () => {
  const file = join(out, 'broken.json');
  writeFileSync(file, JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } } } }));
  const run = cfnLint([file]);
  expect(run.status).not.toBe(0);
  expect(run.stdout).toMatch(/E3012/);
});
