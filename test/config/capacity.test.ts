import {
  AURORA_POSTGRES_MAX_CONNECTIONS, backlogPerTaskTarget, connectionBudget, connectionDemand, FARGATE_CPU_UNITS, FARGATE_MEMORY_MIB,
  isValidFargateSize, RESERVED_CONNECTIONS, serverlessV2MaxConnections, writerMaxConnections,
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

describe('connection budget and demand', () => {
  test('AWS keeps 3 connections for its automation', () => {
    expect(RESERVED_CONNECTIONS).toBe(3);
  });

  test.each([
    ['db.r6g.xlarge through a proxy at 90 %', provisioned('db.r6g.xlarge', 90), 3128], // (3479 − 3) × 0.9 = 3128.4
    ['db.r6g.xlarge without a proxy', provisioned('db.r6g.xlarge'), 3476], // 3479 − 3
    ['db.r6g.large through a proxy at 100 %', provisioned('db.r6g.large', 100), 1719], // 1722 − 3
    ['db.t4g.medium through a proxy at 50 %', provisioned('db.t4g.medium', 50), 201], // (405 − 3) × 0.5
    ['db.serverless at 16 ACU through a proxy at 90 %', { ...provisioned('db.serverless', 90), serverlessV2MaxCapacityAcu: 16 }, 3240], // (3604 − 3) × 0.9 = 3240.9
  ])('%s allows %i connections', (_name, db, expected) => {
    expect(connectionBudget(db)).toBe(expected);
  });

  test('a class missing from the table has no budget', () => {
    expect(connectionBudget(provisioned('db.m5.large', 90))).toBeUndefined();
  });

  test('demand is every service at maxTasks with a full pool', () => {
    // 30 API tasks × 10 + 20 workers × 5 = 300 + 100
    expect(connectionDemand({ api: { maxTasks: 30, dbPoolSize: 10 }, worker: { maxTasks: 20, dbPoolSize: 5 } })).toBe(400);
    // scale to zero does not lower the peak: the minimum does not enter
    expect(connectionDemand({ api: { maxTasks: 1, dbPoolSize: 1 }, worker: { maxTasks: 4, dbPoolSize: 25 } })).toBe(101);
  });
});

describe('backlog target per task', () => {
  test.each([
    [60, 2, 30], // a task works off 30 two-second jobs within a minute
    [45, 0.5, 90],
    [1, 4, 0.25], // below 1: the rules reject it
  ])('%f s acceptable ÷ %f s per job = %f messages', (acceptableLatencySeconds, avgProcessingSeconds, expected) => {
    expect(backlogPerTaskTarget({ worker: { acceptableLatencySeconds, avgProcessingSeconds } })).toBe(expected);
  });
});
