import { inTransaction } from '../../workload/src/idempotency';
import { Metrics } from '../../workload/src/metrics';
import { createJob } from '../../workload/src/jobs';
import { OutboxRelay } from '../../workload/src/outbox';
import { Sweeper } from '../../workload/src/sweeper';
import { Worker } from '../../workload/src/worker';
import { createHarness, eventually, type Harness } from './harness';

// Jobs that stopped moving ('queued' or 'running' with no message on its way: lost to the DLQ, or a worker
// killed after the last receive), against real PostgreSQL and moto_server.
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(async () => h.close());

const sweeper = () => new Sweeper({ writer: h.db.writer, stuckAfterSeconds: 600, maxEnqueues: 2, intervalMs: 60_000 });
const newItem = async () => (await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('s') RETURNING id")).rows[0].id;
const row = async (id: string) => (await h.db.writer.query<{ status: string; enqueues: number; outbox: number }>(
  'SELECT status, enqueues, (SELECT count(*)::int FROM outbox WHERE job_id = jobs.id) AS outbox FROM jobs WHERE id = $1', [id])).rows[0];

/** A job whose message was sent (its outbox row gone) and that has not changed for `ageSeconds`. */
async function stuckJob(itemId: string, status: 'queued' | 'running', ageSeconds: number, enqueues = 1): Promise<string> {
  const id = await inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs: 0, ioMs: 1 }));
  await h.db.writer.query('DELETE FROM outbox WHERE job_id = $1', [id]);
  await h.db.writer.query("UPDATE jobs SET status = $2, enqueues = $3, updated_at = now() - make_interval(secs => $4) WHERE id = $1", [id, status, enqueues, ageSeconds]);
  return id;
}

test('stuck past the bound: sent again through the outbox; then relayed and applied once', async () => {
  const itemId = await newItem();
  const queued = await stuckJob(itemId, 'queued', 3600);
  const running = await stuckJob(itemId, 'running', 3600);
  const { requeued, failed } = await sweeper().sweepOnce();
  expect(requeued.sort()).toEqual([queued, running].sort());
  expect(failed).toEqual([]);
  expect(await row(queued)).toEqual({ status: 'queued', enqueues: 2, outbox: 1 });
  expect(await row(running)).toEqual({ status: 'running', enqueues: 2, outbox: 1 });

  // Their KPIs as EMF lines: OutboxLag from the relay, JobQueueWait, JobProcessingTime and JobOutcome from the worker.
  const lines: string[] = [];
  const metrics = new Metrics({ environment: 'test', service: 'jobs' }, (line) => lines.push(line), 0);
  const relay = new OutboxRelay({ writer: h.db.writer, sqs: h.sqs, queueUrl: h.queueUrl, pollMs: 50, leaseSeconds: 30, metrics });
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings: h.settings, metrics });
  relay.start();
  worker.start();
  try {
    await eventually(async () => ((await row(queued)).status === 'done' && (await row(running)).status === 'done' ? true : undefined), 15_000, 'both done');
  } finally {
    await relay.stop();
    await worker.stop();
  }
  expect((await h.db.writer.query<{ n: number }>('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).rows[0].n).toBe(2);

  metrics.close();
  const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string }> }> } });
  const values = (name: string, dims: Record<string, string> = {}) => emf
    .filter((e) => e._aws.CloudWatchMetrics[0].Metrics[0].Name === name && Object.entries(dims).every(([k, v]) => e[k] === v))
    .flatMap((e) => e[name] as number[]);
  expect(values('JobOutcome', { Outcome: 'done' })).toEqual([1, 1]);
  expect(values('JobProcessingTime', { Outcome: 'done' })).toHaveLength(2);
  // Queue wait counts from the job's acceptance: these were accepted an hour before the sweep.
  expect(Math.min(...values('JobQueueWait'))).toBeGreaterThan(0);
  expect(values('OutboxLag').length).toBeGreaterThan(0);
  expect(values('OutboxLag').every((v) => v >= 0)).toBe(true);
});

test('stuck after maxEnqueues sends: marked failed, not sent again', async () => {
  const id = await stuckJob(await newItem(), 'queued', 3600, 2);
  const { requeued, failed } = await sweeper().sweepOnce();
  expect([requeued, failed]).toEqual([[], [id]]);
  expect(await row(id)).toEqual({ status: 'failed', enqueues: 2, outbox: 0 });
});

test('left alone: jobs younger than the bound, jobs whose message is still in the outbox, finished jobs', async () => {
  const itemId = await newItem();
  const young = await stuckJob(itemId, 'queued', 10);
  const waiting = await inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs: 0, ioMs: 1 }));
  await h.db.writer.query("UPDATE jobs SET updated_at = now() - interval '1 hour' WHERE id = $1", [waiting]);
  const done = await stuckJob(itemId, 'queued', 3600);
  await h.db.writer.query("UPDATE jobs SET status = 'done' WHERE id = $1", [done]);
  const { requeued, failed } = await sweeper().sweepOnce();
  expect([...requeued, ...failed].filter((id) => [young, waiting, done].includes(id))).toEqual([]);
});

test('two sweepers at once (two API processes): each stuck job is sent again once', async () => {
  const itemId = await newItem();
  const ids = await Promise.all(Array.from({ length: 20 }, () => stuckJob(itemId, 'queued', 3600)));
  const [a, b] = await Promise.all([sweeper().sweepOnce(), sweeper().sweepOnce()]);
  expect([...a.requeued, ...b.requeued].sort()).toEqual([...ids].sort());
  expect((await h.db.writer.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE job_id = ANY($1::uuid[])', [ids])).rows[0].n).toBe(20);
});
