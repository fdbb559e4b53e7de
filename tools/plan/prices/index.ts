import { AP_SOUTHEAST_2 } from './ap-southeast-2';
import { EU_WEST_1 } from './eu-west-1';
import type { RegionPrices } from './types';
import { US_EAST_1 } from './us-east-1';

export type { CacheEnginePrices, FargateRates, Price, RegionPrices } from './types';
export { PRICING_PAGE } from './sources';

/**
 * The planner's price table: on-demand list prices in USD by region, dated, each with its source. Add a
 * region as a file next to these (the same shape, every figure from its AWS pricing page) and list it here.
 */
export const PRICE_TABLE: Readonly<Record<string, RegionPrices>> = {
  [US_EAST_1.region]: US_EAST_1,
  [EU_WEST_1.region]: EU_WEST_1,
  [AP_SOUTHEAST_2.region]: AP_SOUTHEAST_2,
};

/** The regions the table has, sorted. */
export function pricedRegions(): string[] {
  return Object.keys(PRICE_TABLE).sort();
}

/**
 * The prices of `region`. An unknown region is an error that names the regions there are, never a zero:
 * a plan for a region without prices must not look free.
 */
export function pricesFor(region: string): RegionPrices {
  const prices = PRICE_TABLE[region];
  if (!prices) {
    throw new Error(
      `no prices for region "${region}" in tools/plan/prices (it has ${pricedRegions().join(', ')}). ` +
      `Fix: add tools/plan/prices/${region}.ts with that region's prices from the AWS pricing pages, or plan for one of those regions.`,
    );
  }
  return prices;
}
