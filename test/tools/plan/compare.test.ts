import { compareSizes, type CompareReport } from '../../../tools/plan/compare';
import { configFor } from '../../helpers/context';

// prod from cdk.json at a 5000 req/s peak, worked out by hand with the us-east-1 prices (arm64 $0.03238 per vCPU-hour,
// $0.00356 per GB-hour; Aurora db.r6g.xlarge $0.519/h, 2xlarge $1.038/h, 4xlarge $2.076/h; Serverless v2 $0.12 per
// ACU-hour; RDS Proxy $0.015 per vCPU- or ACU-hour), 730 hours.
// prod: api.cpu 1024, memoryMiB 2048, capacityPerTaskRps 1500 → 1500 req/s per vCPU; requestsPerTarget 54 000/min
// = 900 req/s = 60 % of the capacity; maxAzs 3; maxHealthyPercent 200; dbPoolSize 10; worker.maxTasks 20 (deploys
// at 200 %, pool 10, one process, writer only: 40 × 10 = 400 writer connections); readers 2 (API: one pool on the
// writer); proxy on at 90 %.

describe('compareSizes: prod at 5000 req/s', () => {
  const report: CompareReport = compareSizes(configFor('prod'), 5000);
  const size = (cpu: number) => report.taskSizes.find((r) => r.cpu === cpu)!;

  test('the figures the comparison starts from', () => {
    expect(report).toMatchObject({ peakRps: 5000, zones: 3, capacityPerVcpuRps: 1500, region: 'us-east-1', priceTableDate: '2026-12-05' });
    expect(report.targetUtilisation).toBeCloseTo(0.6, 12);
    expect(report.taskSizes.map((r) => r.cpu)).toEqual([256, 512, 1024, 2048, 4096, 8192, 16384]);
    expect(report.taskSizes.filter((r) => r.current).map((r) => r.cpu)).toEqual([1024]);
  });

  test.each([
    // cpu, memory (2048 MiB per vCPU, rounded up to a Fargate size), processes, capacity, at target (60 %),
    // tasks ⌈5000 ÷ target⌉, $/month = tasks × (vCPU × 0.03238 + GB × 0.00356) × 730, one task lost = 100 ÷ tasks,
    // per zone, fullest zone lost, writer connections = ⌊tasks × 200 %⌋ × processes × 10 + 400 (worker)
    // 0.25 vCPU: 512 MiB; 375 req/s, 225 at target; ⌈22.2⌉ = 23 tasks; 23 × (0.008095 + 0.00178) × 730 = $165.80;
    // 8/8/7 per zone → 8 of 23 = 34.8 %; 46 × 10 + 400 = 860
    [256, 512, 1, 375, 225, 23, 165.80, 100 / 23, [8, 8, 7], 800 / 23, 860],
    // 0.5 vCPU: 1024 MiB; 750, 450; ⌈11.1⌉ = 12; 12 × (0.01619 + 0.00356) × 730 = $173.01; 4/4/4; 24 × 10 + 400 = 640
    [512, 1024, 1, 750, 450, 12, 173.01, 100 / 12, [4, 4, 4], 100 / 3, 640],
    // 1 vCPU: 2048 MiB; 1500, 900; ⌈5.56⌉ = 6; 6 × 0.03950 × 730 = $173.01; 2/2/2; 12 × 10 + 400 = 520
    [1024, 2048, 1, 1500, 900, 6, 173.01, 100 / 6, [2, 2, 2], 100 / 3, 520],
    // 2 vCPU: 4096 MiB, 2 processes; 3000, 1800; ⌈2.78⌉ = 3; 3 × 0.07900 × 730 = $173.01; 1/1/1; 6 × 2 × 10 + 400 = 520
    [2048, 4096, 2, 3000, 1800, 3, 173.01, 100 / 3, [1, 1, 1], 100 / 3, 520],
    // From 4 vCPU up the peak needs fewer tasks than production's floor of one per zone (3): 3 tasks each.
    // 4 vCPU: 8192 MiB, 4 processes; 6000, 3600; ⌈1.39⌉ = 2 → 3; 3 × 0.15800 × 730 = $346.02; 6 × 4 × 10 + 400 = 640
    [4096, 8192, 4, 6000, 3600, 3, 346.02, 100 / 3, [1, 1, 1], 100 / 3, 640],
    // 8 vCPU: 16384 MiB; 12000, 7200; 1 → 3; 3 × (0.25904 + 0.05696) × 730 = $692.04; 6 × 8 × 10 + 400 = 880
    [8192, 16384, 8, 12000, 7200, 3, 692.04, 100 / 3, [1, 1, 1], 100 / 3, 880],
    // 16 vCPU: 32768 MiB; 1 → 3; 3 × (0.51808 + 0.11392) × 730 = $1384.08; 6 × 16 × 10 + 400 = 1360
    [16384, 32768, 16, 24000, 14400, 3, 1384.08, 100 / 3, [1, 1, 1], 100 / 3, 1360],
  ])('cpu %i: %i MiB, %i process(es), %i req/s (%i at target), %i tasks, $%f', (cpu, memoryMiB, processes, capacity, target, tasks, usd, oneLoss, perZone, zoneLoss, writer) => {
    const r = size(cpu);
    expect(r).toMatchObject({
      memoryMiB, processesPerTask: processes, capacityPerTaskRps: capacity, tasksNeeded: tasks,
      tasksPerZone: perZone, writerConnectionsAtPeak: writer, withinMaxTasks: true,
      // (3479 − 5 reserved) × 90 % = 3126.6 → 3126
      writerBudget: 3126,
    });
    expect(r.targetPerTaskRps).toBeCloseTo(target as number, 9);
    expect(r.scaleOutStepRps).toBeCloseTo(target as number, 9);
    expect(r.monthlyUsd).toBeCloseTo(usd as number, 2);
    expect(r.oneTaskLossPercent).toBeCloseTo(oneLoss as number, 9);
    expect(r.zoneLossPercent).toBeCloseTo(zoneLoss as number, 9);
  });

  test('the database shapes: bigger writer, Serverless v2, more readers', () => {
    expect(report.database.map((d) => [d.label, d.kind, d.instanceClass, d.readers])).toEqual([
      ['current', 'current', 'db.r6g.xlarge', 2],
      ['writer db.r6g.2xlarge', 'bigger-writer', 'db.r6g.2xlarge', 2],
      ['writer db.r6g.4xlarge', 'bigger-writer', 'db.r6g.4xlarge', 2],
      ['Serverless v2 up to 16 ACU', 'serverless-v2', 'db.serverless', 2],
      ['3 readers', 'more-readers', 'db.r6g.xlarge', 3],
      ['4 readers', 'more-readers', 'db.r6g.xlarge', 4],
    ]);
    const [current, w2x, w4x, serverless, r3, r4] = report.database;
    // current: 3 × 0.519 × 730 = $1136.61 + proxy 3 × 4 vCPU × 0.015 × 730 = $131.40 → $1268.01
    expect(current).toMatchObject({ writerVcpu: 4, writerMemoryGiB: 32, readVcpu: 8, maxConnectionsPerInstance: 3479, writerBudget: 3126, demandFits: true });
    expect(current.monthlyUsd).toBeCloseTo(1268.01, 2);
    // 2xlarge: 3 × 1.038 × 730 = $2273.22 + proxy 24 vCPU × 0.015 × 730 = $262.80 → $2536.02; max_connections 5000,
    // budget (5000 − 5) × 90 % = 4495.5 → 4495
    expect(w2x).toMatchObject({ writerVcpu: 8, readVcpu: 16, maxConnectionsPerInstance: 5000, writerBudget: 4495 });
    expect(w2x.monthlyUsd).toBeCloseTo(2536.02, 2);
    // 4xlarge: 3 × 2.076 × 730 = $4546.44 + 48 vCPU × 0.015 × 730 = $525.60 → $5072.04
    expect(w4x.monthlyUsd).toBeCloseTo(5072.04, 2);
    // Serverless v2 at the current class's 32 GiB = 16 ACU: max_connections ⌊16 × 2 GiB ÷ 9 531 392⌋ = 3604, budget
    // (3604 − 5) × 90 % = 3239; at 16 ACU 3 × 16 × 0.12 × 730 = $4204.80 + proxy 48 ACU × 0.015 × 730 = $525.60 → $4730.40;
    // at 0.5 ACU 3 × 0.5 × 0.12 × 730 = $131.40 + the proxy's minimum 8 ACU × 0.015 × 730 = $87.60 → $219.00
    expect(serverless).toMatchObject({ acu: [0.5, 16], writerVcpu: undefined, readVcpu: undefined, writerMemoryGiB: 32, maxConnectionsPerInstance: 3604, writerBudget: 3239 });
    expect(serverless.monthlyUsd).toBeCloseTo(4730.4, 2);
    expect(serverless.monthlyUsdAtMin).toBeCloseTo(219, 2);
    // more readers: read vCPUs grow, the writer's do not. 4 × 0.519 × 730 = $1515.48 + 16 × 0.015 × 730 = $175.20
    expect(r3).toMatchObject({ writerVcpu: 4, readVcpu: 12, writerBudget: 3126 });
    expect(r3.monthlyUsd).toBeCloseTo(1690.68, 2);
    expect(r4).toMatchObject({ writerVcpu: 4, readVcpu: 16 });
    expect(report.notes.join(' ')).toContain('readers add read capacity only');
  });
});

