import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../app';
import { callDependency, HttpError, parse } from '../http';
import { once, sendOnce } from '../idempotency';
import { ITEM_SELECT_SQL, ItemCache, versioned, type VersionedItem } from '../item-cache';

const idParam = z.object({ id: z.string().regex(/^[1-9]\d{0,15}$/, 'a positive integer id') });
const newItem = z.strictObject({
  name: z.string().min(1).max(200),
  data: z.record(z.string(), z.unknown()).default({}),
});

/**
 * The read-your-writes cookie: POST /items sets it, holding the time (epoch ms) until which the client's item
 * reads go to the writer, past the cache and the replicas. Aurora replicas usually lag the writer by less than
 * 100 ms (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Replication.html), so a few
 * seconds cover a client's own write with margin. The client chooses to send it: one sending it always costs
 * what a cache miss costs, on the writer.
 */
export const READ_YOUR_WRITES_COOKIE = 'sb-ryw';

function readsOwnWrites(request: FastifyRequest, windowMs: number): boolean {
  if (windowMs === 0) return false;
  const match = request.headers.cookie?.match(new RegExp(`(?:^|;\\s*)${READ_YOUR_WRITES_COOKIE}=(\\d{1,15})(?:;|$)`));
  if (!match) return false;
  const until = Number(match[1]);
  const now = Date.now();
  // A cookie promising more than one window from now was not set by us: it gets one window at most.
  return until > now && until - now <= windowMs;
}

const ROUTE_GET = 'GET /items/:id';

/**
 * Items are read cache-aside (./item-cache.ts: fails open, single-flight, versioned refills) from the reader,
 * and written to the writer, then to the cache.
 */
export function registerItemRoutes(app: FastifyInstance, { db, cache, settings, metrics }: ApiDeps): void {
  const items = new ItemCache(cache, settings.cache, { metrics, log: (event, fields) => app.log.warn({ event, ...fields }, event) });
  app.addHook('onClose', async () => items.close());
  const select = (pool: typeof db.reader) => async (id: string): Promise<VersionedItem | null> => {
    // The database down or out of connections is a 503 with Retry-After (../http.ts), not a 500.
    const { rows } = await callDependency('database', () => pool.query(`SELECT ${ITEM_SELECT_SQL} FROM items WHERE id = $1`, [id]));
    return rows.length === 0 ? null : versioned(rows[0]);
  };
  const fromReader = select(db.reader);
  const fromWriter = select(db.writer);
  const rywWindowMs = settings.cache.readYourWritesSeconds * 1000;

  app.get('/items/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params);
    const fresh = readsOwnWrites(request, rywWindowMs);
    const read = await items.read(id, { reader: () => fromReader(id), writer: () => fromWriter(id) }, { fresh, route: ROUTE_GET });
    if (read.item === null) throw new HttpError(404, `item ${id} not found`);
    return reply.header('x-cache', read.cache).send(read.item);
  });

  app.post('/items', async (request, reply) => {
    const body = parse(newItem, request.body);
    // Applied once per Idempotency-Key (../idempotency.ts): the key is stored in the insert's transaction, and a
    // retry with it gets the stored 201 and body instead of a second item.
    let created: VersionedItem | undefined;
    const result = await once(db.writer, request, settings.idempotency.ttlSeconds, async (tx) => {
      const { rows } = await tx.query(
        `INSERT INTO items (name, data) VALUES ($1, $2) RETURNING ${ITEM_SELECT_SQL}`,
        [body.name, JSON.stringify(body.data)],
      );
      created = versioned(rows[0]);
      return { statusCode: 201, body: created.row };
    });
    // Committed: from here on nothing may fail the request (a retry would insert the item again). The cache
    // write never throws; if the cache does not take it, it is retried when the cache answers again (ItemCache).
    if (!result.replayed && created) await items.written(String(created.row.id), created);
    if (rywWindowMs > 0) {
      reply.header('set-cookie', `${READ_YOUR_WRITES_COOKIE}=${Date.now() + rywWindowMs}; Max-Age=${settings.cache.readYourWritesSeconds}; Path=/items; HttpOnly; SameSite=Lax`);
    }
    return sendOnce(reply, result);
  });
}
