import { jobMaxMs } from '../../lib/config/capacity';
import { configFor, problemsFor } from '../helpers/context';

describe('job cost from configuration (issue 20: a guarded API)', () => {
  test('prod refuses job costs from the request, with the whole message', () => {
    expect(problemsFor('prod', { worker: { jobCostFromRequest: true } })).toEqual([
      'scaling-blueprint.environments.prod.worker.jobCostFromRequest = true: is true in a production environment: any client could set a job\'s cpuMs and ioMs, hold worker slots for up to the longest job and drive the workers to worker.maxTasks. ' +
      'Fix: set worker.jobCostFromRequest to false (job costs then come from worker.jobCpuMs and worker.jobIoMs); load-test job costs in a non-production environment.',
    ]);
  });

  test('outside production the switch is allowed; dev ships with it on, staging and prod with it off', () => {
    expect(configFor('staging', { worker: { jobCostFromRequest: true } }).worker.jobCostFromRequest).toBe(true);
    expect(['dev', 'staging', 'prod'].map((env) => configFor(env).worker.jobCostFromRequest)).toEqual([true, false, false]);
  });

  test('the configured job must fit the longest job the worker runs, with the whole message', () => {
    expect(problemsFor('staging', { worker: { jobCpuMs: 30_000, jobIoMs: 40_000 } })).toEqual([
      'scaling-blueprint.environments.staging.worker.jobCpuMs = 30000: + worker.jobIoMs = 70000 ms, longer than the longest job the worker runs (60000 ms: worker.maxProcessingSeconds 60 s, and worker.stopTimeoutSeconds 90 s less 10 s to finish before the shutdown deadline); every job would be cut short. ' +
      'Fix: lower worker.jobCpuMs + worker.jobIoMs to at most 60000, or raise worker.maxProcessingSeconds and worker.stopTimeoutSeconds.',
    ]);
  });

  test('the longest job stays inside the stop timeout: min(maxProcessingSeconds, stopTimeoutSeconds − 10 s)', () => {
    expect(jobMaxMs({ maxProcessingSeconds: 60, stopTimeoutSeconds: 90 })).toBe(60_000);
    expect(jobMaxMs({ maxProcessingSeconds: 600, stopTimeoutSeconds: 120 })).toBe(110_000);
    expect(jobMaxMs({ maxProcessingSeconds: 1, stopTimeoutSeconds: 2 })).toBe(0);
  });
});
