import {
  connectionDemand, instanceConnectionBudget, profilePeakRps, sustainedCeilingRps, workerConnectionsNeeded,
} from '../../lib/config/capacity';
import { configFor, problemsFor } from '../helpers/context';

// The capacity model's rules, each message asserted whole: the key path as the user wrote it, the value, what
// is wrong with the numbers spelled out, and the fix. Every figure below is worked out by hand in the comment.

const WRITER_FIX_NO_PROXY = 'Fix: lower api.dbPoolSize, worker.dbPoolSize, the maxTasks or api.maxHealthyPercent, add a reader (database.readers) so that reads leave the writer, or pick a larger database.instanceClass.';

describe('connection budget, counted per endpoint at the deploy surge', () => {
  test('dev (no readers, no proxy): the two pools per task on the writer exceed it, naming api.dbPoolSize', () => {
    // API: 4 tasks × 200 % = 8 × 1 process (256 units) × 2 pools (both on the writer) × 36 = 576
    // worker: 5 × 200 % = 10 × 1 × 1 × 10 = 100; 676 > 405 − 5 = 400.
    // (Counted the old way, 4 × 36 + 5 × 10 = 194 connections against 405 − 3 = 402, this passed.)
    expect(problemsFor('dev', { api: { dbPoolSize: 36 } })).toEqual([
      'scaling-blueprint.environments.dev.api.dbPoolSize = 36: puts the writer over its connection budget: ' +
        'API peak 8 tasks (api.maxTasks 4 × api.maxHealthyPercent 200 %) × 1 process (api.cpu 256) × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × api.dbPoolSize 36 = 576, ' +
        'plus worker peak 10 tasks (worker.maxTasks 5 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 100, ' +
        'is 676 connections, but the writer allows 400 (max_connections 405 of db.t4g.medium − 5 reserved). ' + WRITER_FIX_NO_PROXY,
    ]);
  });

  test('the same dev config with half the pool passes', () => {
    // 8 × 2 × 18 = 288, + 100 = 388 ≤ 400
    const cfg = configFor('dev', { api: { dbPoolSize: 18 } });
    expect(connectionDemand(cfg).writer).toBe(388);
  });

  test('the deploy surge is counted: raising api.maxHealthyPercent can fail the budget', () => {
    // at 100 %: 4 × 2 × 25 = 200, + 100 = 300 ≤ 400; at 200 %: 8 × 2 × 25 = 400, + 100 = 500 > 400
    expect(() => configFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 100 } })).not.toThrow();
    expect(problemsFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 200 } })).toEqual([
      'scaling-blueprint.environments.dev.api.dbPoolSize = 25: puts the writer over its connection budget: ' +
        'API peak 8 tasks (api.maxTasks 4 × api.maxHealthyPercent 200 %) × 1 process (api.cpu 256) × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × api.dbPoolSize 25 = 400, ' +
        'plus worker peak 10 tasks (worker.maxTasks 5 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 100, ' +
        'is 500 connections, but the writer allows 400 (max_connections 405 of db.t4g.medium − 5 reserved). ' + WRITER_FIX_NO_PROXY,
    ]);
  });

  test('a bigger API task runs more processes, each with its own pools', () => {
    // dev at 2048 units: 8 tasks × 2 processes × 2 pools × 5 = 160, + 100 = 260 ≤ 400; at 8192: 8 × 8 × 2 × 5 = 640 + 100 = 740
    expect(connectionDemand(configFor('dev', { api: { cpu: 2048, memoryMiB: 4096 } })).writer).toBe(260);
    expect(problemsFor('dev', { api: { cpu: 8192, memoryMiB: 16384 } })).toEqual([
      'scaling-blueprint.environments.dev.api.dbPoolSize = 5: puts the writer over its connection budget: ' +
        'API peak 8 tasks (api.maxTasks 4 × api.maxHealthyPercent 200 %) × 8 processes (api.cpu 8192) × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × api.dbPoolSize 5 = 640, ' +
        'plus worker peak 10 tasks (worker.maxTasks 5 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 100, ' +
        'is 740 connections, but the writer allows 400 (max_connections 405 of db.t4g.medium − 5 reserved). ' + WRITER_FIX_NO_PROXY,
    ]);
  });

  test('through the proxy: the writer against the proxy\'s share of it', () => {
    // staging: db.r6g.large 1722, proxy 90 % of (1722 − 5) = 1545.3 → 1545.
    // API: 100 × 200 % = 200 tasks × 1 process × 1 pool × 15 = 3000 on the writer (and 3000 on the readers);
    // worker: 10 × 200 % = 20 × 10 = 200 on the writer.
    expect(problemsFor('staging', { api: { maxTasks: 100, dbPoolSize: 15 } })).toEqual([
      'scaling-blueprint.environments.staging.api.dbPoolSize = 15: puts the writer over its connection budget: ' +
        // staging deploys blue/green (api.deployment.strategy): the second revision is the 200 %.
        'API peak 200 tasks (api.maxTasks 100 × 200 %: api.deployment.strategy "blue_green" runs the new revision at full size beside the old one until the bake time ends) × 1 process (api.cpu 512) × 1 pool × api.dbPoolSize 15 = 3000, ' +
        'plus worker peak 20 tasks (worker.maxTasks 10 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 200, ' +
        'is 3200 connections, but the proxy opens at most 1545 on the writer (database.proxy.maxConnectionsPercent 90 % of max_connections 1722 of db.r6g.large − 5 reserved). ' +
        'Fix: lower api.dbPoolSize, worker.dbPoolSize, the maxTasks or deploy with api.deployment.strategy "rolling" (a surge of api.maxHealthyPercent 200 % instead of a second full revision), raise database.proxy.maxConnectionsPercent, or pick a larger database.instanceClass.',
    ]);
  });

  test('the readers need no check of their own: they share the writer\'s class, and only the API reads', () => {
    // staging: API 10 tasks × 10 on each side, worker 20 × 10 on the writer only
    const demand = connectionDemand(configFor('staging'));
    expect(demand).toMatchObject({ writer: 300, readers: 100 });
    expect(demand.readers).toBeLessThanOrEqual(demand.writer);
  });

  test('the proxy without a reader: its read-only endpoint has nothing to send reads to', () => {
    expect(problemsFor('staging', { database: { readers: 0, readerAutoscaling: { minReaders: 0 } } })).toEqual([
      'scaling-blueprint.environments.staging.database.readers = 0: is 0 with database.proxy.enabled; the proxy\'s read-only endpoint needs a reader instance and fails every request without one, ' +
        'so the API\'s reads (DB_READER_HOST) would fail. Fix: set database.readers to at least 1, or turn database.proxy.enabled off ' +
        '(the cluster\'s reader endpoint falls back to the writer; https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-endpoints.html).',
    ]);
  });
});

