import { HOURS_PER_MONTH, COST_ASSUMPTIONS, monthlyCost } from '../../../tools/plan/cost';
import { compareSizes } from '../../../tools/plan/compare';
import { pricesFor } from '../../../tools/plan/prices';
import { configFor } from '../../helpers/context';

// The planner counts the second revision a blue/green, canary or linear deploy runs (lib/config/capacity.ts,
// doubledTaskMinutes): in the monthly cost, and in the connections of the fleets it compares.

describe('plan: deployments of the blue/green family', () => {
  test('prod (canary 5 min + 10 min bake): a second API revision for 15 minutes per deploy, priced as on-demand Fargate', () => {
    const config = configFor('prod');
    const report = monthlyCost(config, { level: 'min' });
    const vcpu = report.items.find((i) => i.item.startsWith('API deploys: second revision vCPU-hours'))!;
    const gb = report.items.find((i) => i.item.startsWith('API deploys: second revision GB-hours'))!;
    // 3 tasks × 1 vCPU × 20 deploys × 0.25 h = 15 vCPU-hours; × 2 GB = 30 GB-hours
    expect(vcpu.quantity).toBeCloseTo(3 * 1 * COST_ASSUMPTIONS.deploysPerMonth.value * (15 / 60), 9);
    expect(gb.quantity).toBeCloseTo(3 * 2 * 20 * 0.25, 9);
    expect(vcpu.assumption).toContain('api.deployment.strategy "canary": a second revision of 3 tasks for 15 min per deploy');
    const rates = pricesFor(config.region).fargate.onDemand[config.compute.cpuArchitecture];
    expect(vcpu.monthlyUsd).toBeCloseTo(15 * rates.vcpuHour.usd, 9);
    // Small next to the fleet itself: 15 of 3 × 730 vCPU-hours.
    expect(vcpu.quantity / (3 * HOURS_PER_MONTH)).toBeLessThan(0.01);
  });

  test('dev (rolling): no such line', () => {
    expect(monthlyCost(configFor('dev'), { level: 'min' }).items.filter((i) => i.item.startsWith('API deploys'))).toEqual([]);
  });

  test('the compared fleets count the second revision\'s connections: canary at api.maxHealthyPercent 150 counts what a rolling deploy at 200 does', () => {
    const current = (over: object) => compareSizes(configFor('prod', { api: over }), 1000).taskSizes.find((row) => row.current)!.writerConnectionsAtPeak;
    const rows = (strategy: string) => current({ maxHealthyPercent: 150, deployment: { strategy } });
    const rolling = rows('rolling');
    const canary = rows('canary');
    expect(canary).toBeGreaterThan(rolling);
    expect(canary).toBe(current({ maxHealthyPercent: 200, deployment: { strategy: 'rolling' } }));
  });
});
