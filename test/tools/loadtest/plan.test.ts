import { overridePhases, planFanOut, PlanError } from '../../../tools/loadtest/plan';
import { ArrivalSchedule } from '../../../lib/load-engine/schedule';

const limits = { maxRatePerWorker: 2000, maxWorkers: 20, sliceSeconds: 840 };

describe('planFanOut', () => {
  test('workers = ceil(peak / maxRatePerWorker); each worker runs 1/N of every phase', () => {
    const plan = planFanOut([{ durationSeconds: 300, arrivalRate: 10, rampTo: 5000 }, { durationSeconds: 60, arrivalRate: 3000 }], limits);
    expect(plan.workers).toBe(3);
    expect(plan.peakRps).toBe(5000);
    expect(plan.slices).toEqual([
      {
        index: 0,
        startSeconds: 0,
        durationSeconds: 360,
        phases: [
          { durationSeconds: 300, arrivalRate: 3.333333, rampTo: 1666.666667 },
          { durationSeconds: 60, arrivalRate: 1000 },
        ],
      },
    ]);
  });

  test('a rate at exactly the per-worker limit needs one worker, a little over needs two', () => {
    expect(planFanOut([{ durationSeconds: 10, arrivalRate: 2000 }], limits).workers).toBe(1);
    expect(planFanOut([{ durationSeconds: 10, arrivalRate: 2001 }], limits).workers).toBe(2);
    expect(planFanOut([{ durationSeconds: 10, arrivalRate: 0 }], limits).workers).toBe(1);
  });

  test('a profile needing more than maxWorkers fails with the fix', () => {
    expect(() => planFanOut([{ durationSeconds: 10, arrivalRate: 50_000 }], limits)).toThrow(PlanError);
    expect(() => planFanOut([{ durationSeconds: 10, arrivalRate: 50_000 }], limits)).toThrow(
      'the profile peaks at 50000 req/s: at loadTest.maxRatePerWorker = 2000 it needs 25 workers, but loadTest.maxWorkers = 20. ' +
        "Fix: raise loadTest.maxWorkers to 25 (the cap on workers side by side), raise loadTest.maxRatePerWorker to 2500, or lower the rate.",
    );
  });

  test('a soak longer than a slice runs as consecutive slices of sliceSeconds', () => {
    const plan = planFanOut([{ durationSeconds: 14_400, arrivalRate: 100 }], limits);
    expect(plan.workers).toBe(1);
    expect(plan.slices).toHaveLength(18); // 17 × 840 s + 120 s
    expect(plan.slices.slice(0, 17).every((s) => s.durationSeconds === 840)).toBe(true);
    expect(plan.slices[17]).toMatchObject({ index: 17, startSeconds: 14_280, durationSeconds: 120, phases: [{ durationSeconds: 120, arrivalRate: 100 }] });
    expect(plan.durationSeconds).toBe(14_400);
  });

  test('a ramp cut by a slice boundary continues at the rate where it was cut; short phases share a slice', () => {
    const phases = [
      { durationSeconds: 20, arrivalRate: 50 },
      { durationSeconds: 100, arrivalRate: 0, rampTo: 1000 },
      { durationSeconds: 30, arrivalRate: 1000 },
    ];
    const plan = planFanOut(phases, { ...limits, sliceSeconds: 60 });
    expect(plan.slices.map((s) => s.phases)).toEqual([
      [{ durationSeconds: 20, arrivalRate: 50 }, { durationSeconds: 40, arrivalRate: 0, rampTo: 400 }],
      [{ durationSeconds: 60, arrivalRate: 400, rampTo: 1000 }],
      [{ durationSeconds: 30, arrivalRate: 1000 }],
    ]);
    // the slices together ask for exactly the arrivals of the profile
    const total = new ArrivalSchedule(phases).arrivalsBy(150);
    const sliced = plan.slices.reduce((a, s) => a + new ArrivalSchedule(s.phases).arrivalsBy(s.durationSeconds), 0);
    expect(sliced).toBeCloseTo(total, 6);
  });

  test('the default profiles of cdk.json fit the default limits', () => {
    // spike peaks at 500 req/s, stress at 2000: one worker each at maxRatePerWorker 2000
    expect(planFanOut([{ durationSeconds: 120, arrivalRate: 50 }, { durationSeconds: 10, arrivalRate: 50, rampTo: 500 }], limits).slices).toHaveLength(1);
  });
});

describe('overridePhases', () => {
  const profile = [{ durationSeconds: 300, arrivalRate: 10, rampTo: 200 }];
  test('--rate and --duration replace the profile with one constant phase', () => {
    expect(overridePhases(profile, { rate: 50, durationSeconds: 30 })).toEqual([{ durationSeconds: 30, arrivalRate: 50 }]);
    expect(overridePhases(profile, {})).toEqual(profile);
  });
  test('one without the other is an error', () => {
    expect(() => overridePhases(profile, { rate: 50 })).toThrow('--rate and --duration go together');
    expect(() => overridePhases(profile, { rate: 0, durationSeconds: 10 })).toThrow('--rate = 0: must be a number of requests per second > 0.');
  });
});
