import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { cliEntry, didYouMean, FLAG, parseFlags, runCli, type CliIo } from '../tools/common/args';
import { errorMessage, EXIT, UsageError, usageErrorText } from '../tools/common/errors';
import { Progress, progressMode } from '../tools/common/progress';
import type { Finding, GuardRun, Synthesized } from './compliance';

/**
 * `npm run check`: synthesizes environments of cdk.json and runs the deployability gates over them, printing
 * one summary line per gate (findings, time) and exiting 1 on any finding:
 *   - CDK's built-in CloudFormation validation (schema and rules of every resource),
 *   - cdk-nag's AWS Solutions rules (acknowledgements next to their resources, each with its reason),
 *   - cfn-lint on every template (ignored rules in .cfnlintrc.yaml, each with its reason),
 *   - the AWS Control Tower proactive controls as cfn-guard rules (deliberate exceptions sit on their
 *     resource, each with its reason; `--exceptions` lists them).
 * The CDK app, cdk-nag and the guard are loaded only once the arguments are known (`--help` answers at once).
 */
export const USAGE = `Usage: npm run check [-- --env <env>] [--json] [--exceptions]

Synthesizes environments of cdk.json (all of them by default) and runs the gates a deploy should pass:
CDK's built-in CloudFormation validation, cdk-nag's AwsSolutions pack, cfn-lint, and the AWS Control Tower
proactive controls as cfn-guard rules. One line per gate: findings and time.

  -e, --env <name>   check this environment only (repeatable: --env dev --env prod)
  --json             print the findings as JSON ({ environments, gates: [{ gate, findings, seconds }], exitCode })
  --exceptions       also list the deliberate Control Tower exceptions, each with its reason
  --config <file>    cdk.json to read (default: the project's cdk.json)
  --progress <mode>  auto (default: in place on a terminal, nothing otherwise), tty, plain or none
  -h, --help         this text

Exit status: 0 no finding; 1 a finding (each is printed with its rule, resource and environment); 2 no
answer (bad arguments, a configuration error in cdk.json, a synth that fails, cfn-lint not installed).`;

export const FLAGS = {
  env: { ...FLAG.env, multiple: true },
  json: FLAG.json,
  exceptions: { type: 'boolean' },
  config: FLAG.config,
  progress: FLAG.progress,
  help: FLAG.help,
} as const;

/** One finding of a gate, in the JSON output: where (environment, template, resource) and what. */
export interface CheckFinding {
  readonly env?: string;
  readonly template?: string;
  readonly rule: string;
  readonly severity?: string;
  readonly resource?: string;
  readonly message: string;
}

export interface GateResult {
  readonly gate: string;
  readonly findings: CheckFinding[];
  readonly seconds: number;
  /** Why the gate did not run (its findings are then unknown). */
  readonly skipped?: string;
}

export interface CheckReport {
  readonly tool: 'check';
  readonly environments: string[];
  readonly gates: GateResult[];
  /** With --exceptions: the Control Tower findings excused on their resource, each with its reason. */
  readonly exceptions?: CheckFinding[];
  readonly exitCode: number;
}

export interface CheckDeps extends CliIo {
  /** Synthesizes one environment into `outdir`. @default - buildApp + synthWithChecks (scripts/compliance.ts) */
  readonly synth?: (env: string, cdkJsonFile: string | undefined, outdir: string) => Synthesized;
  /** cfn-lint over the templates: its parseable lines, or null when it is not installed. @default - the cfn-lint on PATH */
  readonly lint?: (templates: string[]) => string[] | null;
  /** @default - runGuard (scripts/compliance.ts) */
  readonly guard?: (templates: string[]) => GuardRun;
  /** The environments of cdk.json. @default - blueprintContext(readCdkJson(--config)) */
  readonly environments?: (cdkJsonFile: string | undefined) => string[];
  /** Whether stderr is a terminal (the status line). @default process.stderr.isTTY */
  readonly isTTY?: boolean;
}

const ROOT = join(__dirname, '..');

/** `npm run check`; returns the exit code. */
export function main(argv: readonly string[], deps: CheckDeps = {}): number {
  return cliEntry('check', USAGE, argv, deps, FLAGS, () => check(argv, deps));
}