describe('worker: concurrency, its pool and the backlog target', () => {
  test('a pool smaller than the concurrency', () => {
    expect(problemsFor('staging', { worker: { dbPoolSize: 4 } })).toEqual([
      'scaling-blueprint.environments.staging.worker.dbPoolSize = 4: is below worker.concurrency (10); each running job holds one connection, ' +
        'so 6 of the 10 jobs a task runs at once would wait for a connection, and the throughput the backlog target assumes is never reached. ' +
        'Fix: raise worker.dbPoolSize to at least 10, or lower worker.concurrency to 4.',
    ]);
  });

  test('a backlog target below 1 message per task', () => {
    // 1 s × 10 jobs ÷ 20 s = 0.5; needs at least 20 ÷ 10 = 2 s
    expect(problemsFor('staging', { worker: { acceptableLatencySeconds: 1, avgProcessingSeconds: 20 } })).toEqual([
      'scaling-blueprint.environments.staging.worker.acceptableLatencySeconds = 1: gives a backlog target of 0.5 messages per task ' +
        '(acceptableLatencySeconds × concurrency ÷ avgProcessingSeconds = 1 × 10 ÷ 20); below 1 the worker service scales out for every message and never settles. ' +
        'Fix: raise worker.acceptableLatencySeconds to at least 2 (avgProcessingSeconds ÷ concurrency).',
    ]);
  });

  test('a worker task bigger than the one process of the reference worker can use', () => {
    expect(problemsFor('staging', { worker: { cpu: 4096, memoryMiB: 8192 } })).toEqual([
      'scaling-blueprint.environments.staging.worker.cpu = 4096: gives the reference worker 4 vCPUs, but it runs one Node.js process (its parallelism is worker.concurrency jobs inside it), ' +
        'which keeps one vCPU busy at most; 3 would sit idle. Fix: set worker.cpu to 1024 or less and let worker.maxTasks add throughput, or run an image of your own that uses them (worker.image).',
    ]);
    // an image of one's own may use them; the API's image forks one process per vCPU, so any size is used
    expect(() => configFor('staging', { worker: { cpu: 4096, memoryMiB: 8192, image: { uri: 'public.ecr.aws/example/worker:1', directory: '' } } })).not.toThrow();
    expect(() => configFor('staging', { api: { cpu: 4096, memoryMiB: 8192 } })).not.toThrow();
  });

  test('a concurrency the schema refuses', () => {
    expect(problemsFor('staging', { worker: { concurrency: 0 } })).toEqual([
      'scaling-blueprint.environments.staging.worker.concurrency = 0: must be ≥ 1. Fix: raise it to at least 1.',
    ]);
  });
});

