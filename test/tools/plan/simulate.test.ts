import type { JsonObject } from '../../../lib/config/loader';
import type { Phase } from '../../../lib/contracts/loadtest';
import { buildReport } from '../../../tools/plan/report';
import { simulate, type Simulation } from '../../../tools/plan/simulate';
import { handConfig } from './fixture';

// Every timeline below is worked out by hand from the rules in tools/plan/aws-behaviour.ts and the numbers of
// the HAND environment (fixture.ts): 100 req/s per task, target 60 % CPU and 3600 requests per task per
// minute, one-minute datapoints, 3 above the target to scale out, 15 below 0.9 × target to scale in, a task
// serving 60 s (start) + 30 s (2 health checks × 15 s) after its scale-out. A tick is 10 s; a record's t is
// its tick's start, rates are the tick's, backlogs the tick's end.

function run(phases: Phase[], extra: JsonObject = {}, tailSeconds = 0) {
  const config = handConfig(extra);
  const sim = simulate({ config, phases, tailSeconds, startMs: null, readerCapacityRps: null });
  const report = buildReport({
    config, sim, start: null, readerCapacityRps: null,
    profile: { name: null, description: 'test', phases, durationSeconds: sim.profileSeconds, tailSeconds, stopWhenSlaBreaks: false },
  });
  return { sim, report, config };
}

const at = (sim: Simulation, t: number) => sim.timeline.find((r) => r.t === t)!;
const apiEvents = (sim: Simulation) => sim.events.filter((e) => e.service === 'api').map((e) => [e.t, e.kind, e.from, e.to]);

describe('API: constant load', () => {
  test('below the ceiling: 40 req/s on one task never scales and holds the SLA', () => {
    // ρ = 40 ÷ 100 = 0.4: CPU 40 % < 60 %, 2400 requests per target per minute < 3600: no policy fires.
    const { sim, report } = run([{ durationSeconds: 600, arrivalRate: 40 }]);
    expect(sim.events).toEqual([]);
    // M/M/1, μ 100, λ 40: C = 0.4, p99 wait ln(0.4 ÷ 0.01) ÷ (100 − 40) = 61.5 ms, service p99 ln(100) ÷ 100 = 46.1 ms
    expect(at(sim, 300).api.p99Ms).toBeCloseTo(1000 * (Math.log(40) / 60 + Math.log(100) / 100), 6);
    expect(at(sim, 300).api.cpuPercent).toBe(40);
    expect(report.verdict).toMatchObject({ slaHolds: true, tier: null });
    expect(report.exitCode).toBe(0);
    const api = report.tiers.find((t) => t.tier === 'api')!;
    // ceiling 10 × 100 = 1000 req/s (600 at the target); headroom (1000 − 40) ÷ 40 = 2400 %
    expect(api).toMatchObject({ peakDemand: 40, ceiling: 1000, ceilingAtTarget: 600, headroomPercent: 2400, minutesOverSla: 0, timeToEnoughSeconds: 0 });
  });

  test('above the ceiling: 500 req/s against maxTasks 4 breaks, names the API and api.maxTasks', () => {
    // 0-180 s: 1 task at 100 % CPU (ρ = 5), 30000 requests per target per minute.
    // 180 s: the 3rd datapoint above target: CPU asks ⌈1 × 100 ÷ 60⌉ = 2, requests ⌈1 × 30000 ÷ 3600⌉ = 9 → 9, capped at 4.
    // 270 s: the 3 new tasks serve (180 + 60 + 30). From then 4 × 100 = 400 < 500 req/s: the backlog never stops growing.
    const { sim, report } = run([{ durationSeconds: 1200, arrivalRate: 500 }], { api: { maxTasks: 4 } });
    expect(apiEvents(sim)).toEqual([[180, 'scale-out', 1, 4], [270, 'serving', 1, 4]]);
    expect(at(sim, 260).api.capacityRps).toBe(100);
    expect(at(sim, 270).api.capacityRps).toBe(400);
    // backlog: 400 per second for 270 s, then 100 per second: 108000 + 100 × (1200 − 270) = 201000
    expect(at(sim, 1190).api.backlog).toBeCloseTo(201000, 6);
    // every tick of the 20 minutes is over the SLA: even the first tick queues 4000 requests, 40 s for one task
    expect(report.tiers.find((t) => t.tier === 'api')).toMatchObject({ minutesOverSla: 20, firstOverSlaAt: 0, saturatedAt: 0, key: 'api.maxTasks', ceiling: 400 });
    expect(report.verdict).toMatchObject({ slaHolds: false, tier: 'api', key: 'api.maxTasks', at: 0 });
    expect(report.exitCode).toBe(1);
  });
});

