import { alarmInventory, albLcus, HOURS_PER_MONTH, monthlyCost, type CostReport } from '../../../tools/plan/cost';
import { PRICE_TABLE, pricesFor, type Price } from '../../../tools/plan/prices';
import { configFor, type Overrides } from '../../helpers/context';

// Every expected figure is worked out by hand in the comments from cdk.json's dev (or staging) values and the
// us-east-1 price table, not from the code. 730 hours a month.

const item = (r: CostReport, text: string) => {
  const found = r.items.filter((i) => i.item.includes(text));
  if (found.length !== 1) throw new Error(`expected one item with "${text}", got: ${r.items.map((i) => i.item).join(' | ')}`);
  return found[0];
};

describe('monthlyCost: dev at min capacity, by hand', () => {
  const report = monthlyCost(configFor('dev'), { level: 'min' });

  test('the load: minTasks, no reader, no traffic', () => {
    expect(report.load).toEqual({ apiTasks: 1, workerTasks: 0, readers: 0, requestsPerSecond: 0, jobsPerSecond: 0 });
    expect(report.priceTable).toEqual({ date: '2026-12-05', region: 'us-east-1', currency: 'USD' });
  });

  test.each([
    // API: 1 task × 256/1024 vCPU × 730 h = 182.5 vCPU-hours × $0.03238 (arm64) = $5.90935
    ['API vCPU-hours (arm64, on-demand)', 182.5, 5.90935],
    // 1 task × 512/1024 GB × 730 h = 365 GB-hours × $0.00356 = $1.2994
    ['API GB-hours (arm64, on-demand)', 365, 1.2994],
    // one load balancer: 730 h × $0.0225 = $16.425 (no traffic: no LCU line)
    ['Application Load Balancer hours', 730, 16.425],
    // network.natGateways 1: 730 h × $0.045 = $32.85
    ['NAT gateway hours', 730, 32.85],
    // NAT data: no worker polls SQS (worker.minTasks 0); container logs 1 task × 730 h × 50 000 B = 0.0365 GB × $0.045
    ['NAT gateway data processed', 0.0365, 0.0016425],
    // public IPv4: the load balancer in maxAzs 2 zones + 1 NAT Elastic IP = 3 × 730 = 2190 IP-hours × $0.005 = $10.95
    ['Public IPv4', 2190, 10.95],
    // Aurora: db.t4g.medium writer, readers 0: 730 h × $0.073 = $53.29
    ['db.t4g.medium instance hours', 730, 53.29],
    // storage: the assumed 10 GB × $0.10 = $1.00 (no I/O without traffic)
    ['Storage (Aurora Standard)', 10, 1],
    // cache: 1 shard × (1 + 0 replicas) cache.t4g.micro Valkey: 730 h × ($0.016 × 0.8 = $0.0128) = $9.344
    ['cache.t4g.micro node hours', 730, 9.344],
    // alarms: 74 alarm metrics (counted in the next describe) × $0.10 = $7.40
    ['Alarm metrics (standard resolution)', 74, 7.4],
    // composites: 2 burn rates × 2 objectives + service health = 5 × $0.50 = $2.50
    ['Composite alarms', 5, 2.5],
    ['Dashboards', 1, 3],
    // logs: containers 0.0365 GB + flow logs (6 interfaces: 1 task, 2 load balancer zones, 1 NAT, 1 writer, 1 cache node)
    // × 730 h × 60 records × 130 B = 0.034164 GB + postgresql 0.3 GB = 0.370664 GB × $0.50 = $0.185332
    ['Logs ingested', 0.370664, 0.185332],
    // stored 7 days (every dev retention) = 7 ÷ 30.4167 months of each: 0.370664 × 0.230137 = 0.085304 GB-month × $0.03
    ['Logs stored', 0.085304, 0.002559],
  ])('%s: %f × price = $%f', (name, quantity, usd) => {
    const i = item(report, name);
    expect(i.quantity).toBeCloseTo(quantity, 5);
    expect(i.monthlyUsd).toBeCloseTo(usd, 5);
  });

  test('nothing else is billed, and the total is the sum worked out above', () => {
    expect(report.items).toHaveLength(14);
    // 5.90935 + 1.2994 + 16.425 + 32.85 + 0.0016425 + 10.95 + 53.29 + 1 + 9.344 + 7.4 + 2.5 + 3 + 0.185332 + 0.002559
    expect(report.totalMonthlyUsd).toBeCloseTo(144.157, 2);
    expect(report.totalsByService.Aurora).toBeCloseTo(54.29, 5);
  });

  test('every line names its price\'s source page, and the unverified prices are listed', () => {
    for (const i of report.items) expect(i.source).toMatch(/^https:\/\/aws\.amazon\.com\/[a-z/]+\/pricing\/$/);
    expect(report.unverifiedPrices).toEqual(expect.arrayContaining(['aurora.instanceHour.db.t4g.medium', 'elasticache.valkey.nodeHour.cache.t4g.micro']));
    expect(report.unverifiedPrices).not.toContain('fargate.onDemand.arm64.vcpuHour');
  });
});

