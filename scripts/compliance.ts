import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';

export interface Finding {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly description: string;
  readonly paths: string[];
}

export interface Synthesized {
  readonly findings: Finding[];
  readonly templates: string[];
}

/**
 * Synthesizes `build(app)` into `outdir` as `cdk synth` does, with CDK's built-in CloudFormation validation
 * on and cdk-nag's AWS Solutions rules added as a validation plugin, and returns every error and warning
 * either reported (from validation-report.json) plus the template files, for cfn-lint.
 */
export function synthWithChecks(build: (app: App) => void, context: Record<string, unknown>, outdir: string): Synthesized {
  const app = new App({ context, outdir });
  build(app);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  try {
    app.synth();
  } catch {
    // ValidationFailed: the report says why
  }
  const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
    pluginReports: Array<{ pluginName: string; violations: Array<{ ruleName: string; description: string; severity: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
  };
  const findings = report.pluginReports.flatMap((r) => r.violations.map((v) => ({
    plugin: r.pluginName, rule: v.ruleName, severity: v.severity, description: v.description, paths: v.violatingConstructs.map((c) => c.constructPath),
  }))).filter((f) => f.severity === 'error' || f.severity === 'warning' || f.severity === 'fatal');
  const templates = readdirSync(outdir).filter((f) => f.endsWith('.template.json')).map((f) => join(outdir, f));
  return { findings, templates };
}
