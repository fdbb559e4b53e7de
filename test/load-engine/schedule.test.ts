import { ArrivalSchedule } from '../../lib/load-engine/schedule';

describe('ArrivalSchedule', () => {
  test('constant rate: evenly spaced arrivals at the middle of each gap', () => {
    const s = new ArrivalSchedule([{ durationSeconds: 2, arrivalRate: 500 }]);
    expect(s.totalArrivals).toBe(1000);
    expect(s.timeOf(0)).toBeCloseTo(0.001);
    expect(s.timeOf(999)).toBeCloseTo(1.999);
    expect(s.rateAt(1)).toBe(500);
  });

  test('ramps up and down: the count is the integral, times are increasing and within the phase', () => {
    const s = new ArrivalSchedule([
      { durationSeconds: 10, arrivalRate: 0, rampTo: 100 },
      { durationSeconds: 5, arrivalRate: 0 },
      { durationSeconds: 10, arrivalRate: 100, rampTo: 0 },
    ]);
    expect(s.totalArrivals).toBe(1000);
    const times = Array.from({ length: s.totalArrivals }, (_, k) => s.timeOf(k));
    for (let k = 1; k < times.length; k++) expect(times[k]).toBeGreaterThan(times[k - 1]);
    // nothing during the idle phase
    expect(times.filter((t) => t > 10 && t < 15)).toHaveLength(0);
    // a quarter of the up-ramp's arrivals fall in its first half (rate ∝ t)
    expect(times.filter((t) => t < 5)).toHaveLength(125);
    expect(s.arrivalsBy(12.5)).toBeCloseTo(500);
  });

  test('worker offsets interleave the arrivals of a fan-out', () => {
    const a = new ArrivalSchedule([{ durationSeconds: 1, arrivalRate: 10 }], 0.25);
    const b = new ArrivalSchedule([{ durationSeconds: 1, arrivalRate: 10 }], 0.75);
    expect(a.timeOf(0)).toBeCloseTo(0.025);
    expect(b.timeOf(0)).toBeCloseTo(0.075);
    expect(a.totalArrivals + b.totalArrivals).toBe(20);
  });
});
