import Fastify, { type FastifyInstance } from 'fastify';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { z } from 'zod';
import type { CacheClient } from './cache';
import type { Database } from './db';
import { createJob } from './jobs';
import type { Settings } from './settings';

export interface ApiDeps {
  readonly db: Database;
  readonly cache: CacheClient;
  readonly sqs: SQSClient;
  readonly settings: Settings;
  readonly logger?: boolean;
}

const idParam = z.object({ id: z.string().regex(/^[1-9]\d{0,15}$/, 'a positive integer id') });
const jobIdParam = z.object({ id: z.uuid('a job id (UUID)') });
const newItem = z.strictObject({
  name: z.string().min(1).max(200),
  data: z.record(z.string(), z.unknown()).default({}),
});
const newJob = z.strictObject({
  itemId: z.number().int().positive().optional(),
  cpuMs: z.number().int().min(0).max(60_000).optional(),
  ioMs: z.number().int().min(0).max(600_000).optional(),
});

class HttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly details?: unknown) {
    super(message);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(400, 'invalid request', result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

/**
 * The reference API. Liveness touches nothing (a database blip must not drain the target group);
 * readiness checks both pools and the cache; items are read cache-aside from the reader and written to
 * the writer; jobs are recorded, then queued.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const { db, cache, sqs, settings } = deps;
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 64 * 1024 });
  const key = (id: string) => `${settings.cache.keyPrefix}item:${id}`;

  app.setErrorHandler((err: { statusCode?: number; message: string; details?: unknown }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error(err);
    return reply.status(status).send({ error: status === 500 ? 'internal error' : err.message, ...(err.details !== undefined && { details: err.details }) });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'not found' }));
  app.addHook('onSend', async (_request, reply) => {
    // Several processes answer on one port (WORKLOAD_PROCESSES): say which one did.
    reply.header('x-worker-pid', String(process.pid));
    // Draining (close() was called): a response finishing now ends its connection. Kept alive, the idle
    // connection would hold close() open until the client or keepAliveTimeout (72 s in Fastify) ended it.
    if (!app.server.listening) reply.header('connection', 'close');
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks = await Promise.allSettled([db.writer.query('SELECT 1'), db.reader.query('SELECT 1'), cache.ping()]);
    const [writer, reader, cacheCheck] = checks.map((c) => c.status === 'fulfilled');
    return reply.status(writer && reader && cacheCheck ? 200 : 503).send({ writer, reader, cache: cacheCheck });
  });

  app.get('/items/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params);
    if (settings.cache.ttlSeconds > 0) {
      const cached = await cache.get(key(id));
      if (cached !== null) return reply.header('x-cache', 'hit').send(JSON.parse(cached));
    }
    const { rows } = await db.reader.query('SELECT id, name, data, processed_count, created_at, updated_at FROM items WHERE id = $1', [id]);
    if (rows.length === 0) throw new HttpError(404, `item ${id} not found`);
    const item = rows[0];
    if (settings.cache.ttlSeconds > 0) await cache.set(key(id), JSON.stringify(item), 'EX', settings.cache.ttlSeconds);
    return reply.header('x-cache', 'miss').send(item);
  });

  app.post('/items', async (request, reply) => {
    const body = parse(newItem, request.body);
    const { rows } = await db.writer.query(
      'INSERT INTO items (name, data) VALUES ($1, $2) RETURNING id, name, data, processed_count, created_at, updated_at',
      [body.name, JSON.stringify(body.data)],
    );
    await cache.del(key(String(rows[0].id)));
    return reply.status(201).send(rows[0]);
  });

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

  return app;
}
