import { RemovalPolicy } from 'aws-cdk-lib';
import { isRetained, removalPolicyFor } from '../../lib/constructs/removal-policy';

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
  expect(removalPolicyFor(setting, { canSnapshot })).toBe(expected);
});

test('a resource is taken as one that cannot be snapshotted unless it says so', () => {
  expect(removalPolicyFor('snapshot')).toBe(RemovalPolicy.RETAIN);
});

// A failed first deploy rolls back: what it created and would retain must go with it, or the retry fails on
// names still taken (the postgresql log group, the cache users) and leaves keys and secrets behind.
test.each([
  ['destroy', false, RemovalPolicy.DESTROY],
  ['snapshot', true, RemovalPolicy.SNAPSHOT],
  ['snapshot', false, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE],
  ['retain', true, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE],
  ['retain', false, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE],
] as const)('deleteOnCreateRollback: removalPolicyFor(%s, canSnapshot %s) is %s', (setting, canSnapshot, expected) => {
  expect(removalPolicyFor(setting, { canSnapshot, deleteOnCreateRollback: true })).toBe(expected);
});

test('both retaining policies count as retained; snapshot and destroy do not', () => {
  expect([RemovalPolicy.RETAIN, RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE, RemovalPolicy.SNAPSHOT, RemovalPolicy.DESTROY].map(isRetained)).toEqual([true, true, false, false]);
});
