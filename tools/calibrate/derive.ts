import {
  processesForCpu,
  profilePeakRps,
  REQUESTS_PER_TARGET_FROM_CAPACITY,
  requestTargetPerMinute,
  scaleCeilingRps,
  sustainedCeilingRps,
} from '../../lib/config/capacity';
import type { BlueprintConfig } from '../../lib/config/schema';
import { fmt } from '../kpi-report/evaluate';
import type { RunCapacity } from './judge';

/** One line of the "what it implies" table. */
export interface DerivedValue {
  readonly key: string;
  readonly value: number;
  /** How the value follows (the capacity.ts function and its inputs), or what it is compared with. */
  readonly from: string;
}

/** The configuration a measured capacity implies, every number from lib/config/capacity.ts. */
export interface Derived {
  /** Measured capacity ÷ tasks (req/s), null when the run gives none. */
  readonly perTaskRps: number | null;
  /** Requested rate of the window that broke the SLA ÷ tasks: the capacity is below it. */
  readonly perTaskUpperRps: number | null;
  readonly values: readonly DerivedValue[];
  /** What goes under `environments` in cdk.json: `{ <env>: { api: {...} } }`; null without a capacity. */
  readonly snippet: { readonly [env: string]: { readonly api: Readonly<Record<string, number | string>> } } | null;
  readonly notes: readonly string[];
}

/** The range the schema accepts for `api.maxTasks` and `api.capacityPerTaskRps` (lib/config/schema/compute.ts). */
const MAX_TASKS = 1000;
const MIN_CAPACITY_RPS = 1;

/**
 * Rounds a measured capacity DOWN to three significant digits: the figure goes into cdk.json and reads as
 * measured, so it must not claim more than the run showed.
 */
export function roundCapacityDown(rps: number): number {
  if (rps <= 0) return 0;
  const step = 10 ** (Math.floor(Math.log10(rps)) - 2);
  // The epsilon keeps 2.95 ÷ 0.01 = 294.99999999999994 at 295; toPrecision drops the noise of × step.
  return Number((Math.floor(rps / step + 1e-9) * step).toPrecision(3));
}

/**
 * From the run's capacity and the task count: the per-task capacity, the request target it implies at
 * the environment's CPU target, and the maxTasks that keeps the peak of every load profile that must hold
 * the SLA under the sustained ceiling (the loader's rule: at most the request target per task at maxTasks).
 */
export function derive(config: BlueprintConfig, envName: string, run: RunCapacity, tasks: number): Derived {
  const notes: string[] = [];
  if (run.rps === null) return { perTaskRps: null, perTaskUpperRps: null, values: [], snippet: null, notes };
  const perTaskRps = run.rps / tasks;
  const perTaskUpperRps = run.brokeAtRps === null ? null : run.brokeAtRps / tasks;
  const api = config.api;
  const capacity = roundCapacityDown(perTaskRps);
  if (capacity < MIN_CAPACITY_RPS) {
    notes.push(`${fmt(perTaskRps)} req/s per task is below the ${MIN_CAPACITY_RPS} req/s api.capacityPerTaskRps accepts: no configuration follows from it. Find what holds the API back before calibrating.`);
    return { perTaskRps, perTaskUpperRps, values: [], snippet: null, notes };
  }
  const utilisation = api.targetCpuUtilizationPercent;
  const requestTarget = requestTargetPerMinute(capacity, utilisation);
  const processes = processesForCpu(api.cpu);

  const values: DerivedValue[] = [
    { key: 'api.capacityPerTaskRps', value: capacity, from: `measured: ${fmt(run.rps)} req/s (${run.at}) ÷ ${tasks} task${tasks === 1 ? '' : 's'} = ${fmt(perTaskRps)}, rounded down to 3 digits` },
    { key: 'api.requestsPerTarget', value: requestTarget, from: `"${REQUESTS_PER_TARGET_FROM_CAPACITY}": requestTargetPerMinute(${fmt(capacity)} req/s, api.targetCpuUtilizationPercent ${utilisation} %) per minute` },
  ];
  const apiSnippet: Record<string, number | string> = { capacityPerTaskRps: capacity, requestsPerTarget: REQUESTS_PER_TARGET_FROM_CAPACITY };

  // The profiles that must hold the SLA: a stress profile is built to go past the capacity.
  const peak = Object.entries(config.loadTest.profiles)
    .filter(([, p]) => !p.stopWhenSlaBreaks)
    .map(([name, p]) => ({ name, rps: profilePeakRps(p) }))
    .reduce<{ name: string; rps: number } | undefined>((a, p) => (a === undefined || p.rps > a.rps ? p : a), undefined);
  let maxTasks = api.maxTasks;
  if (peak) {
    let needed = 1;
    while (needed < MAX_TASKS && sustainedCeilingRps(needed, requestTarget) < peak.rps) needed++;
    if (sustainedCeilingRps(needed, requestTarget) < peak.rps) {
      notes.push(`even ${MAX_TASKS} tasks (the most api.maxTasks allows) do not carry the ${fmt(peak.rps)} req/s of loadTest.profiles.${peak.name} at ${requestTarget} requests per task per minute: a bigger task (api.cpu), a faster API or a lower peak is needed.`);
    } else {
      values.push({ key: 'api.maxTasks', value: needed, from: `fewest tasks with sustainedCeilingRps(tasks, ${requestTarget}/min) ≥ ${fmt(peak.rps)} req/s, the peak of loadTest.profiles.${peak.name}; ${needed > api.maxTasks ? `raised from ${api.maxTasks} in the snippet` : `the configured ${api.maxTasks} covers it`}` });
      if (needed > api.maxTasks) {
        maxTasks = needed;
        apiSnippet.maxTasks = needed;
        notes.push(`api.maxTasks ${api.maxTasks} carries ${fmt(sustainedCeilingRps(api.maxTasks, requestTarget))} req/s at the request target, under the ${fmt(peak.rps)} req/s of loadTest.profiles.${peak.name}: the snippet raises it to ${needed}. More tasks open more database connections; npx cdk synth -c env=${envName} checks the budget.`);
      }
    }
  }
  values.push(
    { key: 'scale ceiling (req/s)', value: scaleCeilingRps(maxTasks, capacity), from: `scaleCeilingRps(${maxTasks} tasks, ${fmt(capacity)} req/s): every task at its capacity` },
    { key: 'capacity per process (req/s)', value: capacity / processes, from: `${fmt(capacity)} ÷ processesForCpu(api.cpu ${api.cpu}) = ${processes} process${processes === 1 ? '' : 'es'} per task` },
  );
  if (run.kind === 'lower-bound') notes.push('the capacity is a lower bound, so the request target and maxTasks are on the safe side: they scale out earlier and further than the system needs.');

  return { perTaskRps, perTaskUpperRps, values, snippet: { [envName]: { api: apiSnippet } }, notes };
}
