import type { SQSClient } from '@aws-sdk/client-sqs';
import type { FastifyInstance } from 'fastify';
import { join } from 'path';
import { buildApi } from '../../workload/src/app';
import { OutboxRelay } from '../../workload/src/outbox';
import { boundedSqsClient } from '../../workload/src/sqs';
import { freePort } from '../../workload/src/tools/api-process';
import { Worker } from '../../workload/src/worker';
import { startFaultProxy, type FaultMode, type FaultProxy } from './fault-proxy';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';
import { workloadBundle } from './workload-bundle';

// POST /jobs with the SQS endpoint broken between the API and moto (a fault proxy: paused, refusing, or
// forwarding requests and dropping the replies), against real PostgreSQL and moto_server. Every accepted job
// must be applied exactly once (items.processed_count, jobs rows) and none may stay 'queued', and no request
// may hang or answer 500. The worker reaches moto directly: the fault is on the API's path.
let h: Harness;
let proxy: FaultProxy;
let api: FastifyInstance;
let base: string;
/** One worker for the file, straight to moto (a stopped one would leave a long poll that still takes messages). */
let worker: Worker;
/** The API's SQS client, through the proxy, with a short budget so that the test sees several attempts. */
let proxied: SQSClient;
const events: Array<{ event: string; fields?: Record<string, unknown> }> = [];

