import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { handler } from '../../../lambda/load-generator/index';
import { runRemote } from '../../../tools/loadtest/run';
import { FLUSH_RESERVE_MS, runWorker } from '../../../lambda/load-generator/worker';
import { LOAD_GENERATOR_ENV, LOADTEST_METRICS, LOADTEST_NAMESPACE, loadGeneratorEnvironment, type LoadWorkerEvent } from '../../../lib/contracts/loadtest';
import { MOTO_ENV, motoClient, uniqueId } from '../kpi-report/moto';
import { recordSends, startServer, watchLoopLag, type TestServer } from '../../load-engine/server';

/** A Lambda context whose deadline is `ms` from now. */
function contextWithMs(ms: number) {
  const deadline = Date.now() + ms;
  return { getRemainingTimeInMillis: () => deadline - Date.now() };
}

// Connections and a request timeout sized for this machine's own server on a busy loop (answers can take
// seconds there; a test about sends must not count them as timeouts or drops), not for a remote API.
const LIMITS = { maxRatePerWorker: 200, maxConcurrencyPerWorker: 500, sliceSeconds: 10, requestTimeoutMs: 10_000, mix: [{ method: 'GET' as const }, { method: 'POST' as const }] };

let server: TestServer;
const savedEnv = { ...process.env };
beforeAll(() => {
  // The handler's CloudWatch client comes from the environment, as in Lambda: point it at moto_server.
  Object.assign(process.env, MOTO_ENV);
});
afterAll(() => {
  process.env = savedEnv;
});
// A server of its own for every test: a request the worker timed out or was draining when its run returned
// was still written, and the server (on this same, busy event loop) may read it later; on a shared server
// the next test counted it (the stop-flag test saw 20 requests when its own worker had sent 15).
beforeEach(async () => {
  server = await startServer();
  // As the LoadTest stack sets it, with this test's server as the stack's API.
  Object.assign(process.env, loadGeneratorEnvironment(new URL(server.url).host, LIMITS));
});
afterEach(async () => {
  await server.close();
});

