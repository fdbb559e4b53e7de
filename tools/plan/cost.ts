import {
  capacityProviderSplit, dbInstanceClassSize, doubledTaskMinutes, jobsPerRequest, profileAverageRps, shardClusterCount, shiftsTraffic, sustainedCeilingRps, tasksForRate, workerThroughputPerTask,
} from '../../lib/config/capacity';
import { ALARM_KINDS, type ThresholdKey } from '../../lib/config/alarm-kinds';
import type { BlueprintConfig } from '../../lib/config/schema';
import { isMetricKey, KPI_DERIVED_ROW, type KpiDerivedKey, type KpiKey } from '../../lib/contracts/kpi-catalogue';
import { LOAD_PROFILES, LOADTEST_METRICS } from '../../lib/contracts/loadtest';
import { planFanOut, PlanError } from '../loadtest/plan';
import { pricesFor, type Price, type RegionPrices } from './prices';

/**
 * Monthly cost of one environment at a level of load (issue 14, item 2). Pure: the configuration and the
 * dated price table in tools/plan/prices/ in, line items out; no AWS call. Every quantity comes from the
 * configuration, lib/config/capacity.ts, or an assumption in COST_ASSUMPTIONS that the report states; every
 * unit price names its source. On-demand list prices; the account-wide free tiers are not applied (they are
 * shared by everything in the account), except SQS's first million requests.
 */

/** 730 hours a month: AWS's own pricing examples use it (8760 hours ÷ 12). */
export const HOURS_PER_MONTH = 730;
const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
const GB = 1e9;

/**
 * Which load the cost is taken at:
 * - `min`: every service at its minTasks, the readers that always run (created with the cluster, or
 *   readerAutoscaling.minReaders), Serverless v2 at its minimum ACU, and no traffic: what the environment
 *   costs to keep running with nobody using it.
 * - `average`: the API and the worker at `averageTasks` (the planner's simulation) or, without it, at the
 *   tasks the average rate needs at the request target; traffic at `averageRps` (default: the `load`
 *   profile's time-weighted mean) all month; readers at `averageReaders` (default: as at min); Serverless v2
 *   in proportion to the API tasks.
 * - `max`: every service at its maxTasks, readers at readerAutoscaling.maxReaders, Serverless v2 at its
 *   maximum ACU, and the API's sustained ceiling (maxTasks × requestsPerTarget ÷ 60) all month.
 */
export type CostLevel = 'min' | 'average' | 'max';

export interface CostOptions {
  readonly level: CostLevel;
  /** Tasks at the `average` level (time-weighted means, may be fractional); ignored at min and max. */
  readonly averageTasks?: { readonly api: number; readonly worker: number };
  /** Request rate at the `average` level (req/s, the profile's time-weighted mean); default: the `load` profile's. */
  readonly averageRps?: number;
  /** Aurora readers at the `average` level (time-weighted mean); default: the readers that always run. */
  readonly averageReaders?: number;
}

/** The service a line item bills under, as AWS's bill groups it. */
export type CostService =
  | 'Fargate' | 'Elastic Load Balancing' | 'VPC' | 'Aurora' | 'RDS Proxy' | 'ElastiCache' | 'SQS' | 'CloudWatch' | 'Lambda';

/** One line of the bill: quantity × unit price, with where the price comes from. */
export interface CostLineItem {
  readonly service: CostService;
  /** What is billed, e.g. "API vCPU-hours (arm64, on-demand)". */
  readonly item: string;
  /** Billed quantity in a month, after any free tier applied (`assumption` says which). */
  readonly quantity: number;
  /** Unit of the quantity and the price, e.g. "vCPU-hour", "GB-month", "million requests". */
  readonly unit: string;
  readonly unitPriceUsd: number;
  /** quantity × unitPriceUsd. */
  readonly monthlyUsd: number;
  /** Key of the price in the table (e.g. "fargate.onDemand.arm64.vcpuHour"). */
  readonly priceKey: string;
  /** URL of the AWS pricing page the price belongs to. */
  readonly source: string;
  /** false: no stored copy of a page had the price; `priceNote` says what it is. */
  readonly verified: boolean;
  readonly priceNote?: string;
  /** How the quantity was reached, when it rests on an assumption (traffic, bytes, connections). */
  readonly assumption?: string;
}

export interface CostReport {
  readonly envName: string;
  readonly region: string;
  readonly level: CostLevel;
  /** The price table used: its date (YYYY-MM-DD, when the prices were taken) and region. */
  readonly priceTable: { readonly date: string; readonly region: string; readonly currency: 'USD' };
  readonly hoursPerMonth: number;
  /** Load the cost is taken at. */
  readonly load: {
    readonly apiTasks: number;
    readonly workerTasks: number;
    /** Aurora reader instances. */
    readonly readers: number;
    /** Serverless v2 capacity of each instance (ACU), when database.instanceClass is db.serverless. */
    readonly acuPerInstance?: number;
    readonly requestsPerSecond: number;
    readonly jobsPerSecond: number;
  };
  readonly items: readonly CostLineItem[];
  /** Sum of monthlyUsd per service. */
  readonly totalsByService: Readonly<Partial<Record<CostService, number>>>;
  readonly totalMonthlyUsd: number;
  /** The assumptions behind the quantities, one sentence each. */
  readonly assumptions: readonly string[];
  /** What the bill will also have that this estimate leaves out, and why. */
  readonly notIncluded: readonly string[];
  /** priceKeys of the prices used that are `verified: false`. */
  readonly unverifiedPrices: readonly string[];
}

