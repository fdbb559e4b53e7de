import {
  AURORA_POSTGRES_MAX_CONNECTIONS, backlogPerTaskTarget, connectionBudget, connectionDemand, connectionsInUse, connectionsPerTask,
  CPU_UNITS_PER_VCPU, effectiveRequestsPerTarget, FARGATE_CPU_UNITS, FARGATE_MEMORY_MIB, instanceConnectionBudget, isValidFargateSize,
  peakTasks, poolsPerEndpoint, processesForCpu, profilePeakRps, READS_FROM_READER_POOL, REQUESTS_PER_TARGET_FROM_CAPACITY,
  requestTargetPerMinute, RESERVED_CONNECTIONS, scaleCeilingRps, serverlessV2MaxConnections, serviceConnectionDemand,
  sustainedCeilingRps, WORKER_PROCESSES_PER_TASK, workerConnectionsNeeded, workerThroughputPerTask, writerMaxConnections,
} from '../../lib/config/capacity';
import {
  apiCpuUtilisationPercent, backlogPerTask, erlangC, jobsPerRequest, mmcWaitQuantileSeconds, requestsPerTargetPerMinute, serviceTimeQuantileSeconds,
  slowStartShare, targetTrackingCapacity,
} from '../../lib/config/capacity';

// Every expected figure below is worked out by hand from the formula the test names, not from the code.

const provisioned = (instanceClass: string, proxy?: number) => ({
  instanceClass,
  serverlessV2MaxCapacityAcu: 1,
  proxy: { enabled: proxy !== undefined, maxConnectionsPercent: proxy ?? 100 },
});

describe('Fargate task sizes', () => {
  test.each([
    // 256 units take only 512, 1024 or 2048 MiB
    [256, 512, true], [256, 1536, false], [256, 1024, true], [256, 2048, true], [256, 4096, false],
    // 512 units: 1024 to 4096 in steps of 1024
    [512, 1024, true], [512, 1536, false], [512, 4096, true], [512, 5120, false],
    // 1024 units: 2048 to 8192 in steps of 1024
    [1024, 1024, false], [1024, 8192, true],
    [4096, 30720, true], [4096, 31744, false],
    // 8192 units: 16384 to 61440 in steps of 4096, so 20480 yes, 18432 no
    [8192, 20480, true], [8192, 18432, false],
    // 16384 units: 32768 to 122880 in steps of 8192, so 40960 yes, 36864 no
    [16384, 122880, true], [16384, 40960, true], [16384, 36864, false],
    // not a Fargate CPU size at all
    [768, 2048, false],
  ])('%i CPU units with %i MiB: %s', (cpu, memoryMiB, ok) => {
    expect(isValidFargateSize(cpu, memoryMiB)).toBe(ok);
  });

  test('every CPU size the schema accepts has its memory range', () => {
    expect(FARGATE_CPU_UNITS.filter((cpu) => !(cpu in FARGATE_MEMORY_MIB))).toEqual([]);
  });
});

describe('max_connections', () => {
  test('the table follows LEAST({DBInstanceClassMemory/9531392}, 5000) within a few percent', () => {
    // r6g.large has 16 GiB: 17179869184 / 9531392 = 1802; a little of the memory is reserved, so 1722.
    expect(AURORA_POSTGRES_MAX_CONNECTIONS['db.r6g.large']).toBe(1722);
    expect(AURORA_POSTGRES_MAX_CONNECTIONS['db.r6g.large']).toBeLessThan((16 * 1024 ** 3) / 9531392);
    expect(AURORA_POSTGRES_MAX_CONNECTIONS['db.r6g.large']).toBeGreaterThan(0.9 * (16 * 1024 ** 3) / 9531392);
    expect(AURORA_POSTGRES_MAX_CONNECTIONS['db.r7g.2xlarge']).toBe(5000);
  });

  test.each([
    [0.5, 112], // 1 GiB = 1073741824 B / 9531392 = 112.6
    [1, 225], // 2 GiB = 2147483648 B / 9531392 = 225.3
    [16, 3604], // 32 GiB = 34359738368 B / 9531392 = 3604.9
    [32, 5000], // 7209.9, capped at 5000
    [256, 5000],
  ])('Serverless v2 at %f ACU at most: %i', (acu, expected) => {
    expect(serverlessV2MaxConnections(acu)).toBe(expected);
  });

  test('the writer of a provisioned class reads the table; a serverless one the formula; an unknown one nothing', () => {
    expect(writerMaxConnections(provisioned('db.r6g.xlarge'))).toBe(3479);
    expect(writerMaxConnections({ instanceClass: 'db.serverless', serverlessV2MaxCapacityAcu: 16 })).toBe(3604);
    expect(writerMaxConnections(provisioned('db.m5.large'))).toBeUndefined();
  });
});