function event(over: Partial<LoadWorkerEvent> = {}): LoadWorkerEvent {
  return {
    runId: uniqueId('lg'),
    envName: 'test',
    target: server.url,
    phases: [{ durationSeconds: 1, arrivalRate: 100 }],
    mix: [{ name: 'root', method: 'GET', path: '/', weight: 1 }],
    maxConcurrency: LIMITS.maxConcurrencyPerWorker,
    timeoutMs: LIMITS.requestTimeoutMs,
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
    // GIVEN a 5-s slice but only ~0.8 s of sending time before the reserve (drain, flush and a second)
    const e = event({ phases: [{ durationSeconds: 5, arrivalRate: 100 }], publish: false });
    const reserveMs = FLUSH_RESERVE_MS + e.timeoutMs + 1000;
    const context = contextWithMs(reserveMs + 800);
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    const lag = watchLoopLag();
    // WHEN
    const r = await handler(e, context);
    const lagMs = lag();
    // THEN it stopped sending when the time left reached the reserve, on the injected deadline's clock (the
    // engine's start, wall clock, plus how long it sent), give or take the loop's measured lag: a timer
    // fires late on a busy loop, or early by as much when it was armed from the loop's cached time late
    // in a long turn
    const stoppedAt = Date.parse(r.startedAt) + r.durationSeconds * 1000;
    expect(stoppedAt).toBeGreaterThanOrEqual(deadline - reserveMs - lagMs - 5);
    expect(stoppedAt).toBeLessThanOrEqual(deadline - reserveMs + lagMs + 50);
    expect(r.durationSeconds).toBeLessThan(5);
    // and returned before the deadline, having scheduled the arrivals due until it stopped (one every
    // 10 ms; those due while the loop was late, at most its lag's worth, end with the stop unscheduled) and
    // none after, saying why it stopped. (Not "all sent": should slow answers fill the connections, the
    // engine counts the excess as dropped, as an open model should.)
    expect(Date.now()).toBeLessThan(deadline);
    const due = Math.round(r.durationSeconds * 100);
    expect(r.scheduled).toBeLessThanOrEqual(due + 1);
    expect(r.scheduled).toBeGreaterThanOrEqual(due - Math.ceil(lagMs / 10) - 1);
    expect(r.sent + r.dropped).toBe(r.scheduled);
    expect(r.warnings?.[0]).toMatch(/^worker 0: stopped after [\d.]+ s to finish before the Lambda deadline$/);
  });

  test('ends its slice early when the stop flag names its run, read through the injected reader', async () => {
    // GIVEN a 5-s slice at 100 req/s and a flag that turns on once the server has seen 20 requests
    const e = event({ phases: [{ durationSeconds: 5, arrivalRate: 100 }], publish: false });
    process.env[LOAD_GENERATOR_ENV.stopPollSeconds] = '0.05';
    const asked: string[] = [];
    let stopAt = Infinity;
    const lag = watchLoopLag();
    try {
      const r = await runWorker(e, {
        remainingTimeMs: contextWithMs(120_000).getRemainingTimeInMillis,
        env: process.env,
        stopReader: async (runId) => {
          asked.push(runId);
          if (server.seen.length >= 20 && stopAt === Infinity) stopAt = server.seen.length;
          return server.seen.length >= 20;
        },
      });
      const lagMs = lag();
      // THEN it stopped sending a poll or so after the flag turned on, and returned a partial result: past
      // the flag, only what 100 req/s sends in two polls (50 ms each) and the loop's measured lag (requests
      // written that the server had not read yet, arrivals due while the loop was late)
      expect(new Set(asked)).toEqual(new Set([e.runId]));
      expect(r.stopped).toBe(true);
      expect(r.sent).toBeGreaterThanOrEqual(stopAt);
      expect(r.sent).toBeLessThanOrEqual(stopAt + Math.ceil((2 * 50 + lagMs) / 10) + 1);
      expect(r.durationSeconds).toBeLessThan(5);
      expect(r.warnings).toEqual([expect.stringMatching(/^worker 0: stopped on request after [\d.]+ s \(npm run loadtest -- stop\)$/)]);
    } finally {
      delete process.env[LOAD_GENERATOR_ENV.stopPollSeconds];
    }
  });

  test('a stop flag it cannot read does not end the slice: the run completes with a warning', async () => {
    const e = event({ phases: [{ durationSeconds: 0.5, arrivalRate: 40 }], publish: false });
    process.env[LOAD_GENERATOR_ENV.stopPollSeconds] = '0.05';
    try {
      const r = await runWorker(e, {
        remainingTimeMs: contextWithMs(120_000).getRemainingTimeInMillis,
        env: process.env,
        stopReader: async () => {
          throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        },
      });
      expect(r.stopped).toBeUndefined();
      expect(r.sent).toBe(20);
      expect(r.warnings).toEqual(['worker 0: cannot read the stop flag: ThrottlingException: Rate exceeded']);
    } finally {
      delete process.env[LOAD_GENERATOR_ENV.stopPollSeconds];
    }
  });

  test('refuses to start without time to drain and flush, and rejects a malformed event', async () => {
    await expect(handler(event({ publish: false }), contextWithMs(5000))).rejects.toThrow(/too little .* Fix: raise the function timeout/);
    await expect(handler({ ...event(), target: '', maxConcurrency: 0 }, contextWithMs(60_000))).rejects.toThrow(
      'load-generator: invalid event: target must be a non-empty string; maxConcurrency must be ≥ 1',
    );
  });
});

