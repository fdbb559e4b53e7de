import {
  CPU_UNITS_PER_VCPU, effectiveRequestsPerTarget, profilePeakRps, REQUESTS_PER_TARGET_FROM_CAPACITY, requestTargetPerMinute, sustainedCeilingRps,
  WORKER_PROCESSES_PER_TASK, workerConnectionsNeeded,
} from '../capacity';
import { collector, round, type Config, type Problem } from './problem';

/**
 * The capacity model's checks that are not about the database budget (that one is in data.ts): the request
 * target can be worked out and is below the measured capacity, the worker's pool covers its concurrency, and
 * the API's scale ceiling covers every load profile that must hold the SLA.
 */
export function checkCapacity(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const api = cfg.api;

  add(api.requestsPerTarget === REQUESTS_PER_TARGET_FROM_CAPACITY && api.capacityPerTaskRps === null, 'api.requestsPerTarget', ['api.capacityPerTaskRps'],
    'follows from api.capacityPerTaskRps, which is null, so there is no capacity to derive the request target from',
    'measure the capacity (npm run calibrate) and set api.capacityPerTaskRps, or give api.requestsPerTarget as a number of requests per task per minute');

  if (typeof api.requestsPerTarget === 'number' && api.capacityPerTaskRps !== null) {
    const full = api.capacityPerTaskRps * 60;
    add(api.requestsPerTarget > full, 'api.requestsPerTarget', ['api.capacityPerTaskRps'],
      `asks each task to take ${api.requestsPerTarget} requests per minute before scaling out, more than the ${round(full)} per minute one task can serve (api.capacityPerTaskRps ${api.capacityPerTaskRps} × 60); tasks would be overloaded before the request policy adds any`,
      `lower it to at most ${Math.floor(full)}, or set it to "${REQUESTS_PER_TARGET_FROM_CAPACITY}" (${requestTargetPerMinute(api.capacityPerTaskRps, api.targetCpuUtilizationPercent)} at api.targetCpuUtilizationPercent ${api.targetCpuUtilizationPercent})`);
  }

  const w = cfg.worker;
  const needed = workerConnectionsNeeded(w.concurrency, WORKER_PROCESSES_PER_TASK);
  add(w.dbPoolSize < needed, 'worker.dbPoolSize', ['worker.concurrency'],
    `is below worker.concurrency (${w.concurrency}); each running job holds one connection, so ${w.concurrency - w.dbPoolSize} of the ${w.concurrency} jobs a task runs at once would wait for a connection, and the throughput the backlog target assumes is never reached`,
    `raise worker.dbPoolSize to at least ${needed}, or lower worker.concurrency to ${w.dbPoolSize}`);

  // The reference API forks one process per vCPU (processesForCpu), so every Fargate size is used; the
  // reference worker runs one process whatever its size, so vCPUs past the first only idle.
  const REFERENCE_IMAGE = 'workload';
  const vcpus = w.cpu / CPU_UNITS_PER_VCPU;
  add(w.image.uri === '' && w.image.directory === REFERENCE_IMAGE && w.cpu > CPU_UNITS_PER_VCPU, 'worker.cpu', ['worker.image'],
    `gives the reference worker ${vcpus} vCPUs, but it runs one Node.js process (its parallelism is worker.concurrency jobs inside it), which keeps one vCPU busy at most; ${vcpus - 1} would sit idle`,
    `set worker.cpu to ${CPU_UNITS_PER_VCPU} or less and let worker.maxTasks add throughput, or run an image of your own that uses them (worker.image)`);

  const requestsPerTarget = effectiveRequestsPerTarget(api);
  if (requestsPerTarget !== undefined) {
    const ceiling = sustainedCeilingRps(api.maxTasks, requestsPerTarget);
    for (const [name, profile] of Object.entries(cfg.loadTest.profiles)) {
      // A profile that stops when the SLA breaks is a search for the breaking rate: it is meant to pass the ceiling.
      if (profile.stopWhenSlaBreaks) continue;
      const peak = profilePeakRps(profile);
      add(peak > ceiling, 'api.maxTasks', [`loadTest.profiles.${name}`, 'api.requestsPerTarget', 'api.capacityPerTaskRps', 'api.targetCpuUtilizationPercent'],
        `caps the API at ${round(ceiling)} req/s at its request target (api.maxTasks ${api.maxTasks} × ${requestsPerTarget} requests per task per minute ÷ 60), below the ${peak} req/s peak of the load profile "${name}", which must hold the SLA; at that rate the service would be pinned at maxTasks with every task past its target`,
        `raise api.maxTasks to at least ${Math.ceil((peak * 60) / requestsPerTarget)}, or lower the profile's peak (loadTest.profiles.${name})`);
    }
  }
  return problems;
}
