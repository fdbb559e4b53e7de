import * as fs from 'fs';
import * as path from 'path';
import type { LoadResult, RunResultFile } from '../../../lib/contracts/loadtest';

export const ROOT = path.join(__dirname, '..', '..', '..');

/** What a window of a run is made of, by hand: rates, counts and percentiles. */
export interface WindowSpec {
  readonly startedAt: string;
  readonly durationSeconds: number;
  readonly requestedRps: number;
  /** Sent = achievedRps × duration. */
  readonly achievedRps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly http5xx?: number;
  readonly errors?: number;
  readonly timeouts?: number;
}

/** A LoadResult (without its distribution) whose counters follow from the spec: scheduled = requested × duration. */
export function window(w: WindowSpec): Omit<LoadResult, 'distribution'> {
  const scheduled = Math.round(w.requestedRps * w.durationSeconds);
  const sent = Math.round(w.achievedRps * w.durationSeconds);
  const failed = (w.http5xx ?? 0) + (w.errors ?? 0) + (w.timeouts ?? 0);
  return {
    target: 'https://api.example.com',
    startedAt: w.startedAt,
    durationSeconds: w.durationSeconds,
    requestedRps: w.requestedRps,
    achievedRps: w.achievedRps,
    scheduled,
    sent,
    completed: sent - (w.errors ?? 0) - (w.timeouts ?? 0),
    dropped: scheduled - sent,
    timeouts: w.timeouts ?? 0,
    errors: w.errors ?? 0,
    status: { '1xx': 0, '2xx': sent - failed, '3xx': 0, '4xx': 0, '5xx': w.http5xx ?? 0 },
    latency: { count: sent, minMs: 1, meanMs: w.p50Ms, p50Ms: w.p50Ms, p90Ms: w.p90Ms, p99Ms: w.p99Ms, maxMs: w.p99Ms * 2 },
  };
}

/**
 * A result file as the load-test CLI writes it: the whole run (here: the last window's figures, with a
 * distribution), and the steps in `phaseResults` when given.
 */
export function resultFile(whole: WindowSpec, extra: Partial<RunResultFile> = {}): RunResultFile {
  return {
    ...window(whole),
    distribution: { values: [whole.p50Ms, whole.p99Ms], counts: [1, 1] },
    runId: 'run-1',
    envName: 'staging',
    profile: 'load',
    mode: 'lambda',
    ...extra,
  };
}

export function at(secondsAfter: number): string {
  return new Date(Date.parse('2026-01-05T10:00:00.000Z') + secondsAfter * 1000).toISOString();
}

/**
 * A stress run of four 60-second steps, 200 → 800 req/s, under the default SLA (p50 ≤ 100, p90 ≤ 300,
 * p99 ≤ 1000 ms, errors ≤ 0.1 %, sent ≥ 95 %):
 *   step 1  200 → 199.5 req/s, p99 120 ms                       held
 *   step 2  400 → 398 req/s,   p99 300 ms                       held
 *   step 3  600 → 590 req/s,   p99 900 ms, sent 98.3 %          held
 *   step 4  800 → 700 req/s,   p90 800 ms, p99 2500 ms, 100 5xx of 42000 = 0.238 %, sent 42000 of 48000 = 87.5 %
 *                                                              broke (p90, p99, errors, sent)
 */
export function stressRun(extra: Partial<RunResultFile> = {}): RunResultFile {
  const steps: WindowSpec[] = [
    { startedAt: at(0), durationSeconds: 60, requestedRps: 200, achievedRps: 199.5, p50Ms: 20, p90Ms: 60, p99Ms: 120 },
    { startedAt: at(60), durationSeconds: 60, requestedRps: 400, achievedRps: 398, p50Ms: 30, p90Ms: 120, p99Ms: 300 },
    { startedAt: at(120), durationSeconds: 60, requestedRps: 600, achievedRps: 590, p50Ms: 60, p90Ms: 250, p99Ms: 900 },
    { startedAt: at(180), durationSeconds: 60, requestedRps: 800, achievedRps: 700, p50Ms: 90, p90Ms: 800, p99Ms: 2500, http5xx: 100 },
  ];
  return resultFile({ ...steps[3], startedAt: at(0), durationSeconds: 240, requestedRps: 500, achievedRps: 471.875 }, {
    profile: 'stress',
    breakingRps: 800,
    breach: 'achieved 700.0 req/s = 87.5 % of the requested 800.0 (< 95 %)',
    phaseResults: steps.map(window),
    ...extra,
  });
}

export function writeJson(dir: string, name: string, value: unknown): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return file;
}
