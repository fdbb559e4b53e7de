import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../app';
import { HttpError, parse } from '../http';
import { once, sendOnce } from '../idempotency';
import { createJob } from '../jobs';
import { outboxWritten } from '../outbox';

const jobIdParam = z.object({ id: z.uuid('a job id (UUID)') });
const newJob = z.strictObject({
  itemId: z.number().int().positive().optional(),
  cpuMs: z.number().int().min(0).optional(),
  ioMs: z.number().int().min(0).optional(),
});

/**
 * Jobs are recorded with their message in one transaction (the outbox); the relay sends it, so accepting a
 * job never waits on SQS. Their status is read back from the database.
 *
 * A job's cost (cpuMs, ioMs) comes from configuration (JOB_CPU_MS, JOB_IO_MS): a caller who could set it could
 * hold worker slots for as long as it liked and drive the workers to maxTasks. Load tests of the worker may
 * let the request set it (JOB_COST_FROM_REQUEST, refused in production by the loader), within JOB_MAX_MS, the
 * longest job the worker runs (below its stop timeout).
 */
export function registerJobRoutes(app: FastifyInstance, { db, settings }: ApiDeps): void {
  const { job } = settings;

  app.post('/jobs', async (request, reply) => {
    const body = parse(newJob, request.body ?? {});
    if ((body.cpuMs !== undefined || body.ioMs !== undefined) && !job.costFromRequest) {
      throw new HttpError(400, 'cpuMs and ioMs are set by configuration here (JOB_COST_FROM_REQUEST=false): leave them out');
    }
    const cpuMs = body.cpuMs ?? job.cpuMs;
    const ioMs = body.ioMs ?? job.ioMs;
    if (cpuMs + ioMs > job.maxMs) {
      throw new HttpError(400, `cpuMs + ioMs is ${cpuMs + ioMs}, above the longest job the worker runs (${job.maxMs} ms)`);
    }
    const result = await once(db.writer, request, settings.idempotency.ttlSeconds, async (tx) => {
      const jobId = await createJob(tx, { itemId: body.itemId, cpuMs, ioMs }).catch((err: { code?: string }) => {
        // 23503: foreign key violation, the item does not exist
        throw err.code === '23503' ? new HttpError(404, `item ${body.itemId} not found`) : err;
      });
      return { statusCode: 202, body: { jobId, status: 'queued' } };
    });
    if (!result.replayed) outboxWritten();
    return sendOnce(reply, result);
  });

  app.get('/jobs/:id', async (request, reply) => {
    const { id } = parse(jobIdParam, request.params);
    const sql = 'SELECT id, status, item_id, attempts, created_at, completed_at FROM jobs WHERE id = $1';
    // A job just created may not have reached the reader yet: fall back to the writer.
    let { rows } = await db.reader.query(sql, [id]);
    if (rows.length === 0) ({ rows } = await db.writer.query(sql, [id]));
    if (rows.length === 0) throw new HttpError(404, `job ${id} not found`);
    return reply.send(rows[0]);
  });
}
