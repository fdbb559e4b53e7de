import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { readAssembly } from '../../../tools/preflight/assembly';
import { UsageError } from '../../../tools/common/errors';
import { fargateService, writeAssembly } from './fixture';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'preflight-assembly-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('readAssembly', () => {
  test('the bootstrap version required is the highest of the stacks and their asset manifests', () => {
    writeAssembly(dir, { envName: 'dev', requiresBootstrapStackVersion: 6, assetsVersion: 22, qualifier: 'custom123' });
    expect(readAssembly(dir, 'dev', 'us-east-1').bootstrap).toEqual({ ssmParameter: '/cdk-bootstrap/custom123/version', requiredVersion: 22, lookupRoleVersion: 8 });
  });

  test('reserved concurrency of every function that has one', () => {
    writeAssembly(dir, {
      envName: 'staging',
      resources: {
        Cleanup: { Type: 'AWS::Lambda::Function', Properties: { ReservedConcurrentExecutions: 2 } },
        Other: { Type: 'AWS::Lambda::Function', Properties: {} },
      },
    });
    expect(readAssembly(dir, 'staging', 'us-east-1').reservedConcurrency).toEqual([{ stack: 'ScalingBlueprint-Staging-Compute', logicalId: 'Cleanup', reserved: 2 }]);
  });

  test('Fargate services: task CPU, the highest max of the scalable target and its scheduled actions, MaximumPercent (ECS default 200), strategy', () => {
    writeAssembly(dir, {
      envName: 'dev',
      resources: {
        ...fargateService('Api', { cpu: 512, maxTasks: 10, scheduledMax: [30, 12] }),
        ...fargateService('Worker', { cpu: 256, maxTasks: 4, maximumPercent: 150, strategy: [{ CapacityProvider: 'FARGATE', Base: 1, Weight: 1 }, { CapacityProvider: 'FARGATE_SPOT', Weight: 3 }] }),
      },
    });
    expect(readAssembly(dir, 'dev', 'us-east-1').services).toEqual([
      { stack: 'ScalingBlueprint-Dev-Compute', logicalId: 'ApiService', cpuUnits: 512, maxTasks: 30, maximumPercent: 200, strategy: [{ provider: 'FARGATE', base: 0, weight: 1 }] },
      { stack: 'ScalingBlueprint-Dev-Compute', logicalId: 'WorkerService', cpuUnits: 256, maxTasks: 4, maximumPercent: 150, strategy: [{ provider: 'FARGATE', base: 1, weight: 1 }, { provider: 'FARGATE_SPOT', base: 0, weight: 3 }] },
    ]);
  });

  test('image builds with their platform and Dockerfile text, read while the assembly exists', () => {
    writeAssembly(dir, { envName: 'dev', dockerfile: 'FROM scratch\n', platform: 'linux/arm64' });
    const [image] = readAssembly(dir, 'dev', 'us-east-1').images;
    expect(image).toMatchObject({ dockerFile: 'Dockerfile', dockerfileText: 'FROM scratch\n', platform: 'linux/arm64' });
    expect(image.directory).toBe(path.join(dir, `asset.${'a'.repeat(64)}`));
  });

  test('refuses a directory without a manifest, an assembly of another environment, or of another region', () => {
    expect(() => readAssembly(dir, 'dev', 'us-east-1')).toThrow(/manifest\.json not found: not a cloud assembly\. Fix: npx cdk synth -c env=dev/);
    writeAssembly(dir, { envName: 'prod' });
    expect(() => readAssembly(dir, 'dev', 'us-east-1')).toThrow(/holds no stack of environment dev \(found ScalingBlueprint-Prod-Compute\)/);
    expect(() => readAssembly(dir, 'prod', 'eu-west-1')).toThrow(UsageError);
    expect(() => readAssembly(dir, 'prod', 'eu-west-1')).toThrow(/targets us-east-1, the configuration eu-west-1/);
  });
});