describe('processes per task', () => {
  test.each([
    [256, 1], // a quarter of a vCPU: one process, throttled to its share
    [512, 1],
    [1024, 1],
    [2048, 2], // one process per whole vCPU
    [4096, 4],
    [8192, 8],
    [16384, 16],
  ])('%i CPU units run %i Node.js process(es)', (cpu, expected) => {
    expect(processesForCpu(cpu)).toBe(expected);
  });

  test('every Fargate size above one vCPU is a whole number of vCPUs, so no process count leaves a fraction idle', () => {
    expect(FARGATE_CPU_UNITS.filter((cpu) => cpu > CPU_UNITS_PER_VCPU && cpu % CPU_UNITS_PER_VCPU !== 0)).toEqual([]);
  });

  test('the worker runs one process per task', () => {
    expect(WORKER_PROCESSES_PER_TASK).toBe(1);
  });
});

describe('connections per task, at peak, per endpoint', () => {
  test('reserved: superuser_reserved_connections 3 + rds.rds_superuser_reserved_connections 2', () => {
    expect(RESERVED_CONNECTIONS).toBe(5);
  });

  test.each([
    ['db.r6g.xlarge through a proxy at 90 %', provisioned('db.r6g.xlarge', 90), 3126], // (3479 − 5) × 0.9 = 3126.6
    ['db.r6g.xlarge without a proxy', provisioned('db.r6g.xlarge'), 3474], // 3479 − 5
    ['db.r6g.large through a proxy at 100 %', provisioned('db.r6g.large', 100), 1717], // 1722 − 5
    ['db.t4g.medium through a proxy at 50 %', provisioned('db.t4g.medium', 50), 200], // (405 − 5) × 0.5
    ['db.serverless at 16 ACU through a proxy at 90 %', { ...provisioned('db.serverless', 90), serverlessV2MaxCapacityAcu: 16 }, 3239], // (3604 − 5) × 0.9 = 3239.1
  ])('%s allows %i connections on each instance', (_name, db, expected) => {
    expect(instanceConnectionBudget(db)).toBe(expected);
    // the writer's budget (the alarm's) is the same figure: writer and readers share the class
    expect(connectionBudget(db)).toBe(expected);
  });

  test('a class missing from the table has no budget', () => {
    expect(connectionBudget(provisioned('db.m5.large', 90))).toBeUndefined();
  });

  test('per task: processes × pools per process × pool size', () => {
    expect(connectionsPerTask({ processesPerTask: 2, poolsPerProcess: 2, poolSize: 10 })).toBe(40);
    expect(connectionsPerTask({ processesPerTask: 1, poolsPerProcess: 1, poolSize: 5 })).toBe(5);
    expect(connectionsPerTask({ processesPerTask: 16, poolsPerProcess: 2, poolSize: 10 })).toBe(320);
  });

  test.each([
    [10, 200, 20], // a deploy starts a full new set beside the old one
    [10, 100, 10], // no surge: stop one, start one
    [3, 150, 4], // 4.5, rounded down as ECS does
    [7, 150, 10], // 10.5 → 10
  ])('peak tasks of maxTasks %i at maximumPercent %i: %i', (maxTasks, percent, expected) => {
    expect(peakTasks(maxTasks, percent)).toBe(expected);
  });

  test('where the pools land: without readers both on the writer; with readers one each; the worker only on the writer', () => {
    expect(poolsPerEndpoint(true, { readers: 0 })).toEqual({ writer: 2, readers: 0 });
    expect(poolsPerEndpoint(true, { readers: 1 })).toEqual({ writer: 1, readers: 1 });
    expect(poolsPerEndpoint(false, { readers: 0 })).toEqual({ writer: 1, readers: 0 });
    expect(poolsPerEndpoint(false, { readers: 3 })).toEqual({ writer: 1, readers: 0 });
    expect(READS_FROM_READER_POOL).toEqual({ api: true, worker: false, services: true });
  });

  test('dev-like: no readers, so the API\'s two pools are both on the writer', () => {
    // API: 3 tasks × 200 % = 6 × 1 process (256 units) × 2 pools × 5 = 60
    // worker: 4 tasks × 200 % = 8 × 1 process × 1 pool × 10 = 80
    const demand = connectionDemand({
      api: { maxTasks: 3, maxHealthyPercent: 200, cpu: 256, dbPoolSize: 5 },
      worker: { maxTasks: 4, dbPoolSize: 10 },
      database: { readers: 0 },
    });
    expect(demand).toEqual({ writer: 140, readers: 0, api: { writer: 60, readers: 0 }, worker: { writer: 80, readers: 0 }, services: {} });
  });

  test('prod-like with 2 vCPUs per API task and readers: each process opens a pool on each endpoint', () => {
    // API: 30 × 200 % = 60 tasks × 2 processes (2048 units) × 1 pool × 10 = 1200 on the writer and 1200 on the readers
    // worker: 20 × 200 % = 40 × 1 × 1 × 10 = 400 on the writer
    const demand = connectionDemand({
      api: { maxTasks: 30, maxHealthyPercent: 200, cpu: 2048, dbPoolSize: 10 },
      worker: { maxTasks: 20, dbPoolSize: 10 },
      database: { readers: 2 },
    });
    expect(demand).toEqual({ writer: 1600, readers: 1200, api: { writer: 1200, readers: 1200 }, worker: { writer: 400, readers: 0 }, services: {} });
  });

  test('the surge counts: the same fleet at maxHealthyPercent 100 holds half', () => {
    const at = (maxHealthyPercent: number) => connectionDemand({
      api: { maxTasks: 10, maxHealthyPercent, cpu: 512, dbPoolSize: 10 }, worker: { maxTasks: 0, dbPoolSize: 10 }, database: { readers: 1 },
    }).writer;
    expect(at(100)).toBe(100); // 10 × 1 × 1 × 10
    expect(at(200)).toBe(200);
  });

  test('a single service at peak, per endpoint', () => {
    expect(serviceConnectionDemand({ maxTasks: 4, maxHealthyPercent: 150, processesPerTask: 2, dbPoolSize: 3, readsFromReaderPool: true }, { readers: 0 }))
      .toEqual({ writer: 72, readers: 0 }); // 6 tasks × 2 processes × 2 pools × 3
  });

  test('Little\'s law: connections in use = rate × time each holds one', () => {
    expect(connectionsInUse(750, 0.005)).toBe(4); // 3.75, rounded up
    expect(connectionsInUse(1500, 0.01)).toBe(15);
  });
});

