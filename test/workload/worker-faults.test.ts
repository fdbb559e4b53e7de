import { ChangeMessageVisibilityCommand, DeleteQueueCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { execFile } from 'child_process';
import { monitorEventLoopDelay } from 'perf_hooks';
import type { PoolClient } from 'pg';
import { connectDatabase } from '../../workload/src/db';
import { inTransaction } from '../../workload/src/idempotency';
import { createJob } from '../../workload/src/jobs';
import type { Settings } from '../../workload/src/settings';
import { freePort } from '../../workload/src/tools/api-process';
import { createLocalQueues } from '../../workload/src/tools/local';
import { Worker } from '../../workload/src/worker';
import { WORKER_HEALTH_CHECK_COMMAND, WORKER_LIVENESS_PORT } from '../../lib/contracts/container-env';
import { startFaultProxy } from './fault-proxy';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';
import { workloadBundle } from './workload-bundle';

// The worker under faults, against real PostgreSQL and moto_server: a slow job among short ones, a database
// that refuses for a moment, a job that asks for more than the cap, its liveness answer, and SIGKILL mid-job.
let h: Harness;
const queues: string[] = [];
beforeAll(async () => {
  h = await createHarness({ env: { WORKER_CONCURRENCY: '6', DB_POOL_SIZE: '10', WORKER_VISIBILITY_SECONDS: '30', WORKER_RETRY_BASE_SECONDS: '1' } });
});
afterAll(async () => {
  for (const url of queues) await h.sqs.send(new DeleteQueueCommand({ QueueUrl: url })).catch(() => undefined);
  await h.close();
});

/** A queue of the test's own: a stopped worker's abandoned long poll can still take an earlier test's messages. */
async function ownQueue(name: string): Promise<Settings> {
  const { queueUrl, dlqUrl } = await createLocalQueues(h.sqs, `${h.queueUrl.split('/').pop()}-${name}`, 5);
  queues.push(queueUrl, dlqUrl);
  return { ...h.settings, queueUrl };
}
const newItem = async () => (await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('w') RETURNING id")).rows[0].id;
const job = (itemId: string, cpuMs = 0, ioMs = 1) => inTransaction(h.db.writer, (tx) => createJob(tx, { itemId: Number(itemId), cpuMs, ioMs }));
const send = (queueUrl: string, jobId: string) => h.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify({ jobId }) }));
const status = async (id: string) => (await h.db.writer.query<{ status: string; attempts: number }>('SELECT status, attempts FROM jobs WHERE id = $1', [id])).rows[0];
const processed = async (itemId: string) => (await h.db.writer.query<{ n: number }>('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).rows[0].n;

test('one slow job holds one slot only: five short jobs finish while it still runs', async () => {
  const settings = await ownQueue('slots');
  const slowItem = await newItem();
  const quickItem = await newItem();
  // The slow job cannot finish while the test holds its item's row lock (its last step updates the item).
  const lock: PoolClient = await h.db.writer.connect();
  await lock.query('BEGIN');
  await lock.query('SELECT 1 FROM items WHERE id = $1 FOR NO KEY UPDATE', [slowItem]);
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings });
  try {
    const slow = await job(slowItem);
    await send(settings.queueUrl, slow);
    worker.start();
    await eventually(async () => ((await status(slow)).status === 'running' ? true : undefined), 15_000, 'slow job running');
    const quick = await Promise.all(Array.from({ length: 5 }, () => job(quickItem)));
    for (const id of quick) await send(settings.queueUrl, id);
    await eventually(async () => (await processed(quickItem) === 5 ? true : undefined), 15_000, 'five short jobs done');
    expect((await status(slow)).status).toBe('running');
  } finally {
    await lock.query('COMMIT');
    lock.release();
    await worker.stop();
  }
  expect(await processed(slowItem)).toBe(1);
});

test('CPU work yields between slices: the event loop is never held for the length of a CPU-heavy job', async () => {
  const settings = await ownQueue('cpu');
  const itemId = await newItem();
  const id = await job(itemId, 1500, 0);
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings });
  const delay = monitorEventLoopDelay({ resolution: 10 });
  worker.start();
  try {
    await send(settings.queueUrl, id);
    await eventually(async () => ((await status(id)).status === 'running' ? true : undefined), 15_000, 'job running');
    delay.enable();
    await eventually(async () => ((await status(id)).status === 'done' ? true : undefined), 15_000, 'job done');
    delay.disable();
  } finally {
    await worker.stop();
  }
  // One 1.5 s spin would show as a 1.5 s delay; slices of 10 ms leave the loop free (generous bound for a busy machine).
  expect(delay.max / 1e6).toBeLessThan(750);
});

