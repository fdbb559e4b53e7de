import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { EventEmitter } from 'events';
import type { Pool, PoolClient } from 'pg';
import type { Log } from './log';
import type { Metrics } from './metrics';

/** SendMessageBatch takes at most 10 entries (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html). */
const SQS_BATCH_MAX = 10;
/** Retries of a row that failed to send wait 0.5 s, 1 s, 2 s, ... up to this (s). */
const MAX_RETRY_DELAY_SECONDS = 30;

/** In-process signal: a row was committed, so the relays of this process look now instead of at their next poll. */
const written = new EventEmitter();
written.setMaxListeners(0);

/**
 * Records the job's message in the transaction `tx` that records the job: both commit or neither. The relay
 * sends it; nothing in the request waits on SQS. Call `outboxWritten()` after the commit.
 */
export async function addToOutbox(tx: PoolClient, jobId: string, shard: number | null = null): Promise<void> {
  // The message names the job's logical shard where there is one: what the worker routes by.
  const body = shard === null ? { jobId } : { jobId, shard };
  await tx.query('INSERT INTO outbox (job_id, body, logical_shard) VALUES ($1, $2, $3)', [jobId, JSON.stringify(body), shard]);
}

/** Wakes this process's relays: a committed row is waiting. */
export function outboxWritten(): void {
  written.emit('row');
}

export interface RelayOptions {
  readonly writer: Pool;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly metrics?: Metrics;
  readonly log?: Log;
  /** Look for due rows at least this often (ms), besides when this process wrote one. */
  readonly pollMs: number;
  /**
   * How long a relay owns the rows it took (s): another relay (another API task or process) takes them over
   * after this, so a relay killed mid-send delays its rows by this much and loses none. Must exceed one send's
   * bound (the SQS client's attempts × timeouts).
   */
  readonly leaseSeconds: number;
  /**
   * DB_SHARDING_MODE=limitless: finding due rows is a scan of every shard (a distributed query, bounded by
   * its LIMIT, in the order of the outbox_due index, not by id: distributed sequences are not ordered across
   * routers, workload/src/limitless.ts); every statement on the rows it found names their shard key, so each
   * update and delete goes to the shards that hold them.
   */
  readonly limitless?: boolean;
}

interface Due { id: string; body: string; logical_shard: number | null }

/**
 * Sends the outbox's rows to SQS and deletes each one SQS accepted. Several relays (API tasks, processes) run
 * at once safely: each takes due rows with FOR UPDATE SKIP LOCKED and pushes their next attempt past its lease
 * in the same statement, so no two relays send a row at the same moment, and a relay that dies leaves its rows
 * to the others once the lease ends.
 *
 * Delivery is at least once: a send whose reply is lost (or a relay killed between the send and the delete)
 * is sent again, so the queue may hold a job's id twice. That is safe by design: SQS standard queues deliver
 * at least once anyway (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html),
 * and the worker applies a job's effect once whatever the number of messages (workload/src/jobs.ts).
 */
export class OutboxRelay {
  private running = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private readonly onWritten = () => this.wake?.();

  constructor(private readonly o: RelayOptions) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    written.on('row', this.onWritten);
    this.loop = this.run();
  }

  /** Ends the loop after the pass under way (whose sends are bounded by the SQS client's timeouts). */
  async stop(): Promise<void> {
    this.running = false;
    written.off('row', this.onWritten);
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    while (this.running) {
      let full = false;
      try {
        full = (await this.relayOnce()) === SQS_BATCH_MAX;
        await this.sampleLag();
      } catch (err) {
        this.o.log?.('outbox_relay_failed', { error: String(err) });
      }
      if (full || !this.running) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.o.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** One pass: takes up to 10 due rows, sends them in one batch, deletes those sent. Returns how many it took. */
  async relayOnce(): Promise<number> {
    const { writer, sqs, queueUrl, limitless } = this.o;
    const due = (await writer.query<Due>(limitless
      ? `WITH due AS (
           SELECT logical_shard, id FROM outbox WHERE next_attempt_at <= now() ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED
         )
         UPDATE outbox o SET next_attempt_at = now() + make_interval(secs => $2), attempts = o.attempts + 1
         FROM due WHERE o.logical_shard = due.logical_shard AND o.id = due.id RETURNING o.id, o.body, o.logical_shard`
      : `WITH due AS (
         SELECT id FROM outbox WHERE next_attempt_at <= now() ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
       )
       UPDATE outbox o SET next_attempt_at = now() + make_interval(secs => $2), attempts = o.attempts + 1
       FROM due WHERE o.id = due.id RETURNING o.id, o.body`,
      [SQS_BATCH_MAX, this.o.leaseSeconds],
    )).rows;
    // The rows of `ids` as a WHERE condition: by (logical_shard, id) in limitless mode, by id otherwise.
    const rowsOf = (ids: string[]): { sql: string; params: unknown[] } => {
      if (!limitless) return { sql: 'id = ANY($1::bigint[])', params: [ids] };
      const shards = ids.map((id) => due.find((d) => d.id === id)!.logical_shard);
      return { sql: '(logical_shard, id) IN (SELECT * FROM unnest($1::int[], $2::bigint[]))', params: [shards, ids] };
    };
    if (due.length === 0) return 0;
    let sent: string[] = [];
    try {
      const out = await sqs.send(new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: due.map((d) => ({ Id: d.id, MessageBody: d.body })),
      }));
      sent = (out.Successful ?? []).map((s) => s.Id!);
      for (const f of out.Failed ?? []) this.o.log?.('outbox_send_refused', { id: f.Id, code: f.Code, error: f.Message });
    } catch (err) {
      this.o.log?.('outbox_send_failed', { rows: due.length, error: String(err) });
    }
    if (sent.length > 0) {
      const where = rowsOf(sent);
      await writer.query(`DELETE FROM outbox WHERE ${where.sql}`, where.params);
    }
    const unsent = due.map((d) => d.id).filter((id) => !sent.includes(id));
    if (unsent.length > 0) {
      // Sooner than the lease: the send is over, and backing off per attempt keeps a down endpoint from being hammered.
      const where = rowsOf(unsent);
      const cap = `$${where.params.length + 1}::float8`;
      await writer.query(
        `UPDATE outbox SET next_attempt_at = now() + make_interval(secs => LEAST(${cap}, 0.5 * power(2, attempts - 1)))
         WHERE ${where.sql}`,
        [...where.params, MAX_RETRY_DELAY_SECONDS],
      );
    }
    return due.length;
  }

  /** OutboxLag: how long the oldest row has waited (0 when the outbox is empty). */
  private async sampleLag(): Promise<void> {
    if (!this.o.metrics) return;
    const { rows } = await this.o.writer.query<{ lag_ms: number | null }>(
      'SELECT (EXTRACT(EPOCH FROM now() - min(created_at)) * 1000)::float8 AS lag_ms FROM outbox',
    );
    this.o.metrics.put('OutboxLag', Math.max(0, rows[0].lag_ms ?? 0));
  }
}