/** One stated assumption: its value, its unit and why that value. */
interface Assumption {
  readonly value: number;
  readonly unit: string;
  readonly why: string;
}

/**
 * The figures the configuration does not give and the estimate needs. Each is stated in the report where it
 * is used; change one here and the tests that pin a figure say which.
 */
export const COST_ASSUMPTIONS = {
  responseBytes: { value: 1000, unit: 'bytes', why: 'a JSON item or job response of the reference workload with its headers' },
  requestHeaderBytes: { value: 500, unit: 'bytes', why: 'request line and headers of a typical HTTP/1.1 client' },
  requestsPerConnection: { value: 10, unit: 'requests', why: 'clients keep connections alive; 10 requests per new connection' },
  dbStorageGb: { value: 10, unit: 'GB', why: 'no configuration key gives the data size; Aurora bills what is stored' },
  ioPerWrite: { value: 2, unit: 'I/O', why: 'a write request (POST/PUT/PATCH/DELETE of the mix) writes its row and its WAL; reads come from the buffer cache or ElastiCache' },
  ioPerJob: { value: 2, unit: 'I/O', why: 'the worker claims the job row and completes it' },
  sqsRequestsPerJob: { value: 3, unit: 'requests', why: 'SendMessage by the API, then one ReceiveMessage and one DeleteMessage by the worker (receives that return several messages only lower it)' },
  sqsBytesPerRequest: { value: 1500, unit: 'bytes', why: 'an SQS API call and its reply over TLS, through the NAT gateway' },
  cacheEcpuPerRequest: { value: 1, unit: 'ECPU', why: 'one cache read or invalidation of under 1 KB per API request other than the health check' },
  cacheDataGb: { value: 0.5, unit: 'GB', why: 'the items the reference workload caches (1000 ids in the default mix), with headroom' },
  containerLogBytesPerTaskHour: { value: 50_000, unit: 'bytes', why: 'the workload logs start, stop and errors, not each request' },
  flowLogRecordBytes: { value: 130, unit: 'bytes', why: 'one default-format VPC flow log record' },
  flowLogRecordsPerEniHour: { value: 60, unit: 'records', why: 'long-lived flows (health checks, pools, polling) logged once per 10-minute aggregation interval' },
  flowLogRecordsPerConnection: { value: 2, unit: 'records', why: 'a client connection to the load balancer, both directions' },
  dbLogGbPerInstanceMonth: { value: 0.3, unit: 'GB', why: 'the exported postgresql log at default logging' },
  loadTestRunsPerProfile: { value: 1, unit: 'runs a month', why: 'each load profile run once a month where loadTest.enabled' },
  deploysPerMonth: { value: 20, unit: 'deploys', why: 'one API deploy per working day; a blue/green, canary or linear deploy runs a second full revision through its traffic shift and bake time (doubledTaskMinutes)' },
} as const satisfies Record<string, Assumption>;

const A = COST_ASSUMPTIONS;

/**
 * The monthly cost of `config` at `opts.level`. Throws an Error naming the regions the price table has when
 * `config.region` is not one of them, and one naming the priced classes when `database.instanceClass` or
 * `cache.nodeType` has no price in that region.
 */
export function monthlyCost(config: BlueprintConfig, opts: CostOptions): CostReport {
  const prices = pricesFor(config.region);
  const load = loadAt(config, opts);
  const assumptions: string[] = [load.why];
  const items = [
    ...fargate(config, load, prices),
    ...loadBalancer(config, load, prices, assumptions),
    ...vpc(config, load, prices, assumptions),
    ...aurora(config, load, prices, assumptions),
    ...rdsProxy(config, load, prices),
    ...cache(config, load, prices, assumptions),
    ...sqs(config, load, prices, assumptions),
    ...cloudwatch(config, load, prices, assumptions),
    ...loadTestLambda(config, prices, assumptions),
  ].filter((i) => i.quantity > 0);
  const totalsByService: Partial<Record<CostService, number>> = {};
  for (const i of items) totalsByService[i.service] = (totalsByService[i.service] ?? 0) + i.monthlyUsd;
  return {
    envName: config.envName,
    region: config.region,
    level: opts.level,
    priceTable: { date: prices.date, region: prices.region, currency: 'USD' },
    hoursPerMonth: HOURS_PER_MONTH,
    load: {
      apiTasks: load.apiTasks, workerTasks: load.workerTasks, readers: load.readers,
      ...(load.acu !== undefined && { acuPerInstance: load.acu }),
      requestsPerSecond: load.rps, jobsPerSecond: load.jobsPerSecond,
    },
    items,
    totalsByService,
    totalMonthlyUsd: items.reduce((s, i) => s + i.monthlyUsd, 0),
    assumptions,
    notIncluded: NOT_INCLUDED,
    unverifiedPrices: [...new Set(items.filter((i) => !i.verified).map((i) => i.priceKey))],
  };
}

const NOT_INCLUDED = [
  'Container Insights (charged per metric, or per observation with enhanced observability) and the ECS 20-second metrics: no stored source gave a count per task to price',
  'data transfer out to the internet (responses leave through the load balancer at the region\'s DTO rate) and between zones',
  'ECR image storage and pulls through the NAT gateway at each task start',
  'KMS keys ($1 a month each), Secrets Manager secrets and API calls, S3 for the load balancer\'s access logs',
  'Aurora backup storage beyond the free amount (the cluster\'s size) and snapshots kept after deletion',
  'free tiers shared by the whole account (CloudWatch, Lambda), except SQS\'s first million requests',
];

