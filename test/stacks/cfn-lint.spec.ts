import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

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

(cfnLintInstalled ? test : test.skip)('cfn-lint: no error or warning in any template of any environment, and a broken template is reported with its rule id', () => {
  // The templates the shared registry of test/templates.test.ts synthesized (no second synth), plus a
  // broken probe in the same cfn-lint process: the linter is live, and Python starts once.
  const templates = ENVIRONMENTS.flatMap((env) => {
    const result = synth(env);
    return (['network', 'data', 'compute', 'monitoring', 'loadTest'] as const).flatMap((part) => {
      const template = result[part];
      if (!template) return [];
      const file = join(out, `${result.stacks[part]!.stackName}.template.json`);
      writeFileSync(file, JSON.stringify(template.toJSON()));
      return [file];
    });
  });
  const loadTestStacks = ENVIRONMENTS.filter((env) => configFor(env).loadTest.enabled).length;
  expect(templates).toHaveLength(ENVIRONMENTS.length * 4 + loadTestStacks);
  const broken = join(out, 'broken.json');
  writeFileSync(broken, JSON.stringify({ Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } } } }));
  const run = cfnLint([...templates, broken]);
  const findings = run.stdout.split('\n').filter(Boolean);
  expect(findings.filter((f) => !f.startsWith(broken))).toEqual([]);
  expect(findings.some((f) => f.startsWith(broken) && f.includes('E3012'))).toBe(true);
  expect(run.stderr).toBe('');
  expect(run.status).not.toBe(0);
});
