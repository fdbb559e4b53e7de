import type { SlaConfig } from '../../../lib/config/schema';
import type { RunResultFile } from '../../../lib/contracts/loadtest';
import { loadEnvironmentConfig } from '../../../tools/common/cdk-json';
import { evaluate, type TimelineSeries } from '../../../tools/kpi-report/evaluate';
import type { Series } from '../../../tools/kpi-report/fetch';
import { analyseProfile, slopePerHour, type ProfileInput } from '../../../tools/kpi-report/profiles';
import { configValue, KNOBS, type ConfigKey } from '../../../tools/kpi-report/saturation';
import type { SeriesName } from '../../../tools/kpi-report/series';

const SLA: SlaConfig = { latencyP50Ms: 100, latencyP90Ms: 300, latencyP99Ms: 1000, errorRatePercent: 0.1, minAchievedRatePercent: 95, queueAgeSeconds: 300, apiCpuPercent: 85 };
const MINUTE = 60_000;
const T0 = Date.parse('2026-01-01T10:00:00Z');
const points = (values: number[]): Array<[number, number]> => values.map((v, i) => [T0 + i * MINUTE, v]);
const series = (values: number[]): Series => ({ timestamps: values.map((_, i) => T0 + i * MINUTE), values });

function input(profile: string, timeline: TimelineSeries[], server: Partial<Record<SeriesName, number[]>> = {}, runs: ProfileInput['runs'] = []): ProfileInput {
  return {
    profile, runs, sla: SLA, periodSeconds: 60, startMs: T0, endMs: T0 + 60 * MINUTE, timeline,
    lookup: (name) => (server[name] ? series(server[name]!) : undefined),
  };
}
const p99 = (values: number[]): TimelineSeries => ({ panel: 'Latency p99 (ms)', name: 'client p99', kind: 'observed', points: points(values) });
const rate = (values: number[]): TimelineSeries => ({ panel: 'Requests/s', name: 'client sent', kind: 'observed', points: points(values) });
const errors = (values: number[]): TimelineSeries => ({ panel: 'Errors (%)', name: 'client', kind: 'observed', points: points(values) });

function phase(rps: number, p99Ms: number, http5xx = 0): NonNullable<RunResultFile['phaseResults']>[number] {
  const sent = rps * 180;
  return {
    target: 'http://x', startedAt: new Date(T0 + (rps / 200 - 1) * 3 * MINUTE).toISOString(), durationSeconds: 180, requestedRps: rps, achievedRps: rps,
    scheduled: sent, sent, completed: sent, dropped: 0, timeouts: 0, errors: 0, status: { '1xx': 0, '2xx': sent - http5xx, '3xx': 0, '4xx': 0, '5xx': http5xx },
    latency: { count: sent, minMs: 1, meanMs: p99Ms / 4, p50Ms: p99Ms / 5, p90Ms: p99Ms / 2, p99Ms, maxMs: p99Ms * 2 },
  };
}

describe('stress: the knee and breaking_rps', () => {
  test('from the phases: the knee is the first step whose p99 crosses the SLA, before any error; breaking is the first step that breaks the SLAs', () => {
    const result = { result: { phaseResults: [phase(200, 80), phase(400, 300), phase(600, 1400), phase(800, 2500, 400)] } as RunResultFile, file: 'stress.json' };
    const a = analyseProfile(input('stress', [], {}, [{ runId: 'r', result }]))!;
    expect(a.kind).toBe('stress');
    expect(a.figures).toMatchObject({ kneeRps: 600, breakingRps: 800, source: 'stress.json phaseResults' });
    expect(a.verdict).toBe(`knee at 600 req/s (p99 first over 1000 ms at ${new Date(T0 + 6 * MINUTE).toISOString()}); breaking_rps 800`);
  });

  test('the breakingRps the load test recorded wins; without phases, the knee comes from p99 and the rate per period', () => {
    const result = { result: { breakingRps: 1000 } as RunResultFile, file: 'stress.json' };
    const a = analyseProfile(input('stress', [p99([100, 200, 900, 1100, 3000]), rate([200, 400, 600, 800, 1000])], {}, [{ runId: 'r', result }]))!;
    expect(a.figures).toMatchObject({ kneeRps: 800, kneeAt: new Date(T0 + 3 * MINUTE).toISOString(), breakingRps: 1000, source: 'client p99 per period' });
  });

  test('a system that held every step says so', () => {
    const a = analyseProfile(input('stress', [p99([100, 120, 130]), rate([200, 400, 600])]))!;
    expect(a.verdict).toBe('p99 stayed within 1000 ms and no phase broke the SLAs: the system held the highest rate tested');
    expect(a.figures.kneeRps).toBeNull();
  });
});

