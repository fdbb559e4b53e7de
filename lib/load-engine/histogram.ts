import { build, type JsHistogram } from 'hdr-histogram-js';
import type { Distribution, LatencySummary } from '../contracts/loadtest';

/**
 * Latency histograms: HdrHistogram (hdr-histogram-js, the pure-JS build: the WASM one needs async
 * initialisation and buys nothing at one `recordValue` per response) in integer microseconds with 3
 * significant digits, so every percentile is within 0.1 % of the true value from 1 µs to hours.
 */
export type LatencyHistogram = JsHistogram;

/** PutMetricData takes at most 150 distinct values per datum. */
export const CLOUDWATCH_MAX_VALUES = 150;
/** Values kept in a LoadResult's full distribution: enough for percentiles within ~0.5 %, small as JSON. */
export const RESULT_MAX_VALUES = 2000;
/** Values kept per request-mix entry (up to 50 of them in a result): percentiles within ~2 %. */
export const ENDPOINT_MAX_VALUES = 300;

const US_PER_MS = 1000;

export function createHistogram(): LatencyHistogram {
  return build({ useWebAssembly: false, bitBucketSize: 32, numberOfSignificantValueDigits: 3, autoResize: true }) as LatencyHistogram;
}

/** Records one latency given in milliseconds. */
export function recordMs(histogram: LatencyHistogram, ms: number): void {
  histogram.recordValue(ms <= 0 ? 0 : Math.round(ms * US_PER_MS));
}

/** Every distinct recorded value (ms, the middle of its HDR bucket) with its count, ascending. */
export function toDistribution(histogram: LatencyHistogram): Distribution {
  const values: number[] = [];
  const counts: number[] = [];
  if (histogram.totalCount === 0) return { values, counts };
  const it = histogram.recordedValuesIterator;
  it.reset();
  while (it.hasNext()) {
    const v = it.next();
    values.push(histogram.medianEquivalentValue(v.valueIteratedTo) / US_PER_MS);
    counts.push(v.countAtValueIteratedTo);
  }
  return { values, counts };
}

/** Adds a distribution (ms) to a histogram: used to merge the results of several workers or slices. */
export function addDistribution(histogram: LatencyHistogram, distribution: Distribution): void {
  for (let i = 0; i < distribution.values.length; i++) {
    if (distribution.counts[i] > 0) histogram.recordValueWithCount(Math.max(0, Math.round(distribution.values[i] * US_PER_MS)), distribution.counts[i]);
  }
}

export function histogramOf(distribution: Distribution): LatencyHistogram {
  const h = createHistogram();
  addDistribution(h, distribution);
  return h;
}

export function summarize(histogram: LatencyHistogram): LatencySummary {
  if (histogram.totalCount === 0) return { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
  const ms = (us: number) => round3(us / US_PER_MS);
  return {
    count: histogram.totalCount,
    minMs: ms(histogram.minNonZeroValue === Number.MAX_SAFE_INTEGER ? 0 : histogram.minNonZeroValue),
    meanMs: ms(histogram.mean),
    p50Ms: ms(histogram.getValueAtPercentile(50)),
    p90Ms: ms(histogram.getValueAtPercentile(90)),
    p99Ms: ms(histogram.getValueAtPercentile(99)),
    maxMs: ms(histogram.maxValue),
  };
}

/**
 * Re-buckets a distribution into at most `maxValues` values while keeping every percentile close: values
 * are grouped into geometric bins of the smallest ratio that fits (found by bisection, so a narrow
 * distribution keeps fine bins), each bin is represented by its count-weighted mean, and the smallest and
 * largest values are kept exactly (min and max stay true). The relative error of any percentile is at
 * most the bin ratio minus one.
 */
export function rebucket(distribution: Distribution, maxValues: number = CLOUDWATCH_MAX_VALUES): Distribution {
  const { values, counts } = sortedNonEmpty(distribution);
  if (values.length <= maxValues) return { values, counts };
  if (maxValues < 3) throw new Error(`rebucket: maxValues must be ≥ 3, got ${maxValues}`);
  const inner = { values: values.slice(1, -1), counts: counts.slice(1, -1) };
  const budget = maxValues - 2;
  // Latencies below 1 µs are indistinguishable from 0 here: one bin.
  const floor = 0.001;
  const bins = (ratio: number) => binByRatio(inner, floor, ratio);
  let lo = 1;
  let hi = 2;
  while (bins(hi).values.length > budget) hi *= 2;
  for (let i = 0; i < 24; i++) {
    const mid = (lo + hi) / 2;
    if (bins(mid).values.length > budget) lo = mid;
    else hi = mid;
  }
  const binned = bins(hi);
  return {
    values: [values[0], ...binned.values, values[values.length - 1]],
    counts: [counts[0], ...binned.counts, counts[counts.length - 1]],
  };
}

function binByRatio(d: Distribution, floor: number, ratio: number): Distribution {
  const values: number[] = [];
  const counts: number[] = [];
  const logRatio = Math.log(ratio);
  let bin = NaN;
  let sum = 0;
  let count = 0;
  for (let i = 0; i < d.values.length; i++) {
    const v = d.values[i];
    const b = v <= floor ? -1 : Math.floor(Math.log(v / floor) / logRatio);
    if (b !== bin && count > 0) {
      values.push(round3(sum / count));
      counts.push(count);
      sum = 0;
      count = 0;
    }
    bin = b;
    sum += v * d.counts[i];
    count += d.counts[i];
  }
  if (count > 0) {
    values.push(round3(sum / count));
    counts.push(count);
  }
  return { values, counts };
}

function sortedNonEmpty(d: Distribution): { values: number[]; counts: number[] } {
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < d.values.length; i++) if (d.counts[i] > 0) pairs.push([d.values[i], d.counts[i]]);
  pairs.sort((a, b) => a[0] - b[0]);
  const values: number[] = [];
  const counts: number[] = [];
  for (const [v, c] of pairs) {
    if (values.length > 0 && values[values.length - 1] === v) counts[counts.length - 1] += c;
    else {
      values.push(v);
      counts.push(c);
    }
  }
  return { values, counts };
}

/** Milliseconds to the microsecond, so JSON stays short. */
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The value at percentile `p` (0–100) of a distribution (ms); 0 when it is empty. */
export function percentileOf(distribution: Distribution, p: number): number {
  const { values, counts } = sortedNonEmpty(distribution);
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < values.length; i++) {
    seen += counts[i];
    if (seen >= rank) return values[i];
  }
  return values[values.length - 1];
}