describe('load-generator handler: only its own target, within its limits', () => {
  // Each refusal is thrown before a request is sent: the server sees nothing.
  afterEach(() => expect(server.seen).toHaveLength(0));
  const refused = (over: Partial<LoadWorkerEvent>) => handler(event({ publish: false, ...over }), contextWithMs(60_000));

  test('refuses a target that is not its stack\'s API, whatever the scheme, port or path', async () => {
    const allowed = new URL(server.url).host;
    for (const target of ['http://example.com', `https://evil.example${new URL(server.url).port ? ':' + new URL(server.url).port : ''}`, `http://localhost:${new URL(server.url).port}/`, 'http://127.0.0.1:1/']) {
      await expect(refused({ target })).rejects.toThrow(`load-generator: refused: target "${target}" is not this stack's API (${allowed})`);
    }
    await expect(refused({ target: 'ftp://' + allowed })).rejects.toThrow('must be http:// or https://');
    await expect(refused({ target: `http://user:pw@${allowed}` })).rejects.toThrow('must not carry credentials');
  });

  test('refuses a host header override and a path that would smuggle a header', async () => {
    await expect(refused({ mix: [{ name: 'h', method: 'GET', path: '/', weight: 1, headers: { HoSt: 'example.com' } }] })).rejects.toThrow(
      'load-generator: refused: mix "h" sets the host header; the target\'s host is the only one sent',
    );
    await expect(refused({ mix: [{ name: 'p', method: 'GET', path: '/ HTTP/1.1\r\nHost: example.com\r\n\r\nGET /', weight: 1 }] })).rejects.toThrow(
      'mix "p" path contains whitespace or a control character',
    );
  });

  test('enforces rate, duration, concurrency, timeout and methods from its environment, all problems at once', async () => {
    await expect(refused({
      phases: [{ durationSeconds: 8, arrivalRate: 10 }, { durationSeconds: 8, arrivalRate: 10, rampTo: 500 }],
      maxConcurrency: 501,
      timeoutMs: 10_001,
      mix: [{ name: 'd', method: 'DELETE', path: '/items/1', weight: 1 }],
    })).rejects.toThrow(
      'load-generator: refused: mix "d" method DELETE is not one of loadTest.mix\'s (GET, POST); ' +
        'phases peak at 500 req/s, above loadTest.maxRatePerWorker = 200; phases last 16 s, above loadTest.sliceSeconds = 10; ' +
        'maxConcurrency 501 is above loadTest.maxConcurrencyPerWorker = 500; timeoutMs 10001 is above loadTest.requestTimeoutMs = 10000',
    );
  });

  test('refuses to run at all without its environment', async () => {
    const saved = process.env[LOAD_GENERATOR_ENV.targetHost];
    delete process.env[LOAD_GENERATOR_ENV.targetHost];
    try {
      await expect(refused({})).rejects.toThrow(`load-generator: refusing to run without its limits: ${LOAD_GENERATOR_ENV.targetHost} must be set`);
    } finally {
      process.env[LOAD_GENERATOR_ENV.targetHost] = saved;
    }
  });
});

describe('runRemote (fan-out through the real handler, in process)', () => {
  test('splits the rate across workers and the time into slices, and merges their results', async () => {
    // GIVEN 150 req/s for 2 s, at most 100 req/s per worker and 1-s slices: 2 workers × 2 slices
    const events: LoadWorkerEvent[] = [];
    const sends = recordSends();
    const lag = watchLoopLag();
    const r = await runRemote({
      runId: uniqueId('fan'),
      envName: 'test',
      target: server.url,
      phases: [{ durationSeconds: 2, arrivalRate: 150 }],
      mix: [{ name: 'root', method: 'GET', path: '/', weight: 1 }],
      limits: { maxRatePerWorker: 100, maxWorkers: 4, sliceSeconds: 1 },
      maxConcurrencyPerWorker: LIMITS.maxConcurrencyPerWorker,
      timeoutMs: LIMITS.requestTimeoutMs,
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
    // and each worker sent at its own 75 req/s, every request handed over when it was due (late by no
    // more than the loop's measured lag), so the fleet's rate is their sum. On the generator's clock: the
    // server's read times on this shared, busy loop say more about the machine than about the workers.
    const lagMs = lag();
    sends.stop();
    expect(sends.calls).toHaveLength(300);
    for (const { dueMs, atMs } of sends.calls) {
      expect(atMs).toBeGreaterThanOrEqual(dueMs);
      expect(atMs - dueMs).toBeLessThanOrEqual(lagMs + 5);
    }
    const perWorker = new Map<unknown, number[]>();
    for (const c of sends.calls) perWorker.set(c.client, [...(perWorker.get(c.client) ?? []), c.dueMs]);
    expect([...perWorker.values()].map((due) => due.length)).toEqual([75, 75, 75, 75]);
    for (const due of perWorker.values()) due.forEach((d, i) => expect(d - due[0]).toBeCloseTo((i * 1000) / 75, 6));
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
