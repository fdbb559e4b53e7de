import { Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildApp } from '../../lib/app';
import { configFor, featureFlags } from '../helpers/context';
import { nagFindings } from '../helpers/nag';
import { ENVIRONMENTS } from '../helpers/synth';

// cdk-nag's AWS Solutions rules on every stack of every environment: no unacknowledged error or warning.
// Acknowledgements live next to the resource they concern, each with its reason (grep "acknowledge(").
describe.each(ENVIRONMENTS)('%s', (env) => {
  test('cdk-nag AwsSolutions: no unacknowledged findings', () => {
    const findings = nagFindings((app) => buildApp(app, configFor(env)), featureFlags());
    expect(findings).toEqual([]);
  });
});

test('the check is live: a bucket without TLS enforcement or access logs is reported with its rule ids', () => {
  const findings = nagFindings((app) => {
    const stack = new Stack(app, 'Probe');
    new s3.Bucket(stack, 'Careless', { enforceSSL: false });
  }, featureFlags());
  expect(findings.map((f) => f.rule)).toEqual(expect.arrayContaining(['AwsSolutions-S1', 'AwsSolutions-S10']));
});
