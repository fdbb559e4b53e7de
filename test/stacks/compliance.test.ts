import { Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildApp } from '../../lib/app';
import { GUARD_EXCEPTIONS_METADATA, guardException } from '../../lib/constructs/guard';
import { runGuard, synthWithChecks, type GuardRun, type Synthesized } from '../../scripts/compliance';
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
const synthesized = new Map<string, Synthesized>();
const synthOf = (env: string, overrides?: Overrides, key = env) => {
  if (!synthesized.has(key)) synthesized.set(key, synthWithChecks((app) => buildApp(app, configFor(env, overrides)), featureFlags(), join(out, key)));
  return synthesized.get(key)!;
};
// One cfn-guard process per template, each with only the rule files that name one of its resource types
// (runGuard picks them): cfn-guard's time grows with rules x resources, so 13 narrow runs cost about a third
// of the CPU of one run of the union of rules over every template (20 s against 30-60 s of CPU measured).
// A rule file that names none of a template's types has nothing to check in it.
const guarded = new Map<string, GuardRun>();
const guardOf = (env: string): GuardRun => {
  if (!guarded.has(env)) {
    const runs = synthOf(env).templates.map((t) => runGuard([t]));
    guarded.set(env, { findings: runs.flatMap((r) => r.findings), excepted: runs.flatMap((r) => r.excepted) });
  }
  return guarded.get(env)!;
};
afterAll(() => rmSync(out, { recursive: true, force: true }));

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
    }, featureFlags(), join(out, 'probe'));
    expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });

  test('cfn-guard reports a short-lived log group with its control id, unless an exception with a reason excuses it', () => {
    const { templates } = synthWithChecks((app) => {
      const stack = new Stack(app, 'GuardProbe');
      new logs.LogGroup(stack, 'Short', { retention: logs.RetentionDays.ONE_WEEK });
      guardException(new logs.LogGroup(stack, 'Excused', { retention: logs.RetentionDays.ONE_WEEK }), 'CT.CLOUDWATCH.PR.2', 'a probe that is allowed to forget');
    }, featureFlags(), join(out, 'guard-probe'));
    const run = runGuard(templates);
    expect(run.findings.map((f) => [f.control, f.resource.replace(/[0-9A-F]{8}$/, '')])).toEqual(expect.arrayContaining([['CT.CLOUDWATCH.PR.2', 'Short']]));
    expect(run.findings.some((f) => f.resource.startsWith('Excused') && f.control === 'CT.CLOUDWATCH.PR.2')).toBe(false);
    expect(run.excepted).toEqual([expect.objectContaining({ control: 'CT.CLOUDWATCH.PR.2', reason: 'a probe that is allowed to forget' })]);
  });

});
