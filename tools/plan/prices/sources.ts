import type { Price } from './types';

/** The AWS pricing pages the table's prices belong to. */
export const PRICING_PAGE = {
  fargate: 'https://aws.amazon.com/fargate/pricing/',
  elb: 'https://aws.amazon.com/elasticloadbalancing/pricing/',
  vpc: 'https://aws.amazon.com/vpc/pricing/',
  aurora: 'https://aws.amazon.com/rds/aurora/pricing/',
  rdsProxy: 'https://aws.amazon.com/rds/proxy/pricing/',
  elasticache: 'https://aws.amazon.com/elasticache/pricing/',
  sqs: 'https://aws.amazon.com/sqs/pricing/',
  cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  lambda: 'https://aws.amazon.com/lambda/pricing/',
} as const;

/**
 * Stored copies the verified figures were read in on the table's date. AWS's own pricing pages render their
 * region tables with JavaScript, so their stored copies hold no figures; these quote them.
 */
export const SEEN_IN = {
  fgcalc: 'https://github.com/theuves/fgcalc/blob/5049a5e21fd511bb80159d17190ef1c05414c95a/src/utils/data.js',
  vantageFargate: 'https://www.vantage.sh/blog/fargate-pricing',
  albBlog: 'https://cloud-horizons.com/blog/alb-the-line-item-nobody-watches/',
  natBlog: 'https://basavytix.com/blog/aws-nat-gateway-pricing',
  natIpv4Blog: 'https://cloudburn.io/blog/aws-nat-gateway-pricing',
  auroraAcuBlog: 'https://c3x.dev/blog/aws-aurora-serverless-v2-cost/',
  auroraStorageBlog: 'https://www.cloudexmachina.io/blog/aws-aurora-pricing',
  auroraIoBlog: 'https://www.jusdb.com/blog/aws-rds-vs-aurora-vs-serverless-cost-comparison',
  elasticacheServerless: 'https://www.usage.ai/blogs/aws/database-savings-plans/elasticache/serverless-pricing/',
  cloudwatchMetrics: 'https://signoz.io/guides/cloudwatch-pricing',
  cloudwatchBlog: 'https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/',
  sqsBlog: 'https://cloudburn.io/blog/amazon-sqs-pricing',
  lambdaBlog: 'https://cloudchipr.com/blog/aws-lambda-pricing',
  lambdaNotes: 'https://git.mcrn.ar/mariano/lambda_local_runner/src/branch/main/docs/lambdas-md/lambda-13-cost.md',
} as const;

/** A price read in a stored copy. */
export function seen(usd: number, unit: string, source: string, seenIn: string, note?: string): Price {
  return { usd, unit, source, verified: true, seenIn, ...(note ? { note } : {}) };
}

/** A best-known list price no stored copy had: check it on `source`. */
export function unverified(usd: number, unit: string, source: string, note: string): Price {
  return { usd, unit, source, verified: false, note };
}

/**
 * Valkey node-based clusters cost 20 % less per node-hour than Redis OSS on the same node type (AWS's
 * launch of Valkey on ElastiCache, October 2024); the Valkey figures are derived from the Redis ones so.
 */
export const VALKEY_NODE_DISCOUNT = 0.8;

/** The Valkey node prices, derived from the Redis OSS ones. */
export function valkeyNodes(redis: Readonly<Record<string, Price>>): Record<string, Price> {
  return Object.fromEntries(Object.entries(redis).map(([node, p]) => [node, unverified(
    round(p.usd * VALKEY_NODE_DISCOUNT), p.unit, p.source,
    `Redis OSS ${p.usd} × ${VALKEY_NODE_DISCOUNT} (Valkey nodes are priced 20 % below Redis OSS)${p.verified ? '' : '; the Redis OSS figure is unverified too'}`,
  )]));
}

function round(n: number): number {
  return Math.round(n * 1e6) / 1e6;
}
