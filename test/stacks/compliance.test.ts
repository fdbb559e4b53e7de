import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildApp } from '../../lib/app';
import { synthWithChecks, type Synthesized } from '../../scripts/compliance';
import { configFor, featureFlags } from '../helpers/context';
import { ENVIRONMENTS } from '../helpers/synth';

// Every stack of every environment, checked by tools nobody in this project wrote:
// - CDK's built-in CloudFormation validation (on for every `cdk synth`; with validateAgainstDefaultRules
//   its errors fail synth; the other unit tests turn it off for speed);
// - cdk-nag's AWS Solutions rules (acknowledgements sit next to their resource, each with its reason);
// (cfn-lint runs in test/stacks/cfn-lint.test.ts.) One synth per environment serves both.
const out = mkdtempSync(join(tmpdir(), 'sb-compliance-'));
const synthesized = new Map<string, Synthesized>();
const synthOf = (env: string) => {
  if (!synthesized.has(env)) synthesized.set(env, synthWithChecks((app) => buildApp(app, configFor(env)), featureFlags(), join(out, env)));
  return synthesized.get(env)!;
};
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe.each(ENVIRONMENTS)('%s', (env) => {
  test('CDK built-in template validation reports nothing', () => {
    expect(synthOf(env).findings.filter((f) => f.plugin !== 'AwsSolutions')).toEqual([]);
  });

  test('cdk-nag AwsSolutions: no unacknowledged error or warning', () => {
    expect(synthOf(env).findings.filter((f) => f.plugin === 'AwsSolutions')).toEqual([]);
  });
});

describe('the checks are live', () => {
  test('cdk-nag reports a careless bucket with its rule ids', () => {
    const { findings } = synthWithChecks((app) => {
      new s3.Bucket(new Stack(app, 'Probe'), 'Careless', { enforceSSL: false });
    }, featureFlags(), join(out, 'probe'));
    expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
  });

});