describe('alarmInventory: dev, counted by hand from alarm-kinds.ts and the thresholds in cdk.json', () => {
  test('50 standard alarms reading 74 metrics, 5 composites, none high-resolution (api.metricResolutionSeconds 60)', () => {
    // KPI alarms (alarms, metrics): latencyP99 w+c (2, 2); http5xx w+c × target and ELB rate, each errors + requests (4, 8);
    // unhealthyHosts warning only (1, 1); apiCpu (2, 2); apiMemory (2, 2); queueAge (2, 2); dlq critical only (1, 1);
    // auroraCpu × writer and reader (4, 4); dbConnections (2, 2); replicaLag (2, 2); freeableMemory × 2 (4, 4);
    // cacheHitRate: 1 node + the traffic guard's request count (2, 4); cacheMemory 1 node (2, 2); cacheEvictions (2, 2)
    // = 32 alarms, 38 metrics. apiAtMaxTasks (1, 1) → 33, 39. Burn rates: 2 × availability long+short (4, 12: requests
    // and two 5xx) and latency (4, 8: requests and the percentile rank) → 41, 59. worker.minTasks 0: scale-from-zero on
    // visible + in flight + running (1, 3) → 42, 62. Target tracking, 2 alarms each: API requests (2, 2), worker
    // backlog (2, 6), API CPU and memory at 60 s (4, 4) → 50, 74. Reader autoscaling is off in dev.
    expect(alarmInventory(configFor('dev'))).toEqual({
      standard: { alarms: 50, metrics: 74 }, highResolution: { alarms: 0, metrics: 0 }, composite: 5,
    });
  });

  test('staging: 20-second metrics make the CPU and memory policies\' alarms high-resolution; reader autoscaling adds two', () => {
    // staging differs from dev: latency thresholds default, worker.minTasks 1 (no scale-from-zero: −1 alarm, −3
    // metrics), readerAutoscaling on (+2, +2), cache 1 shard × 2 nodes (hit rate 2 × (2 + 1) = 6, memory 2 × 2 = 4,
    // evictions 4: +6 metrics), metricResolutionSeconds 20 (the 4 CPU/memory alarms move to high resolution).
    // Standard: 50 − 1 + 2 − 4 = 47 alarms; 74 − 3 + 2 + 6 − 4 = 75 metrics.
    expect(alarmInventory(configFor('staging'))).toEqual({
      standard: { alarms: 47, metrics: 75 }, highResolution: { alarms: 4, metrics: 4 }, composite: 5,
    });
  });
});

