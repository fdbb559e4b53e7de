import { CloudWatchClient, GetMetricDataCommand, type MetricDataQuery } from '@aws-sdk/client-cloudwatch';
import { LOADTEST_NAMESPACE } from '../../lib/contracts/loadtest';
import type { IntervalSnapshot } from '../../lib/load-engine/engine';
import { cloudWatchPublisher, formFields, MAX_FIELDS_PER_REQUEST, PublishError, roundLatency, toBatches } from '../../lib/load-engine/publish';
import { MOTO_ENDPOINT, motoClient, uniqueId } from '../tools/kpi-report/moto';

// GIVEN a publisher pointed at moto_server (started by the jest global setup)
const client = motoClient(CloudWatchClient);
const MINUTE = 60_000;
const base = Math.floor(Date.now() / MINUTE) * MINUTE - 10 * MINUTE;

function snapshot(startMs: number, over: Partial<IntervalSnapshot> = {}): IntervalSnapshot {
  return {
    startMs, endMs: startMs + 1000, targetRps: 10, inFlight: 0,
    scheduled: 10, sent: 10, completed: 10, dropped: 0, timeouts: 0, errors: 0,
    status: { '1xx': 0, '2xx': 9, '3xx': 0, '4xx': 0, '5xx': 1 },
    latency: { values: [12.345, 50], counts: [9, 1] },
    endpoints: [],
    ...over,
  };
}

async function fetch(envName: string, runId: string, metric: string, stat: string, endpoint?: string) {
  const q: MetricDataQuery = {
    Id: 'm', MetricStat: {
      Metric: {
        Namespace: LOADTEST_NAMESPACE, MetricName: metric,
        Dimensions: [{ Name: 'Environment', Value: envName }, { Name: 'RunId', Value: runId }, ...(endpoint ? [{ Name: 'Endpoint', Value: endpoint }] : [])],
      },
      Period: 60, Stat: stat,
    },
  };
  const r = await client.send(new GetMetricDataCommand({ StartTime: new Date(base - MINUTE), EndTime: new Date(base + 10 * MINUTE), MetricDataQueries: [q], ScanBy: 'TimestampAscending' }));
  const res = r.MetricDataResults![0];
  return Object.fromEntries((res.Timestamps ?? []).map((t, i) => [(t.getTime() - base) / MINUTE, res.Values![i]]));
}

