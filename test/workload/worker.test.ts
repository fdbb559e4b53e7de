import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { inTransaction } from '../../workload/src/idempotency';
import { createJob } from '../../workload/src/jobs';
import { Worker } from '../../workload/src/worker';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';
import { workloadBundle } from './workload-bundle';

// Against real PostgreSQL and an SQS endpoint (moto_server) on 127.0.0.1, not mocks.
let h: Harness;
beforeAll(async () => {
  // Short visibility so a failed message comes back quickly; redrive to the DLQ after 2 receives.
  h = await createHarness({ maxReceiveCount: 2, env: { WORKER_VISIBILITY_SECONDS: '1' } });
});
afterAll(async () => h.close());

const newItem = async () => (await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('thing') RETURNING id")).rows[0].id;
const jobStatus = async (id: string) => (await h.db.writer.query<{ status: string; attempts: number }>('SELECT status, attempts FROM jobs WHERE id = $1', [id])).rows[0];
const processedCount = async (itemId: string) => (await h.db.writer.query<{ n: number }>('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).rows[0].n;
const send = (body: string) => h.sqs.send(new SendMessageCommand({ QueueUrl: h.queueUrl, MessageBody: body }));

async function withWorker<T>(fn: (w: Worker) => Promise<T>): Promise<T> {
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings: h.settings, log: process.env.DEBUG_WORKER ? (e, f) => console.log(e, f) : undefined });
  worker.start();
  try {
    return await fn(worker);
  } finally {
    await worker.stop();
  }
}

test('job flow end to end: queued → worker → done, effect applied, message deleted', async () => {
  const itemId = await newItem();
  const jobId = await inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs: 5, ioMs: 20 }));
  await send(JSON.stringify({ jobId }));
  await withWorker(() => eventually(async () => ((await jobStatus(jobId)).status === 'done' ? true : undefined), 15_000, 'job done'));
  expect(await processedCount(itemId)).toBe(1);
  expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });
});

test('the same message delivered twice applies once (at-least-once delivery)', async () => {
  const itemId = await newItem();
  const jobId = await inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs: 1, ioMs: 1 }));
  await send(JSON.stringify({ jobId }));
  await send(JSON.stringify({ jobId }));
  const outcomes = await withWorker(async (w) => {
    await eventually(async () => (w.processed.filter((p) => p.jobId === jobId).length === 2 ? true : undefined), 15_000, 'both deliveries');
    return w.processed.filter((p) => p.jobId === jobId).map((p) => p.outcome).sort();
  });
  expect(outcomes).toEqual(['done', 'duplicate']);
  expect(await processedCount(itemId)).toBe(1);
  expect((await jobStatus(jobId)).status).toBe('done');
  expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });
});

test('a poison message is not deleted; after maxReceiveCount it ends in the DLQ', async () => {
  await send('this is not a job');
  await withWorker(async (w) => {
    // moto, like SQS, moves the message on the receive after the last allowed one. (A long poll that an
    // earlier worker abandoned may have used up one receive, so this worker may see one failure or two.)
    await eventually(async () => ((await h.queueDepth(h.dlqUrl)).visible === 1 ? true : undefined), 30_000, 'message in the DLQ');
    expect(w.processed.filter((p) => p.outcome === 'failed').length).toBeGreaterThanOrEqual(1);
    expect(w.processed.filter((p) => p.outcome !== 'failed')).toEqual([]);
  });
  expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });
  const dlq = await h.sqs.send(new ReceiveMessageCommand({ QueueUrl: h.dlqUrl, MaxNumberOfMessages: 1 }));
  expect(dlq.Messages?.[0]?.Body).toBe('this is not a job');
});

test('SIGTERM during a job: the worker stops polling, finishes the job, deletes the message and exits 0', async () => {
  const itemId = await newItem();
  const jobId = await inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs: 0, ioMs: 1500 }));
  // The bundle the image runs: it starts in a fraction of ts-node's time on a busy machine.
  const proc = spawnCollecting(process.execPath, [await workloadBundle(), 'worker'], { ...process.env, ...h.env, WORKER_VISIBILITY_SECONDS: '30' });
  try {
    await eventually(async () => (proc.output.includes('"event":"started"') ? true : undefined), 20_000, 'worker start');
    await send(JSON.stringify({ jobId }));
    await eventually(async () => ((await jobStatus(jobId)).status === 'running' ? true : undefined), 15_000, 'job running');
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  } finally {
    proc.child.kill('SIGKILL');
  }
  expect(proc.output).toContain('"event":"stopping"');
  expect((await jobStatus(jobId)).status).toBe('done');
  expect(await processedCount(itemId)).toBe(1);
  expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });
});
