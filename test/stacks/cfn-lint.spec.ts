import { configFor } from '../helpers/context';
import { cfnLintInstalled, lintBatch } from '../helpers/cfn-lint';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { twoServices } from '../helpers/two-services';

// cfn-lint, the CloudFormation linter (a Python tool), on every template of every environment.
// Ignored rules, each with its reason: .cfnlintrc.yaml.
const BROKEN = 'broken.json';
const TWO_SERVICES = 'two-services-compute.template.json';
// The templates the shared registry of test/templates.test.ts synthesized (no second synth), plus a broken
// probe, in the registry's one cfn-lint process (test/helpers/cfn-lint.ts): the linter is live, and Python
// starts once.
const lint = lintBatch(() => ({
  ...Object.fromEntries(ENVIRONMENTS.flatMap((env) => {
    const result = synth(env);
    return (['network', 'data', 'compute', 'monitoring', 'loadTest'] as const).flatMap((part) => {
      const template = result[part];
      return template ? [[`${result.stacks[part]!.stackName}.template.json`, template.toJSON()]] : [];
    });
  })),
  // The two-service fixture's Compute stack (the synth test/constructs/http-service.spec.ts shares).
  [TWO_SERVICES]: synth('staging', twoServices()).compute.toJSON(),
  [BROKEN]: { Resources: { Q: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 'soon' } } } },
}));

if (!cfnLintInstalled()) {
  // Visible, never silent: jest prints this and reports the cfn-lint tests as skipped.
  console.warn("cfn-lint is not installed, so the template lint is SKIPPED. Install it with: pip install 'cfn-lint>=1'");
}

(cfnLintInstalled() ? test : test.skip)('cfn-lint: no error or warning in any template of any environment (and of the two-service fixture\'s Compute stack), and a broken template is reported with its rule id', () => {
  const run = lint();
  const broken = run.files.find((f) => f.endsWith(`/${BROKEN}`))!;
  const templates = run.files.filter((f) => f !== broken);
  const loadTestStacks = ENVIRONMENTS.filter((env) => configFor(env).loadTest.enabled).length;
  expect(templates).toHaveLength(ENVIRONMENTS.length * 4 + loadTestStacks + 1);
  expect(templates.some((f) => f.endsWith(`/${TWO_SERVICES}`))).toBe(true);
  expect(run.findings.filter((f) => !f.startsWith(`${broken}:`))).toEqual([]);
  expect(run.findings.some((f) => f.startsWith(`${broken}:`) && f.includes('E3012'))).toBe(true);
  expect(run.stderr).toBe('');
  expect(run.status).not.toBe(0);
});