test('a job that fails on a database blip comes back after 1 s, 2 s, ... (ChangeMessageVisibility), not after the 30 s visibility timeout', async () => {
  const settings = await ownQueue('backoff');
  const proxy = await startFaultProxy({ port: Number(h.env.DB_PORT) });
  // The worker's pool goes through the proxy; the test's own does not.
  const db = connectDatabase({ ...settings.db, writerHost: '127.0.0.1', readerHost: '127.0.0.1', port: proxy.port }, settings.region);
  const visibility: number[] = [];
  const sqs = {
    send: (command: unknown, options?: unknown) => {
      if (command instanceof ChangeMessageVisibilityCommand) visibility.push(command.input.VisibilityTimeout!);
      return (h.sqs.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
    },
  } as unknown as SQSClient;
  const itemId = await newItem();
  const id = await job(itemId);
  const worker = new Worker({ sqs, writer: db.writer, settings });
  proxy.setMode('refuse');
  try {
    await send(settings.queueUrl, id);
    worker.start();
    await eventually(async () => (worker.counts.failed >= 2 ? true : undefined), 15_000, 'two failed attempts');
    proxy.setMode('pass');
    await eventually(async () => ((await status(id)).status === 'done' ? true : undefined), 15_000, 'job done after the blip');
  } finally {
    proxy.setMode('pass');
    await worker.stop();
    await db.close();
    await proxy.close();
  }
  expect(visibility.slice(0, 2)).toEqual([1, 2]);
  expect(await processed(itemId)).toBe(1);
});

test('finished jobs are kept up to historySize: memory stays bounded, the counts go on', async () => {
  const settings = await ownQueue('history');
  const itemId = await newItem();
  const ids = await Promise.all(Array.from({ length: 5 }, () => job(itemId)));
  for (const id of ids) await send(settings.queueUrl, id);
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings, historySize: 3 });
  worker.start();
  try {
    await eventually(async () => (worker.counts.done === 5 ? true : undefined), 15_000, 'five jobs done');
  } finally {
    await worker.stop();
  }
  expect(worker.processed).toHaveLength(3);
  expect(await processed(itemId)).toBe(5);
});

test('a job row asking for 10 minutes runs at most JOB_MAX_MS', async () => {
  const settings = { ...await ownQueue('cap'), job: { ...h.settings.job, maxMs: 200 } };
  const itemId = await newItem();
  const id = await job(itemId, 0, 600_000);
  await send(settings.queueUrl, id);
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings });
  worker.start();
  try {
    await eventually(async () => ((await status(id)).status === 'done' ? true : undefined), 10_000, 'capped job done');
  } finally {
    await worker.stop();
  }
});

/** Runs the container health check command as ECS would (CMD-SHELL: sh -c), against 127.0.0.1:`port`. */
function healthCheck(port: number): Promise<number> {
  const command = WORKER_HEALTH_CHECK_COMMAND.replace(`:${WORKER_LIVENESS_PORT}/`, `:${port}/`);
  return new Promise((resolve) => execFile('sh', ['-c', command], { timeout: 10_000 }, (err) => resolve(err ? Number((err as { code?: number }).code ?? 1) || 1 : 0)));
}

test('liveness: the health check passes while the loop makes progress and fails once it has stalled', async () => {
  const settings = await ownQueue('live');
  const port = await freePort();
  const healthy = new Worker({ sqs: h.sqs, writer: h.db.writer, settings: { ...settings, worker: { ...settings.worker, livenessPort: port } } });
  healthy.start();
  try {
    expect(await eventually(async () => ((await healthCheck(port)) === 0 ? 0 : undefined), 5_000, 'healthy')).toBe(0);
  } finally {
    await healthy.stop();
  }
  // A receive that never returns (an SDK call without timeouts would do this on a paused endpoint).
  const wedged = { send: () => new Promise(() => undefined) } as unknown as SQSClient;
  // 2 s: long enough that the first check (sh, wget) runs before the stall on a loaded machine (300 ms was not).
  const stalled = new Worker({ sqs: wedged, writer: h.db.writer, settings: { ...settings, worker: { ...settings.worker, livenessPort: port } }, stallAfterMs: 2_000 });
  stalled.start();
  try {
    expect(await healthCheck(port)).toBe(0);
    await eventually(async () => (stalled.live() ? undefined : true), 5_000, 'stalled');
    expect(await healthCheck(port)).not.toBe(0);
  } finally {
    void stalled.stop();
  }
});

test('SIGKILL mid-job: the message comes back after its visibility timeout and another worker applies the job once', async () => {
  const settings = await ownQueue('kill');
  const itemId = await newItem();
  const id = await job(itemId, 0, 60_000);
  await send(settings.queueUrl, id);
  // Visibility 2 s: the killed worker no longer extends it, so the message is visible again 2 s after the kill.
  const proc = spawnCollecting(process.execPath, [await workloadBundle(), 'worker'], {
    ...process.env, ...h.env, QUEUE_URL: settings.queueUrl, WORKER_VISIBILITY_SECONDS: '2',
  });
  try {
    await eventually(async () => ((await status(id)).status === 'running' ? true : undefined), 30_000, 'job running in the child');
    proc.child.kill('SIGKILL');
    await proc.exited;
  } finally {
    proc.child.kill('SIGKILL');
  }
  expect(await processed(itemId)).toBe(0);
  const worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings: { ...settings, job: { ...settings.job, maxMs: 50 } } });
  worker.start();
  try {
    await eventually(async () => ((await status(id)).status === 'done' ? true : undefined), 15_000, 'job done by the second worker');
  } finally {
    await worker.stop();
  }
  expect(await status(id)).toEqual({ status: 'done', attempts: 2 });
  expect(await processed(itemId)).toBe(1);
});