describe('compareSizes in other configurations', () => {
  test('dev: no reader, so the reader endpoint is the writer; a t4g class grows within its family first', () => {
    const report = compareSizes(configFor('dev'), 500);
    expect(report.database.map((d) => d.instanceClass)).toEqual(['db.t4g.medium', 'db.t4g.large', 'db.r6g.large', 'db.serverless', 'db.t4g.medium', 'db.t4g.medium']);
    // readers 0: the writer's 2 vCPUs serve reads too
    expect(report.database[0]).toMatchObject({ readers: 0, writerVcpu: 2, readVcpu: 2 });
    // dev's own size: 0.25 vCPU, 375 req/s, 225 at target: ⌈500 ÷ 225⌉ = 3 tasks, within api.maxTasks 4; 2 zones → 2/1
    expect(report.taskSizes.find((r) => r.current)).toMatchObject({ cpu: 256, tasksNeeded: 3, withinMaxTasks: true, tasksPerZone: [2, 1] });
  });

  test('outside production one task may carry the peak: a big task is then all eggs in one basket', () => {
    // staging (not production, 2 zones) at 3000 req/s: 16 384 units carry 24 000 × 60 % = 14 400 at target → 1 task,
    // in one of the 2 zones; losing it loses everything
    const row = compareSizes(configFor('staging'), 3000).taskSizes.find((r) => r.cpu === 16384)!;
    expect(row).toMatchObject({ tasksNeeded: 1, tasksPerZone: [1, 0], oneTaskLossPercent: 100, zoneLossPercent: 100 });
  });

  test('a peak above what maxTasks of a size can carry is flagged', () => {
    // dev at 2000 req/s: 256 units need ⌈2000 ÷ 225⌉ = 9 tasks > api.maxTasks 4
    const row = compareSizes(configFor('dev'), 2000).taskSizes.find((r) => r.cpu === 256)!;
    expect(row).toMatchObject({ tasksNeeded: 9, withinMaxTasks: false });
  });

  test('a configuration without a measured capacity cannot be compared, and says how to get one', () => {
    expect(() => compareSizes(configFor('dev', { api: { capacityPerTaskRps: null, requestsPerTarget: 10000 } }), 500)).toThrow(
      'api.capacityPerTaskRps is null: there is no capacity per task to compare sizes with. Fix: measure it with `npm run calibrate`, or set it in cdk.json.',
    );
  });

  test('Serverless v2 in the config: the current shape is serverless, and a higher ceiling is offered', () => {
    const report = compareSizes(configFor('dev', { database: { instanceClass: 'db.serverless', serverlessV2MinCapacityAcu: 0.5, serverlessV2MaxCapacityAcu: 8 } }), 500);
    expect(report.database.map((d) => [d.kind, d.acu])).toEqual([
      ['current', [0.5, 8]], ['bigger-writer', [0.5, 16]], ['more-readers', [0.5, 8]], ['more-readers', [0.5, 8]],
    ]);
  });
});
