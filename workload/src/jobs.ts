import { randomUUID } from 'crypto';
import type { Pool } from 'pg';
import { setTimeout as sleep } from 'timers/promises';

export interface JobSpec {
  readonly itemId?: number;
  readonly cpuMs: number;
  readonly ioMs: number;
}

export interface JobRow {
  readonly id: string;
  readonly status: 'queued' | 'running' | 'done';
  readonly item_id: string | null;
  readonly attempts: number;
  readonly completed_at: Date | null;
}

/** Records a job as queued; the caller then sends its id to the queue. */
export async function createJob(writer: Pool, spec: JobSpec): Promise<string> {
  const id = randomUUID();
  await writer.query('INSERT INTO jobs (id, status, item_id, cpu_ms, io_ms) VALUES ($1, $2, $3, $4, $5)', [
    id, 'queued', spec.itemId ?? null, spec.cpuMs, spec.ioMs,
  ]);
  return id;
}

/** The job's work: CPU time spent computing, then time waiting as on I/O; configurable per job for load tests. */
async function work(cpuMs: number, ioMs: number): Promise<void> {
  const until = Date.now() + cpuMs;
  let x = 0;
  while (Date.now() < until) for (let i = 0; i < 10_000; i++) x = (x * 31 + i) % 1_000_003;
  if (ioMs > 0) await sleep(ioMs);
}

export type Outcome = 'done' | 'duplicate' | 'unknown';

/**
 * Runs a job with at-least-once delivery in mind: the work may run twice if a message is redelivered,
 * but its effect applies once, because marking the job done and applying the effect happen in one
 * transaction guarded by "not done yet".
 */
export async function processJob(writer: Pool, jobId: string): Promise<Outcome> {
  const claimed = await writer.query<{ cpu_ms: number; io_ms: number; status: string }>(
    `UPDATE jobs SET status = CASE WHEN status = 'done' THEN status ELSE 'running' END,
                     attempts = attempts + 1, updated_at = now()
     WHERE id = $1 RETURNING cpu_ms, io_ms, status`,
    [jobId],
  );
  if (claimed.rowCount === 0) return 'unknown';
  const job = claimed.rows[0];
  if (job.status === 'done') return 'duplicate';
  await work(job.cpu_ms, job.io_ms);

  const client = await writer.connect();
  try {
    await client.query('BEGIN');
    const done = await client.query<{ item_id: string | null }>(
      `UPDATE jobs SET status = 'done', completed_at = now(), updated_at = now()
       WHERE id = $1 AND status <> 'done' RETURNING item_id`,
      [jobId],
    );
    if (done.rowCount === 0) {
      await client.query('ROLLBACK');
      return 'duplicate';
    }
    const itemId = done.rows[0].item_id;
    if (itemId !== null) {
      await client.query('UPDATE items SET processed_count = processed_count + 1, updated_at = now() WHERE id = $1', [itemId]);
    }
    await client.query('COMMIT');
    return 'done';
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
