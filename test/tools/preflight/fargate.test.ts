import { fargateDemand, splitTasks } from '../../../tools/preflight/fargate';

const service = (o: Partial<Parameters<typeof fargateDemand>[0][number]>) => ({
  stack: 'S', logicalId: 'Svc', cpuUnits: 1024, maxTasks: 10, maximumPercent: 200, strategy: [{ provider: 'FARGATE', base: 0, weight: 1 }], ...o,
});

describe('Fargate vCPU demand at maxTasks during a deployment', () => {
  test('a FARGATE service: floor(maxTasks × MaximumPercent / 100) tasks × vCPU per task, all on-demand', () => {
    // GIVEN 5 tasks of 0.5 vCPU that may surge to 150 % (7.5 → 7 tasks: ECS rounds down)
    const d = fargateDemand([service({ cpuUnits: 512, maxTasks: 5, maximumPercent: 150 })]);
    // THEN
    expect(d.services[0]).toMatchObject({ peakTasks: 7, onDemandTasks: 7, spotTasks: 0, vcpuPerTask: 0.5 });
    expect(d).toMatchObject({ onDemandVcpu: 3.5, spotVcpu: 0 });
  });

  test('a MaximumPercent of 100 (no surge) counts maxTasks', () => {
    expect(fargateDemand([service({ maxTasks: 3, maximumPercent: 100 })]).onDemandVcpu).toBe(3);
  });

  test('base on FARGATE first, the rest split by weight, each pool rounded up', () => {
    // GIVEN base 2 on FARGATE, then 1:3 FARGATE:FARGATE_SPOT, at 20 tasks × 200 % = 40
    const strategy = [{ provider: 'FARGATE', base: 2, weight: 1 }, { provider: 'FARGATE_SPOT', base: 0, weight: 3 }];
    const d = fargateDemand([service({ maxTasks: 20, strategy })]);
    // THEN 2 + ceil(38 / 4) = 12 on-demand, ceil(38 × 3 / 4) = 29 spot
    expect(d.services[0]).toMatchObject({ peakTasks: 40, onDemandTasks: 12, spotTasks: 29 });
    expect(d).toMatchObject({ onDemandVcpu: 12, spotVcpu: 29 });
  });

  test('a base larger than the tasks takes them all; weight 0 gets nothing beyond its base', () => {
    expect(splitTasks(3, [{ provider: 'FARGATE', base: 5, weight: 0 }, { provider: 'FARGATE_SPOT', base: 0, weight: 1 }])).toEqual({ FARGATE: 3 });
    expect(splitTasks(8, [{ provider: 'FARGATE', base: 0, weight: 0 }, { provider: 'FARGATE_SPOT', base: 0, weight: 1 }])).toEqual({ FARGATE_SPOT: 8 });
  });

  test('services add up per pool', () => {
    const d = fargateDemand([
      service({ logicalId: 'Api', cpuUnits: 256, maxTasks: 4 }),
      service({ logicalId: 'Worker', cpuUnits: 256, maxTasks: 4, strategy: [{ provider: 'FARGATE', base: 1, weight: 0 }, { provider: 'FARGATE_SPOT', base: 0, weight: 1 }] }),
    ]);
    expect(d).toMatchObject({ onDemandVcpu: 2 + 0.25, spotVcpu: 7 * 0.25 });
  });
});
