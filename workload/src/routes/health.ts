import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app';

/**
 * Liveness touches nothing (a database blip must not drain the target group); readiness checks both pools
 * and the cache.
 */
export function registerHealthRoutes(app: FastifyInstance, { db, cache }: ApiDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks = await Promise.allSettled([db.writer.query('SELECT 1'), db.reader.query('SELECT 1'), cache.ping()]);
    const [writer, reader, cacheCheck] = checks.map((c) => c.status === 'fulfilled');
    return reply.status(writer && reader && cacheCheck ? 200 : 503).send({ writer, reader, cache: cacheCheck });
  });
}