// ---------------------------------------------------------------------------------------------------------
// The load at a level
// ---------------------------------------------------------------------------------------------------------

interface Load {
  readonly apiTasks: number;
  readonly workerTasks: number;
  readonly readers: number;
  /** Serverless v2 ACU of each instance; undefined for a provisioned class. */
  readonly acu?: number;
  readonly level: CostOptions['level'];
  /** Where the API's tasks stand between minTasks (0) and maxTasks (1): capacity that scales with them follows it. */
  readonly share: number;
  readonly rps: number;
  readonly jobsPerSecond: number;
  readonly why: string;
}

function loadAt(config: BlueprintConfig, opts: CostOptions): Load {
  const { api, worker, database: db } = config;
  const jobShare = jobsPerRequest(config.loadTest.mix);
  const serverless = db.instanceClass === 'db.serverless';
  const minReaders = Math.max(db.readers, db.readerAutoscaling.enabled ? db.readerAutoscaling.minReaders : 0);
  const maxReaders = db.readerAutoscaling.enabled ? Math.max(db.readers, db.readerAutoscaling.maxReaders) : db.readers;
  const acu = (share: number) => serverless
    ? db.serverlessV2MinCapacityAcu + (db.serverlessV2MaxCapacityAcu - db.serverlessV2MinCapacityAcu) * share
    : undefined;
  if (opts.level === 'min') {
    return {
      level: 'min', share: 0, apiTasks: api.minTasks, workerTasks: worker.minTasks, readers: minReaders, acu: acu(0), rps: 0, jobsPerSecond: 0,
      why: `min: api.minTasks ${api.minTasks}, worker.minTasks ${worker.minTasks}, ${minReaders} reader(s), no traffic`,
    };
  }
  if (opts.level === 'max') {
    const rps = sustainedCeilingRps(api.maxTasks, api.requestsPerTarget);
    return {
      level: 'max', share: 1, apiTasks: api.maxTasks, workerTasks: worker.maxTasks, readers: maxReaders, acu: acu(1), rps, jobsPerSecond: rps * jobShare,
      why: `max: api.maxTasks ${api.maxTasks}, worker.maxTasks ${worker.maxTasks}, ${maxReaders} reader(s), ` +
        `the API's sustained ceiling ${round(rps)} req/s (maxTasks × requestsPerTarget ÷ 60) all month, ${pct(jobShare)} of requests submit a job`,
    };
  }
  const rps = opts.averageRps ?? profileAverageRps(config.loadTest.profiles.load);
  const rpsFrom = opts.averageRps !== undefined ? 'given' : 'the load profile\'s time-weighted mean';
  const jobsPerSecond = rps * jobShare;
  const apiTasks = opts.averageTasks?.api ?? tasksForRate(rps, api.requestsPerTarget / 60, api.minTasks, api.maxTasks);
  const workerTasks = opts.averageTasks?.worker
    ?? tasksForRate(jobsPerSecond, workerThroughputPerTask(worker.concurrency, worker.avgProcessingSeconds), worker.minTasks, worker.maxTasks);
  const share = api.maxTasks > api.minTasks ? Math.min(1, Math.max(0, (apiTasks - api.minTasks) / (api.maxTasks - api.minTasks))) : 0;
  const readers = opts.averageReaders ?? minReaders;
  return {
    level: 'average', share, apiTasks, workerTasks, readers, acu: acu(share), rps, jobsPerSecond,
    why: `average: ${round(rps)} req/s (${rpsFrom}) all month; ${round(apiTasks)} API and ${round(workerTasks)} worker tasks ` +
      `(${opts.averageTasks ? 'from the simulation' : 'what that rate needs at the request target and at the worker\'s throughput'}); ` +
      `${round(readers)} reader(s)${serverless ? `; Serverless v2 at ${round(acu(share) ?? 0)} ACU, in proportion to the API tasks between min and max` : ''}`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Line items by service
// ---------------------------------------------------------------------------------------------------------

function line(service: CostService, item: string, quantity: number, price: Price, priceKey: string, assumption?: string): CostLineItem {
  return {
    service, item, quantity, unit: price.unit, unitPriceUsd: price.usd, monthlyUsd: quantity * price.usd, priceKey,
    source: price.source, verified: price.verified,
    ...(price.note !== undefined && { priceNote: price.note }),
    ...(assumption !== undefined && { assumption }),
  };
}

/**
 * Fargate bills the vCPU and memory a task asks for, per second while it runs. The API runs on FARGATE; the
 * worker splits between FARGATE and FARGATE_SPOT by its capacity provider strategy (capacityProviderSplit).
 * https://aws.amazon.com/fargate/pricing/
 */
function fargate(config: BlueprintConfig, load: Load, prices: RegionPrices): CostLineItem[] {
  const arch = config.compute.cpuArchitecture;
  const split = capacityProviderSplit(load.workerTasks, config.worker.capacityProviders);
  const service = (name: string, task: { cpu: number; memoryMiB: number }, tasks: number, capacity: 'onDemand' | 'spot') => {
    const rates = prices.fargate[capacity][arch];
    const label = `${arch}, ${capacity === 'spot' ? 'Spot' : 'on-demand'}`;
    return [
      line('Fargate', `${name} vCPU-hours (${label})`, tasks * (task.cpu / 1024) * HOURS_PER_MONTH, rates.vcpuHour, `fargate.${capacity}.${arch}.vcpuHour`),
      line('Fargate', `${name} GB-hours (${label})`, tasks * (task.memoryMiB / 1024) * HOURS_PER_MONTH, rates.gbHour, `fargate.${capacity}.${arch}.gbHour`),
    ];
  };
  return [
    ...service('API', config.api, load.apiTasks, 'onDemand'),
    ...deploymentSurge(config, load, prices),
    ...service('Worker', config.worker, split.fargate, 'onDemand'),
    ...service('Worker', config.worker, split.spot, 'spot'),
  ];
}

/**
 * The API's second revision during deployments of the blue/green family: ECS starts the new revision at the
 * full task count beside the old one and keeps both until the bake time ends (TRAFFIC_SHIFT_SURGE_PERCENT,
 * doubledTaskMinutes in lib/config/capacity.ts), COST_ASSUMPTIONS.deploysPerMonth times a month. A rolling
 * deploy's surge lasts only while tasks start and is not priced.
 */
function deploymentSurge(config: BlueprintConfig, load: Load, prices: RegionPrices): CostLineItem[] {
  const d = config.api.deployment;
  const minutes = doubledTaskMinutes(d);
  if (!shiftsTraffic(d.strategy) || minutes === 0) return [];
  const arch = config.compute.cpuArchitecture;
  const rates = prices.fargate.onDemand[arch];
  const hours = A.deploysPerMonth.value * (minutes / 60);
  const why = `api.deployment.strategy "${d.strategy}": a second revision of ${round(load.apiTasks)} tasks for ${minutes} min per deploy (traffic shift and bake time), ${A.deploysPerMonth.value} deploys a month (${A.deploysPerMonth.why})`;
  return [
    line('Fargate', `API deploys: second revision vCPU-hours (${arch}, on-demand)`, load.apiTasks * (config.api.cpu / 1024) * hours, rates.vcpuHour, `fargate.onDemand.${arch}.vcpuHour`, why),
    line('Fargate', `API deploys: second revision GB-hours (${arch}, on-demand)`, load.apiTasks * (config.api.memoryMiB / 1024) * hours, rates.gbHour, `fargate.onDemand.${arch}.gbHour`, why),
  ];
}

/**
 * The load balancer's LCUs at the level's rate, by AWS's four dimensions, of which the highest is billed:
 * 25 new connections/s, 3000 active connections/min, 1 GB processed/hour (IP targets), 1000 rule
 * evaluations/s beyond the first 10 rules. https://aws.amazon.com/elasticloadbalancing/pricing/
 */
export function albLcus(config: BlueprintConfig, rps: number): { readonly lcu: number; readonly dimensions: Readonly<Record<string, number>>; readonly billedOn: string } {
  const mixWeight = config.loadTest.mix.reduce((s, r) => s + r.weight, 0);
  const requestBytes = config.loadTest.mix.reduce((s, r) => s + r.weight * (A.requestHeaderBytes.value + (r.body?.length ?? 0)), 0) / mixWeight;
  const bytesPerRequest = requestBytes + A.responseBytes.value;
  const newConnectionsPerSecond = rps / A.requestsPerConnection.value;
  // A connection stays open until the client closes it or it idles for alb.idleTimeoutSeconds: the upper bound.
  const activeConnections = newConnectionsPerSecond * config.alb.idleTimeoutSeconds;
  // The listener's rules: one per alb.routes entry, the alb.blockedPaths rule, and the default action.
  const rules = config.alb.routes.length + (config.alb.blockedPaths.length > 0 ? 1 : 0) + 1;
  const dimensions = {
    'new connections': newConnectionsPerSecond / 25,
    'active connections': activeConnections / 3000,
    'processed bytes': (rps * bytesPerRequest * 3600) / GB,
    'rule evaluations': (rps * Math.max(0, rules - 10)) / 1000,
  };
  const [billedOn, lcu] = Object.entries(dimensions).reduce((a, b) => (b[1] > a[1] ? b : a));
  return { lcu, dimensions, billedOn };
}

function loadBalancer(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const { lcu, dimensions, billedOn } = albLcus(config, load.rps);
  const detail = Object.entries(dimensions).map(([d, v]) => `${d} ${round(v, 4)}`).join(', ');
  const why = `LCUs at ${round(load.rps)} req/s: ${detail}; billed on ${billedOn} (the highest). ` +
    `${A.requestsPerConnection.value} requests per client connection, connections held up to alb.idleTimeoutSeconds ${config.alb.idleTimeoutSeconds} s, ` +
    `${A.responseBytes.value}-byte responses, request bytes from loadTest.mix`;
  if (load.rps > 0) assumptions.push(why);
  return [
    line('Elastic Load Balancing', 'Application Load Balancer hours', HOURS_PER_MONTH, prices.alb.hour, 'alb.hour'),
    line('Elastic Load Balancing', 'LCU-hours', lcu * HOURS_PER_MONTH, prices.alb.lcuHour, 'alb.lcuHour', why),
  ];
}

/**
 * NAT gateways by the hour and by the GB they process, and the public IPv4 addresses (the load balancer's,
 * one per zone it spans, and each NAT gateway's Elastic IP). What crosses a NAT gateway: the tasks' calls to
 * AWS APIs outside the VPC (SQS, CloudWatch Logs); the load balancer's traffic, the database and the cache
 * stay inside. https://aws.amazon.com/vpc/pricing/
 */
function vpc(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const nats = config.network.natGateways;
  const sqsGb = (sqsRequestsPerMonth(config, load).total * A.sqsBytesPerRequest.value) / GB;
  const logGb = containerLogGb(load);
  const why = `NAT data: the SQS calls (${A.sqsBytesPerRequest.value} bytes each, ${round(sqsGb, 3)} GB) and the containers' logs (${round(logGb, 3)} GB); image pulls not counted`;
  assumptions.push(why);
  return [
    line('VPC', `NAT gateway hours (${nats} gateway${nats === 1 ? '' : 's'})`, nats * HOURS_PER_MONTH, prices.natGateway.hour, 'natGateway.hour'),
    line('VPC', 'NAT gateway data processed', sqsGb + logGb, prices.natGateway.gbProcessed, 'natGateway.gbProcessed', why),
    line('VPC', `Public IPv4 address hours (load balancer in ${config.network.maxAzs} zones, ${nats} NAT)`,
      (config.network.maxAzs + nats) * HOURS_PER_MONTH, prices.publicIpv4Hour, 'publicIpv4Hour'),
  ];
}

/**
 * Aurora Standard: each instance by the hour (a provisioned class) or by the ACU-hour (Serverless v2, each
 * instance at the level's ACU; 0 ACU is auto-pause and costs nothing), storage by the GB-month and I/O by the
 * million requests. https://aws.amazon.com/rds/aurora/pricing/
 */
function aurora(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const db = config.database;
  const compute = db.sharding.mode === 'limitless' ? limitlessCompute(config, load, prices, assumptions) : clusterCompute(config, load, prices);
  const writeShare = shareOfMix(config, (r) => !['GET', 'HEAD'].includes(r.method));
  const ioPerSecond = load.rps * writeShare * A.ioPerWrite.value + load.jobsPerSecond * A.ioPerJob.value;
  const ioWhy = `I/O: ${A.ioPerWrite.value} per write request (${pct(writeShare)} of the mix) and ${A.ioPerJob.value} per job; reads from the buffer cache or ElastiCache`;
  const storageWhy = `storage: ${A.dbStorageGb.value} GB (${A.dbStorageGb.why})`;
  assumptions.push(storageWhy);
  if (ioPerSecond > 0) assumptions.push(ioWhy);
  return [
    compute,
    line('Aurora', 'Storage (Aurora Standard)', A.dbStorageGb.value, prices.aurora.storageGbMonth, 'aurora.storageGbMonth', storageWhy),
    line('Aurora', 'I/O requests', (ioPerSecond * SECONDS_PER_MONTH) / 1e6, prices.aurora.ioPerMillion, 'aurora.ioPerMillion', ioWhy),
  ];
}

/**
 * The instances of every cluster: with `database.sharding.mode` clusters each of the N clusters has the whole
 * `database` section's writer and readers (lib/constructs/aurora-database.ts), so compute is N times one
 * cluster's. Storage and I/O are not: the same data and writes are split over the clusters.
 */
function clusterCompute(config: BlueprintConfig, load: Load, prices: RegionPrices): CostLineItem {
  const db = config.database;
  const clusters = shardClusterCount(db);
  const instances = clusters * (1 + load.readers);
  const each = clusters > 1 ? ` in each of ${clusters} clusters` : '';
  return load.acu !== undefined
    ? line('Aurora', `Serverless v2 ACU-hours (${instances} instance${instances === 1 ? '' : 's'} at ${round(load.acu)} ACU${clusters > 1 ? `: ${clusters} clusters` : ''})`,
      instances * load.acu * HOURS_PER_MONTH, prices.aurora.serverlessV2AcuHour, 'aurora.serverlessV2AcuHour')
    : line('Aurora', `${db.instanceClass} instance hours (writer + ${load.readers} reader${load.readers === 1 ? '' : 's'}${each})`,
      instances * HOURS_PER_MONTH, priceOf(prices.aurora.instanceHour, db.instanceClass, 'database.instanceClass', config.region),
      `aurora.instanceHour.${db.instanceClass}`);
}

/**
 * Aurora Limitless bills the DB shard group's ACUs by the hour, between `minCapacityAcu` (billed while it runs:
 * the cost floor) and `maxCapacityAcu`, in proportion to the API tasks like Serverless v2 here. The price table
 * has no Limitless ACU rate (no stored copy of the pricing page showed one): the line uses the Serverless v2
 * ACU rate, marked unverified, and says so. https://aws.amazon.com/rds/aurora/pricing/
 */
function limitlessCompute(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem {
  const { minCapacityAcu: min, maxCapacityAcu: max } = config.database.sharding.limitless;
  const share = load.level === 'min' ? 0 : load.level === 'max' ? 1 : load.share;
  const acu = min + (max - min) * share;
  const why = `Limitless: the shard group at ${round(acu)} ACU (minCapacityAcu ${min}, maxCapacityAcu ${max}), priced at the Serverless v2 ACU rate: `
    + 'the table has no Limitless rate; check the pricing page';
  assumptions.push(why);
  const price: Price = { ...prices.aurora.serverlessV2AcuHour, verified: false, note: 'Limitless ACU rate unknown here: the Serverless v2 ACU-hour price stands in' };
  return line('Aurora', `Limitless DB shard group ACU-hours (${round(acu)} ACU)`, acu * HOURS_PER_MONTH, price, 'aurora.serverlessV2AcuHour', why);
}

/**
 * RDS Proxy bills the capacity of the instances behind it: per vCPU-hour of each provisioned instance, with a
 * minimum of 2 vCPUs, or per ACU-hour of Serverless v2, with a minimum of 8 ACUs.
 * https://aws.amazon.com/rds/proxy/pricing/
 */
export const RDS_PROXY_MIN_VCPU = 2;
export const RDS_PROXY_MIN_ACU = 8;

function rdsProxy(config: BlueprintConfig, load: Load, prices: RegionPrices): CostLineItem[] {
  const db = config.database;
  // Limitless has no proxy (the loader refuses one); with clusters, one proxy per cluster, each billed on its own.
  if (!db.proxy.enabled || db.sharding.mode === 'limitless') return [];
  const clusters = shardClusterCount(db);
  const per = clusters > 1 ? `, ${clusters} proxies` : '';
  const instances = 1 + load.readers;
  if (load.acu !== undefined) {
    const acu = Math.max(RDS_PROXY_MIN_ACU, instances * load.acu);
    return [line('RDS Proxy', `ACU-hours (${instances} instance${instances === 1 ? '' : 's'}, at least ${RDS_PROXY_MIN_ACU}${per})`, clusters * acu * HOURS_PER_MONTH,
      prices.rdsProxy.acuHour, 'rdsProxy.acuHour')];
  }
  const size = dbInstanceClassSize(db.instanceClass);
  if (!size) throw new Error(`no vCPU count for database.instanceClass "${db.instanceClass}" in lib/config/capacity.ts DB_INSTANCE_CLASS_SIZE. Fix: add the class there.`);
  const vcpus = Math.max(RDS_PROXY_MIN_VCPU, instances * size.vcpu);
  return [line('RDS Proxy', `vCPU-hours (${instances} × ${size.vcpu} vCPU of ${db.instanceClass}${per})`, clusters * vcpus * HOURS_PER_MONTH,
    prices.rdsProxy.vcpuHour, 'rdsProxy.vcpuHour')];
}

/**
 * ElastiCache: a replication group bills each node by the hour (shards × (1 + replicas) nodes); a serverless
 * cache bills data stored by the GB-hour (at least 100 MB for Valkey, 1 GB for Redis OSS) and ECPUs by the
 * million. https://aws.amazon.com/elasticache/pricing/
 */
export const SERVERLESS_CACHE_MIN_GB = { valkey: 0.1, redis: 1 } as const;

function cache(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const c = config.cache;
  const engine = prices.elasticache[c.engine];
  if (c.mode === 'replication-group') {
    const nodes = c.shards * (1 + c.replicas);
    return [line('ElastiCache', `${c.nodeType} node hours (${c.engine}, ${c.shards} shard${c.shards === 1 ? '' : 's'} × ${1 + c.replicas} node${c.replicas === 0 ? '' : 's'})`,
      nodes * HOURS_PER_MONTH, priceOf(engine.nodeHour, c.nodeType, 'cache.nodeType', config.region), `elasticache.${c.engine}.nodeHour.${c.nodeType}`)];
  }
  const gb = Math.min(c.serverlessMaxDataStorageGb, Math.max(SERVERLESS_CACHE_MIN_GB[c.engine], A.cacheDataGb.value));
  const cachedShare = shareOfMix(config, (r) => r.path.split('?')[0] !== config.alb.healthCheck.path);
  const ecpuPerSecond = load.rps * cachedShare * A.cacheEcpuPerRequest.value;
  const why = `serverless cache: ${gb} GB stored (${A.cacheDataGb.why}), ${A.cacheEcpuPerRequest.value} ECPU per request other than the health check`;
  assumptions.push(why);
  return [
    line('ElastiCache', `Serverless data stored (${c.engine})`, gb * HOURS_PER_MONTH, engine.serverlessGbHour, `elasticache.${c.engine}.serverlessGbHour`, why),
    line('ElastiCache', `Serverless ECPUs (${c.engine})`, (ecpuPerSecond * SECONDS_PER_MONTH) / 1e6, engine.serverlessEcpuPerMillion,
      `elasticache.${c.engine}.serverlessEcpuPerMillion`, why),
  ];
}

/** SQS's first million requests a month are free (per account). https://aws.amazon.com/sqs/pricing/ */
export const SQS_FREE_REQUESTS = 1_000_000;

/**
 * SQS requests in a month: the jobs' (send, receive, delete) and the worker's long polls. Each running worker
 * task keeps one ReceiveMessage waiting up to queue.receiveWaitTimeSeconds, so an idle task makes 3600 ÷ that
 * many a hour (an upper bound: polls that return messages are the jobs' receives).
 */
function sqsRequestsPerMonth(config: BlueprintConfig, load: Load): { readonly jobs: number; readonly polls: number; readonly total: number } {
  // Every job is sent; the worker receives and deletes no more than its tasks get through (the rest waits, or expires).
  const consumed = Math.min(load.jobsPerSecond, load.workerTasks * workerThroughputPerTask(config.worker.concurrency, config.worker.avgProcessingSeconds));
  const jobs = (load.jobsPerSecond + consumed * (A.sqsRequestsPerJob.value - 1)) * SECONDS_PER_MONTH;
  const polls = load.workerTasks * HOURS_PER_MONTH * (3600 / Math.max(1, config.queue.receiveWaitTimeSeconds));
  return { jobs, polls, total: jobs + polls };
}

function sqs(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const r = sqsRequestsPerMonth(config, load);
  const billed = Math.max(0, r.total - SQS_FREE_REQUESTS);
  const why = `SQS: ${A.sqsRequestsPerJob.value} requests per job, the worker's two only for the jobs its tasks get through (${round(r.jobs / 1e6, 3)} M), and each worker task's long polls every ` +
    `${Math.max(1, config.queue.receiveWaitTimeSeconds)} s (${round(r.polls / 1e6, 3)} M), less the free ${SQS_FREE_REQUESTS / 1e6} M`;
  assumptions.push(why);
  return [line('SQS', 'Standard queue requests', billed / 1e6, prices.sqs.standardPerMillion, 'sqs.standardPerMillion', why)];
}

// ---------------------------------------------------------------------------------------------------------
// CloudWatch: alarms, dashboards, custom metrics, logs
// https://aws.amazon.com/cloudwatch/pricing/
// ---------------------------------------------------------------------------------------------------------

/** The alarms an environment's stacks create, priced as CloudWatch bills them. */
export interface AlarmInventory {
  /** Standard-resolution alarms and the metrics they read (an alarm is billed per metric it reads). */
  readonly standard: { readonly alarms: number; readonly metrics: number };
  /** High-resolution alarms (Application Auto Scaling's on the 20-second ECS metrics). */
  readonly highResolution: { readonly alarms: number; readonly metrics: number };
  readonly composite: number;
}

/** Metrics a KPI of the catalogue reads: a metric row one, a derived KPI the rows its math uses. */
function kpiMetricCount(kpi: KpiKey, config: BlueprintConfig): number {
  if (isMetricKey(kpi)) return 1;
  const row = KPI_DERIVED_ROW[kpi as KpiDerivedKey] as (typeof KPI_DERIVED_ROW)[KpiDerivedKey];
  if ('errorsOf' in row) return 2;
  if ('math' in row) return Object.keys(row.math.using).length;
  return config.cache.mode === 'serverless'
    ? Object.keys(row.byCacheMode.serverless.using).length
    : config.cache.shards * (1 + config.cache.replicas);
}

/**
 * Every alarm the stacks create for `config`, from the same tables the constructs build them from: the KPI
 * alarms (lib/config/alarm-kinds.ts, one per row and configured severity, the traffic guard adding the
 * request count), `alarms.apiAtMaxTasks`, two windows per SLO burn rate and objective and their composites,
 * the service-health composite, the worker's scale-from-zero alarm, and the two alarms Application Auto
 * Scaling creates for each target-tracking policy (API CPU, memory, requests; worker backlog; readers).
 */
export function alarmInventory(config: BlueprintConfig): AlarmInventory {
  let alarms = 0;
  let metrics = 0;
  const add = (n: number, m: number) => { alarms += n; metrics += n * m; };
  for (const key of Object.keys(ALARM_KINDS) as ThresholdKey[]) {
    const t = config.alarms[key];
    const severities = (t.warning !== null ? 1 : 0) + (t.critical !== null ? 1 : 0);
    for (const row of ALARM_KINDS[key].alarms) {
      const own = kpiMetricCount(row.kpi, config);
      const guard = row.underTraffic && !('errorsOf' in (KPI_DERIVED_ROW[row.kpi as KpiDerivedKey] ?? {})) ? 1 : 0;
      add(severities, own + guard);
    }
  }
  if (config.alarms.apiAtMaxTasks) add(1, 1);
  // Per burn rate: availability reads requests and both 5xx counts, latency reads requests and the percentile rank.
  add(config.slo.burnRates.length * 2, 3);
  add(config.slo.burnRates.length * 2, 2);
  const backlogMetrics = config.worker.scaleOnInFlightMessages ? 3 : 2;
  if (config.worker.minTasks === 0) add(1, backlogMetrics);
  add(2, 1); // API request-count policy
  add(2, backlogMetrics); // worker backlog policy
  if (config.database.readerAutoscaling.enabled) add(2, 1);
  const cpuMemory = { alarms: 4, metrics: 4 }; // API CPU and memory policies: AlarmHigh and AlarmLow each
  const highRes = config.api.metricResolutionSeconds === 20;
  return {
    standard: highRes ? { alarms, metrics } : { alarms: alarms + cpuMemory.alarms, metrics: metrics + cpuMemory.metrics },
    highResolution: highRes ? cpuMemory : { alarms: 0, metrics: 0 },
    composite: config.slo.burnRates.length * 2 + 1,
  };
}

/** GB of container logs in a month: API and worker tasks. */
function containerLogGb(load: Load): number {
  return ((load.apiTasks + load.workerTasks) * HOURS_PER_MONTH * A.containerLogBytesPerTaskHour.value) / GB;
}

function cloudwatch(config: BlueprintConfig, load: Load, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const cw = prices.cloudwatch;
  const inv = alarmInventory(config);
  const alarmWhy = `alarms from the configuration: ${inv.standard.alarms} standard (${inv.standard.metrics} metrics), ` +
    `${inv.highResolution.alarms} high-resolution (${inv.highResolution.metrics} metrics), ${inv.composite} composite; ` +
    'the target-tracking alarms Application Auto Scaling creates included';
  assumptions.push(alarmWhy);

  // Log groups: the containers', the VPC flow logs, the exported postgresql log; stored for their retention.
  const containers = containerLogGb(load);
  const enis = load.apiTasks + load.workerTasks + config.network.maxAzs + config.network.natGateways + 1 + load.readers
    + (config.cache.mode === 'replication-group' ? config.cache.shards * (1 + config.cache.replicas) : config.network.maxAzs);
  const connections = (load.rps / A.requestsPerConnection.value) * SECONDS_PER_MONTH;
  const flow = ((enis * HOURS_PER_MONTH * A.flowLogRecordsPerEniHour.value + connections * A.flowLogRecordsPerConnection.value) * A.flowLogRecordBytes.value) / GB;
  const dbLog = (1 + load.readers) * A.dbLogGbPerInstanceMonth.value;
  const months = (days: number) => days / (365 / 12);
  const stored = containers * months(config.compute.logRetentionDays) + flow * months(config.network.flowLogRetentionDays)
    + dbLog * months(config.database.logRetentionDays);
  const logWhy = `logs: containers ${round(containers, 3)} GB (${A.containerLogBytesPerTaskHour.value} bytes per task-hour), ` +
    `flow logs ${round(flow, 3)} GB (${enis} network interfaces, ${A.flowLogRecordsPerEniHour.value} records per interface-hour and ` +
    `${A.flowLogRecordsPerConnection.value} per client connection, ${A.flowLogRecordBytes.value} bytes each), postgresql ${round(dbLog, 3)} GB; ` +
    'stored for each group\'s retention at steady state, uncompressed (an upper bound)';
  assumptions.push(logWhy);

  const items = [
    line('CloudWatch', 'Alarm metrics (standard resolution)', inv.standard.metrics, cw.alarmMetricMonth, 'cloudwatch.alarmMetricMonth', alarmWhy),
    line('CloudWatch', 'Alarm metrics (high resolution)', inv.highResolution.metrics, cw.highResAlarmMetricMonth, 'cloudwatch.highResAlarmMetricMonth', alarmWhy),
    line('CloudWatch', 'Composite alarms', inv.composite, cw.compositeAlarmMonth, 'cloudwatch.compositeAlarmMonth', alarmWhy),
    line('CloudWatch', 'Dashboards (the KPI dashboard)', 1, cw.dashboardMonth, 'cloudwatch.dashboardMonth'),
    line('CloudWatch', 'Logs ingested', containers + flow + dbLog, cw.logsIngestedGb, 'cloudwatch.logsIngestedGb', logWhy),
    line('CloudWatch', 'Logs stored', stored, cw.logsStoredGbMonth, 'cloudwatch.logsStoredGbMonth', logWhy),
  ];
  const runHours = loadTestRuns(config).reduce((s, r) => s + r.seconds / 3600, 0);
  if (runHours > 0) {
    // Each run publishes its own series (dimension RunId); CloudWatch prorates a metric by the hours it is published.
    const metricMonths = (Object.keys(LOADTEST_METRICS).length * runHours) / HOURS_PER_MONTH;
    const why = `load-test metrics: ${Object.keys(LOADTEST_METRICS).length} per run, published for the run's ${round(runHours, 2)} hours a month in all`;
    items.push(line('CloudWatch', 'Custom metrics (load-test client metrics)', metricMonths, cw.metricMonth, 'cloudwatch.metricMonth', why));
  }
  return items;
}

// ---------------------------------------------------------------------------------------------------------
// The load-test Lambda (loadTest.enabled)
// https://aws.amazon.com/lambda/pricing/
// ---------------------------------------------------------------------------------------------------------

interface LoadTestRun {
  readonly profile: string;
  readonly workers: number;
  readonly seconds: number;
  readonly invocations: number;
}

/** The runs assumed a month: each profile that fits loadTest's fan-out limits, as `npm run loadtest` plans it. */
function loadTestRuns(config: BlueprintConfig): LoadTestRun[] {
  if (!config.loadTest.enabled) return [];
  const lt = config.loadTest;
  return LOAD_PROFILES.flatMap((profile) => {
    try {
      const plan = planFanOut(lt.profiles[profile].phases, lt);
      return Array.from({ length: A.loadTestRunsPerProfile.value }, () => ({
        profile, workers: plan.workers, seconds: plan.durationSeconds, invocations: plan.workers * plan.slices.length,
      }));
    } catch (e) {
      if (e instanceof PlanError) return []; // a profile the limits refuse never runs
      throw e;
    }
  });
}

function loadTestLambda(config: BlueprintConfig, prices: RegionPrices, assumptions: string[]): CostLineItem[] {
  const runs = loadTestRuns(config);
  if (runs.length === 0) return [];
  const gb = config.loadTest.lambdaMemoryMiB / 1024;
  const gbSeconds = runs.reduce((s, r) => s + r.workers * r.seconds * gb, 0);
  const invocations = runs.reduce((s, r) => s + r.invocations, 0);
  const why = `load tests: ${runs.map((r) => `${r.profile} ${r.workers} worker(s) × ${r.seconds} s`).join(', ')} ` +
    `(${A.loadTestRunsPerProfile.value} run of each profile a month) at ${config.loadTest.lambdaMemoryMiB} MiB, arm64`;
  assumptions.push(why);
  return [
    line('Lambda', 'Load generator GB-seconds (arm64)', gbSeconds, prices.lambda.arm64GbSecond, 'lambda.arm64GbSecond', why),
    line('Lambda', 'Load generator requests', invocations / 1e6, prices.lambda.requestsPerMillion, 'lambda.requestsPerMillion', why),
  ];
}

// ---------------------------------------------------------------------------------------------------------

/** Share of the load mix's weight whose request matches. */
function shareOfMix(config: BlueprintConfig, match: (r: BlueprintConfig['loadTest']['mix'][number]) => boolean): number {
  const total = config.loadTest.mix.reduce((s, r) => s + r.weight, 0);
  return total > 0 ? config.loadTest.mix.filter(match).reduce((s, r) => s + r.weight, 0) / total : 0;
}

function priceOf(table: Readonly<Record<string, Price>>, key: string, configKey: string, region: string): Price {
  const price = table[key];
  if (!price) {
    throw new Error(
      `no price for ${configKey} "${key}" in region ${region} (tools/plan/prices has ${Object.keys(table).sort().join(', ')}). ` +
      `Fix: add its price from the AWS pricing page to tools/plan/prices/${region}.ts, or choose a priced one.`,
    );
  }
  return price;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function pct(share: number): string {
  return `${round(share * 100, 1)} %`;
}
