import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { createServer, type Server } from 'http';
import type { Pool } from 'pg';
import { processJob, type Outcome } from './jobs';
import type { Log } from './log';
import type { Metrics } from './metrics';
import { jobShardOf, ShardRouter } from './router';
import type { Settings } from './settings';
import { workerSqsBudget } from './sqs';

export interface WorkerDeps {
  readonly sqs: SQSClient;
  readonly writer: Pool;
  /** Routes each job to its shard's cluster (DB_SHARDING_MODE=clusters); absent: everything to `writer`. */
  readonly router?: ShardRouter;
  readonly settings: Settings;
  readonly log?: Log;
  /** JobQueueWait, JobProcessingTime and JobOutcome. */
  readonly metrics?: Metrics;
  /** Called after a job's effect committed on item `itemId` (now at `version`): drops the item's cache entry. */
  readonly onItemChanged?: (itemId: string, version: string) => Promise<unknown>;
  /** How many finished jobs `processed` keeps (the newest); default 1000. */
  readonly historySize?: number;
  /** The loop counts as stalled when it has made no progress for this long (ms); default from the settings. */
  readonly stallAfterMs?: number;
}

export type JobResult = Outcome | 'failed';


/**
 * Long-polls the jobs queue and runs each message's job; deletes a message only after its job is done.
 * While a job runs its visibility is extended, so a long job is not handed to a second worker. `stop()` ends
 * polling and waits for the jobs in flight.
 *
 * Up to `worker.concurrency` jobs run at once (WORKER_CONCURRENCY, the capacity model's jobs per task), each in
 * a slot of its own: a slot that frees is filled by the next receive while the other jobs go on, so one slow
 * job never holds the others. A receive returns at most 10 messages
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html), so the
 * worker keeps receiving, each time asking for no more than its free slots (and WORKER_BATCH_SIZE), until
 * the slots are full, then waits for a job to finish. It never holds a message it cannot start: the
 * message's visibility timeout would run out while it waited, and another task would get it.
 *
 * A job that fails (a database blip, say) is retried with exponential backoff: its message's visibility is set
 * to WORKER_RETRY_BASE_SECONDS × 2^(receives − 1), capped at the visibility timeout, so it comes back in
 * seconds, not after the whole visibility timeout; after maxReceiveCount receives SQS moves it to the
 * dead-letter queue (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html,
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html).
 * A message that is not a job takes the same way to the DLQ.
 *
 * Liveness: with WORKER_LIVENESS_PORT set, 127.0.0.1:<port> answers 200 while the loop makes progress (a
 * receive returns, a job ends) and 503 once it has made none for longer than any of its bounded steps can
 * take (a receive with its retries, a job at its cap); a blocked event loop does not answer at all. The
 * container health check asks it (lib/constructs/queue-worker.ts). Local only: nothing else reaches a
 * Fargate task's loopback, and the read-only root filesystem leaves no place for a heartbeat file.
 */
export class Worker {
  private stopping = false;
  private readonly poll = new AbortController();
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  /** Settles when stop() is called: ends a wait for a free slot. */
  private readonly stopRequested = new Promise<void>((resolve) => this.poll.signal.addEventListener('abort', () => resolve(), { once: true }));
  /** The newest finished jobs (at most `historySize`): memory stays bounded however long the worker runs. */
  readonly processed: Array<{ jobId?: string; outcome: JobResult }> = [];
  /** Finished jobs per outcome since start. */
  readonly counts: Record<JobResult, number> = { done: 0, duplicate: 0, unknown: 0, failed: 0 };
  private lastProgress = Date.now();
  private liveness?: Server;
  private readonly historySize: number;
  private readonly stallAfterMs: number;

  private readonly router: ShardRouter;

  constructor(private readonly deps: WorkerDeps) {
    this.router = deps.router ?? ShardRouter.unsharded({ writer: deps.writer, reader: deps.writer });
    this.historySize = deps.historySize ?? 1000;
    const { worker, job } = deps.settings;
    const budget = workerSqsBudget(worker.waitSeconds);
    // The longest a healthy loop goes without progress: a receive with all its attempts, or a job with its cap.
    this.stallAfterMs = deps.stallAfterMs
      ?? Math.max(budget.maxAttempts * (budget.connectionTimeoutMs + budget.requestTimeoutMs), job.maxMs) + 30_000;
  }

  start(): void {
    this.lastProgress = Date.now();
    const port = this.deps.settings.worker.livenessPort;
    if (port > 0) {
      this.liveness = createServer((_req, res) => {
        const live = this.live();
        res.writeHead(live ? 200 : 503, { 'content-type': 'text/plain' }).end(live ? 'live\n' : 'stalled\n');
      });
      this.liveness.on('error', (err) => this.deps.log?.('liveness_failed', { port, error: String(err) }));
      this.liveness.listen(port, '127.0.0.1');
      this.liveness.unref();
    }
    this.loop = this.run();
  }

