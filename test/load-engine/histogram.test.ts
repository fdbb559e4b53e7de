import { createHistogram, histogramOf, percentileOf, rebucket, recordMs, summarize, toDistribution } from '../../lib/load-engine/histogram';

describe('latency histogram', () => {
  // GIVEN a long-tailed distribution of 100,000 latencies (ms) with thousands of distinct HDR values
  const h = createHistogram();
  let x = 12345;
  const rand = () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 100_000; i++) recordMs(h, 0.2 + Math.exp(rand() * 8) * (rand() < 0.01 ? 10 : 1));
  const full = toDistribution(h);

  test('re-buckets into at most 150 values (CloudWatch) with percentiles within 3 %, min and max exact', () => {
    expect(full.values.length).toBeGreaterThan(1000);
    const small = rebucket(full, 150);
    expect(small.values.length).toBeLessThanOrEqual(150);
    expect(small.counts.reduce((a, b) => a + b, 0)).toBe(100_000);
    for (const p of [50, 90, 99, 99.9]) {
      const exact = percentileOf(full, p);
      // 150 geometric bins over 5 decades are ~8 % wide; a bin's weighted mean is within half of that
      expect(Math.abs(percentileOf(small, p) - exact) / exact).toBeLessThan(0.03);
    }
    expect(small.values[0]).toBe(full.values[0]);
    expect(small.values[small.values.length - 1]).toBe(full.values[full.values.length - 1]);
  });

  test('a distribution round-trips through a histogram (merging workers loses nothing)', () => {
    const again = summarize(histogramOf(full));
    const orig = summarize(h);
    expect(again.count).toBe(orig.count);
    for (const k of ['p50Ms', 'p90Ms', 'p99Ms', 'maxMs'] as const) expect(Math.abs(again[k] - orig[k]) / orig[k]).toBeLessThan(0.002);
  });

  test('small distributions are left as they are', () => {
    expect(rebucket({ values: [3, 1, 2, 1], counts: [1, 1, 1, 2] })).toEqual({ values: [1, 2, 3], counts: [3, 1, 1] });
  });
});
