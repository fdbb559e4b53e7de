import { DeleteQueueCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PoolClient } from 'pg';
import { setTimeout as sleep } from 'timers/promises';
import { inTransaction } from '../../workload/src/idempotency';
import { createJob } from '../../workload/src/jobs';
import { createLocalQueues } from '../../workload/src/tools/local';
import { Worker } from '../../workload/src/worker';
import { createHarness, eventually, type Harness } from './harness';

// WORKER_CONCURRENCY above SQS's 10 messages per receive: the worker keeps receiving until its slots are full.
// Against real PostgreSQL and moto_server; what runs is read from the jobs table and the queue's counters.
//
// The jobs are held running, not timed: each job's last step updates its item in the transaction that marks it
// done (workload/src/jobs.ts), and the test holds that item's row lock, so every job claimed stays "running"
// (and holds its slot) until the test lets go, however slow the machine is.
const CONCURRENCY = 15;
const JOBS = 20;

let h: Harness;
beforeAll(async () => {
  // One connection per running job, as the capacity model sizes worker.dbPoolSize, plus the test's own.
  h = await createHarness({ env: { WORKER_CONCURRENCY: String(CONCURRENCY), DB_POOL_SIZE: String(CONCURRENCY + 5), WORKER_VISIBILITY_SECONDS: '30' } });
});
const queues: string[] = [];
afterAll(async () => {
  for (const url of queues) await h.sqs.send(new DeleteQueueCommand({ QueueUrl: url }));
  await h.close();
});

/**
 * A queue of the test's own: a worker stopped by an earlier test abandons its long poll, which SQS (and moto)
 * still answers with messages that then stay invisible for the visibility timeout.
 */
async function ownQueue(name: string): Promise<string> {
  const { queueUrl, dlqUrl } = await createLocalQueues(h.sqs, `${h.queueUrl.split('/').pop()}-${name}`);
  queues.push(queueUrl, dlqUrl);
  return queueUrl;
}

/** An item whose row the test locks: the jobs on it cannot finish until the lock goes. */
async function heldItem(): Promise<{ itemId: string; release: () => Promise<void> }> {
  const itemId = (await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('held') RETURNING id")).rows[0].id;
  const lock: PoolClient = await h.db.writer.connect();
  await lock.query('BEGIN');
  // NO KEY: the jobs' inserts check their foreign key with FOR KEY SHARE, which only FOR UPDATE would block;
  // their `UPDATE items SET processed_count` needs the lock this holds.
  await lock.query('SELECT 1 FROM items WHERE id = $1 FOR NO KEY UPDATE', [itemId]);
  let released = false;
  return {
    itemId,
    release: async () => {
      if (released) return;
      released = true;
      await lock.query('COMMIT');
      lock.release();
    },
  };
}

/** Jobs on `itemId` recorded in the database and their messages sent, ten per SendMessageBatch (its limit). */
async function queueJobs(queueUrl: string, n: number, itemId: string): Promise<string[]> {
  const ids = await Promise.all(Array.from({ length: n }, () => inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs: 0, ioMs: 10 }))));
  for (let i = 0; i < ids.length; i += 10) {
    const entries = ids.slice(i, i + 10).map((jobId, k) => ({ Id: String(k), MessageBody: JSON.stringify({ jobId }) }));
    await h.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
  }
  return ids;
}

async function statuses(ids: string[]): Promise<{ queued: number; running: number; done: number }> {
  const rows = (await h.db.writer.query<{ status: 'queued' | 'running' | 'done'; n: number }>(
    'SELECT status, count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) GROUP BY status', [ids])).rows;
  return { queued: 0, running: 0, done: 0, ...Object.fromEntries(rows.map((r) => [r.status, r.n])) };
}

const processedCount = async (itemId: string) => (await h.db.writer.query<{ n: number }>('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).rows[0].n;

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

test(`concurrency ${CONCURRENCY} with ${JOBS} jobs queued: ${CONCURRENCY} run at once, the rest stay in the queue until slots free`, async () => {
  const queueUrl = await ownQueue('fill');
  const held = await heldItem();
  const ids = await queueJobs(queueUrl, JOBS, held.itemId);
  const { sqs, asked } = recordingReceives();
  const worker = new Worker({ sqs, writer: h.db.writer, settings: { ...h.settings, queueUrl } });
  let most = 0;
  const sampling = setInterval(() => void statuses(ids).then((s) => (most = Math.max(most, s.running))).catch(() => undefined), 50);
  worker.start();
  try {
    // All at one moment: 15 claimed in the database, 15 received from SQS, 5 never received.
    await eventually(async () => {
      const [s, depth] = await Promise.all([statuses(ids), h.queueDepth(queueUrl)]);
      most = Math.max(most, s.running);
      return s.running === CONCURRENCY && s.queued === JOBS - CONCURRENCY && depth.inFlight === CONCURRENCY && depth.visible === JOBS - CONCURRENCY ? true : undefined;
    }, 30_000, `${CONCURRENCY} jobs running with ${JOBS - CONCURRENCY} left in the queue`);
    await held.release();
    await eventually(async () => ((await statuses(ids)).done === JOBS ? true : undefined), 30_000, 'every job done');
  } finally {
    clearInterval(sampling);
    await held.release();
    await worker.stop();
  }
  expect(most).toBe(CONCURRENCY);
  // A receive returns at most 10 messages: 10, then the 5 slots still free; never more than the free slots.
  expect(asked.slice(0, 2)).toEqual([10, CONCURRENCY - 10]);
  expect(Math.max(...asked)).toBeLessThanOrEqual(10);
  expect(worker.processed.filter((p) => p.outcome === 'done')).toHaveLength(JOBS);
  expect(await processedCount(held.itemId)).toBe(JOBS);
  expect(await h.queueDepth(queueUrl)).toEqual({ visible: 0, inFlight: 0 });
});

test('stop() with every slot taken: no further receive, it waits for the running jobs, the waiting messages stay in the queue', async () => {
  const queueUrl = await ownQueue('stop');
  const held = await heldItem();
  const ids = await queueJobs(queueUrl, JOBS, held.itemId);
  const { sqs, asked } = recordingReceives();
  const worker = new Worker({ sqs, writer: h.db.writer, settings: { ...h.settings, queueUrl } });
  worker.start();
  try {
    await eventually(async () => ((await statuses(ids)).running === CONCURRENCY ? true : undefined), 30_000, `${CONCURRENCY} jobs running`);
    const receivesBeforeStop = asked.length;
    const stopped = worker.stop();
    // Still draining while the jobs cannot finish (a bounded look: a stop() that returned early would have by now).
    expect(await Promise.race([stopped.then(() => 'stopped'), sleep(500).then(() => 'draining')])).toBe('draining');
    await held.release();
    await stopped;
    expect(asked).toHaveLength(receivesBeforeStop);
  } finally {
    await held.release();
    await worker.stop();
  }
  expect(await statuses(ids)).toEqual({ queued: JOBS - CONCURRENCY, running: 0, done: CONCURRENCY });
  expect(await h.queueDepth(queueUrl)).toEqual({ visible: JOBS - CONCURRENCY, inFlight: 0 });
});
