import { createHistogram, histogramOf, percentileOf, rebucket, recordMs, summarize, toDistribution } from '../../../tools/loadtest/histogram';
import { errorRatePercent, mergeResults, slaBreach, summaryLine } from '../../../tools/loadtest/summary';
import { runProfile } from '../../../tools/loadtest/run';
import type { LoadResult, Phase } from '../../../tools/loadtest/types';

function result(over: Partial<LoadResult> = {}): LoadResult {
  const h = createHistogram();
  for (let i = 1; i <= 100; i++) recordMs(h, i);
  return {
    target: 'http://127.0.0.1:1',
    startedAt: '2026-01-01T00:00:00.000Z',
    durationSeconds: 10,
    requestedRps: 10,
    achievedRps: 10,
    scheduled: 100,
    sent: 100,
    completed: 100,
    dropped: 0,
    timeouts: 0,
    errors: 0,
    status: { '1xx': 0, '2xx': 100, '3xx': 0, '4xx': 0, '5xx': 0 },
    latency: summarize(h),
    distribution: toDistribution(h),
    ...over,
  };
}

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

describe('mergeResults', () => {
  test('parallel workers count their time once, consecutive slices add up; counters sum, percentiles re-computed', () => {
    const w1 = result();
    const w2 = result({ status: { '1xx': 0, '2xx': 90, '3xx': 0, '4xx': 5, '5xx': 5 }, errors: 2 });
    const next = result({ startedAt: '2026-01-01T00:00:11.000Z' }); // after a 1-s gap
    const m = mergeResults([w1, w2, next]);
    expect(m.durationSeconds).toBe(20);
    expect(m.sent).toBe(300);
    expect(m.achievedRps).toBe(15);
    expect(m.requestedRps).toBe(15);
    expect(m.status).toEqual({ '1xx': 0, '2xx': 290, '3xx': 0, '4xx': 5, '5xx': 5 });
    expect(m.errors).toBe(2);
    expect(m.latency.count).toBe(300);
    expect(m.latency.p50Ms).toBeCloseTo(50, 0);
    expect(m.startedAt).toBe('2026-01-01T00:00:00.000Z');
  });

  test('warnings are kept', () => {
    expect(mergeResults([result({ warnings: ['a'] }), result({ warnings: ['b'] })]).warnings).toEqual(['a', 'b']);
  });
});

describe('summaryLine', () => {
  test('is one stable line of key=value pairs (HDR percentiles: the top of their 0.1 % bucket)', () => {
    const line = summaryLine(result({ achievedRps: 99.94, requestedRps: 100, errors: 1, timeouts: 2, dropped: 3 }));
    expect(line).toBe(
      'achieved_rps=99.9 requested_rps=100.0 p50_ms=50.02 p90_ms=90.05 p99_ms=99.01 max_ms=100.00 sent=100 errors=1 timeouts=2 dropped=3 2xx=100 3xx=0 4xx=0 5xx=0',
    );
    expect(summaryLine(result(), { breaking_rps: 800 })).toMatch(/ 5xx=0 breaking_rps=800$/);
  });
});

describe('stress stop rule', () => {
  const sla = { errorRatePercent: 1, minAchievedRatePercent: 95 };

  test('the error rate counts 5xx, connection errors and timeouts over requests sent', () => {
    expect(errorRatePercent(result({ errors: 1, timeouts: 1, status: { '1xx': 0, '2xx': 97, '3xx': 0, '4xx': 0, '5xx': 1 } }))).toBe(3);
    expect(slaBreach(result({ errors: 2 }), sla)).toBe('error rate 2.00 % > 1 %');
    expect(slaBreach(result({ achievedRps: 9 }), sla)).toBe('achieved 9.0 req/s = 90.0 % of the requested 10.0 (< 95 %)');
    expect(slaBreach(result({ errors: 1 }), sla)).toBeUndefined();
  });

  test('runs phase by phase and stops after the first phase that breaks the SLA', async () => {
    const phases: Phase[] = [200, 400, 600, 800].map((arrivalRate) => ({ durationSeconds: 60, arrivalRate }));
    const ran: number[] = [];
    const outcome = await runProfile(phases, true, sla, async (p) => {
      ran.push(p[0].arrivalRate);
      return result({ requestedRps: p[0].arrivalRate, achievedRps: p[0].arrivalRate, errors: p[0].arrivalRate >= 600 ? 5 : 0 });
    });
    expect(ran).toEqual([200, 400, 600]);
    expect(outcome.breakingRps).toBe(600);
    expect(outcome.breach).toBe('error rate 5.00 % > 1 %');
    expect(outcome.phaseResults).toHaveLength(3);
    expect(outcome.result.sent).toBe(300);
  });

  test('reports no breaking rate when every phase holds, and runs non-stress profiles in one go', async () => {
    const phases: Phase[] = [{ durationSeconds: 1, arrivalRate: 1 }, { durationSeconds: 1, arrivalRate: 2 }];
    expect((await runProfile(phases, true, sla, async () => result())).breakingRps).toBeNull();
    const calls: number[] = [];
    const one = await runProfile(phases, false, sla, async (p) => (calls.push(p.length), result()));
    expect(calls).toEqual([2]);
    expect(one.breakingRps).toBeUndefined();
  });
});