describe('worker throughput and backlog target per task', () => {
  test.each([
    [10, 2, 5], // ten jobs at once, 2 s each: 5 per second
    [4, 0.5, 8],
    [1, 4, 0.25],
  ])('concurrency %i ÷ %f s per job = %f jobs/s', (concurrency, avg, expected) => {
    expect(workerThroughputPerTask(concurrency, avg)).toBe(expected);
  });

  test.each([
    [60, 2, 10, 300], // 60 s × (10 ÷ 2 s) = 300 messages: the example, 10× the old 30
    [60, 2, 1, 30], // one job at a time: the old formula's figure
    [45, 0.5, 1, 90],
    [30, 3, 4, 40],
    [1, 4, 1, 0.25], // below 1: the rules reject it
  ])('%f s acceptable × (%i ÷ %f s) = %f messages', (acceptableLatencySeconds, avgProcessingSeconds, concurrency, expected) => {
    expect(backlogPerTaskTarget({ worker: { acceptableLatencySeconds, avgProcessingSeconds, concurrency } })).toBe(expected);
  });

  test('the worker\'s pool needs one connection per concurrent job per process', () => {
    expect(workerConnectionsNeeded(10)).toBe(10);
    expect(workerConnectionsNeeded(10, 3)).toBe(4); // 3.33, rounded up
  });
});