describe('monthlyCost moves with the configuration', () => {
  const max = (overrides: Overrides) => monthlyCost(configFor('staging', overrides), { level: 'max' });

  test('raising api.maxTasks raises the cost at max, and not at min', () => {
    const base = max({});
    const more = max({ api: { maxTasks: 10 } });
    expect(more.totalMonthlyUsd).toBeGreaterThan(base.totalMonthlyUsd);
    // 5 more tasks × 0.5 vCPU × 730 h × $0.03238 = $59.0935 more vCPU-hours
    expect(item(more, 'API vCPU-hours').monthlyUsd - item(base, 'API vCPU-hours').monthlyUsd).toBeCloseTo(59.0935, 4);
    expect(monthlyCost(configFor('staging', { api: { maxTasks: 10 } }), { level: 'min' }).totalMonthlyUsd)
      .toBeCloseTo(monthlyCost(configFor('staging'), { level: 'min' }).totalMonthlyUsd, 6);
  });

  test('a bigger API task raises the cost at max', () => {
    const base = max({});
    // api.cpu 1024 with 2048 MiB, the capacity that size was measured at: 5 tasks × 1 vCPU × 730 h × $0.03238 = $118.187
    const bigger = max({ api: { cpu: 1024, memoryMiB: 2048, capacityPerTaskRps: 1500 } });
    expect(bigger.totalMonthlyUsd).toBeGreaterThan(base.totalMonthlyUsd);
    expect(item(bigger, 'API vCPU-hours').monthlyUsd).toBeCloseTo(118.187, 3);
  });

  test('x86_64 costs more than arm64 for the same tasks', () => {
    const x86 = max({ compute: { cpuArchitecture: 'x86_64' } });
    // 5 tasks × 0.5 vCPU × 730 h = 1825 vCPU-hours × $0.04048
    expect(item(x86, 'API vCPU-hours (x86_64, on-demand)').monthlyUsd).toBeCloseTo(73.876, 3);
  });

  test('the worker\'s Spot share follows its capacity provider weights', () => {
    // staging at max: worker.maxTasks 10, fargateBase 1, weights FARGATE 1 : SPOT 3 → 1 + 9 × 1/4 = 3.25 on FARGATE,
    // 9 × 3/4 = 6.75 on Spot; × 0.5 vCPU × 730 h = 1186.25 and 2463.75 vCPU-hours
    const r = max({});
    expect(item(r, 'Worker vCPU-hours (arm64, on-demand)').quantity).toBeCloseTo(1186.25, 6);
    expect(item(r, 'Worker vCPU-hours (arm64, Spot)').quantity).toBeCloseTo(2463.75, 6);
  });

  test('average: the simulation\'s tasks and rate are used as given', () => {
    const r = monthlyCost(configFor('dev'), { level: 'average', averageTasks: { api: 2.5, worker: 1 }, averageRps: 100, averageReaders: 0 });
    expect(r.load).toMatchObject({ apiTasks: 2.5, workerTasks: 1, requestsPerSecond: 100, jobsPerSecond: 5 });
    // 2.5 tasks × 0.25 vCPU × 730 h
    expect(item(r, 'API vCPU-hours').quantity).toBeCloseTo(456.25, 6);
  });

  test('average without the simulation: the load profile\'s mean rate and the tasks it needs at the request target', () => {
    // dev's load profile: 300 s ramping 10 → 200 (mean 105) and 900 s at 200: (31 500 + 180 000) ÷ 1200 = 176.25 req/s.
    // Request target 13 500 per minute = 225 req/s per task → ⌈176.25 ÷ 225⌉ = 1 task. Jobs 5 % = 8.8125/s; the worker
    // does 10 ÷ 2 = 5 jobs/s per task → 2 tasks.
    const r = monthlyCost(configFor('dev'), { level: 'average' });
    expect(r.load).toMatchObject({ apiTasks: 1, workerTasks: 2, requestsPerSecond: 176.25, jobsPerSecond: 8.8125 });
  });

  test('SQS: the first million requests are free', () => {
    // 2 worker tasks long-poll every 20 s: 2 × 730 × 180 = 262 800 requests; 0.1 jobs/s (2 req/s × 5 %) × 2 628 000 s
    // × 3 requests = 788 400; together 1 051 200 − 1 000 000 free = 51 200 = 0.0512 M × $0.40
    const r = monthlyCost(configFor('dev'), { level: 'average', averageTasks: { api: 1, worker: 2 }, averageRps: 2 });
    expect(item(r, 'Standard queue requests').quantity).toBeCloseTo(0.0512, 6);
    expect(item(r, 'Standard queue requests').monthlyUsd).toBeCloseTo(0.02048, 6);
  });

  test('the load-test Lambda is billed only where loadTest.enabled', () => {
    expect(monthlyCost(configFor('dev'), { level: 'min' }).items.some((i) => i.service === 'Lambda')).toBe(false);
    // staging: 1769 MiB; load 1 worker × 1200 s, stress 1 × 1800 s, soak 1 × 14 400 s, spike 1 × 430 s (peaks ≤ 2000
    // req/s = maxRatePerWorker) = 17 830 worker-seconds × 1769/1024 GB = 30 802.02 GB-s × $0.0000133334 = $0.4107
    const r = monthlyCost(configFor('staging'), { level: 'min' });
    expect(item(r, 'Load generator GB-seconds').quantity).toBeCloseTo(30802.02, 1);
    expect(item(r, 'Load generator GB-seconds').monthlyUsd).toBeCloseTo(0.4107, 4);
  });
});

