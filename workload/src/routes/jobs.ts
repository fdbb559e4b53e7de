import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../app';
import { shardOfItemId } from '../../contracts/sharding';
import { callDependency, HttpError, parse } from '../http';
import { IDEMPOTENCY_HEADER, once, sendOnce } from '../idempotency';
import { createJob } from '../jobs';
import { outboxWritten } from '../outbox';
import { boundedQuery, carriesShard, jobShardOf, type ShardRouter } from '../router';

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
export function registerJobRoutes(app: FastifyInstance, { settings }: ApiDeps, router: ShardRouter): void {
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
    // A job lives on its item's logical shard (the foreign key holds within a cluster); one with no item on
    // its Idempotency-Key's (a retry finds the key there), else on any. Its id carries the shard.
    const key = request.headers[IDEMPOTENCY_HEADER];
    const shard = body.itemId !== undefined ? shardOfItemId(body.itemId, router.logicalShards)
      : typeof key === 'string' ? router.shardOfKey(key) : router.randomShard();
    const result = await once(router.at(shard), request, settings.idempotency.ttlSeconds, async (tx) => {
      const jobId = await createJob(tx, { itemId: body.itemId, cpuMs, ioMs }, router.rowShard(shard)).catch((err: { code?: string }) => {
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
    const find = async (shard: number) => {
      // Limitless: on the job's shard only (its id carries it).
      const key = router.shardKey(shard, 2);
      const rows = await router.readRows(shard, 'reader', sql + key.sql, [id, ...key.params]);
      return rows.length > 0 ? rows : router.readRows(shard, 'writer', sql + key.sql, [id, ...key.params]);
    };
    let rows = await callDependency('database', () => find(jobShardOf(id, router.logicalShards)));
    if (rows.length === 0 && router.sharded && !carriesShard(id)) {
      // A job written before sharding (a version 4 id) lives on its item's shard, which its id does not say: it
      // is looked for on every cluster's writer (bounded, as a list is).
      const found = await callDependency('database', () => router.scatter(async (_cluster, pools, timeoutMs) =>
        (await boundedQuery(pools.writer, sql, [id], timeoutMs)).rows));
      rows = found.flat().slice(0, 1);
    }
    if (rows.length === 0) throw new HttpError(404, `job ${id} not found`);
    return reply.send(rows[0]);
  });
}