describe('API: a step spike, and scale-in after it', () => {
  // 2 tasks; 300 s at 50 req/s, 600 s at 300 req/s, 1500 s at 50 req/s.
  const phases = [{ durationSeconds: 300, arrivalRate: 50 }, { durationSeconds: 600, arrivalRate: 300 }, { durationSeconds: 1500, arrivalRate: 50 }];
  const spike = () => run(phases, { api: { minTasks: 2 } });

  test('when does the first new task serve? 3 datapoints + 60 s start + 30 s health checks after the step', () => {
    const { sim } = spike();
    // Datapoints [300, 360), [360, 420), [420, 480): CPU 300 ÷ 200 → 100 %, requests 300 × 60 ÷ 2 = 9000 per target.
    // At 480: CPU asks ⌈2 × 100 ÷ 60⌉ = 4, requests ⌈2 × 9000 ÷ 3600⌉ = 5 → 5 tasks. They run at 540 and serve at 570.
    expect(apiEvents(sim).slice(0, 2)).toEqual([[480, 'scale-out', 2, 5], [570, 'serving', 2, 5]]);
    // The datapoint that closes at 300 ([240, 300), 25 % CPU) is below the target: nothing fires before 480.
    expect(at(sim, 470).api.desiredTasks).toBe(2);
    expect(at(sim, 480).api.desiredTasks).toBe(5);
    // Running tasks count in the CPU average before they serve: 540-560 the 5 running tasks share 200 req/s (40 %).
    expect(at(sim, 540).api.cpuPercent).toBe(40);
    // Backlog: 100 req/s more than the 200 served for 270 s = 27000 at 570; 500 − 300 = 200 per second drains it in
    // 135 s: 1000 left after the tick of 690 (27000 − 13 × 2000), none after 700.
    expect(at(sim, 560).api.backlog).toBeCloseTo(27000, 6);
    expect(at(sim, 690).api.backlog).toBeCloseTo(1000, 6);
    expect(at(sim, 700).api.backlog).toBe(0);
  });

  test('minutes over the SLA, time to enough capacity and the key', () => {
    const { report } = spike();
    // Over from the tick of 300 (5000 queued after 10 s at 100 % over: 5000 ÷ 200 = 25 s) through 690
    // (1000 ÷ 500 = 2 s); at 700 none queued, p99 of M/M/1 at 60 req/s: ln(60) ÷ 40 + ln(100) ÷ 100 = 148 ms.
    // 40 ticks = 6.67 minutes.
    const api = report.tiers.find((t) => t.tier === 'api')!;
    expect(api.firstOverSlaAt).toBe(300);
    expect(api.minutesOverSla).toBeCloseTo(40 / 6, 10);
    // The steepest ramp is the step 50 → 300 at 300 s; capacity covers 300 req/s from 570: 270 s.
    expect(report.steepestRamp).toEqual({ startSeconds: 300, endSeconds: 300, fromRps: 50, toRps: 300 });
    expect(api.timeToEnoughSeconds).toBe(270);
    // Not pinned (10 × 100 = 1000 ≥ 300): the tasks at the start were too few for the minutes a scale-out takes.
    expect(api.key).toBe('api.minTasks');
    expect(report.verdict.message).toContain('api.minTasks');
  });

  test('scale-out cooldown: proposals inside it count from the capacity before the scale-out, so nothing is added twice', () => {
    const { sim } = spike();
    // Cooldown 300 s from 480. At 540, 600, 660 and 720 the CPU is still high (the backlog), but each proposal is
    // taken from the 2 tasks before: at most ⌈2 × 100 ÷ 60⌉ = 4 and ⌈2 × 9000 ÷ 3600⌉ = 5, never above 5. After 780,
    // 5 tasks at 300 req/s sit at 60 % and 3600 per target: at the target, not above it.
    expect(apiEvents(sim).filter(([, kind]) => kind === 'scale-out')).toEqual([[480, 'scale-out', 2, 5]]);
  });

  test('without it, a short cooldown scales out again on top of tasks that are not serving yet', () => {
    const { sim } = run(phases, { api: { minTasks: 2, scaleOutCooldownSeconds: 60 } });
    // Cooldown ends at 540; the new tasks serve at 570. At 540 the datapoint [480, 540) is still 100 % CPU on the
    // 2 serving tasks, and the proposal now starts from the desired 5: ⌈5 × 100 ÷ 60⌉ = 9, requests ⌈5 × 9000 ÷ 3600⌉ = 13 → 10 (max).
    expect(apiEvents(sim).filter(([, kind]) => kind === 'scale-out')).toEqual([[480, 'scale-out', 2, 5], [540, 'scale-out', 5, 10]]);
  });

  test('scale-in 15 minutes after the peak, to api.minTasks', () => {
    const { sim } = spike();
    // At 900 the load falls to 50 req/s on 5 tasks: CPU 10 % < 54, 600 per target < 3240. The 15th low datapoint of
    // both policies closes at 900 + 15 × 60 = 1800: CPU asks ⌈5 × 10 ÷ 60⌉ = 1, requests ⌈5 × 600 ÷ 3600⌉ = 1, floored at 2.
    // (Before 900 nothing was low: 5 tasks at 300 req/s sit at 60 %.)
    expect(apiEvents(sim).filter(([, kind]) => kind === 'scale-in')).toEqual([[1800, 'scale-in', 5, 2]]);
    expect(at(sim, 1790).api.desiredTasks).toBe(5);
    expect(at(sim, 1800).api.servingTasks).toBe(2);
  });
});