describe('API: request target and scale ceiling', () => {
  test('"fromCapacity" without a capacity', () => {
    expect(problemsFor('dev', { api: { capacityPerTaskRps: null } })).toEqual([
      'scaling-blueprint.defaults.api.requestsPerTarget = "fromCapacity": follows from api.capacityPerTaskRps, which is null, so there is no capacity to derive the request target from. ' +
        'Fix: measure the capacity (npm run calibrate) and set api.capacityPerTaskRps, or give api.requestsPerTarget as a number of requests per task per minute.',
    ]);
  });

  test('an explicit target is used as given, without a capacity too', () => {
    // dev: 4 tasks × 12000 ÷ 60 = 800 req/s, enough for the 500 req/s spike
    expect(configFor('dev', { api: { capacityPerTaskRps: null, requestsPerTarget: 12000 } }).api.requestsPerTarget).toBe(12000);
    // staging: 5 tasks × 6000 ÷ 60 = 500 req/s, just enough for the spike
    expect(configFor('staging', { api: { requestsPerTarget: 6000 } }).api.requestsPerTarget).toBe(6000);
  });

  test('"fromCapacity" resolves to capacity × 60 × the CPU target', () => {
    // 750 × 60 × 0.6 = 27000; with 900 req/s and 50 %: 900 × 60 × 0.5 = 27000 too; 800 × 60 × 0.55 = 26400
    expect(configFor('staging').api.requestsPerTarget).toBe(27000);
    expect(configFor('staging', { api: { capacityPerTaskRps: 800, targetCpuUtilizationPercent: 55 } }).api.requestsPerTarget).toBe(26400);
  });

  test('an explicit target above what a task can serve', () => {
    // 750 × 60 = 45000 per minute at full capacity
    expect(problemsFor('staging', { api: { requestsPerTarget: 50000 } })).toEqual([
      'scaling-blueprint.environments.staging.api.requestsPerTarget = 50000: asks each task to take 50000 requests per minute before scaling out, ' +
        'more than the 45000 per minute one task can serve (api.capacityPerTaskRps 750 × 60); tasks would be overloaded before the request policy adds any. ' +
        'Fix: lower it to at most 45000, or set it to "fromCapacity" (27000 at api.targetCpuUtilizationPercent 60).',
    ]);
  });

  test('a scale ceiling below a load profile that must hold the SLA', () => {
    // staging at 1 task: 1 × 27000 ÷ 60 = 450 req/s < the spike's 500; load (200) and soak (100) fit; stress is a search
    expect(problemsFor('staging', { api: { minTasks: 1, maxTasks: 1 } })).toEqual([
      'scaling-blueprint.environments.staging.api.maxTasks = 1: caps the API at 450 req/s at its request target (api.maxTasks 1 × 27000 requests per task per minute ÷ 60), ' +
        'below the 500 req/s peak of the load profile "spike", which must hold the SLA; at that rate the service would be pinned at maxTasks with every task past its target. ' +
        'Fix: raise api.maxTasks to at least 2, or lower the profile\'s peak (loadTest.profiles.spike).',
    ]);
  });

  test('a stress profile (stopWhenSlaBreaks) is meant to pass the ceiling and is not checked against it', () => {
    // staging's ceiling is 2250 req/s; a stress run stepping to 5000 is a search for the breaking rate
    const phases = [1000, 2000, 3000, 4000, 5000].map((arrivalRate) => ({ durationSeconds: 60, arrivalRate }));
    // WAF's per-address limit must let 5000 req/s through for a minute (test/config/alb-security.test.ts)
    const waf = { rateLimitRequests: 300000 };
    // and so must the in-app per-client limit (test/config/rate-limit.test.ts)
    const api = { rateLimitPerClientPerSecond: 5000 };
    const cfg = configFor('staging', { loadTest: { profiles: { stress: { phases } } }, alb: { waf }, api });
    expect(cfg.loadTest.profiles.stress.stopWhenSlaBreaks).toBe(true);
    expect(profilePeakRps(cfg.loadTest.profiles.stress)).toBeGreaterThan(sustainedCeilingRps(cfg.api.maxTasks, cfg.api.requestsPerTarget));
    // the same peak in a profile that must hold the SLA fails
    expect(problemsFor('staging', { loadTest: { profiles: { soak: { phases } } }, alb: { waf }, api })[0]).toMatch(/peak of the load profile "soak"/);
  });

  test('the old default (1000 requests per minute, 10 tasks) could not carry staging\'s own load profile', () => {
    // 10 × 1000 ÷ 60 = 166.7 req/s < 200
    expect(problemsFor('staging', { api: { maxTasks: 10, requestsPerTarget: 1000 } })).toEqual([
      'scaling-blueprint.environments.staging.api.maxTasks = 10: caps the API at 166.667 req/s at its request target (api.maxTasks 10 × 1000 requests per task per minute ÷ 60), ' +
        'below the 200 req/s peak of the load profile "load", which must hold the SLA; at that rate the service would be pinned at maxTasks with every task past its target. ' +
        'Fix: raise api.maxTasks to at least 12, or lower the profile\'s peak (loadTest.profiles.load).',
      'scaling-blueprint.environments.staging.api.maxTasks = 10: caps the API at 166.667 req/s at its request target (api.maxTasks 10 × 1000 requests per task per minute ÷ 60), ' +
        'below the 500 req/s peak of the load profile "spike", which must hold the SLA; at that rate the service would be pinned at maxTasks with every task past its target. ' +
        'Fix: raise api.maxTasks to at least 30, or lower the profile\'s peak (loadTest.profiles.spike).',
    ]);
  });
});

