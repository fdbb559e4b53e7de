import { App } from 'aws-cdk-lib';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildApp } from '../../lib/app';
import { configFor, featureFlags } from '../helpers/context';
import { ENVIRONMENTS } from '../helpers/synth';

// CDK's built-in CloudFormation validation (schema and rule checks of every resource) stays on for users of
// `cdk synth`. The other unit tests turn it off for speed (test/helpers/synth.ts), so it runs here, once per
// environment, with the same feature flags as cdk.json: with `validateAgainstDefaultRules` an error fails synth.
describe.each(ENVIRONMENTS)('%s', (env) => {
  test('CDK built-in template validation reports nothing', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'sb-validate-'));
    try {
      const app = new App({ context: featureFlags(), outdir });
      buildApp(app, configFor(env));
      app.synth();
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
      const violations = (report.pluginReports as Array<{ violations: Array<{ ruleName: string; description: string }> }>)
        .flatMap((r) => r.violations.map((v) => `${v.ruleName}: ${v.description}`));
      expect(violations).toEqual([]);
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