describe('API: a ramp', () => {
  test('20 → 320 req/s over 10 minutes on one task: the first scale-out at 300 s, serving at 390 s', () => {
    // λ(t) = 20 + 0.5 (t − 60) from 60 s. Minute datapoints, one task: [120, 180) averages λ(150) = 65 > 60 (CPU and
    // requests), [180, 240) 95, [240, 300) 125 (CPU capped at 100). The 3rd closes at 300: CPU ⌈1 × 100 ÷ 60⌉ = 2,
    // requests ⌈1 × 125 × 60 ÷ 3600⌉ = 3 → 3 tasks, serving at 390.
    const { sim, report } = run([{ durationSeconds: 60, arrivalRate: 20 }, { durationSeconds: 600, arrivalRate: 20, rampTo: 320 }, { durationSeconds: 300, arrivalRate: 320 }]);
    expect(apiEvents(sim).slice(0, 2)).toEqual([[300, 'scale-out', 1, 3], [390, 'serving', 1, 3]]);
    // One task saturates when λ passes 100, at 220 s: the tick [220, 230) asks for 102.5 req/s.
    expect(report.tiers.find((t) => t.tier === 'api')!.saturatedAt).toBe(220);
    // The ramp (rise 300) is the steepest: it starts at 60 s. The ceiling covers its top (320), so the key is the start.
    expect(report.steepestRamp).toEqual({ startSeconds: 60, endSeconds: 660, fromRps: 20, toRps: 320 });
    expect(report.verdict).toMatchObject({ slaHolds: false, tier: 'api', key: 'api.minTasks' });
  });
});

