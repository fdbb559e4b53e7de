import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Pool } from 'pg';
import { processJob, type Outcome } from './jobs';
import type { Settings } from './settings';

export interface WorkerDeps {
  readonly sqs: SQSClient;
  readonly writer: Pool;
  readonly settings: Settings;
  readonly log?: (event: string, fields?: Record<string, unknown>) => void;
}

/**
 * Long-polls the jobs queue and runs each message's job; deletes a message only after its job is done.
 * A message that fails (or is poison: not a job) is left alone: SQS makes it visible again, and after
 * maxReceiveCount receives moves it to the dead-letter queue. While a job runs its visibility is extended,
 * so a long job is not handed to a second worker. `stop()` ends polling and waits for the jobs in flight.
 *
 * Up to `worker.concurrency` jobs run at once (WORKER_CONCURRENCY, the capacity model's jobs per task). A
 * receive returns at most 10 messages
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html), so the
 * worker keeps receiving, each time asking for no more than its free slots (and WORKER_BATCH_SIZE), until
 * the slots are full, then waits for a job to finish. It never holds a message it cannot start: the
 * message's visibility timeout would run out while it waited, and another task would get it.
 */
export class Worker {
  private stopping = false;
  private readonly poll = new AbortController();
  private loop?: Promise<void>;
  private readonly inFlight = new Set<Promise<void>>();
  /** Settles when stop() is called: ends a wait for a free slot. */
  private readonly stopRequested = new Promise<void>((resolve) => this.poll.signal.addEventListener('abort', () => resolve(), { once: true }));
  readonly processed: Array<{ jobId?: string; outcome: Outcome | 'failed' }> = [];

  constructor(private readonly deps: WorkerDeps) {}

  start(): void {
    this.loop = this.run();
  }

  /** Stops receiving (aborting a long poll in progress) and resolves once every in-flight job has finished. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.poll.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight]);
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
        }), { abortSignal: this.poll.signal });
        messages = out.Messages ?? [];
      } catch (err) {
        if (this.stopping) break;
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
    return p.finally(() => this.inFlight.delete(p));
  }

  private async handle(message: Message): Promise<void> {
    const { sqs, settings, writer } = this.deps;
    const visibility = settings.worker.visibilitySeconds;
    const heartbeat = setInterval(() => {
      sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: settings.queueUrl, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: visibility }))
        .catch((err) => this.deps.log?.('extend_failed', { error: String(err) }));
    }, (visibility * 1000) / 2);
    let jobId: string | undefined;
    try {
      jobId = parseJobId(message.Body);
      const outcome = await processJob(writer, jobId);
      if (outcome === 'unknown') throw new Error(`no job ${jobId}`);
      await sqs.send(new DeleteMessageCommand({ QueueUrl: settings.queueUrl, ReceiptHandle: message.ReceiptHandle }));
      this.processed.push({ jobId, outcome });
      this.deps.log?.('job_' + outcome, { jobId });
    } catch (err) {
      this.processed.push({ jobId, outcome: 'failed' });
      this.deps.log?.('job_failed', { jobId, messageId: message.MessageId, error: String(err) });
    } finally {
      clearInterval(heartbeat);
    }
  }
}

function parseJobId(body: string | undefined): string {
  const parsed = JSON.parse(body ?? '') as { jobId?: unknown };
  if (typeof parsed.jobId !== 'string' || !/^[0-9a-f-]{36}$/i.test(parsed.jobId)) throw new Error('message is not a job');
  return parsed.jobId;
}