function check(argv: readonly string[], deps: CheckDeps): number {
  const out = deps.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s: string) => void process.stderr.write(s));
  let outdir: string | undefined;
  try {
    const args = parseFlags(argv, FLAGS);
    const status = new Progress({ write: err, isTTY: deps.isTTY ?? (deps.stderr ? false : process.stderr.isTTY) }, progressMode(args.progress));
    const all = (deps.environments ?? environmentsOf)(args.config);
    const envs = args.env ?? all;
    for (const env of envs) {
      if (!all.includes(env)) {
        const near = didYouMean(env, all);
        throw new UsageError(`--env = "${env}": no such environment in cdk.json (${all.join(', ')}).${near ? ` Did you mean --env ${near}?` : ''}`, true);
      }
    }
    outdir = mkdtempSync(join(tmpdir(), 'sb-check-'));
    const synth = deps.synth ?? synthEnvironment;
    const gates: GateResult[] = [];

    let t = Date.now();
    const results = envs.map((env) => {
      status.update(`check: synthesizing ${env} (CDK validation and cdk-nag run on the synth)…`);
      try {
        return { env, ...synth(env, args.config, join(outdir!, env)) };
      } catch (e) {
        // A configuration error (every problem, with its fix) or a construct that refuses its props.
        throw new UsageError(`${env}: ${errorMessage(e)}`);
      }
    });
    const synthSeconds = (Date.now() - t) / 1000;
    const synthFindings = (nag: boolean) => results.flatMap((r) => r.findings.filter((f) => (f.plugin === 'AwsSolutions') === nag).map((f) => synthFinding(r.env, f)));
    gates.push({ gate: 'CDK built-in validation', findings: synthFindings(false), seconds: synthSeconds });
    gates.push({ gate: 'cdk-nag AwsSolutions', findings: synthFindings(true), seconds: synthSeconds });

    const templates = results.flatMap((r) => r.templates);
    t = Date.now();
    status.update(`check: cfn-lint over ${templates.length} templates…`);
    const lint = (deps.lint ?? cfnLint)(templates);
    gates.push(lint === null
      ? { gate: 'cfn-lint', findings: [], seconds: 0, skipped: "cfn-lint is not installed. Fix: pip install 'cfn-lint>=1'" }
      : { gate: 'cfn-lint', findings: lint.map((l) => lintFinding(l, outdir!)), seconds: (Date.now() - t) / 1000 });

    t = Date.now();
    status.update(`check: Control Tower rules (cfn-guard) over ${templates.length} templates…`);
    const guard = (deps.guard ?? runGuardLazily)(templates);
    const guardFinding = (g: GuardRun['findings'][number]) => ({ template: relative(outdir!, g.template), rule: g.control, resource: g.resource, message: g.message });
    gates.push({ gate: 'cfn-guard Control Tower', findings: guard.findings.map(guardFinding), seconds: (Date.now() - t) / 1000 });
    status.clear();

    const found = gates.some((g) => g.findings.length > 0);
    const exitCode = found ? EXIT.finding : gates.some((g) => g.skipped) ? EXIT.cannotRun : EXIT.ok;
    const report: CheckReport = {
      tool: 'check',
      environments: envs,
      gates,
      ...(args.exceptions && { exceptions: guard.excepted.map((e) => ({ ...guardFinding(e), message: e.reason })) }),
      exitCode,
    };
    if (args.json) {
      out(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const controls = new Set(guard.excepted.map((e) => e.control));
      const detail: Record<string, string> = {
        'CDK built-in validation': `${envs.join(', ')} (one synth serves both)`,
        'cdk-nag AwsSolutions': `${envs.join(', ')} (one synth serves both)`,
        'cfn-lint': `${templates.length} templates`,
        'cfn-guard Control Tower': `${templates.length} templates; ${guard.excepted.length} deliberate exceptions to ${controls.size} controls (--exceptions lists them)`,
      };
      for (const g of gates) {
        for (const f of g.findings) out(`  ${findingText(f)}\n`);
        if (g.gate === 'cfn-guard Control Tower') for (const e of report.exceptions ?? []) out(`  excepted ${findingText(e)}\n`);
        out(g.skipped
          ? `${g.gate.padEnd(28)} SKIPPED: ${g.skipped}\n`
          : `${g.gate.padEnd(28)} ${String(g.findings.length).padStart(4)} finding${g.findings.length === 1 ? ' ' : 's'}  ${g.seconds.toFixed(1).padStart(6)} s  ${detail[g.gate]}\n`);
      }
    }
    return exitCode;
  } catch (e) {
    if (e instanceof UsageError) {
      err(usageErrorText('check', e));
      return EXIT.cannotRun;
    }
    throw e;
  } finally {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  }
}

function findingText(f: CheckFinding): string {
  return [f.env, f.template].filter(Boolean).join(' ') + `: ${f.rule}${f.severity ? ` ${f.severity}` : ''}${f.resource ? ` ${f.resource}` : ''}: ${f.message}`;
}

function synthFinding(env: string, f: Finding): CheckFinding {
  return { env, rule: f.rule, severity: f.severity, resource: f.paths.join(', '), message: f.description };
}

/** cfn-lint's parseable format: `file:line:column:endLine:endColumn:rule:message`. */
function lintFinding(line: string, outdir: string): CheckFinding {
  const m = /^(.*?):(\d+):(\d+):\d+:\d+:([A-Z]\d+):(.*)$/.exec(line);
  if (!m) return { rule: 'cfn-lint', message: line };
  return { template: `${relative(outdir, m[1])}:${m[2]}:${m[3]}`, rule: m[4], message: m[5] };
}

function environmentsOf(cdkJsonFile: string | undefined): string[] {
  const { blueprintContext, readCdkJson } = require('../tools/common/cdk-json') as typeof import('../tools/common/cdk-json');
  return Object.keys(blueprintContext(readCdkJson(cdkJsonFile)).environments);
}

function synthEnvironment(env: string, cdkJsonFile: string | undefined, outdir: string): Synthesized {
  // Loaded here, not at the top: aws-cdk-lib and cdk-nag take seconds to load, and --help must not wait for them.
  const { buildApp } = require('../lib/app') as typeof import('../lib/app');
  const { loadConfig } = require('../lib/config/loader') as typeof import('../lib/config/loader');
  const { blueprintContext, featureFlags, readCdkJson } = require('../tools/common/cdk-json') as typeof import('../tools/common/cdk-json');
  const { synthWithChecks } = require('./compliance') as typeof import('./compliance');
  const cdkJson = readCdkJson(cdkJsonFile);
  const config = loadConfig(blueprintContext(cdkJson), env);
  return synthWithChecks((app) => buildApp(app, config), featureFlags(cdkJson), outdir);
}

function cfnLint(templates: string[]): string[] | null {
  const lint = spawnSync('cfn-lint', ['--format', 'parseable', '--', ...templates], { cwd: ROOT, encoding: 'utf8' });
  if (lint.error) return null;
  return lint.stdout.split('\n').filter(Boolean);
}

function runGuardLazily(templates: string[]): GuardRun {
  return (require('./compliance') as typeof import('./compliance')).runGuard(templates);
}

if (require.main === module) runCli(main, 'check');
