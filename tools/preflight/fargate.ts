import type { FargateServiceFacts } from './assembly';

/**
 * Fargate vCPUs the services may run at once, per quota pool (On-Demand and Spot), in the worst case that
 * is allowed to happen: every service at its maxTasks while a deployment surges it.
 *
 * - Peak tasks of a service P = floor(maxTasks × MaximumPercent / 100): during a rolling deployment ECS
 *   runs up to desired × maximumPercent/100 tasks, "rounded down to the nearest integer"
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service_definition_parameters.html#sd-deploymentconfiguration),
 *   and autoscaling may have set desired to maxTasks. Never fewer than maxTasks.
 * - Split by the capacity provider strategy: the provider with a base gets min(base, P) tasks, the
 *   remaining R = P − base are spread by weight (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html).
 *   ECS's integer rounding of a weighted split depends on placement order, so each pool is charged
 *   ceil(R × weight / Σ weights): the most either pool can get. (The two pools may then sum to one task
 *   more than P; each quota is checked on its own, so that is the safe side for both.)
 * - vCPU = tasks × task CPU units / 1024.
 *
 * The quotas (L-3032A538 On-Demand, L-36FBB829 Spot) count every Fargate task of the account in the region,
 * other workloads included; this demand is what these stacks add.
 */
export interface FargateDemand {
  readonly onDemandVcpu: number;
  readonly spotVcpu: number;
  readonly services: readonly ServiceDemand[];
}

export interface ServiceDemand {
  readonly logicalId: string;
  readonly peakTasks: number;
  readonly onDemandTasks: number;
  readonly spotTasks: number;
  readonly vcpuPerTask: number;
}

export const FARGATE = 'FARGATE';
export const FARGATE_SPOT = 'FARGATE_SPOT';

export function fargateDemand(services: readonly FargateServiceFacts[]): FargateDemand {
  const rows = services.map((s): ServiceDemand => {
    const peakTasks = Math.max(s.maxTasks, Math.floor((s.maxTasks * s.maximumPercent) / 100));
    const split = splitTasks(peakTasks, s.strategy);
    return { logicalId: s.logicalId, peakTasks, onDemandTasks: split[FARGATE] ?? 0, spotTasks: split[FARGATE_SPOT] ?? 0, vcpuPerTask: s.cpuUnits / 1024 };
  });
  return {
    onDemandVcpu: rows.reduce((sum, r) => sum + r.onDemandTasks * r.vcpuPerTask, 0),
    spotVcpu: rows.reduce((sum, r) => sum + r.spotTasks * r.vcpuPerTask, 0),
    services: rows,
  };
}

/** Tasks per provider for `tasks` tasks: the base first, the rest by weight, each pool rounded up. */
export function splitTasks(tasks: number, strategy: FargateServiceFacts['strategy']): Record<string, number> {
  const out: Record<string, number> = {};
  let rest = tasks;
  for (const s of strategy) {
    const base = Math.min(s.base, rest);
    if (base > 0) out[s.provider] = (out[s.provider] ?? 0) + base;
    rest -= base;
  }
  const totalWeight = strategy.reduce((sum, s) => sum + s.weight, 0);
  if (rest > 0 && totalWeight > 0) {
    for (const s of strategy) {
      if (s.weight > 0) out[s.provider] = (out[s.provider] ?? 0) + Math.ceil((rest * s.weight) / totalWeight);
    }
  }
  return out;
}