beforeAll(async () => {
  h = await createHarness({ env: { WORKER_VISIBILITY_SECONDS: '30' } });
  proxy = await startFaultProxy({ port: Number(new URL(h.env.AWS_ENDPOINT_URL).port) });
  proxied = boundedSqsClient(h.settings.region, { connectionTimeoutMs: 300, requestTimeoutMs: 600, maxAttempts: 2 }, {
    endpoint: `http://127.0.0.1:${proxy.port}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  // The API gets the proxied client too: the code before the outbox sent from the request with it.
  api = buildApi({ db: h.db, cache: h.cache, sqs: proxied, settings: h.settings });
  base = await api.listen({ port: 0, host: '127.0.0.1' });
  worker = new Worker({ sqs: h.sqs, writer: h.db.writer, settings: h.settings });
  worker.start();
});
afterAll(async () => {
  await worker.stop();
  await api.close();
  proxied.destroy();
  await proxy.close();
  await h.close();
});

const relay = () => new OutboxRelay({
  writer: h.db.writer, sqs: proxied, queueUrl: h.queueUrl, pollMs: 50, leaseSeconds: 5, log: (event, fields) => events.push({ event, fields }),
});
const newItem = async () => (await h.db.writer.query<{ id: string }>("INSERT INTO items (name) VALUES ('job target') RETURNING id")).rows[0].id;
const count = async (sql: string, params: unknown[] = []) => (await h.db.writer.query<{ n: number }>(sql, params)).rows[0].n;

/** POSTs `n` jobs on `itemId`, each answered within `boundMs`; returns their ids. */
async function postJobs(itemId: string, n: number, boundMs: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const started = Date.now();
    // Over real HTTP; a request still unanswered at the bound is aborted and fails the test.
    const r = await fetch(`${base}/jobs`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ itemId: Number(itemId) }), signal: AbortSignal.timeout(boundMs),
    });
    const body = await r.json() as { jobId: string };
    expect({ status: r.status, body }).toEqual({ status: 202, body: { jobId: expect.any(String), status: 'queued' } });
    expect(Date.now() - started).toBeLessThan(boundMs);
    ids.push(body.jobId);
  }
  return ids;
}

/**
 * Waits until every job in `ids` is done and the queue is empty (duplicates of a job, from a lost reply's
 * resend, are deleted as they come); returns what the worker did meanwhile, per outcome.
 */
async function workUntilDone(ids: string[], since: Record<string, number>): Promise<Record<string, number>> {
  await eventually(async () => (await count("SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'done'", [ids]) === ids.length ? true : undefined),
    20_000, 'every job done');
  await eventually(async () => {
    const d = await h.queueDepth();
    return d.visible === 0 && d.inFlight === 0 ? true : undefined;
  }, 20_000, 'queue drained');
  return Object.fromEntries(Object.entries(worker.counts).map(([k, v]) => [k, v - (since[k] ?? 0)]));
}

test.each<[FaultMode, string]>([
  ['pause', 'paused (accepts, never answers)'],
  ['refuse', 'stopped (connections refused)'],
])('SQS %s: POST /jobs still answers 202 at once; the jobs are sent when SQS is back and applied once each', async (mode) => {
  events.length = 0;
  const since = { ...worker.counts };
  const itemId = await newItem();
  proxy.setMode(mode);
  const r = relay();
  r.start();
  try {
    const ids = await postJobs(itemId, 5, 2_000);
    // Committed with their messages, which wait in the outbox while the relay's sends fail within their bound.
    await eventually(async () => (events.some((e) => e.event === 'outbox_send_failed') ? true : undefined), 10_000, 'a failed send');
    expect(await count('SELECT count(*)::int AS n FROM outbox WHERE job_id = ANY($1::uuid[])', [ids])).toBe(5);
    expect(await h.queueDepth()).toEqual({ visible: 0, inFlight: 0 });

    proxy.setMode('pass');
    await eventually(async () => (await count('SELECT count(*)::int AS n FROM outbox') === 0 ? true : undefined), 15_000, 'outbox sent');
    const outcomes = await workUntilDone(ids, since);
    expect(outcomes.done).toBe(5);
    expect(await count('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).toBe(5);
    expect(await count("SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status <> 'done'", [ids])).toBe(0);
  } finally {
    proxy.setMode('pass');
    await r.stop();
  }
});

test('SQS takes the messages but the replies are lost: the relay sends again, the worker applies each job once', async () => {
  events.length = 0;
  const since = { ...worker.counts };
  const itemId = await newItem();
  const dropped = proxy.droppedReplies;
  proxy.setMode('drop-replies');
  const r = relay();
  r.start();
  try {
    const ids = await postJobs(itemId, 3, 2_000);
    // SQS got the batch, more than once (the SDK retried), and the worker applied the jobs, while the relay
    // heard nothing and kept the rows (the code before the outbox answered 500 here and deleted the job).
    await eventually(async () => (await count("SELECT count(*)::int AS n FROM jobs WHERE id = ANY($1::uuid[]) AND status = 'done'", [ids]) === 3 ? true : undefined),
      15_000, 'jobs applied while their replies were lost');
    await eventually(async () => (events.some((e) => e.event === 'outbox_send_failed') ? true : undefined), 10_000, 'a send without reply');
    // Every row through one whole failed pass (both attempts delivered, neither heard): a row leased again has had
    // one. The jobs may have gone in more than one batch, and one still in its first attempt when SQS answers again
    // would be delivered twice only.
    await eventually(async () => (await count('SELECT count(*)::int AS n FROM outbox WHERE job_id = ANY($1::uuid[]) AND attempts >= 2', [ids]) === 3 ? true : undefined),
      15_000, 'every row past one failed pass');
    expect(proxy.droppedReplies - dropped).toBeGreaterThanOrEqual(2);
    expect(await count('SELECT count(*)::int AS n FROM outbox WHERE job_id = ANY($1::uuid[])', [ids])).toBe(3);

    proxy.setMode('pass');
    await eventually(async () => (await count('SELECT count(*)::int AS n FROM outbox') === 0 ? true : undefined), 15_000, 'outbox sent');
    const outcomes = await workUntilDone(ids, since);
    // Three jobs, each delivered at least three times (two lost replies, one heard): applied once each.
    expect(outcomes.done).toBe(3);
    expect(outcomes.duplicate).toBeGreaterThanOrEqual(6);
    expect(outcomes.failed).toBe(0);
    expect(await count('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).toBe(3);
    expect(await count('SELECT count(*)::int AS n FROM jobs WHERE item_id = $1', [itemId])).toBe(3);
  } finally {
    proxy.setMode('pass');
    await r.stop();
  }
});

test('two relays (two API tasks) on one outbox: every row is sent, none by both at once', async () => {
  const since = { ...worker.counts };
  const itemId = await newItem();
  const ids = await postJobs(itemId, 30, 2_000);
  const sent: string[] = [];
  const counting = (client: SQSClient) => ({
    send: async (command: { input: { Entries?: Array<{ MessageBody?: string }> } }) => {
      for (const e of command.input.Entries ?? []) sent.push(JSON.parse(e.MessageBody!).jobId);
      return (client.send as (c: unknown) => Promise<unknown>)(command);
    },
  }) as unknown as SQSClient;
  const relays = [0, 1].map(() => new OutboxRelay({ writer: h.db.writer, sqs: counting(h.sqs), queueUrl: h.queueUrl, pollMs: 20, leaseSeconds: 30 }));
  // Both passes at the same moment, over and over, until the outbox is empty.
  while (await count('SELECT count(*)::int AS n FROM outbox') > 0) await Promise.all(relays.map((x) => x.relayOnce()));
  expect(sent.sort()).toEqual([...ids].sort());
  expect((await workUntilDone(ids, since)).duplicate).toBe(0);
  expect(await count('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).toBe(30);
});

test('the API process is killed while SQS is paused: its leased rows are sent by another relay once the lease ends', async () => {
  proxy.setMode('pause');
  const port = await freePort();
  // The bundle the image runs (quicker to start than ts-node).
  const proc = spawnCollecting(process.execPath, [await workloadBundle(), 'api'], {
    ...process.env, ...h.env, PORT: String(port), HOST: '127.0.0.1',
    // The queue's URL through the proxy too: the SDK sends to the QueueUrl's origin unless the client is given an
    // endpoint (AWS_ENDPOINT_URL is not one), so with moto's own URL the relay went around the pause.
    AWS_ENDPOINT_URL: `http://127.0.0.1:${proxy.port}`, QUEUE_URL: h.queueUrl.replace(new URL(h.queueUrl).origin, `http://127.0.0.1:${proxy.port}`),
    OUTBOX_LEASE_SECONDS: '5', OUTBOX_POLL_MS: '100',
  }, join(__dirname, '..', '..'));
  try {
    const itemId = await newItem();
    const jobId = await eventually(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/jobs`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ itemId: Number(itemId) }), signal: AbortSignal.timeout(3_000),
      }).catch(() => undefined);
      if (!res) return undefined;
      expect(res.status).toBe(202);
      return ((await res.json()) as { jobId: string }).jobId;
    }, 30_000, 'the API process answering');
    // Its relay took the row (lease) and is waiting on the paused endpoint when the task dies.
    await eventually(async () => (await count('SELECT attempts AS n FROM outbox WHERE job_id = $1', [jobId]) >= 1 ? true : undefined), 10_000, 'row leased');
    proc.child.kill('SIGKILL');
    await proc.exited;
    proxy.setMode('pass');
    const since = { ...worker.counts };
    const r = relay();
    r.start();
    try {
      await workUntilDone([jobId], since);
    } finally {
      await r.stop();
    }
    expect(await count('SELECT processed_count AS n FROM items WHERE id = $1', [itemId])).toBe(1);
  } finally {
    proc.child.kill('SIGKILL');
    proxy.setMode('pass');
  }
});

test('a job\'s cost comes from configuration: cpuMs/ioMs in the request are a 400 unless JOB_COST_FROM_REQUEST, and never above JOB_MAX_MS', async () => {
  const itemId = Number(await newItem());
  const postTo = async (url: string, payload: object) => {
    const r = await fetch(`${url}/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), signal: AbortSignal.timeout(5_000) });
    return { status: r.status, body: await r.json() as { error?: string; jobId?: string } };
  };
  const refused = await postTo(base, { itemId, ioMs: 600_000 });
  expect(refused.status).toBe(400);
  expect(refused.body.error).toContain('JOB_COST_FROM_REQUEST=false');

  const loadTest = buildApi({ db: h.db, cache: h.cache, sqs: proxied, settings: { ...h.settings, job: { ...h.settings.job, costFromRequest: true, maxMs: 1_000 } } });
  const url = await loadTest.listen({ port: 0, host: '127.0.0.1' });
  try {
    const tooLong = await postTo(url, { itemId, cpuMs: 500, ioMs: 501 });
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error).toContain('above the longest job the worker runs (1000 ms)');
    const chosen = await postTo(url, { itemId, cpuMs: 0, ioMs: 1_000 });
    expect(chosen.status).toBe(202);
    const { rows } = await h.db.writer.query('SELECT cpu_ms, io_ms FROM jobs WHERE id = $1', [chosen.body.jobId]);
    expect(rows).toEqual([{ cpu_ms: 0, io_ms: 1_000 }]);
  } finally {
    await loadTest.close();
  }
  // The job accepted here is sent and run like any other (the worker caps it at its own JOB_MAX_MS).
  const r = relay();
  r.start();
  try {
    await eventually(async () => (await count("SELECT count(*)::int AS n FROM jobs WHERE status <> 'done' AND item_id = $1", [itemId]) === 0 ? true : undefined), 20_000, 'job done');
  } finally {
    await r.stop();
  }
});
