import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

export interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly paths: string[];
}

/**
 * Synthesizes `build(app)` with cdk-nag's AWS Solutions rules as a CDK validation plugin and returns every
 * unacknowledged error and warning (CDK writes them to validation-report.json, and fails synth on errors).
 */
export function nagFindings(build: (app: App) => void, context: Record<string, unknown>): Finding[] {
  const outdir = mkdtempSync(join(tmpdir(), 'sb-nag-'));
  try {
    const app = new App({ context, outdir, builtinCloudFormationValidation: false });
    build(app);
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    try {
      app.synth();
    } catch {
      // ValidationFailed: the report below says why
    }
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: Array<{ violations: Array<{ ruleName: string; severity: string; violatingConstructs: Array<{ constructPath: string }> }> }>;
    };
    return report.pluginReports.flatMap((r) => r.violations)
      .filter((v) => v.severity === 'error' || v.severity === 'warning')
      .map((v) => ({ rule: v.ruleName, severity: v.severity, paths: v.violatingConstructs.map((c) => c.constructPath) }));
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
