import { Stack } from 'aws-cdk-lib';
import { physicalName } from '../../lib/constructs/naming';
import { bareApp } from '../helpers/synth';

// physicalName names the resources whose CloudFormation type requires a name (the Aurora cluster identifier
// and the proxy's read-only endpoint, 63; a serverless cache, 40; cache RBAC ids): from the stack name, so
// they differ per environment without a name in config.
const stack = (name: string) => new Stack(bareApp(), name);

describe('physicalName', () => {
  test('a short name is the stack name and the suffix, lower-case, with one dash between words', () => {
    expect(physicalName(stack('ScalingBlueprint-Dev-Data'), 'cache')).toBe('scalingblueprint-dev-data-cache');
    expect(physicalName(stack('ScalingBlueprint--Odd--Name'), 'ro', 63)).toBe('scalingblueprint-odd-name-ro');
  });

  test('past the limit: within it, lower-case letters, digits and single dashes, ending in a hash of the whole name', () => {
    const long = stack('ScalingBlueprint-CustomerAcceptanceEnvironmentEuWest-Data');
    const full = 'scalingblueprint-customeracceptanceenvironmenteuwest-data-aurora';
    // 26 cuts the name right after a dash: the dash goes, the hash follows a word.
    for (const max of [20, 26, 40, 63]) {
      const name = physicalName(long, 'aurora', max);
      expect(name.length).toBeLessThanOrEqual(max);
      expect(name).toMatch(/^[a-z][a-z0-9]*(-[a-z0-9]+)*-[0-9a-f]{8}$/);
      expect(full.startsWith(name.slice(0, -9))).toBe(true);
    }
    expect(physicalName(long, 'aurora', 63)).toBe(physicalName(long, 'aurora', 63));
  });

  test('long names that share their first characters do not collide once truncated', () => {
    const names = ['Staging', 'StagingEu', 'Staging2'].map((env) =>
      physicalName(stack(`ScalingBlueprint-${env}PerformanceTestEnvironment-Data`), 'cache'));
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n.length).toBeLessThanOrEqual(40);
    expect(physicalName(stack('ScalingBlueprint-StagingPerformanceTestEnvironment-Data'), 'cache'))
      .not.toBe(physicalName(stack('ScalingBlueprint-StagingPerformanceTestEnvironment-Data2'), 'cache'));
  });

  test('exactly at the limit the name is kept whole', () => {
    const s = stack('Abc');
    const suffix = 'x'.repeat(40 - 'abc-'.length);
    expect(physicalName(s, suffix)).toBe(`abc-${suffix}`);
    expect(physicalName(s, `${suffix}y`)).toMatch(/^abc-x+-[0-9a-f]{8}$/);
  });
});
