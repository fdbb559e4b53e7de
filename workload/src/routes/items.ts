import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../app';
import { HttpError, parse } from '../http';

const idParam = z.object({ id: z.string().regex(/^[1-9]\d{0,15}$/, 'a positive integer id') });
const newItem = z.strictObject({
  name: z.string().min(1).max(200),
  data: z.record(z.string(), z.unknown()).default({}),
});

/** Items are read cache-aside from the reader and written to the writer. */
export function registerItemRoutes(app: FastifyInstance, { db, cache, settings }: ApiDeps): void {
  const key = (id: string) => `${settings.cache.keyPrefix}item:${id}`;

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
}
