import type { Pool } from 'pg';
import { jsonLog, type Log } from './log';
import type { Metrics } from './metrics';
import { OutboxRelay, outboxWritten } from './outbox';
import type { Settings } from './settings';
import { boundedSqsClient, RELAY_SQS_BUDGET } from './sqs';

export interface SweeperOptions {
  readonly writer: Pool;
  /**
   * DB_SHARDING_MODE=clusters (this writer is one cluster's): a stuck job is handled only under the write
   * fence of its logical shard, which the cluster must own (a frozen shard's jobs wait for its new cluster).
   */
  readonly sharded?: boolean;
  /**
   * DB_SHARDING_MODE=limitless: finding stuck jobs and expired keys is a scan of every shard (a distributed
   * query, bounded by its LIMIT); the rows found are then joined and written by their shard key too
   * (logical_shard, id), the outbox lookup stays on the job's shard (collocated), and expired keys are deleted
   * by their primary key, never by ctid, which is a row's place on one shard only.
   */
  readonly limitless?: boolean;
  /** A job 'queued' or 'running' with no change for this long (s) and no message waiting in the outbox is stuck. */
  readonly stuckAfterSeconds: number;
  /** Times a job is sent in all (the first send included); a stuck job that has had them all is marked 'failed'. */
  readonly maxEnqueues: number;
  /** How often to look (ms). */
  readonly intervalMs: number;
  readonly log?: Log;
}

/** Rows one pass handles: a backlog of stuck jobs is worked off over several passes, each statement short. */
const BATCH = 100;

/**
 * Finds jobs that stopped moving and either sends them again or gives up on them, so that no accepted job stays
 * 'queued' or 'running' for ever: a message lost to the DLQ after repeated failures (SQS moves a message there
 * once it has been received maxReceiveCount times:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html; the
 * queues of test/workload/worker-faults.test.ts have a DLQ, but no test here asserts the move), or a job whose worker was killed after its message had
 * already been moved to the DLQ. A stuck job is sent again through the outbox
 * (`enqueues` + 1) until it has been sent `maxEnqueues` times; then it is marked 'failed'. A job sent again
 * that turns out to be alive after all is harmless: the worker applies a job's effect once.
 * Expired idempotency keys are deleted on the same rounds. Safe in every API process at once (SKIP LOCKED).
 */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private pass?: Promise<unknown>;

  constructor(private readonly o: SweeperOptions) {}

  start(): void {
    this.timer ??= setInterval(() => {
      this.pass ??= this.sweepOnce()
        .catch((err) => this.o.log?.('sweep_failed', { error: String(err) }))
        .finally(() => { this.pass = undefined; });
    }, this.o.intervalMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pass;
  }

  /** One round: returns the jobs sent again and the jobs failed. */
  async sweepOnce(): Promise<{ requeued: string[]; failed: string[] }> {
    // Limitless: the same statement, with every join on a row also on its shard key (nothing in the other modes).
    const same = (a: string, b: string) => (this.o.limitless ? `${a}.logical_shard = ${b}.logical_shard AND ` : '');
    const { rows } = await this.o.writer.query<{ id: string; outcome: 'requeued' | 'failed' }>(
      `WITH stuck AS (
         SELECT ${this.o.limitless ? 'logical_shard, ' : ''}id, enqueues FROM jobs j
         WHERE status IN ('queued', 'running') AND updated_at < now() - make_interval(secs => $1)
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE ${same('o', 'j')}o.job_id = j.id)${this.o.sharded ? "\n           AND shard_fence(j.logical_shard) = 'owned'" : ''}
         ORDER BY updated_at LIMIT $2 FOR UPDATE SKIP LOCKED
       ), failed AS (
         UPDATE jobs SET status = 'failed', updated_at = now() FROM stuck
         WHERE ${same('jobs', 'stuck')}jobs.id = stuck.id AND stuck.enqueues >= $3 RETURNING jobs.id
       ), requeued AS (
         UPDATE jobs SET enqueues = jobs.enqueues + 1, updated_at = now() FROM stuck
         WHERE ${same('jobs', 'stuck')}jobs.id = stuck.id AND stuck.enqueues < $3 RETURNING jobs.id, jobs.logical_shard
       ), sent AS (
         INSERT INTO outbox (job_id, body, logical_shard)
         SELECT id, CASE WHEN logical_shard IS NULL THEN json_build_object('jobId', id)
                         ELSE json_build_object('jobId', id, 'shard', logical_shard) END::text, logical_shard
         FROM requeued RETURNING job_id
       )
       SELECT job_id AS id, 'requeued' AS outcome FROM sent UNION ALL SELECT id, 'failed' FROM failed`,
      [this.o.stuckAfterSeconds, BATCH, this.o.maxEnqueues],
    );
    await this.o.writer.query(this.o.limitless
      ? 'DELETE FROM idempotency_keys WHERE (logical_shard, key, route) IN (SELECT logical_shard, key, route FROM idempotency_keys WHERE expires_at < now() LIMIT 1000)'
      : 'DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(SELECT ctid FROM idempotency_keys WHERE expires_at < now() LIMIT 1000))',
    );
    const requeued = rows.filter((r) => r.outcome === 'requeued').map((r) => r.id);
    const failed = rows.filter((r) => r.outcome === 'failed').map((r) => r.id);
    if (requeued.length > 0) outboxWritten();
    if (requeued.length + failed.length > 0) this.o.log?.('jobs_swept', { requeued, failed });
    return { requeued, failed };
  }
}

/**
 * The API's background work on jobs, one of each per process and per cluster (every cluster holds jobs and
 * outbox rows of its own shards): the outbox relays (one SQS client, every call bounded by RELAY_SQS_BUDGET)
 * and the sweepers. `stop()` ends them all after the pass under way.
 */
export function startJobKeepers(writers: Pool | readonly Pool[], settings: Settings, metrics?: Metrics): { stop(): Promise<void> } {
  const log = jsonLog(process.stderr, { pid: process.pid });
  const sqs = boundedSqsClient(settings.region, RELAY_SQS_BUDGET);
  const sharded = settings.db.sharding?.mode === 'clusters';
  const limitless = settings.db.sharding?.mode === 'limitless';
  const keepers = (Array.isArray(writers) ? writers : [writers as Pool]).flatMap((writer) => [
    new OutboxRelay({ writer, sqs, queueUrl: settings.queueUrl, metrics, log, pollMs: settings.outbox.pollMs, leaseSeconds: settings.outbox.leaseSeconds, limitless }),
    new Sweeper({
      writer, log, sharded, limitless, stuckAfterSeconds: settings.job.stuckAfterSeconds, maxEnqueues: settings.job.maxEnqueues, intervalMs: settings.job.sweepIntervalMs,
    }),
  ]);
  for (const k of keepers) k.start();
  return {
    async stop() {
      await Promise.all(keepers.map((k) => k.stop()));
      sqs.destroy();
    },
  };
}