describe('API: request target and scale ceiling', () => {
  test.each([
    [750, 60, 27000], // 750 × 60 × 0.6
    [1500, 60, 54000],
    [333, 70, 13986], // 333 × 60 × 0.7 = 13986
    [100.5, 50, 3015], // 3015
    [16.7, 100, 1002], // 1002
  ])('%f req/s per task at %i %% = %i requests per task per minute', (capacity, utilisation, expected) => {
    expect(requestTargetPerMinute(capacity, utilisation)).toBe(expected);
  });

  test('scale ceiling: maxTasks × capacity; sustained: maxTasks × target ÷ 60', () => {
    expect(scaleCeilingRps(10, 750)).toBe(7500);
    expect(sustainedCeilingRps(5, 27000)).toBe(2250);
    expect(sustainedCeilingRps(3, 13500)).toBe(675);
    // the old default: 10 tasks × 1000 per minute = 166.7 req/s, under the 200 req/s of staging's own load profile
    expect(sustainedCeilingRps(10, 1000)).toBeCloseTo(166.67, 2);
  });

  test('the effective target: a number as given, "fromCapacity" from the capacity, nothing without one', () => {
    expect(effectiveRequestsPerTarget({ requestsPerTarget: 1000, capacityPerTaskRps: 750, targetCpuUtilizationPercent: 60 })).toBe(1000);
    expect(effectiveRequestsPerTarget({ requestsPerTarget: REQUESTS_PER_TARGET_FROM_CAPACITY, capacityPerTaskRps: 750, targetCpuUtilizationPercent: 60 })).toBe(27000);
    expect(effectiveRequestsPerTarget({ requestsPerTarget: REQUESTS_PER_TARGET_FROM_CAPACITY, capacityPerTaskRps: null, targetCpuUtilizationPercent: 60 })).toBeUndefined();
  });

  test('a profile\'s peak is its highest arrivalRate or rampTo', () => {
    expect(profilePeakRps({ phases: [{ arrivalRate: 10, rampTo: 200 }, { arrivalRate: 200 }] })).toBe(200);
    expect(profilePeakRps({ phases: [{ arrivalRate: 50 }, { arrivalRate: 50, rampTo: 500 }, { arrivalRate: 500 }, { arrivalRate: 50 }] })).toBe(500);
    expect(profilePeakRps({ phases: [{ arrivalRate: 300, rampTo: 100 }] })).toBe(300);
  });
});

