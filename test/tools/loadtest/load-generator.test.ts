import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { handler } from '../../../lambda/load-generator/index';
import { runRemote } from '../../../tools/loadtest/run';
import { FLUSH_RESERVE_MS } from '../../../lambda/load-generator/worker';
import { LOADTEST_METRICS, LOADTEST_NAMESPACE, type LoadWorkerEvent } from '../../../lib/contracts/loadtest';
import { MOTO_ENV, motoClient, uniqueId } from '../kpi-report/moto';
import { serverRate, startServer, type TestServer } from '../../load-engine/server';

/** A Lambda context whose deadline is `ms` from now. */
function contextWithMs(ms: number) {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
}

let server: TestServer;
const savedEnv = { ...process.env };
beforeAll(async () => {
  // The handler's CloudWatch client comes from the environment, as in Lambda: point it at moto_server.
  Object.assign(process.env, MOTO_ENV);
  server = await startServer();
});
afterAll(async () => {
  process.env = savedEnv;
  await server.close();
});
beforeEach(() => {
  server.seen.length = 0;
});

function event(over: Partial<LoadWorkerEvent> = {}): LoadWorkerEvent {
  return {
    runId: uniqueId('lg'),
    envName: 'test',
    target: server.url,
    phases: [{ durationSeconds: 1, arrivalRate: 100 }],
    mix: [{ name: 'root', method: 'GET', path: '/', weight: 1 }],
    maxConcurrency: 50,
    timeoutMs: 1000,
    workerIndex: 0,
    ...over,
  };
}

describe('load-generator handler', () => {
  test('runs its slice against the target, publishes the interval metrics and returns the LoadResult', async () => {
    // GIVEN a worker event and a context with minutes left
    const e = event();
    // WHEN
    const r = await handler(e, contextWithMs(120_000));
    // THEN
    expect(r).toMatchObject({ scheduled: 100, sent: 100, completed: 100, errors: 0 });
    expect(r.warnings).toBeUndefined();
    expect(server.seen).toHaveLength(100);
    // and CloudWatch (moto) has the run's requests under its Environment and RunId
    const cw = motoClient(CloudWatchClient);
    const out = await cw.send(new GetMetricDataCommand({
      StartTime: new Date(Date.now() - 5 * 60_000),
      EndTime: new Date(Date.now() + 5 * 60_000),
      MetricDataQueries: [{
        Id: 'requests',
        MetricStat: {
          Metric: { Namespace: LOADTEST_NAMESPACE, MetricName: LOADTEST_METRICS.requests, Dimensions: [{ Name: 'Environment', Value: 'test' }, { Name: 'RunId', Value: e.runId }] },
          Period: 60,
          Stat: 'Sum',
        },
      }],
    }));
    expect((out.MetricDataResults?.[0].Values ?? []).reduce((a, b) => a + b, 0)).toBe(100);
  });

  test('stops sending before the Lambda deadline, leaving time to drain and flush', async () => {
    // GIVEN a 5-s slice but only ~0.8 s of sending time before the reserve
    const e = event({ phases: [{ durationSeconds: 5, arrivalRate: 100 }], publish: false });
    const started = Date.now();
    const r = await handler(e, contextWithMs(FLUSH_RESERVE_MS + e.timeoutMs + 1000 + 800));
    // THEN it ran for about 0.8 s and says so
    expect(Date.now() - started).toBeLessThan(2500);
    expect(r.durationSeconds).toBeGreaterThan(0.6);
    expect(r.durationSeconds).toBeLessThan(1.2);
    expect(r.sent).toBe(r.scheduled);
    expect(r.warnings?.[0]).toMatch(/^worker 0: stopped after 0\.\d+ s to finish before the Lambda deadline$/);
  });

  test('refuses to start without time to drain and flush, and rejects a malformed event', async () => {
    await expect(handler(event({ publish: false }), contextWithMs(5000))).rejects.toThrow(/too little .* Fix: raise the function timeout/);
    await expect(handler({ ...event(), target: '', maxConcurrency: 0 }, contextWithMs(60_000))).rejects.toThrow(
      'load-generator: invalid event: target must be a non-empty string; maxConcurrency must be ≥ 1',
    );
  });
});

describe('runRemote (fan-out through the real handler, in process)', () => {
  test('splits the rate across workers and the time into slices, and merges their results', async () => {
    // GIVEN 150 req/s for 2 s, at most 100 req/s per worker and 1-s slices: 2 workers × 2 slices
    const events: LoadWorkerEvent[] = [];
    const r = await runRemote({
      runId: uniqueId('fan'),
      envName: 'test',
      target: server.url,
      phases: [{ durationSeconds: 2, arrivalRate: 150 }],
      mix: [{ name: 'root', method: 'GET', path: '/', weight: 1 }],
      limits: { maxRatePerWorker: 100, maxWorkers: 4, sliceSeconds: 1 },
      maxConcurrencyPerWorker: 50,
      timeoutMs: 1000,
      invoke: (e) => {
        events.push(e);
        return handler({ ...e, publish: false }, contextWithMs(120_000));
      },
    });
    // THEN four invocations, each at 75 req/s for 1 s, interleaved
    expect(events.map((e) => [e.workerIndex, e.workers, e.phases])).toEqual([
      [0, 2, [{ durationSeconds: 1, arrivalRate: 75 }]],
      [1, 2, [{ durationSeconds: 1, arrivalRate: 75 }]],
      [0, 2, [{ durationSeconds: 1, arrivalRate: 75 }]],
      [1, 2, [{ durationSeconds: 1, arrivalRate: 75 }]],
    ]);
    expect(r).toMatchObject({ scheduled: 300, sent: 300, completed: 300, errors: 0 });
    expect(server.seen).toHaveLength(300);
    // the merged duration is the two slices (not four), so the rate is the fleet's
    expect(r.durationSeconds).toBeGreaterThanOrEqual(2);
    expect(r.durationSeconds).toBeLessThan(2.3);
    expect(r.achievedRps).toBeGreaterThan(130);
    const firstSlice = server.seen.filter((s) => s.at - server.seen[0].at < 1000);
    expect(serverRate(firstSlice)).toBeGreaterThan(140);
    expect(serverRate(firstSlice)).toBeLessThan(160);
  });

  test('a failed worker fails the run with its message', async () => {
    await expect(
      runRemote({
        runId: 'x', envName: 'test', target: server.url,
        phases: [{ durationSeconds: 1, arrivalRate: 10 }],
        mix: [{ name: 'root', method: 'GET', path: '/', weight: 1 }],
        limits: { maxRatePerWorker: 100, maxWorkers: 1, sliceSeconds: 60 },
        maxConcurrencyPerWorker: 10, timeoutMs: 1000,
        invoke: async () => {
          throw new Error('Rate Exceeded.');
        },
      }),
    ).rejects.toThrow('slice 1/1 failed: worker 0: Rate Exceeded.');
  });
});
