import { App, Stack, Validations } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { addNagChecks, ContextError, nagEnabled, synthesizedLine, unknownContextKeys } from '../lib/entry';
import { configFor } from './helpers/context';

// What bin/scaling-blueprint.ts does around buildApp, on a probe app of one careless bucket: cdk-nag runs on a
// plain synth (not only in `npm run check`), fails it on an error-level finding, honours acknowledgements on
// the construct, and `-c nag=false` skips it. The app's own stacks are nag-checked by test/stacks/compliance.test.ts.
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Synthesizes the probe as bin/ does: nag unless the context turns it off. */
function synthProbe(context: Record<string, unknown>, acknowledge = false): { error?: Error } {
  const outdir = mkdtempSync(join(tmpdir(), 'sb-nag-probe-'));
  dirs.push(outdir);
  const app = new App({ context, outdir, builtinCloudFormationValidation: false });
  const bucket = new s3.Bucket(new Stack(app, 'Probe'), 'Careless', { enforceSSL: false });
  if (acknowledge) {
    for (const id of ['AwsSolutions-S1', 'AwsSolutions-S10']) Validations.of(bucket).acknowledge({ id, reason: 'A probe of this test: the acknowledgement must silence the finding on a plain synth.' });
  }
  if (nagEnabled(app.node.tryGetContext('nag'))) addNagChecks(app);
  try {
    app.synth();
    return {};
  } catch (error) {
    return { error: error as Error };
  }
}

describe('cdk-nag on every synth', () => {
  test('an unencrypted-transport, unlogged bucket fails the synth with the rule ids', () => {
    const { error } = synthProbe({});
    expect(error?.name).toBe('ValidationFailed');
    expect(error?.message).toContain('The S3 Bucket has server access logs disabled. (AwsSolutions)');
    expect(error?.message).toContain('The S3 Bucket or bucket policy does not require requests to use SSL. (AwsSolutions)');
    expect(error?.message).toContain('Probe/Careless/Resource');
  });

  test('acknowledgements next to the resource hold on a plain synth', () => {
    expect(synthProbe({}, true).error).toBeUndefined();
  });

  test('-c nag=false (as the CLI passes it, a string) skips it; true runs it', () => {
    expect(synthProbe({ nag: 'false' }).error).toBeUndefined();
    expect(synthProbe({ nag: false }).error).toBeUndefined();
    expect(synthProbe({ nag: 'true' }).error?.name).toBe('ValidationFailed');
  });

  test('any other value of -c nag is refused', () => {
    const app = new App({ context: { nag: 'no' } });
    expect(() => nagEnabled(app.node.tryGetContext('nag'))).toThrow(ContextError);
    expect(() => nagEnabled(app.node.tryGetContext('nag'))).toThrow('scaling-blueprint: -c nag=no: must be true or false. Fix: -c nag=false skips cdk-nag on this synth; leave it out to run it.');
  });
});

describe('context keys given on the command line', () => {
  const declared = new Set(['@aws-cdk/core:checkSecretUsage', 'scaling-blueprint', 'acknowledged-issue-numbers', 'team']);
  const VALID = 'The app reads only: -c env=<name> picks the environment of scaling-blueprint.environments (default dev); -c nag=false skips cdk-nag on this synth.';

  test('a typo of env, or a name people use for it, is refused with the key meant', () => {
    expect(unknownContextKeys({ enviroment: 'prod' }, declared)).toEqual([
      `-c enviroment=prod: unknown context key; nothing reads it. Fix: did you mean -c env=prod? ${VALID}`,
    ]);
    expect(unknownContextKeys({ stage: 'prod', Env: 'staging', nga: 'false' }, declared)).toEqual([
      `-c stage=prod: unknown context key; nothing reads it. Fix: did you mean -c env=prod? ${VALID}`,
      `-c Env=staging: unknown context key; nothing reads it. Fix: did you mean -c env=staging? ${VALID}`,
      `-c nga=false: unknown context key; nothing reads it. Fix: did you mean -c nag=false? ${VALID}`,
    ]);
  });

  test('an unrelated key nobody reads is refused too', () => {
    expect(unknownContextKeys({ bucket_name: 'x' }, declared)).toEqual([
      `-c bucket_name=x: unknown context key; nothing reads it. Fix: remove it; ${VALID.replace('The app', 'the app')} Configuration goes in cdk.json under "scaling-blueprint".`,
    ]);
  });

  test('what the app, CDK and the context files own passes: env, nag, declared keys, feature flags, the CLI\'s aws:cdk: keys, lookups, stack-scoped keys', () => {
    expect(unknownContextKeys({
      env: 'prod', nag: 'false', 'scaling-blueprint': {}, team: 'a', 'acknowledged-issue-numbers': [1],
      '@aws-cdk/core:checkSecretUsage': true, '@aws-cdk/core:failSynthOnValidationErrors': true, 'aws:cdk:bundling-stacks': ['**'],
      'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'], 'Stack1:key': 'v',
    }, declared)).toEqual([]);
  });
});

test('the line a synth prints on stderr names the environment, region, account and whether cdk-nag ran', () => {
  const staging = configFor('staging');
  expect(synthesizedLine(staging, true)).toBe('scaling-blueprint: synthesized environment "staging" (region us-east-1, account any: the deploying credentials\'; cdk-nag on, -c nag=false skips it)');
  expect(synthesizedLine({ ...staging, account: '123456789012' }, false)).toBe('scaling-blueprint: synthesized environment "staging" (region us-east-1, account 123456789012; cdk-nag off (-c nag=false))');
});