describe('what the scaling policies measure, how they answer, what users wait (the planner)', () => {
  test('jobs per request: the weight share of POST /jobs in the mix', () => {
    const mix = [
      { method: 'GET', path: '/items/{{rand:1000}}', weight: 80 },
      { method: 'POST', path: '/items', weight: 10 },
      { method: 'POST', path: '/jobs', weight: 5 },
      { method: 'GET', path: '/healthz', weight: 5 },
    ];
    // 5 ÷ (80 + 10 + 5 + 5) = 0.05: the default mix
    expect(jobsPerRequest(mix)).toBe(0.05);
    // a query string is the same route; GET /jobs/1 reads a job and enqueues nothing: 2 ÷ (2 + 2) = 0.5
    expect(jobsPerRequest([{ method: 'POST', path: '/jobs?src=lt', weight: 2 }, { method: 'GET', path: '/jobs/1', weight: 2 }])).toBe(0.5);
    expect(jobsPerRequest([{ method: 'GET', path: '/healthz', weight: 1 }])).toBe(0);
  });

  test('API CPU: served ÷ (running × capacity), at most 100, over the running tasks', () => {
    expect(apiCpuUtilisationPercent(900, 2, 750)).toBe(60); // 900 ÷ 1500
    expect(apiCpuUtilisationPercent(3000, 2, 750)).toBe(100); // 200 % capped
    expect(apiCpuUtilisationPercent(100, 0, 750)).toBe(0); // nothing runs, no CPU datapoint to speak of
  });

  test('requests per target per minute: rps × 60 ÷ healthy targets', () => {
    expect(requestsPerTargetPerMinute(500, 2)).toBe(15000);
    expect(requestsPerTargetPerMinute(500, 0)).toBe(Infinity);
  });

  test('backlog per task: (visible [+ in flight]) ÷ running; none with no task running', () => {
    expect(backlogPerTask(900, 100, 2, true)).toBe(500);
    expect(backlogPerTask(900, 100, 2, false)).toBe(450);
    expect(backlogPerTask(900, 100, 0, true)).toBeUndefined();
  });

  test('target tracking asks for ⌈capacity × metric ÷ target⌉', () => {
    expect(targetTrackingCapacity(2, 90, 60)).toBe(3); // 2 × 1.5
    expect(targetTrackingCapacity(2, 91, 60)).toBe(4); // 3.03 → 4
    expect(targetTrackingCapacity(10, 30, 60)).toBe(5); // scale-in: 10 × 0.5
    // 7 × 0.3 ÷ 0.3 computes as 7.000000000000001 in floating point: still 7, not 8
    expect(targetTrackingCapacity(7, 0.3, 0.3)).toBe(7);
    expect(targetTrackingCapacity(4, 0, 300)).toBe(0);
  });

  test('slow start: a linear share over the duration; off is a full share at once', () => {
    expect(slowStartShare(15, 30)).toBe(0.5);
    expect(slowStartShare(45, 30)).toBe(1);
    expect(slowStartShare(0, 0)).toBe(1);
    expect(slowStartShare(-5, 30)).toBe(0);
  });

  test('Erlang C, worked by hand', () => {
    // one server: the probability of waiting is the utilisation
    expect(erlangC(1, 0.5)).toBeCloseTo(0.5, 12);
    // M/M/2, a = 1 (ρ = 0.5): C = 2ρ² ÷ (1 + ρ) = 0.5 ÷ 1.5 = 1/3
    expect(erlangC(2, 1)).toBeCloseTo(1 / 3, 12);
    // M/M/3, a = 2: (a³/3! × 3/(3−2)) ÷ (1 + 2 + 2 + 4) = 4 ÷ 9
    expect(erlangC(3, 2)).toBeCloseTo(4 / 9, 12);
    expect(erlangC(2, 2)).toBe(1); // saturated: everyone waits
    expect(erlangC(3, 0)).toBe(0);
    // hundreds of servers stay finite (the recursion never forms a^c or c!); 500 servers at 90 %: 50 spare over
    // √450 ≈ 21.2 (β ≈ 2.36, square-root staffing) leave about 1 % of arrivals waiting; at 80 % almost none
    expect(erlangC(500, 450)).toBeGreaterThan(0.01);
    expect(erlangC(500, 450)).toBeLessThan(0.015);
    expect(erlangC(500, 400)).toBeLessThan(1e-5);
  });

  test('the p99 wait of M/M/c: ln(C ÷ 0.01) ÷ (cμ − λ), 0 when fewer than 1 % wait, ∞ at saturation', () => {
    // M/M/1, μ 100, λ 50: C = 0.5, cμ − λ = 50 → ln(50) ÷ 50 = 78.2 ms
    expect(mmcWaitQuantileSeconds({ servers: 1, serviceRatePerServer: 100, arrivalRate: 50 }, 0.99)).toBeCloseTo(Math.log(50) / 50, 12);
    // M/M/4, μ 100, λ 40 (a = 0.4): C ≈ 0.0008, under 1 %: the p99 waits not at all
    expect(mmcWaitQuantileSeconds({ servers: 4, serviceRatePerServer: 100, arrivalRate: 40 }, 0.99)).toBe(0);
    expect(mmcWaitQuantileSeconds({ servers: 2, serviceRatePerServer: 100, arrivalRate: 200 }, 0.99)).toBe(Infinity);
    expect(mmcWaitQuantileSeconds({ servers: 2, serviceRatePerServer: 100, arrivalRate: 0 }, 0.99)).toBe(0);
  });

  test('the p99 of an exponential service time: ln(100) ÷ μ', () => {
    expect(serviceTimeQuantileSeconds(100, 0.99)).toBeCloseTo(0.04605, 5);
  });
});