describe('worker: scale from zero', () => {
  test('the first job waits a minute for the alarm and a minute for the task; backlog tracking takes over', () => {
    // Half the API's requests submit a job: 10 req/s → 5 jobs/s. A worker finishes 10 ÷ 2 s = 5 jobs/s; the backlog
    // target is 60 s × 5 = 300 per task. No worker at 0 s.
    // 60: the scale-from-zero alarm (1 datapoint of [0, 60): messages waiting, none running) → 1 task, running at 120.
    // 120: the alarm's datapoint [60, 120) breaches again, but its 120-s cooldown runs until 180: no second task.
    // 120-300: 1 task works 5 jobs/s of the 5 arriving: 600 waiting stay waiting, 10 in flight (5/s × 2 s), the oldest 120 s old.
    // 300: 3 backlog datapoints of (600 + 10) ÷ 1 = 610 > 300 → ⌈1 × 610 ÷ 300⌉ = 3, running at 360.
    // 360: 15 jobs/s against 5 arriving drain the 600 in 60 s.
    const mix = [{ name: 'job', method: 'POST', path: '/jobs', weight: 1 }, { name: 'health', method: 'GET', path: '/healthz', weight: 1 }];
    const { sim, report } = run([{ durationSeconds: 900, arrivalRate: 10 }], { worker: { minTasks: 0 }, loadTest: { mix }, sla: { queueAgeSeconds: 100 } });
    const worker = sim.events.filter((e) => e.service === 'worker').map((e) => [e.t, e.kind, e.from, e.to]);
    expect(worker).toEqual([[60, 'scale-out', 0, 1], [120, 'serving', 0, 1], [300, 'scale-out', 1, 3], [360, 'serving', 1, 3]]);
    expect(at(sim, 110).worker).toMatchObject({ visible: 600, runningTasks: 0, queueAgeSeconds: 120 });
    expect(at(sim, 290).worker).toMatchObject({ visible: 600, inFlight: 10, runningTasks: 1, queueAgeSeconds: 120 });
    expect(at(sim, 410).worker.visible).toBe(0);
    // The oldest job is 100 s old at the end of the tick of 90 (at sla.queueAgeSeconds 100, not above it) and 110 s at
    // the end of the tick of 100: the first over. The worker could carry the load: the key is its minimum.
    const tier = report.tiers.find((t) => t.tier === 'worker')!;
    expect(tier).toMatchObject({ firstOverSlaAt: 100, key: 'worker.minTasks', saturatedAt: 0 });
    expect(report.verdict).toMatchObject({ tier: 'worker', key: 'worker.minTasks' });
  });
});

describe('the database tiers', () => {
  test('writer connections follow the running tasks\' pools', () => {
    // API cpu 1024: 1 process; readers 0: both pools on the writer, 2 × dbPoolSize 5 = 10 per task; the worker 1 pool of 10.
    const { sim } = run([{ durationSeconds: 60, arrivalRate: 10 }]);
    expect(sim.derived.apiConnectionsPerTask).toEqual({ writer: 10, readers: 0 });
    expect(at(sim, 0).connections.writer).toBe(1 * 10 + 1 * 10);
  });

  test('reader autoscaling: 3 minutes of high CPU, then a new reader 10 minutes later', () => {
    // 2 readers of 100 req/s each at 100 % CPU; 150 req/s → 75 % > 60 for [0,60), [60,120), [120,180): at 180
    // ⌈2 × 75 ÷ 60⌉ = 3 readers, the third available at 180 + 600 = 780. The 300-s cooldown ends at 480, before the
    // reader arrives: the 2 readers still run at 75 %, and the proposal starts from the desired 3: ⌈3 × 75 ÷ 60⌉ = 4
    // (available at 1080, after the run). A reader takes longer than the cooldown, so it is added twice.
    const config = handConfig({
      api: { minTasks: 3 },
      database: { readers: 2, proxy: { enabled: true }, readerAutoscaling: { enabled: true, minReaders: 2, maxReaders: 4, targetCpuUtilizationPercent: 60, scaleOutCooldownSeconds: 300 } },
    });
    const sim = simulate({ config, phases: [{ durationSeconds: 900, arrivalRate: 150 }], tailSeconds: 0, startMs: null, readerCapacityRps: 100 });
    expect(sim.events.filter((e) => e.service === 'readers').map((e) => [e.t, e.kind, e.from, e.to])).toEqual([[180, 'scale-out', 2, 3], [480, 'scale-out', 3, 4], [780, 'serving', 2, 3]]);
    expect(at(sim, 770).readers).toMatchObject({ count: 2, cpuPercent: 75 });
    expect(at(sim, 780).readers).toMatchObject({ count: 3, cpuPercent: 50 });
  });
});
