import { ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createJob } from '../../workload/src/jobs';
import { Worker } from '../../workload/src/worker';
import { createHarness, eventually, type Harness } from './harness';

// WORKER_CONCURRENCY above SQS's 10 messages per receive: the worker keeps receiving until its slots are full.
// Against real PostgreSQL and moto_server; what runs is read from the jobs table and the queue's counters.
const CONCURRENCY = 15;
const JOBS = 20;
// Long enough that the first 15 are still running while the test looks; the heartbeat extends visibility.
const IO_MS = 4000;

let h: Harness;
beforeAll(async () => {
  h = await createHarness({ env: { WORKER_CONCURRENCY: String(CONCURRENCY), WORKER_VISIBILITY_SECONDS: '30' } });
});
afterAll(async () => h.close());

/** Jobs queued in the database and their messages sent, ten per SendMessageBatch (its limit). */
async function queueSlowJobs(n: number): Promise<string[]> {
  const ids = await Promise.all(Array.from({ length: n }, () => createJob(h.db.writer, { cpuMs: 0, ioMs: IO_MS })));
  for (let i = 0; i < ids.length; i += 10) {
    const entries = ids.slice(i, i + 10).map((jobId, k) => ({ Id: String(k), MessageBody: JSON.stringify({ jobId }) }));
    await h.sqs.send(new SendMessageBatchCommand({ QueueUrl: h.queueUrl, Entries: entries }));
  }
  return ids;
}

async function statuses(ids: string[]): Promise<{ queued: number; running: number; done: number }> {
  const rows = (await h.db.writer.query<{ status: 'queued' | 'running' | 'done'; n: number }>(
    'SELECT status, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status', [ids])).rows;
  return { queued: 0, running: 0, done: 0, ...Object.fromEntries(rows.map((r) => [r.status, r.n])) };
}

/** The harness's SQS client, recording how many messages each receive asks for. */
function recordingReceives(): { sqs: SQSClient; asked: number[] } {
  const asked: number[] = [];
  const sqs = {
    send: (command: unknown, options?: unknown) => {
      if (command instanceof ReceiveMessageCommand) asked.push(command.input.MaxNumberOfMessages!);
      return (h.sqs.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    },
  } as unknown as SQSClient;
  return { sqs, asked };
}

test(`concurrency ${CONCURRENCY} with ${JOBS} slow jobs queued: ${CONCURRENCY} run at once, the rest stay in the queue until a slot frees`, async () => {
  const ids = await queueSlowJobs(JOBS);
  const { sqs, asked } = recordingReceives();
  const worker = new Worker({ sqs, writer: h.db.writer, settings: h.settings });
  let most = 0;
  const sampling = setInterval(() => void statuses(ids).then((s) => (most = Math.max(most, s.running))), 50);
  worker.start();
  try {
    // All at one moment: 15 claimed in the database, 15 received from SQS, 5 never received.
    await eventually(async () => {
      const [s, depth] = await Promise.all([statuses(ids), h.queueDepth()]);
      most = Math.max(most, s.running);
      return s.running === CONCURRENCY && s.queued === JOBS - CONCURRENCY && depth.inFlight === CONCURRENCY && depth.visible === JOBS - CONCURRENCY ? true : undefined;
    }, 15_000, `${CONCURRENCY} jobs running with ${JOBS - CONCURRENCY} left in the queue`);
    await eventually(async () => ((await statuses(ids)).done === JOBS ? true : undefined), 30_000, 'every job done');
  } finally {
    clearInterval(sampling);
    await worker.stop();
  }
  expect(most).toBe(CONCURRENCY);
  // A receive returns at most 10 messages: 10, then the 5 slots still free; never more than the free slots.
  expect(asked.slice(0, 2)).toEqual([10, CONCURRENCY - 10]);
  expect(Math.max(...asked)).toBeLessThanOrEqual(10);
  expect(worker.processed.filter((p) => p.outcome === 'done')).toHaveLength(JOBS);
  expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });
});

test('stop() with every slot taken: no further receive, the running jobs finish, the waiting messages stay in the queue', async () => {
  const ids = await queueSlowJobs(JOBS);
  const { sqs, asked } = recordingReceives();
  const worker = new Worker({ sqs, writer: h.db.writer, settings: h.settings });
  worker.start();
  try {
    await eventually(async () => ((await statuses(ids)).running === CONCURRENCY ? true : undefined), 15_000, `${CONCURRENCY} jobs running`);
    const receivesBeforeStop = asked.length;
    await worker.stop();
    expect(asked).toHaveLength(receivesBeforeStop);
  } finally {
    await worker.stop();
  }
  expect(await statuses(ids)).toEqual({ queued: JOBS - CONCURRENCY, running: 0, done: CONCURRENCY });
  expect(await h.queueDepth()).toEqual({ visible: JOBS - CONCURRENCY, inFlight: 0 });
});
