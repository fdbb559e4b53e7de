import type { BlueprintConfig } from '../../lib/config/schema';

/**
 * Monthly cost of one environment at a level of load (issue 14, item 2). Pure: the configuration and the
 * dated price table in tools/plan/prices/ in, line items out; no AWS call. Every quantity comes from the
 * configuration and lib/config/capacity.ts; every unit price names its source.
 */

/** 730 hours a month: AWS's own pricing examples use it (8760 hours ÷ 12). */
export const HOURS_PER_MONTH = 730;

/**
 * Which load the cost is taken at:
 * - `min`: every service at its minTasks, the readers created with the cluster, Serverless v2 at its minimum
 *   ACU, and no traffic: what the environment costs to keep running with nobody using it.
 * - `average`: the API and the worker at `averageTasks` (the planner's simulation) or, without it, at the
 *   tasks the `load` profile's average rate needs; traffic at that rate all month.
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
}

/** The service a line item bills under, as AWS's bill groups it. */
export type CostService =
  | 'Fargate' | 'Elastic Load Balancing' | 'NAT gateway' | 'Aurora' | 'RDS Proxy' | 'ElastiCache' | 'SQS' | 'CloudWatch' | 'Lambda';

/** One line of the bill: quantity × unit price, with where the price comes from. */
export interface CostLineItem {
  readonly service: CostService;
  /** What is billed, e.g. "API vCPU-hours (arm64, on-demand)". */
  readonly item: string;
  /** Billed quantity in a month, after any free tier (the free part is in `assumption`). */
  readonly quantity: number;
  /** Unit of the quantity and the price, e.g. "vCPU-hour", "GB-month", "million requests". */
  readonly unit: string;
  readonly unitPriceUsd: number;
  /** quantity × unitPriceUsd. */
  readonly monthlyUsd: number;
  /** Key of the price in the table (e.g. "fargate.arm64.vcpuHour"). */
  readonly priceKey: string;
  /** URL of the AWS pricing page the price was taken from. */
  readonly source: string;
  /** false: the price was not found in a stored copy of the source; `priceNote` says what it is. */
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
    readonly readers: number;
    readonly requestsPerSecond: number;
    readonly jobsPerSecond: number;
  };
  readonly items: readonly CostLineItem[];
  /** Sum of monthlyUsd per service. */
  readonly totalsByService: Readonly<Partial<Record<CostService, number>>>;
  readonly totalMonthlyUsd: number;
  /** The assumptions behind the quantities, one sentence each. */
  readonly assumptions: readonly string[];
  /** priceKeys of the prices used that are `verified: false`. */
  readonly unverifiedPrices: readonly string[];
}

/**
 * The monthly cost of `config` at `opts.level`. Throws an Error naming the regions the price table has when
 * `config.region` is not one of them, and when `config.database.instanceClass` or `config.cache.nodeType` has
 * no price there.
 */
export function monthlyCost(config: BlueprintConfig, opts: CostOptions): CostReport {
  void config; void opts;
  throw new Error('monthlyCost: being implemented (issue 14)');
}
