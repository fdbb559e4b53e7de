import { RemovalPolicy } from 'aws-cdk-lib';
import { removalPolicyFor } from '../../lib/constructs/removal-policy';

// stateful.removalPolicy is one setting for resources that can and cannot be snapshotted: data is only
// ever deleted where the environment says `destroy`.
test.each([
  ['destroy', false, RemovalPolicy.DESTROY],
  ['destroy', true, RemovalPolicy.DESTROY],
  ['snapshot', true, RemovalPolicy.SNAPSHOT],
  ['snapshot', false, RemovalPolicy.RETAIN],
  ['retain', true, RemovalPolicy.RETAIN],
  ['retain', false, RemovalPolicy.RETAIN],
] as const)('removalPolicyFor(%s, canSnapshot %s) is %s', (setting, canSnapshot, expected) => {
  expect(removalPolicyFor(setting, canSnapshot)).toBe(expected);
});

test('a resource is taken as one that cannot be snapshotted unless it says so', () => {
  expect(removalPolicyFor('snapshot')).toBe(RemovalPolicy.RETAIN);
});
