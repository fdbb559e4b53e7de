import { createHistogram, recordMs, summarize, toDistribution } from '../../../lib/load-engine/histogram';
import { errorRatePercent, mergeResults, slaBreach, summaryLine } from '../../../tools/loadtest/summary';
import { runProfile } from '../../../tools/loadtest/run';
import type { LoadResult, Phase } from '../../../lib/contracts/loadtest';

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

describe('mergeResults', () => {
  test('per endpoint: merged by entry name, counts summed, percentiles from the merged distributions, rate over the merged time', () => {
    const endpoint = (name: string, ms: number[], over: Partial<NonNullable<LoadResult['endpoints']>[number]> = {}) => {
      const h = createHistogram();
      for (const v of ms) recordMs(h, v);
      return {
        name, method: 'GET' as const, path: `/${name}`, sent: ms.length, completed: ms.length, timeouts: 0, errors: 0,
        status: { '1xx': 0, '2xx': ms.length, '3xx': 0, '4xx': 0, '5xx': 0 }, achievedRps: ms.length / 10, latency: summarize(h), distribution: toDistribution(h), ...over,
      };
    };
    const fast = Array.from({ length: 50 }, () => 2);
    const slow = Array.from({ length: 50 }, () => 200);
    const w1 = result({ endpoints: [endpoint('read', fast), endpoint('write', slow, { timeouts: 3 })] });
    const w2 = result({ endpoints: [endpoint('read', slow), endpoint('write', slow)], stopped: true });
    const m = mergeResults([w1, w2]);
    expect(m.stopped).toBe(true);
    expect(m.endpoints?.map((e) => [e.name, e.sent, e.timeouts, e.achievedRps])).toEqual([['read', 100, 0, 10], ['write', 100, 3, 10]]);
    const read = m.endpoints![0];
    expect(read.latency.p50Ms).toBeCloseTo(2, 0);
    expect(read.latency.p90Ms).toBeGreaterThanOrEqual(199);
    expect(mergeResults([result(), result()]).endpoints).toBeUndefined();
  });

  test('runProfile: a stress run stopped before a phase broke reports no breaking rate (not "none broke")', async () => {
    const ac = new AbortController();
    const phases: Phase[] = [{ durationSeconds: 1, arrivalRate: 10 }, { durationSeconds: 1, arrivalRate: 20 }, { durationSeconds: 1, arrivalRate: 30 }];
    const ran: number[] = [];
    const outcome = await runProfile(phases, true, { errorRatePercent: 1, minAchievedRatePercent: 90 }, async (p) => {
      ran.push(p[0].arrivalRate);
      if (ran.length === 2) ac.abort();
      // the second phase was cut short: its rate fell, which must not count as a breach
      return ran.length === 2 ? result({ stopped: true, achievedRps: 1, requestedRps: 20 }) : result();
    }, undefined, ac.signal);
    expect(ran).toEqual([10, 20]);
    expect(outcome).toMatchObject({ stopped: true });
    expect(outcome.breakingRps).toBeUndefined();
    expect(outcome.phaseResults).toHaveLength(2);
  });

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