describe('cloudWatchPublisher', () => {
  test('per endpoint: the same minute sums with an Endpoint dimension (no Scheduled or Dropped), next to the run\'s', async () => {
    const env = 'pub', run = uniqueId('run');
    const p = cloudWatchPublisher({ envName: env, runId: run, client, backgroundIntervalMs: 0 });
    const ok = { '1xx': 0, '2xx': 6, '3xx': 0, '4xx': 0, '5xx': 0 };
    const endpoints = [
      { name: 'item-read', sent: 6, completed: 6, timeouts: 0, errors: 0, status: ok, latency: { values: [5], counts: [6] } },
      { name: 'item-create', sent: 4, completed: 3, timeouts: 1, errors: 0, status: { ...ok, '2xx': 2, '5xx': 1 }, latency: { values: [40], counts: [3] } },
    ];
    // WHEN two snapshots of minute 0 carry the two entries
    p.record(snapshot(base, { endpoints }));
    p.record(snapshot(base + 1000, { endpoints }));
    await p.flush();
    // THEN each entry has its own series; the run's stays whole
    expect(await fetch(env, run, 'Requests', 'Sum', 'item-read')).toEqual({ 0: 12 });
    expect(await fetch(env, run, 'Requests', 'Sum', 'item-create')).toEqual({ 0: 8 });
    expect(await fetch(env, run, 'Http5xx', 'Sum', 'item-create')).toEqual({ 0: 2 });
    expect(await fetch(env, run, 'Timeouts', 'Sum', 'item-create')).toEqual({ 0: 2 });
    expect(await fetch(env, run, 'Latency', 'Maximum', 'item-create')).toEqual({ 0: 40 });
    expect(await fetch(env, run, 'Latency', 'SampleCount', 'item-read')).toEqual({ 0: 12 });
    expect(await fetch(env, run, 'Scheduled', 'Sum', 'item-read')).toEqual({});
    expect(await fetch(env, run, 'Requests', 'Sum')).toEqual({ 0: 20 });
  });

  test('aggregates snapshots per minute: sums of counters and the merged latency distribution', async () => {
    const env = 'pub', run = uniqueId('run');
    const p = cloudWatchPublisher({ envName: env, runId: run, client, backgroundIntervalMs: 0 });
    // WHEN 3 snapshots fall in minute 0 and 2 in minute 1 (one with an error, a timeout and a drop)
    for (const s of [0, 1000, 59_000]) p.record(snapshot(base + s));
    p.record(snapshot(base + MINUTE, { errors: 2, timeouts: 1, dropped: 3, scheduled: 13 }));
    p.record(snapshot(base + MINUTE + 1000));
    await p.flush();
    // THEN each minute holds the sums, zeros included
    expect(await fetch(env, run, 'Requests', 'Sum')).toEqual({ 0: 30, 1: 20 });
    expect(await fetch(env, run, 'Scheduled', 'Sum')).toEqual({ 0: 30, 1: 23 });
    expect(await fetch(env, run, 'Http5xx', 'Sum')).toEqual({ 0: 3, 1: 2 });
    expect(await fetch(env, run, 'Errors', 'Sum')).toEqual({ 0: 0, 1: 2 });
    expect(await fetch(env, run, 'Timeouts', 'Sum')).toEqual({ 1: 1, 0: 0 });
    expect(await fetch(env, run, 'Dropped', 'Sum')).toEqual({ 0: 0, 1: 3 });
    // AND the latency values/counts: 27 × 12.3 ms + 3 × 50 ms in minute 0
    expect(await fetch(env, run, 'Latency', 'SampleCount')).toEqual({ 0: 30, 1: 20 });
    const sum = await fetch(env, run, 'Latency', 'Sum');
    expect(sum[0]).toBeCloseTo(27 * 12.3 + 3 * 50, 6);
    expect(await fetch(env, run, 'Latency', 'Maximum')).toEqual({ 0: 50, 1: 50 });
  });

  test('a minute of wide per-endpoint distributions reaches moto (its form takes 1000 fields at most)', async () => {
    const env = 'pub', run = uniqueId('run');
    const p = cloudWatchPublisher({ envName: env, runId: run, client, backgroundIntervalMs: 0 });
    const wide = (n: number) => ({ values: Array.from({ length: n }, (_, i) => 1 + i), counts: Array(n).fill(1) });
    const ok = { '1xx': 0, '2xx': 140, '3xx': 0, '4xx': 0, '5xx': 0 };
    const endpoints = ['a', 'b', 'c', 'd'].map((name) => ({ name, sent: 140, completed: 140, timeouts: 0, errors: 0, status: ok, latency: wide(140) }));
    p.record(snapshot(base, { latency: wide(150), endpoints }));
    await expect(p.flush()).resolves.toBeUndefined();
    expect(await fetch(env, run, 'Latency', 'SampleCount', 'd')).toEqual({ 0: 140 });
  });

  test('a wide distribution is split into datums of at most 150 values, losslessly', async () => {
    const env = 'pub', run = uniqueId('run');
    const p = cloudWatchPublisher({ envName: env, runId: run, client, backgroundIntervalMs: 0 });
    const values = Array.from({ length: 400 }, (_, i) => 100 + i); // 400 distinct 3-digit values → 3 datums
    p.record(snapshot(base, { latency: { values, counts: values.map(() => 1) } }));
    await p.flush();
    expect(await fetch(env, run, 'Latency', 'SampleCount')).toEqual({ 0: 400 });
    expect(await fetch(env, run, 'Latency', 'Sum')).toEqual({ 0: values.reduce((a, b) => a + b, 0) });
  });

  test('completed minutes go out in the background; flush sends the partial one', async () => {
    const env = 'pub', run = uniqueId('run');
    const p = cloudWatchPublisher({ envName: env, runId: run, client, backgroundIntervalMs: 50 });
    p.record(snapshot(base));
    p.record(snapshot(base + MINUTE)); // shows minute 0 complete
    await new Promise((r) => setTimeout(r, 300));
    expect(await fetch(env, run, 'Requests', 'Sum')).toEqual({ 0: 10 });
    await p.flush();
    expect(await fetch(env, run, 'Requests', 'Sum')).toEqual({ 0: 10, 1: 10 });
  });

  test('failures never throw from record; flush rejects with what was lost', async () => {
    const bad = new CloudWatchClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', maxAttempts: 1, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const p = cloudWatchPublisher({ envName: 'pub', runId: uniqueId('run'), client: bad, backgroundIntervalMs: 0 });
    expect(() => p.record(snapshot(base))).not.toThrow();
    const error = await p.flush().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).lostDatums).toBe(10);
    await expect(p.flush()).resolves.toBeUndefined(); // reported once
  });

  test('requests stay within 1000 datums and the size limit', () => {
    const dims = [{ Name: 'Environment', Value: 'x' }, { Name: 'RunId', Value: 'y' }];
    const counters = Array.from({ length: 2500 }, () => ({ MetricName: 'Requests', Dimensions: dims, Value: 1 }));
    const counterBatches = toBatches(counters);
    expect(counterBatches.flat()).toHaveLength(2500);
    for (const b of counterBatches) {
      expect(b.length).toBeLessThanOrEqual(1000);
      expect(b.reduce((n, d) => n + formFields(d), 0)).toBeLessThanOrEqual(MAX_FIELDS_PER_REQUEST);
    }
    const wide = Array.from({ length: 200 }, () => ({ MetricName: 'Latency', Dimensions: dims, Values: Array(150).fill(1), Counts: Array(150).fill(1) }));
    const batches = toBatches(wide);
    expect(batches.length).toBeGreaterThan(1);
    for (const b of batches) expect(JSON.stringify(b).length).toBeLessThan(1_000_000);
    expect(roundLatency(12.345)).toBe(12.3);
    expect(roundLatency(12345)).toBe(12300);
    expect(MOTO_ENDPOINT).toMatch(/^http/);
  });
});
