import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../app';
import { HttpError, parse } from '../http';
import { createJob } from '../jobs';

const jobIdParam = z.object({ id: z.uuid('a job id (UUID)') });
const newJob = z.strictObject({
  itemId: z.number().int().positive().optional(),
  cpuMs: z.number().int().min(0).max(60_000).optional(),
  ioMs: z.number().int().min(0).max(600_000).optional(),
});

/** Jobs are recorded, then queued; their status is read back from the database. */
export function registerJobRoutes(app: FastifyInstance, { db, sqs, settings }: ApiDeps): void {
  app.post('/jobs', async (request, reply) => {
    const body = parse(newJob, request.body ?? {});
    const jobId = await createJob(db.writer, { itemId: body.itemId, cpuMs: body.cpuMs ?? settings.job.cpuMs, ioMs: body.ioMs ?? settings.job.ioMs })
      .catch((err: { code?: string }) => {
        // 23503: foreign key violation, the item does not exist
        throw err.code === '23503' ? new HttpError(404, `item ${body.itemId} not found`) : err;
      });
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: settings.queueUrl, MessageBody: JSON.stringify({ jobId }) }));
    } catch (err) {
      await db.writer.query('DELETE FROM jobs WHERE id = $1', [jobId]);
      throw err;
    }
    return reply.status(202).send({ jobId, status: 'queued' });
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