describe('production: API tasks in every zone', () => {
  test('fewer API tasks than the zones the VPC spans', () => {
    expect(problemsFor('prod', { api: { minTasks: 2 } })).toEqual([
      'scaling-blueprint.environments.prod.api.minTasks = 2: is below 3 in a production environment: the VPC spans 3 availability zones (network.maxAzs 3), ' +
        'and with fewer tasks than zones the loss of one zone takes more than its share of the service with it (and one task cannot survive its own replacement). ' +
        'Fix: set api.minTasks to at least 3 (one task per zone, never fewer than 2).',
    ]);
  });

  test('two zones still need two tasks, and the same values pass outside production', () => {
    expect(() => configFor('prod', { api: { minTasks: 2 }, network: { maxAzs: 2, natGateways: 2 } })).not.toThrow();
    expect(() => configFor('staging', { api: { minTasks: 1 }, network: { maxAzs: 3 } })).not.toThrow();
  });
});

describe('the defaults of every environment agree with the model', () => {
  test.each(['dev', 'staging', 'prod'])('%s: the connection demand fits each instance\'s budget', (env) => {
    const cfg = configFor(env);
    const demand = connectionDemand(cfg);
    const budget = instanceConnectionBudget(cfg.database)!;
    expect(demand.writer).toBeLessThanOrEqual(budget);
    expect(demand.readers).toBeLessThanOrEqual(budget);
  });

  test.each(['dev', 'staging', 'prod'])('%s: the worker\'s pool covers its concurrency', (env) => {
    const { worker } = configFor(env);
    expect(worker.dbPoolSize).toBeGreaterThanOrEqual(workerConnectionsNeeded(worker.concurrency));
  });

  test.each(['dev', 'staging', 'prod'])('%s: every profile that must hold the SLA fits under the scale ceiling', (env) => {
    const cfg = configFor(env);
    const ceiling = sustainedCeilingRps(cfg.api.maxTasks, cfg.api.requestsPerTarget);
    for (const profile of Object.values(cfg.loadTest.profiles).filter((p) => !p.stopWhenSlaBreaks)) {
      expect(profilePeakRps(profile)).toBeLessThanOrEqual(ceiling);
    }
  });

  test('staging\'s default load profile fits under staging\'s scale ceiling, by hand', () => {
    // 750 req/s per task × 60 × 60 % = 27000 per minute; 5 tasks × 27000 ÷ 60 = 2250 req/s ≥ 200 (load), 500 (spike)
    const cfg = configFor('staging');
    expect(cfg.api.requestsPerTarget).toBe(27000);
    expect(sustainedCeilingRps(cfg.api.maxTasks, cfg.api.requestsPerTarget)).toBe(2250);
    expect(profilePeakRps(cfg.loadTest.profiles.load)).toBe(200);
  });
});
