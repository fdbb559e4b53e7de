import { App } from 'aws-cdk-lib';
import { addNagChecks } from '../lib/entry';
import { GUARD_EXCEPTIONS_METADATA } from '../lib/constructs/guard';
import { spawnSync } from 'child_process';
import { readdirSync, readFileSync } from 'fs';
import { basename, dirname, join } from 'path';

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
  // The packs every synth of the app runs (bin/scaling-blueprint.ts), so the check and `cdk synth` agree.
  addNagChecks(app);
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

/** The AWS Control Tower proactive controls as cfn-guard rules, with the cfn-guard binary, from @cdklabs/cdk-validator-cfnguard. */
const GUARD_PACKAGE = dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json'));
export const GUARD_RULES = join(GUARD_PACKAGE, 'rules', 'control-tower', 'cfn-guard');


export interface GuardFinding {
  /** cfn-guard rule name, e.g. `ecs_task_definition_memory_hard_limit_check`. */
  readonly rule: string;
  /** Control Tower control id, e.g. `CT.ECS.PR.4`. */
  readonly control: string;
  readonly template: string;
  readonly resource: string;
  readonly message: string;
}

export interface GuardRun {
  /** Findings not excused by an exception. */
  readonly findings: GuardFinding[];
  /** Findings excused by a documented exception on their resource, with the reason. */
  readonly excepted: Array<GuardFinding & { reason: string }>;
}

/** The cfn-guard binary for this platform, shipped in the package (no download). */
export function guardBinary(): string {
  const os = process.platform === 'darwin' ? 'macos' : 'ubuntu';
  const arch = process.arch === 'arm64' ? 'aarch64' : 'x86_64';
  return join(GUARD_PACKAGE, 'bin', os, arch, 'cfn-guard');
}

/**
 * Runs every Control Tower guard rule over the given templates (templates only: not the assets of
 * cdk.out) and maps each failed check to the resource it names. A finding on a resource whose metadata
 * lists the rule as a deliberate exception is reported apart, with its reason.
 */
export function runGuard(templates: string[], rulesDir: string = GUARD_RULES): GuardRun {
  const findings: GuardFinding[] = [];
  const excepted: Array<GuardFinding & { reason: string }> = [];
  if (templates.length === 0) return { findings, excepted };
  const parsed = new Map(templates.map((t) => [t, JSON.parse(readFileSync(t, 'utf8')) as {
    Resources?: Record<string, { Type: string; Metadata?: Record<string, unknown> }>;
  }]));
  const types = new Set([...parsed.values()].flatMap((t) => Object.values(t.Resources ?? {}).map((r) => r.Type)));
  const rules = guardRulesFor(types, rulesDir);
  if (rules.length === 0) return { findings, excepted };
  // One process for all templates and only the rule files whose resource types occur: parsing 237 rule
  // files per template is most of cfn-guard's time.
  const run = spawnSync(guardBinary(), ['validate', ...rules.flatMap((r) => ['--rules', r]), ...templates.flatMap((t) => ['--data', t]),
    '--structured', '--output-format', 'json', '--show-summary', 'none'], { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (run.error) throw run.error;
  // Exit 19 means "some rule failed"; 0 all passed; anything else is cfn-guard failing to run.
  if (run.status !== 0 && run.status !== 19) throw new Error(`cfn-guard exited ${run.status}: ${run.stderr}`);
  const seen = new Set<string>();
  for (const report of JSON.parse(run.stdout) as GuardReport[]) {
    const template = templates.find((t) => t === report.name || report.name.endsWith(`/${basename(t)}`)) ?? report.name;
    const resources = parsed.get(template)?.Resources ?? {};
    for (const failed of report.not_compliant ?? []) {
      const rule = failed.Rule.name;
      const custom = findCustomMessage(failed) ?? '';
      const control = /\[(CT\.[A-Z0-9]+\.PR\.\d+)\]/.exec(custom)?.[1] ?? rule;
      const message = /\]: ([^\n[]+)/.exec(custom)?.[1]?.trim() ?? rule;
      for (const resource of resourcesNamed(failed)) {
        const key = `${template}|${rule}|${resource}`;
        if (seen.has(key)) continue;
        seen.add(key);
        const finding = { rule, control, template: basename(template), resource, message };
        const exceptions = (resources[resource]?.Metadata?.[GUARD_EXCEPTIONS_METADATA] ?? []) as Array<{ rule: string; reason: string }>;
        const exception = exceptions.find((e) => e.rule === rule || e.rule === control);
        if (exception) excepted.push({ ...finding, reason: exception.reason });
        else findings.push(finding);
      }
    }
  }
  return { findings, excepted };
}

/** Rule files (recursively under `dir`) that name at least one of the resource types. */
export function guardRulesFor(types: ReadonlySet<string>, dir: string = GUARD_RULES): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.guard'))
    .map((f) => join(dir, f))
    .filter((f) => (readFileSync(f, 'utf8').match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g) ?? []).some((t) => types.has(t)));
}

interface GuardReport { name: string; not_compliant?: Array<{ Rule: { name: string } }> }

function findCustomMessage(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const n of node) { const m = findCustomMessage(n); if (m) return m; }
  } else if (node && typeof node === 'object') {
    const msg = (node as { messages?: { custom_message?: string } }).messages?.custom_message;
    if (msg && msg.includes('[CT.')) return msg;
    for (const v of Object.values(node)) { const m = findCustomMessage(v); if (m) return m; }
  }
  return undefined;
}

/** Logical ids named by the `/Resources/<id>/...` paths of a failed rule's checks. */
function resourcesNamed(node: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(node)) node.forEach((n) => resourcesNamed(n, out));
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === 'path' && typeof v === 'string') {
        const m = /^\/Resources\/([^/]+)/.exec(v);
        if (m) out.add(m[1]);
      } else resourcesNamed(v, out);
    }
  }
  return out;
}
