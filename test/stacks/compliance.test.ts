import { Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { buildApp } from '../../lib/app';
import { GUARD_EXCEPTIONS_METADATA, guardException } from '../../lib/constructs/guard';
import { guardRulesFor, runGuard, synthWithChecks, type GuardRun, type Synthesized } from '../../scripts/compliance';
import { configFor, featureFlags, type Overrides } from '../helpers/context';
import { ENVIRONMENTS } from '../helpers/synth';
import { twoServices } from '../helpers/two-services';

// Every stack of every environment, checked by tools nobody in this project wrote:
// - CDK's built-in CloudFormation validation (on for every `cdk synth`; with validateAgainstDefaultRules
//   its errors fail synth; the other unit tests turn it off for speed);
// - cdk-nag's AWS Solutions rules (acknowledgements sit next to their resource, each with its reason);
// - the AWS Control Tower proactive controls, as cfn-guard rules (exceptions sit on their resource).
// (cfn-lint runs in test/stacks/cfn-lint.spec.ts.) One synth per environment serves all three.
const out = mkdtempSync(join(tmpdir(), 'sb-compliance-'));
// cdk.json's feature flags, without a stack trace on each construct's metadata and CloudFormation element:
// the traces go to the cloud assembly's metadata only (no template, no finding reads them), and capturing
// one per construct through jest's source-map support cost seconds of CPU over these synths.
const context = () => ({ ...featureFlags(), 'aws:cdk:disable-stack-trace': true, 'aws:cdk:disable-creation-stack-traces': true });
const synthesized = new Map<string, Synthesized>();
const synthOf = (env: string, overrides?: Overrides, key = env) => {
  if (!synthesized.has(key)) synthesized.set(key, synthWithChecks((app) => buildApp(app, configFor(env, overrides)), context(), join(out, key)));
  return synthesized.get(key)!;
};
// cfn-guard with only the rule files that name one of a template's resource types (runGuard picks them):
// its time grows with rules x resources, so narrow runs cost about a third of the CPU of one run of the union
// of rules over every template. The same stack of each environment needs the same rule files, so the
// templates that need the same set go to one process: the rules are parsed once for them (13 runs -> 8,
// 31 -> 27 s of CPU measured). A rule file that names none of a template's types has nothing to check in it.
let guarded: Map<string, GuardRun> | undefined;
const guardOf = (env: string): GuardRun => {
  if (!guarded) {
    const byRules = new Map<string, string[]>();
    for (const template of ENVIRONMENTS.flatMap((e) => synthOf(e).templates)) {
      const resources = (JSON.parse(readFileSync(template, 'utf8')) as { Resources?: Record<string, { Type: string }> }).Resources ?? {};
      const rules = guardRulesFor(new Set(Object.values(resources).map((r) => r.Type))).join('\n');
      byRules.set(rules, [...(byRules.get(rules) ?? []), template]);
    }
    const runs = [...byRules.values()].map((templates) => runGuard(templates));
    const ofEnv = (e: string) => {
      const mine = new Set(synthOf(e).templates.map((t) => basename(t)));
      return { findings: runs.flatMap((r) => r.findings).filter((f) => mine.has(f.template)), excepted: runs.flatMap((r) => r.excepted).filter((f) => mine.has(f.template)) };
    };
    guarded = new Map(ENVIRONMENTS.map((e) => [e, ofEnv(e)]));
    // Every finding lands in its environment's run: none is dropped by the regrouping.
    const count = (runs: GuardRun[]) => runs.reduce((n, r) => n + r.findings.length + r.excepted.length, 0);
    expect(count([...guarded.values()])).toBe(count(runs));
  }
  return guarded.get(env)!;
};
afterAll(() => rmSync(out, { recursive: true, force: true }));
// The first guard test runs cfn-guard over every environment's templates (~27 s of CPU): on the busy 2-core
// machine that is more than jest's default 60 s of wall time.
jest.setTimeout(180_000);

describe.each(ENVIRONMENTS)('%s', (env) => {
  test('CDK built-in template validation reports nothing', () => {
    expect(synthOf(env).findings.filter((f) => f.plugin !== 'AwsSolutions')).toEqual([]);
  });

  test('cdk-nag AwsSolutions: no unacknowledged error or warning', () => {
    expect(synthOf(env).findings.filter((f) => f.plugin === 'AwsSolutions')).toEqual([]);
  });

  test('Control Tower guard rules: every finding is a documented exception', () => {
    expect(guardOf(env).findings).toEqual([]);
  });

  test('every guard exception has a reason and excuses a finding that occurs (none is stale)', () => {
    const declared = synthOf(env).templates.flatMap((file) => {
      const resources = (JSON.parse(readFileSync(file, 'utf8')) as { Resources: Record<string, { Metadata?: Record<string, unknown> }> }).Resources;
      return Object.entries(resources).flatMap(([id, r]) =>
        ((r.Metadata?.[GUARD_EXCEPTIONS_METADATA] ?? []) as Array<{ rule: string; reason: string }>).map((e) => ({ id, ...e })));
    });
    expect(declared.length).toBeGreaterThan(0);
    for (const e of declared) expect(e.reason.length).toBeGreaterThan(40);
    const used = new Set(guardOf(env).excepted.map((e) => `${e.resource} ${e.control}`));
    expect(declared.map((e) => `${e.id} ${e.rule}`).filter((k) => !used.has(k))).toEqual([]);
  });
});

// A second HTTP service and listener rules of every kind (test/helpers/two-services.ts): one more synth, and the
// guard rules on its Compute stack, the only one the services and routes change.
describe('staging with a second service and routes', () => {
  const fixture = () => synthOf('staging', twoServices(), 'staging-two-services');

  test('CDK built-in template validation and cdk-nag AwsSolutions report nothing', () => {
    expect(fixture().findings).toEqual([]);
  });

  test('Control Tower guard rules on the Compute stack: every finding is a documented exception', () => {
    const compute = fixture().templates.filter((t) => t.endsWith('-Compute.template.json'));
    expect(compute).toHaveLength(1);
    expect(runGuard(compute).findings).toEqual([]);
  });
});

test('production meets the controls that other environments except: log retention, deletion protection', () => {
  const controls = (env: string) => new Set(guardOf(env).excepted.map((e) => e.control));
  for (const control of ['CT.CLOUDWATCH.PR.2', 'CT.ELASTICLOADBALANCING.PR.5']) {
    expect(controls('prod').has(control)).toBe(false);
  }
  // The cluster's deletion protection is on in production, set once the stack exists by the
  // AuroraDeletionProtection custom resource (a failed first deploy must roll back): the template cannot show it.
  expect(guardOf('prod').excepted.filter((e) => e.control === 'CT.RDS.PR.3').map((e) => e.reason))
    .toEqual([expect.stringMatching(/^Deletion protection is on, but set by the AuroraDeletionProtection custom resource/)]);
  expect(controls('dev').has('CT.CLOUDWATCH.PR.2')).toBe(true);
});

describe('the checks are live', () => {
  test('cdk-nag reports a careless bucket with its rule ids', () => {
    const { findings } = synthWithChecks((app) => {
      new s3.Bucket(new Stack(app, 'Probe'), 'Careless', { enforceSSL: false });
    }, context(), join(out, 'probe'));
    expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });

  test('cfn-guard reports a short-lived log group with its control id, unless an exception with a reason excuses it', () => {
    const { templates } = synthWithChecks((app) => {
      const stack = new Stack(app, 'GuardProbe');
      new logs.LogGroup(stack, 'Short', { retention: logs.RetentionDays.ONE_WEEK });
      guardException(new logs.LogGroup(stack, 'Excused', { retention: logs.RetentionDays.ONE_WEEK }), 'CT.CLOUDWATCH.PR.2', 'a probe that is allowed to forget');
    }, context(), join(out, 'guard-probe'));
    const run = runGuard(templates);
    expect(run.findings.map((f) => [f.control, f.resource.replace(/[0-9A-F]{8}$/, '')])).toEqual(expect.arrayContaining([['CT.CLOUDWATCH.PR.2', 'Short']]));
    expect(run.findings.some((f) => f.resource.startsWith('Excused') && f.control === 'CT.CLOUDWATCH.PR.2')).toBe(false);
    expect(run.excepted).toEqual([expect.objectContaining({ control: 'CT.CLOUDWATCH.PR.2', reason: 'a probe that is allowed to forget' })]);
  });

});