describe('spike: recovery and the task count\'s reaction', () => {
  test('time until p99 is back under the SLA, from the start of the spike; when desired and running tasks rose', () => {
    const a = analyseProfile(input('spike', [rate([50, 50, 500, 500, 500, 50, 50]), p99([100, 100, 1500, 1300, 700, 120, 100])], {
      apiRunning: [2, 2, 2, 3, 4, 4, 4], apiDesired: [2, 2, 3, 4, 4, 4, 4],
    }))!;
    expect(a.figures).toMatchObject({
      spikeStartAt: new Date(T0 + 2 * MINUTE).toISOString(), p99BreachAt: new Date(T0 + 2 * MINUTE).toISOString(),
      p99RecoveredAt: new Date(T0 + 4 * MINUTE).toISOString(), recoverySeconds: 120,
      tasksBefore: 2, tasksPeak: 4, desiredUpAfterSeconds: 0, runningUpAfterSeconds: 60,
    });
    expect(a.verdict).toBe('p99 back under 1000 ms 120 s after the spike started');
  });

  test('p99 still over at the end; the server\'s p99 when the client has none', () => {
    const a = analyseProfile(input('spike', [rate([50, 500, 500])], { p99Timeline: [0.1, 2.5, 1.8] }))!;
    expect(a.verdict).toBe('p99 still over 1000 ms at the end of the window');
    expect(a.figures.source).toBe('server (ALB) p99 per period');
  });
});

describe('soak: drift between the first and the last window', () => {
  const flat = (n: number, v: number) => Array.from({ length: n }, () => v);

  test('p99, error rate and a memory slope that fills the task within a day: drift, with each finding', () => {
    const lat = [...flat(10, 100), ...flat(80, 120), ...flat(10, 180)];
    const err = [...flat(90, 0), ...flat(10, 0.2)];
    const mem = Array.from({ length: 100 }, (_, i) => 40 + i * 0.2); // 12 %/h
    const a = analyseProfile(input('soak', [p99(lat), errors(err)], { apiMemory: mem }))!;
    expect(a.figures).toMatchObject({ p99FirstMs: 100, p99LastMs: 180, errorRateFirstPercent: 0, errorRateLastPercent: 0.2, memorySlopePercentPerHour: 12 });
    expect(a.verdict).toBe(`drift: p99 rose from 100 to 180 ms; error rate rose from 0 % to 0.2 %; API memory grows 12 %/h: full in ${a.figures.hoursToFullMemory} h`);
  });

  test('steady p99 and memory: stable', () => {
    const a = analyseProfile(input('soak', [p99(flat(60, 100)), errors(flat(60, 0))], { apiMemory: flat(60, 45) }))!;
    expect(a.verdict).toBe('stable: no drift in p99, error rate or memory');
  });

  test('the slope is least squares per hour', () => {
    expect(slopePerHour([0, 1800_000, 3600_000], [10, 15, 20])).toBe(10);
  });
});

describe('the report picks the analysis from the run\'s result file', () => {
  test('tested.profile = spike → a spike analysis in the evaluation', () => {
    const config = loadEnvironmentConfig('dev');
    const result = { runId: 'r1', tested: { profile: 'spike' } } as unknown as RunResultFile;
    const e = evaluate({
      envName: 'dev', runs: [{ runId: 'r1', result: { result: { ...result, latency: { count: 0, minMs: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 }, sent: 0, scheduled: 0, status: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 }, errors: 0, timeouts: 0, dropped: 0, durationSeconds: 60 } as RunResultFile, file: 'r1.json' } }],
      startMs: T0, endMs: T0 + 5 * MINUTE, periodSeconds: 60, sla: config.sla, config, fetched: { series: new Map(), failed: new Map() }, requireAll: false,
    });
    expect(e.profile?.kind).toBe('spike');
  });
});

describe('the knobs table', () => {
  test('docs/monitoring.md names every key of the table', () => {
    const doc = require('fs').readFileSync(require('path').join(__dirname, '..', '..', '..', 'docs', 'monitoring.md'), 'utf8') as string;
    const keys = [...new Set(Object.values(KNOBS).flat())];
    expect(keys.filter((k) => !doc.includes(`\`${k}\``))).toEqual([]);
  });

  test.each(['dev', 'staging', 'prod'])('every key of KNOBS is a configuration key with a value in %s', (env) => {
    const config = loadEnvironmentConfig(env);
    const keys = [...new Set(Object.values(KNOBS).flat())] as ConfigKey[];
    expect(keys.filter((k) => configValue(config, k) === undefined)).toEqual([]);
  });
});
