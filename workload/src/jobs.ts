import { randomUUID } from 'crypto';
import type { PoolClient } from 'pg';
import { setTimeout as sleep } from 'timers/promises';
import { ITEM_TOUCH_SQL, ITEM_VERSION_SQL } from './item-cache';
import { addToOutbox } from './outbox';
import { jobIdOf, type ShardRouter } from './router';

export interface JobSpec {
  readonly itemId?: number;
  readonly cpuMs: number;
  readonly ioMs: number;
}

/**
 * Records a job as queued and its message in the outbox, in the caller's transaction `tx`: the job exists if
 * and only if its message will be sent (the relay sends it after the commit; call outboxWritten() then).
 * Sharded (`shard` given: the transaction is on that shard's cluster, fenced), the job lives on its item's
 * logical shard, its id carries it (jobIdOf) and so does its message; unsharded, its id is a plain UUID.
 */
export async function createJob(tx: PoolClient, spec: JobSpec, shard: number | null = null): Promise<string> {
  const id = shard === null ? randomUUID() : jobIdOf(shard);
  await tx.query('INSERT INTO jobs (id, status, item_id, cpu_ms, io_ms, logical_shard) VALUES ($1, $2, $3, $4, $5, $6)', [
    id, 'queued', spec.itemId ?? null, spec.cpuMs, spec.ioMs, shard,
  ]);
  await addToOutbox(tx, id, shard);
  return id;
}

/** The CPU work is done in slices this long, yielding between them, so one CPU-heavy job does not stall the other slots. */
const CPU_SLICE_MS = 10;

/**
 * The job's work: `cpuMs` of computing, then `ioMs` of waiting as on I/O; configurable per job for load tests.
 * The computing yields to the event loop every slice (and counts only the time it computed), so the other jobs,
 * the visibility extensions and the liveness heartbeat keep running beside it, as they would beside real
 * asynchronous work.
 */
async function work(cpuMs: number, ioMs: number): Promise<void> {
  let spent = 0;
  let x = 0;
  while (spent < cpuMs) {
    const start = Date.now();
    const until = start + Math.min(CPU_SLICE_MS, cpuMs - spent);
    while (Date.now() < until) for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
    spent += Date.now() - start;
    await new Promise((r) => setImmediate(r));
  }
  if (ioMs > 0) await sleep(ioMs);
}

/** A job's cost within `maxMs` (JOB_MAX_MS): CPU first, then I/O from what is left. */
export function capCost(cpuMs: number, ioMs: number, maxMs: number): { cpuMs: number; ioMs: number } {
  const cpu = Math.min(cpuMs, maxMs);
  return { cpuMs: cpu, ioMs: Math.min(ioMs, maxMs - cpu) };
}

export type Outcome = 'done' | 'duplicate' | 'unknown';

export interface ProcessResult {
  readonly outcome: Outcome;
  /** When the job was accepted (its row created): the start of its queue wait. */
  readonly createdAt?: Date;
  /** The item whose processed_count this run incremented, and its version after (for the cache). */
  readonly itemId?: string;
  readonly itemVersion?: string;
}

/**
 * Runs a job with at-least-once delivery in mind: the work may run twice if a message is redelivered (or the
 * outbox sent it twice), but its effect applies once, because marking the job done and applying the effect
 * happen in one transaction guarded by "not done yet". The work is capped at `maxMs` whatever the row asks for,
 * so a job always ends before the task's stop timeout.
 */
export async function processJob(router: ShardRouter, jobId: string, maxMs: number, shard = 0): Promise<ProcessResult> {
  // Both writes are fenced on the job's shard (./router.ts): a move between them finds the job, claimed, on
  // the shard's new cluster, where the second one lands.
  // Limitless: every statement names the job's shard (its item is on the same one: collocated).
  const key = router.shardKey(shard, 2);
  const claimed = await router.writeQuery<{ cpu_ms: number; io_ms: number; status: string; created_at: Date }>(shard,
    `UPDATE jobs SET status = CASE WHEN status = 'done' THEN status ELSE 'running' END,
                     attempts = attempts + 1, updated_at = now()
     WHERE id = $1${key.sql} RETURNING cpu_ms, io_ms, status, created_at`,
    [jobId, ...key.params],
  );
  if (claimed.rowCount === 0) return { outcome: 'unknown' };
  const job = claimed.rows[0];
  if (job.status === 'done') return { outcome: 'duplicate', createdAt: job.created_at };
  const cost = capCost(job.cpu_ms, job.io_ms, maxMs);
  await work(cost.cpuMs, cost.ioMs);

  return router.write(shard, async (tx): Promise<ProcessResult> => {
    const done = await tx.query<{ item_id: string | null }>(
      `UPDATE jobs SET status = 'done', completed_at = now(), updated_at = now()
       WHERE id = $1 AND status <> 'done'${key.sql} RETURNING item_id`,
      [jobId, ...key.params],
    );
    // Another delivery finished it first: this transaction changed nothing, so committing it is a no-op.
    if (done.rowCount === 0) return { outcome: 'duplicate', createdAt: job.created_at };
    const itemId = done.rows[0].item_id;
    let itemVersion: string | undefined;
    if (itemId !== null) {
      // The version the cache orders entries by only grows (./item-cache.ts).
      const item = await tx.query<{ version: string }>(
        `UPDATE items SET processed_count = processed_count + 1, ${ITEM_TOUCH_SQL} WHERE id = $1${key.sql} RETURNING ${ITEM_VERSION_SQL} AS version`, [itemId, ...key.params]);
      itemVersion = item.rows[0]?.version;
    }
    return { outcome: 'done', createdAt: job.created_at, itemId: itemId ?? undefined, itemVersion };
  });
}
