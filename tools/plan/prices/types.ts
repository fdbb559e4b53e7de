/**
 * The shape of the planner's price table: one file per region, every number with the AWS pricing page it
 * belongs to. Plain data, USD, on-demand list prices, no free tier (cost.ts applies the free tiers it models).
 */

/** One unit price and where it comes from. */
export interface Price {
  readonly usd: number;
  /** The billing unit, e.g. "vCPU-hour", "GB-month", "million requests". */
  readonly unit: string;
  /** The AWS pricing page the price belongs to. */
  readonly source: string;
  /**
   * true: the figure was read in a stored copy of a page (`seenIn`: the AWS page itself, or a page or
   * repository quoting it) on the table's date. false: no stored copy had it; it is the best-known public
   * list price, and `note` says so. Check the unverified ones on `source` before relying on them.
   */
  readonly verified: boolean;
  readonly seenIn?: string;
  readonly note?: string;
}

/** vCPU and memory prices of one Fargate capacity. */
export interface FargateRates {
  readonly vcpuHour: Price;
  readonly gbHour: Price;
}

export interface RegionPrices {
  readonly region: string;
  /** When the prices were taken (YYYY-MM-DD). */
  readonly date: string;
  readonly fargate: {
    readonly onDemand: { readonly x86_64: FargateRates; readonly arm64: FargateRates };
    /** Fargate Spot moves with spare capacity; these are a snapshot, not a list price. */
    readonly spot: { readonly x86_64: FargateRates; readonly arm64: FargateRates };
  };
  readonly alb: { readonly hour: Price; readonly lcuHour: Price };
  readonly natGateway: { readonly hour: Price; readonly gbProcessed: Price };
  /** Public IPv4 addresses (the load balancer's, one per zone, and each NAT gateway's Elastic IP). */
  readonly publicIpv4Hour: Price;
  /** Aurora PostgreSQL, Aurora Standard storage configuration (the one this blueprint deploys). */
  readonly aurora: {
    readonly instanceHour: Readonly<Record<string, Price>>;
    readonly serverlessV2AcuHour: Price;
    readonly storageGbMonth: Price;
    readonly ioPerMillion: Price;
  };
  readonly rdsProxy: { readonly vcpuHour: Price; readonly acuHour: Price };
  readonly elasticache: {
    readonly valkey: CacheEnginePrices;
    readonly redis: CacheEnginePrices;
  };
  readonly sqs: { readonly standardPerMillion: Price };
  readonly cloudwatch: {
    readonly metricMonth: Price;
    /** Standard-resolution (60 s) alarms: per metric the alarm reads (a metric-math alarm reads several). */
    readonly alarmMetricMonth: Price;
    /** High-resolution (10 or 30 s period) alarms: per metric. */
    readonly highResAlarmMetricMonth: Price;
    readonly compositeAlarmMonth: Price;
    readonly dashboardMonth: Price;
    readonly logsIngestedGb: Price;
    readonly logsStoredGbMonth: Price;
  };
  readonly lambda: { readonly arm64GbSecond: Price; readonly x86GbSecond: Price; readonly requestsPerMillion: Price };
}

export interface CacheEnginePrices {
  readonly nodeHour: Readonly<Record<string, Price>>;
  readonly serverlessGbHour: Price;
  readonly serverlessEcpuPerMillion: Price;
}