describe('monthlyCost with database.sharding', () => {
  const sharded = { database: { sharding: { mode: 'clusters', clusters: 3 } } };
  const limitless = {
    database: {
      readers: 0, readerAutoscaling: { enabled: false }, proxy: { enabled: false }, performanceInsightsRetentionDays: 31, monitoringIntervalSeconds: 60,
      sharding: { mode: 'limitless', limitless: { minCapacityAcu: 16, maxCapacityAcu: 64, computeRedundancy: 0 } },
    },
  };

  test('clusters: every cluster\'s instances and proxy are billed, storage and I/O once', () => {
    const one = monthlyCost(configFor('staging'), { level: 'min' });
    const three = monthlyCost(configFor('staging', sharded), { level: 'min' });
    const instances = (r: CostReport) => item(r, 'instance hours');
    // staging at min: writer + 1 reader (readerAutoscaling.minReaders 1) = 2 instances × 730 h; 3 clusters: 6 × 730 h
    expect(instances(one).quantity).toBe(2 * HOURS_PER_MONTH);
    expect(instances(three).quantity).toBe(6 * HOURS_PER_MONTH);
    expect(instances(three).item).toContain('in each of 3 clusters');
    expect(item(three, 'vCPU of db.r6g.large').monthlyUsd).toBeCloseTo(3 * item(one, 'vCPU of db.r6g.large').monthlyUsd, 6);
    expect(item(three, 'vCPU of db.r6g.large').item).toContain('3 proxies');
    expect(item(three, 'Storage').monthlyUsd).toBe(item(one, 'Storage').monthlyUsd);
  });

  test('limitless: the shard group\'s ACU-hours from min to max capacity, no instances, no proxy, marked unverified', () => {
    const at = (level: 'min' | 'max') => monthlyCost(configFor('dev', limitless), { level });
    const min = item(at('min'), 'Limitless DB shard group');
    // 16 ACU × 730 h = 11680 ACU-hours; at max 64 ACU × 730 h = 46720
    expect(min.quantity).toBe(16 * HOURS_PER_MONTH);
    expect(item(at('max'), 'Limitless DB shard group').quantity).toBe(64 * HOURS_PER_MONTH);
    expect(min.verified).toBe(false);
    expect(at('min').items.some((i) => i.item.includes('instance hours') || i.service === 'RDS Proxy')).toBe(false);
  });
});