// The sizes behind the cost and the vertical-vs-horizontal comparison (tools/plan/cost.ts, compare.ts).
import {
  capacityPerTaskAtCpuRps, capacityPerVcpuRps, capacityProviderSplit, DB_INSTANCE_CLASS_SIZE, dbInstanceClassSize, fargateMemoryAtLeast,
  productionMinApiTasks, profileAverageRps, serverlessV2MemoryGiB, tasksForRate, tasksPerZone,
} from '../../lib/config/capacity';

describe('sizes for cost and for vertical vs horizontal', () => {
  test('DB instance classes: vCPUs and memory, for every class in the max_connections table', () => {
    expect(dbInstanceClassSize('db.t4g.medium')).toEqual({ vcpu: 2, memoryGiB: 4 });
    // memory-optimised: 8 GiB per vCPU; large = 2 vCPUs
    expect(dbInstanceClassSize('db.r6g.large')).toEqual({ vcpu: 2, memoryGiB: 16 });
    expect(dbInstanceClassSize('db.r7g.2xlarge')).toEqual({ vcpu: 8, memoryGiB: 64 });
    expect(dbInstanceClassSize('db.r5.24xlarge')).toEqual({ vcpu: 96, memoryGiB: 768 });
    // x2g: 16 GiB per vCPU
    expect(dbInstanceClassSize('db.x2g.xlarge')).toEqual({ vcpu: 4, memoryGiB: 64 });
    expect(dbInstanceClassSize('db.serverless')).toBeUndefined();
    expect(Object.keys(AURORA_POSTGRES_MAX_CONNECTIONS).filter((c) => !(c in DB_INSTANCE_CLASS_SIZE))).toEqual([]);
  });

  test('Serverless v2: about 2 GiB per ACU', () => {
    expect(serverlessV2MemoryGiB(0.5)).toBe(1);
    expect(serverlessV2MemoryGiB(16)).toBe(32);
  });

  test.each([
    // 375 req/s on a quarter of a vCPU = 1500 per vCPU; 1500 on one = 1500; 3000 on two = 1500
    [375, 256, 1500], [1500, 1024, 1500], [3000, 2048, 1500], [750, 512, 1500],
  ])('capacity per vCPU: %i req/s at %i units → %i', (perTask, cpu, perVcpu) => {
    expect(capacityPerVcpuRps(perTask, cpu)).toBe(perVcpu);
    expect(capacityPerTaskAtCpuRps(perVcpu, cpu)).toBe(perTask);
  });

  test.each([
    // 256 units offer 512, 1024, 2048 only: 700 → 1024; above 2048 → 2048
    [256, 700, 1024], [256, 512, 512], [256, 4096, 2048],
    // 1024 units: 2048 to 8192 in steps of 1024; below the minimum → 2048; 3000 → 3072
    [1024, 512, 2048], [1024, 3000, 3072], [1024, 9000, 8192],
    // 8192 units: 16384 to 61440 in steps of 4096: 17000 → 20480
    [8192, 17000, 20480],
  ])('Fargate memory at least: %i units, %i MiB → %i', (cpu, atLeast, memory) => {
    expect(fargateMemoryAtLeast(cpu, atLeast)).toBe(memory);
    expect(isValidFargateSize(cpu, memory)).toBe(true);
  });

  test('Fargate memory for a CPU size Fargate does not have: undefined', () => {
    expect(fargateMemoryAtLeast(768, 2048)).toBeUndefined();
  });

  test.each([
    // ⌈500 ÷ 225⌉ = 3 (2.22 rounds up); no traffic → minTasks; more than maxTasks → maxTasks; exactly 2 × 225 → 2
    [500, 225, 1, 4, 3], [0, 225, 1, 4, 1], [0, 225, 0, 4, 0], [5000, 225, 1, 4, 4], [450, 225, 1, 4, 2],
  ])('tasks for %f req/s at %f per task within [%i, %i]: %i', (rate, perTask, min, max, tasks) => {
    expect(tasksForRate(rate, perTask, min, max)).toBe(tasks);
  });

  test('production runs one API task per zone, never fewer than 2', () => {
    expect(productionMinApiTasks(3)).toBe(3);
    expect(productionMinApiTasks(2)).toBe(2);
    expect(productionMinApiTasks(1)).toBe(2);
  });

  test('tasks per zone: spread evenly, the fullest zone first', () => {
    expect(tasksPerZone(5, 3)).toEqual([2, 2, 1]);
    expect(tasksPerZone(6, 3)).toEqual([2, 2, 2]);
    expect(tasksPerZone(1, 2)).toEqual([1, 0]);
    expect(tasksPerZone(0, 2)).toEqual([0, 0]);
  });

  test('capacity providers: the base on FARGATE first, the rest by weight', () => {
    // base 1, then 4 more split 1 : 3 → 1 + 1 = 2 on FARGATE, 3 on Spot
    expect(capacityProviderSplit(5, { fargateBase: 1, fargateWeight: 1, spotWeight: 3 })).toEqual({ fargate: 2, spot: 3 });
    // fewer tasks than the base: all on FARGATE
    expect(capacityProviderSplit(2, { fargateBase: 2, fargateWeight: 1, spotWeight: 1 })).toEqual({ fargate: 2, spot: 0 });
    // dev: all Spot
    expect(capacityProviderSplit(3, { fargateBase: 0, fargateWeight: 0, spotWeight: 1 })).toEqual({ fargate: 0, spot: 3 });
    // an average of 1.5 tasks with base 1, 1 : 1 → 1.25 and 0.25
    expect(capacityProviderSplit(1.5, { fargateBase: 1, fargateWeight: 1, spotWeight: 1 })).toEqual({ fargate: 1.25, spot: 0.25 });
  });

  test('the time-weighted mean rate of a profile', () => {
    // 300 s ramping 10 → 200 (mean 105) and 900 s at 200: (31 500 + 180 000) ÷ 1200 = 176.25
    expect(profileAverageRps({ phases: [{ durationSeconds: 300, arrivalRate: 10, rampTo: 200 }, { durationSeconds: 900, arrivalRate: 200 }] })).toBe(176.25);
    // the spike: 120 s at 50, 10 s 50 → 500, 120 s at 500, 180 s at 50: (6000 + 2750 + 60 000 + 9000) ÷ 430 = 180.81
    expect(profileAverageRps({ phases: [
      { durationSeconds: 120, arrivalRate: 50 }, { durationSeconds: 10, arrivalRate: 50, rampTo: 500 },
      { durationSeconds: 120, arrivalRate: 500 }, { durationSeconds: 180, arrivalRate: 50 },
    ] })).toBeCloseTo(180.814, 3);
  });
});
