import type { SlaConfig } from '../../../lib/config/schema';
import { judgeWindow, runCapacity } from '../../../tools/calibrate/judge';
import { at, resultFile, stressRun, window } from './fixture';

/** The defaults' SLA (cdk.json), written out so that the hand-worked numbers below read against it. */
const SLA: SlaConfig = { latencyP50Ms: 100, latencyP90Ms: 300, latencyP99Ms: 1000, errorRatePercent: 0.1, minAchievedRatePercent: 95, queueAgeSeconds: 300, apiCpuPercent: 85 };

describe('judgeWindow: a window against the client-side SLAs', () => {
  test('names every SLA a window broke, with the observed value, the limit and the key', () => {
    // GIVEN 800 req/s asked, 700 sent over 60 s (42000 of 48000 = 87.5 %), 100 5xx (0.238 %), p90 800, p99 2500
    const w = judgeWindow('step 4', window({ startedAt: at(180), durationSeconds: 60, requestedRps: 800, achievedRps: 700, p50Ms: 90, p90Ms: 800, p99Ms: 2500, http5xx: 100 }), SLA);
    expect(w.breaches).toEqual([
      'p90 800 ms > 300 ms (sla.latencyP90Ms)',
      'p99 2500 ms > 1000 ms (sla.latencyP99Ms)',
      'error rate 0.2381 % > 0.1 % (sla.errorRatePercent)',
      'sent 87.5 % of the scheduled arrivals < 95 % (sla.minAchievedRatePercent)',
    ]);
  });

  test('a window exactly at every limit holds (the SLA says "at most")', () => {
    // 1 failure (a timeout) of 1000 sent = 0.1 %; 950 of 1000 scheduled = 95 %
    const w = judgeWindow('whole run', window({ startedAt: at(0), durationSeconds: 10, requestedRps: 100, achievedRps: 95, p50Ms: 100, p90Ms: 300, p99Ms: 1000, timeouts: 0 }), SLA);
    expect(w.breaches).toEqual([]);
    const oneInAThousand = judgeWindow('whole run', window({ startedAt: at(0), durationSeconds: 10, requestedRps: 100, achievedRps: 100, p50Ms: 1, p90Ms: 1, p99Ms: 1, timeouts: 1 }), SLA);
    expect(oneInAThousand.errorRatePercent).toBeCloseTo(0.1, 10);
    expect(oneInAThousand.breaches).toEqual([]);
  });
});

describe('runCapacity: the highest rate at the SLA', () => {
  test('a stress run with steps: the last step that held before the first break, bracketed by the break', () => {
    // GIVEN steps 200, 400, 600 (achieved 590) held; 800 broke
    const c = runCapacity(stressRun(), SLA);
    // THEN capacity 590 req/s at step 3, broke at 800 (step 4)
    expect(c).toMatchObject({ kind: 'bracketed', rps: 590, at: 'step 3', brokeAtRps: 800, brokeAt: 'step 4' });
    expect(c.windows.map((w) => w.breaches.length === 0)).toEqual([true, true, true, false]);
    expect(c.notes).toEqual([]);
  });

  test('a constant run within the SLA: its achieved rate, as a lower bound', () => {
    // GIVEN 100 req/s for 30 s, 2997 sent (99.9 %), p99 50 ms, no failures
    const c = runCapacity(resultFile({ startedAt: at(0), durationSeconds: 30, requestedRps: 100, achievedRps: 99.9, p50Ms: 5, p90Ms: 20, p99Ms: 50 }), SLA);
    expect(c).toMatchObject({ kind: 'lower-bound', rps: 99.9, at: 'whole run', brokeAtRps: null, brokeAt: null });
    expect(c.notes).toContain('one window that held the SLA: 99.9 req/s is a lower bound of the capacity, not the capacity; run the stress profile to find where the SLA breaks.');
  });

  test('a stress run that never broke: the highest step, as a lower bound, and advice to step higher', () => {
    const file = stressRun();
    const held = { ...file, breakingRps: null, phaseResults: file.phaseResults!.slice(0, 3) };
    const c = runCapacity(held, SLA);
    expect(c).toMatchObject({ kind: 'lower-bound', rps: 590, at: 'step 3', brokeAtRps: null });
    expect(c.notes).toEqual(['no step broke the SLA: the system holds at least 590 req/s; add higher steps to loadTest.profiles.stress to find where it breaks.']);
  });

  test('broken at the first step: no capacity', () => {
    // GIVEN 200 req/s with 60 5xx of 12000 (0.5 %)
    const step = window({ startedAt: at(0), durationSeconds: 60, requestedRps: 200, achievedRps: 200, p50Ms: 10, p90Ms: 20, p99Ms: 40, http5xx: 60 });
    const c = runCapacity(resultFile({ startedAt: at(0), durationSeconds: 60, requestedRps: 200, achievedRps: 200, p50Ms: 10, p90Ms: 20, p99Ms: 40, http5xx: 60 }, { profile: 'stress', breakingRps: 200, phaseResults: [step] }), SLA);
    expect(c).toMatchObject({ kind: 'none', rps: null, at: null, brokeAtRps: 200, brokeAt: 'step 1' });
    expect(c.windows[0].breaches).toEqual(['error rate 0.5 % > 0.1 % (sla.errorRatePercent)']);
  });

  test('a latency break the load test did not stop on: capacity below it, later steps that held do not count', () => {
    // GIVEN step 2 broke p99 only (the CLI's stop rule looks at errors and the achieved rate, so it went on), step 3 held
    const steps = [
      window({ startedAt: at(0), durationSeconds: 60, requestedRps: 200, achievedRps: 200, p50Ms: 10, p90Ms: 50, p99Ms: 200 }),
      window({ startedAt: at(60), durationSeconds: 60, requestedRps: 400, achievedRps: 400, p50Ms: 20, p90Ms: 200, p99Ms: 1500 }),
      window({ startedAt: at(120), durationSeconds: 60, requestedRps: 600, achievedRps: 600, p50Ms: 30, p90Ms: 250, p99Ms: 800 }),
      window({ startedAt: at(180), durationSeconds: 60, requestedRps: 800, achievedRps: 700, p50Ms: 90, p90Ms: 800, p99Ms: 2500, http5xx: 100 }),
    ];
    const c = runCapacity(stressRun({ phaseResults: steps, breakingRps: 800 }), SLA);
    expect(c).toMatchObject({ kind: 'bracketed', rps: 200, at: 'step 1', brokeAtRps: 400, brokeAt: 'step 2' });
    expect(c.notes).toEqual([
      'step 3 held the SLA again after step 2 broke it; the capacity is taken below the first break. Rerun to see whether step 2 was a blip.',
      'the load test reported breaking_rps=800 (its stop rule: error rate and achieved rate); step 2 at 400 req/s already broke the latency SLA.',
    ]);
  });

  test('a stress run without per-step results is one window, and says so', () => {
    const c = runCapacity(resultFile({ startedAt: at(0), durationSeconds: 240, requestedRps: 500, achievedRps: 495, p50Ms: 50, p90Ms: 200, p99Ms: 900 }, { profile: 'stress', breakingRps: null }), SLA);
    expect(c).toMatchObject({ kind: 'lower-bound', at: 'whole run', rps: 495 });
    expect(c.notes).toContain('a stress run without per-step results (phaseResults): judged as one window, the steps cannot be told apart.');
  });
});