  /** Stops receiving (aborting a long poll in progress) and resolves once every in-flight job has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.poll.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
    await new Promise<void>((resolve) => (this.liveness?.listening ? this.liveness.close(() => resolve()) : resolve()));
  }

  /** True while the loop has made progress within its bound. */
  live(now = Date.now()): boolean {
    return now - this.lastProgress <= this.stallAfterMs;
  }

  private async run(): Promise<void> {
    const { sqs, settings } = this.deps;
    const { concurrency, batchSize } = settings.worker;
    while (!this.stopping) {
      const free = concurrency - this.inFlight.size;
      if (free <= 0) {
        await Promise.race([...this.inFlight, this.stopRequested]);
        continue;
      }
      let messages: Message[] = [];
      try {
        const out = await sqs.send(new ReceiveMessageCommand({
          QueueUrl: settings.queueUrl,
          MaxNumberOfMessages: Math.min(batchSize, free),
          WaitTimeSeconds: settings.worker.waitSeconds,
          VisibilityTimeout: settings.worker.visibilitySeconds,
          MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        }), { abortSignal: this.poll.signal });
        messages = out.Messages ?? [];
        this.lastProgress = Date.now();
      } catch (err) {
        if (this.stopping) break;
        this.lastProgress = Date.now();
        this.deps.log?.('receive_failed', { error: String(err) });
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      // Started, not awaited: the next receive fills the slots still free while these run.
      for (const m of messages) void this.track(this.handle(m));
    }
  }

  private track(p: Promise<void>): Promise<void> {
    this.inFlight.add(p);
    return p.finally(() => {
      this.inFlight.delete(p);
      this.lastProgress = Date.now();
    });
  }

  private record(jobId: string | undefined, outcome: JobResult, startedAt: number): void {
    this.processed.push({ jobId, outcome });
    if (this.processed.length > this.historySize) this.processed.splice(0, this.processed.length - this.historySize);
    this.counts[outcome]++;
    this.deps.metrics?.put('JobOutcome', 1, { Outcome: outcome });
    this.deps.metrics?.put('JobProcessingTime', Date.now() - startedAt, { Outcome: outcome });
  }

  private async handle(message: Message): Promise<void> {
    const { sqs, settings } = this.deps;
    const startedAt = Date.now();
    const visibility = settings.worker.visibilitySeconds;
    const extend = setInterval(() => {
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: settings.queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: visibility }))
        .catch((err) => this.deps.log?.('extend_failed', { error: String(err) }));
    }, (visibility * 1000) / 2);
    let jobId: string | undefined;
    try {
      const job = parseJob(message.Body, this.router.logicalShards);
      jobId = job.jobId;
      const result = await processJob(this.router, jobId, settings.job.maxMs, job.shard ?? jobShardOf(jobId, this.router.logicalShards));
      if (result.outcome === 'unknown') throw new Error(`no job ${jobId}`);
      if (result.outcome === 'done' && result.createdAt) this.deps.metrics?.put('JobQueueWait', Math.max(0, startedAt - result.createdAt.getTime()));
      clearInterval(extend);
      if (result.itemId !== undefined && result.itemVersion !== undefined && this.deps.onItemChanged) {
        // Committed already: a cache that does not take the invalidation leaves the entry to its TTL.
        await this.deps.onItemChanged(result.itemId, result.itemVersion)
          .catch((err) => this.deps.log?.('invalidate_failed', { itemId: result.itemId, error: String(err) }));
      }
      await sqs.send(new DeleteMessageCommand({ QueueUrl: settings.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      this.record(jobId, result.outcome, startedAt);
      this.deps.log?.('job_' + result.outcome, { jobId });
    } catch (err) {
      clearInterval(extend);
      const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 1);
      const retryIn = retryDelaySeconds(settings.worker.retryBaseSeconds, receives, visibility);
      this.record(jobId, 'failed', startedAt);
      this.deps.log?.('job_failed', { jobId, messageId: message.MessageId, receives, retryInSeconds: retryIn, error: String(err) });
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: settings.queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: retryIn }))
        .catch((e) => this.deps.log?.('backoff_failed', { jobId, error: String(e) }));
    }
  }
}

/** Backoff of a failed message: `base` × 2^(receives − 1) seconds, at most `cap`. */
export function retryDelaySeconds(base: number, receives: number, cap: number): number {
  return Math.min(cap, base * 2 ** Math.max(0, Math.min(receives - 1, 30)));
}

/** A job's message: its id, and its logical shard where it was written sharded (outbox.ts addToOutbox). */
function parseJob(body: string | undefined, logicalShards: number): { jobId: string; shard?: number } {
  const parsed = JSON.parse(body ?? '') as { jobId?: unknown; shard?: unknown };
  if (typeof parsed.jobId !== 'string' || !/^[0-9a-f-]{36}$/i.test(parsed.jobId)) throw new Error('message is not a job');
  if (parsed.shard === undefined) return { jobId: parsed.jobId };
  if (!Number.isInteger(parsed.shard) || (parsed.shard as number) < 0 || (parsed.shard as number) >= logicalShards) {
    throw new Error(`message names logical shard ${String(parsed.shard)}, not one of 0..${logicalShards - 1}`);
  }
  return { jobId: parsed.jobId, shard: parsed.shard as number };
}