describe('ALB LCUs: the highest of the four dimensions', () => {
  test('dev at 1000 req/s: processed bytes dominate', () => {
    // Request bytes by the mix: 80 × 500 (GET) + 10 × (500 + 49-byte body) + 5 × (500 + 12) + 5 × 500 = 50 550 ÷ 100
    // = 505.5; + 1000-byte response = 1505.5 bytes per request. 1000 req/s × 1505.5 × 3600 = 5.4198 GB/h → 5.4198 LCU.
    // New connections 1000 ÷ 10 = 100/s → 4 LCU; active 100/s × 60 s idle timeout = 6000 → 2 LCU; 1 rule → 0.
    const { lcu, dimensions, billedOn } = albLcus(configFor('dev'), 1000);
    expect(dimensions).toEqual({ 'new connections': 4, 'active connections': 2, 'processed bytes': expect.closeTo(5.4198, 4), 'rule evaluations': 0 });
    expect(billedOn).toBe('processed bytes');
    expect(lcu).toBeCloseTo(5.4198, 4);
  });

  test('many routes: rule evaluations beyond the first 10 count', () => {
    // 20 routes + the /readyz block + the default = 22 rules, 12 beyond the free 10: 1000 req/s × 12 = 12 000 evaluations/s → 12 LCU
    const routes = Array.from({ length: 20 }, (_, i) => ({ priority: i + 2, pathPatterns: [`/r${i}/*`], action: { forward: [{ service: 'api', weight: 1 }] } }));
    const { lcu, billedOn } = albLcus(configFor('dev', { alb: { routes } }), 1000);
    expect(billedOn).toBe('rule evaluations');
    expect(lcu).toBeCloseTo(12, 9);
    expect(albLcus(configFor('dev', { alb: { routes, blockedPaths: [] } }), 1000).lcu).toBeCloseTo(11, 9);
  });
});

describe('prices', () => {
  test('an unknown region is an error naming the regions the table has, not a zero', () => {
    const config = configFor('dev', { region: 'sa-east-1', network: { availabilityZones: ['sa-east-1a', 'sa-east-1b', 'sa-east-1c'] } });
    expect(() => monthlyCost(config, { level: 'min' })).toThrow(
      'no prices for region "sa-east-1" in tools/plan/prices (it has ap-southeast-2, eu-west-1, us-east-1). ' +
      'Fix: add tools/plan/prices/sa-east-1.ts with that region\'s prices from the AWS pricing pages, or plan for one of those regions.',
    );
  });

  test('a priced region gives that region\'s prices', () => {
    const config = configFor('dev', { region: 'eu-west-1', network: { availabilityZones: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] } });
    const r = monthlyCost(config, { level: 'min' });
    expect(r.priceTable.region).toBe('eu-west-1');
    // 730 h × $0.048
    expect(item(r, 'NAT gateway hours').monthlyUsd).toBeCloseTo(35.04, 6);
  });

  test('an instance class without a price names the priced ones', () => {
    expect(() => monthlyCost(configFor('dev', { database: { instanceClass: 'db.r5.large' } }), { level: 'min' })).toThrow(
      /^no price for database.instanceClass "db.r5.large" in region us-east-1 \(tools\/plan\/prices has db.r6g.2xlarge, .*db.t4g.medium\)\. Fix: add its price/,
    );
  });

  test('every region prices the same items, each with a source page and a note where unverified', () => {
    const leaves = (o: object, prefix = ''): Array<[string, Price]> => Object.entries(o).flatMap(([k, v]): Array<[string, Price]> =>
      typeof v !== 'object' || v === null ? [] : 'usd' in v ? [[`${prefix}${k}`, v as Price]] : leaves(v, `${prefix}${k}/`));
    const us = leaves(pricesFor('us-east-1')).map(([k]) => k).sort();
    expect(us.length).toBeGreaterThan(50);
    for (const region of Object.keys(PRICE_TABLE)) {
      const prices = pricesFor(region);
      expect(prices.region).toBe(region);
      expect(prices.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(leaves(prices).map(([k]) => k).sort()).toEqual(us);
      for (const [, p] of leaves(prices)) {
        expect(p.usd).toBeGreaterThan(0);
        expect(p.source).toMatch(/^https:\/\/aws\.amazon\.com\//);
        expect(p.verified ? p.seenIn : p.note).toEqual(expect.any(String));
      }
    }
  });

  test('a month is 730 hours', () => {
    expect(HOURS_PER_MONTH).toBe(730);
  });
});
