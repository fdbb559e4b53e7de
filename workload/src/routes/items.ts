import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiDeps } from '../app';
import { shardOfItemId } from '../../contracts/sharding';
import { callDependency, HttpError, parse } from '../http';
import { IDEMPOTENCY_HEADER, once, sendOnce } from '../idempotency';
import { ITEM_SELECT_SQL, ITEM_TOUCH_SQL, ItemCache, versioned, type VersionedItem } from '../item-cache';
import { boundedQuery, type Access, type ShardRouter } from '../router';

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

/** Ids a POST draws before it gives up (503): one is taken only where a PUT's id raced the sequence's raise. */
export const POST_ID_ATTEMPTS = 5;

/**
 * After PUT inserts client-chosen id `id`: the sequence raised so that the next id it makes is above `id` (the
 * sequence itself in mode none; ⌊id / L⌋ in the sharded modes, whose next id is (⌊id / L⌋ + 1) × L + shard > id).
 * Under a transaction-level advisory lock, so that two raises cannot interleave and lower it; never lowered;
 * setval is not undone by a rollback, which only leaves a gap. pg_sequence_last_value is NULL until the first
 * nextval (which then answers the start, 1), so that case is raised as well.
 * https://www.postgresql.org/docs/current/functions-sequence.html
 */
const RAISE_ITEM_SEQUENCE_SQL = `SELECT setval('items_id_seq', $1::bigint)
  FROM (SELECT pg_advisory_xact_lock(hashtext('items_id_seq'))) l
  WHERE coalesce(pg_sequence_last_value('items_id_seq'), 0) < $1::bigint`;

/** The most items GET /items answers with. */
export const LIST_MAX = 100;
const listQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(LIST_MAX).default(20) });

type ItemRow = Record<string, unknown> & { id: string; created_at: Date };

/**
 * The newest `limit` items over every cluster (bounded scatter-gather): each cluster answers its own newest
 * `limit` of the logical shards the directory places on it (one statement, items_newest index, bounded by
 * DB_SHARD_QUERY_TIMEOUT_MS), the lists are merged, newest first (created_at, then id), and cut to `limit`.
 *
 * A cluster that fails or is too slow fails the whole list (503, Retry-After), rather than answering with the
 * others' items: a partial list looks complete (a client showing "the newest items" or paging through them would
 * silently miss a cluster's share, a third with three clusters), and a header saying otherwise is easy to ignore.
 *
 * Each cluster also says how many of its listed shards it still holds, in the same snapshot; a shard moved away
 * since the directory was read means the directory is stale: it is read again and the list asked once more.
 * Rows of a shard being moved are read only where the directory places it, so none is listed twice.
 */
async function listNewest(router: ShardRouter, limit: number): Promise<ItemRow[]> {
  const select = `SELECT ${ITEM_SELECT_SQL} FROM items`;
  for (let attempt = 1; ; attempt++) {
    const byCluster = router.shardsByCluster();
    const lists = await router.scatter(async (cluster, pools, timeoutMs) => {
      if (!router.sharded) {
        const { rows } = await boundedQuery<ItemRow>(pools.reader, `${select} ORDER BY created_at DESC, id DESC LIMIT $1`, [limit], timeoutMs);
        return { rows, stale: false };
      }
      const shards = byCluster[cluster];
      if (shards.length === 0) return { rows: [], stale: false };
      const { rows } = await boundedQuery<ItemRow & { sb_held: number; sb_found: boolean | null }>(pools.reader,
        `WITH mine AS (SELECT logical_shard FROM shard_ownership WHERE logical_shard = ANY($1::int[]))
          SELECT (SELECT count(*) FROM mine)::int AS sb_held, q.* FROM (SELECT 1) one LEFT JOIN (
            SELECT true AS sb_found, ${ITEM_SELECT_SQL} FROM items WHERE logical_shard IN (SELECT logical_shard FROM mine)
            ORDER BY created_at DESC, id DESC LIMIT $2) q ON true`,
        [shards, limit], timeoutMs);
      return {
        rows: rows.filter((r) => r.sb_found).map(({ sb_held: _h, sb_found: _f, ...row }) => row as ItemRow),
        stale: rows[0].sb_held !== shards.length,
      };
    });
    if (lists.some((l) => l.stale) && attempt === 1) {
      await router.refresh();
      continue;
    }
    if (lists.some((l) => l.stale)) throw new HttpError(503, 'the shard directory is changing, try again', undefined, { code: 'dependency_unavailable', retryAfterSeconds: 1 });
    const seen = new Set<string>();
    return lists.flatMap((l) => l.rows)
      .sort((a, b) => b.created_at.getTime() - a.created_at.getTime() || (BigInt(b.id) > BigInt(a.id) ? 1 : BigInt(b.id) < BigInt(a.id) ? -1 : 0))
      .filter((r) => !seen.has(r.id) && seen.add(r.id) !== undefined)
      .slice(0, limit);
  }
}

/**
 * Items are read cache-aside (./item-cache.ts: fails open, single-flight, versioned refills) from the reader,
 * and written to the writer, then to the cache.
 */
export function registerItemRoutes(app: FastifyInstance, { cache, settings, metrics }: ApiDeps, router: ShardRouter): void {
  const items = new ItemCache(cache, settings.cache, { metrics, log: (event, fields) => app.log.warn({ event, ...fields }, event) });
  app.addHook('onClose', async () => items.close());
  // An item is read on the cluster of the logical shard its id carries (./router.ts checks that it holds it).
  const select = (access: Access) => async (id: string): Promise<VersionedItem | null> => {
    // The database down or out of connections is a 503 with Retry-After (../http.ts), not a 500.
    const shard = shardOfItemId(id, router.logicalShards);
    const key = router.shardKey(shard, 2);
    const rows = await callDependency('database', () => router.readRows<ItemRow>(
      shard, access, `SELECT ${ITEM_SELECT_SQL} FROM items WHERE id = $1${key.sql}`, [id, ...key.params]));
    return rows.length === 0 ? null : versioned(rows[0]);
  };
  const fromReader = select('reader');
  const fromWriter = select('writer');
  const rywWindowMs = settings.cache.readYourWritesSeconds * 1000;

  app.get('/items/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params);
    const fresh = readsOwnWrites(request, rywWindowMs);
    const read = await items.read(id, { reader: () => fromReader(id), writer: () => fromWriter(id) }, { fresh, route: ROUTE_GET });
    if (read.item === null) throw new HttpError(404, `item ${id} not found`);
    return reply.header('x-cache', read.cache).send(read.item);
  });

  app.get('/items', async (request, reply) => {
    const { limit } = parse(listQuery, request.query);
    return reply.send({ items: await callDependency('database', () => listNewest(router, limit)) });
  });

  app.post('/items', async (request, reply) => {
    const body = parse(newItem, request.body);
    // The item's logical shard: the Idempotency-Key's when there is one, so that a retry lands on the shard
    // where its key is stored; else any (at random, so shards fill evenly).
    const key = request.headers[IDEMPOTENCY_HEADER];
    const shard = typeof key === 'string' ? router.shardOfKey(key) : router.randomShard();
    // Applied once per Idempotency-Key (../idempotency.ts): the key is stored in the insert's transaction, and a
    // retry with it gets the stored 201 and body instead of a second item.
    let created: VersionedItem | undefined;
    const result = await once(router.at(shard), request, settings.idempotency.ttlSeconds, async (tx) => {
      // The id carries the logical shard (itemIdOf: sequence × logical shards + shard; the sequence itself in
      // mode none, where the row's logical_shard stays NULL).
      // An id a PUT took (racing the sequence's raise, RAISE_ITEM_SEQUENCE_SQL) is skipped: the next value is drawn.
      for (let attempt = 1; !created; attempt++) {
        if (attempt > POST_ID_ATTEMPTS) throw new HttpError(503, 'no free item id, try again', undefined, { code: 'dependency_unavailable', retryAfterSeconds: 1 });
        const { rows } = await tx.query(
          `INSERT INTO items (id, logical_shard, name, data) VALUES (nextval('items_id_seq') * $3::bigint + $4::bigint, $5, $1, $2)
           ON CONFLICT (${router.limitless ? 'logical_shard, id' : 'id'}) DO NOTHING RETURNING ${ITEM_SELECT_SQL}`,
          [body.name, JSON.stringify(body.data), router.logicalShards, shard, router.rowShard(shard)],
        );
        if (rows.length > 0) created = versioned(rows[0]);
      }
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

  /**
   * Create-or-replace the item with a client-chosen id (RFC 9110 §9.3.4): 201 when it was created, 200 when
   * replaced. With `If-None-Match: *` it only creates, and an existing item is a 412, left as it is (RFC 9110
   * §13.1.2: "to prevent an unsafe request method (e.g., PUT) from inadvertently modifying an existing
   * representation"); the seed (tools/seed) sends it so as never to overwrite an item. Any id routes: its
   * logical shard is id mod L (shardOfItemId), written on the cluster that holds it through the fenced write
   * path, as POST is. Idempotent by itself (the id is the request's), so no Idempotency-Key is read: a retry
   * of a PUT whose reply was lost writes the same row again (or meets the 412), never a second item.
   */
  app.put('/items/:id', async (request, reply) => {
    const { id } = parse(idParam, request.params);
    const body = parse(newItem, request.body);
    const createOnly = request.headers['if-none-match'] === '*';
    const shard = shardOfItemId(id, router.logicalShards);
    const { item, inserted } = await router.write(shard, async (tx) => {
      const ins = await tx.query(
        // Limitless: the conflict target is the primary key, which starts with the shard key (workload/src/limitless.ts).
        `INSERT INTO items (id, logical_shard, name, data) VALUES ($1, $2, $3, $4) ON CONFLICT (${router.limitless ? 'logical_shard, id' : 'id'}) DO NOTHING RETURNING ${ITEM_SELECT_SQL}`,
        // The row's logical shard as POST gives it: NULL in mode none (one logical shard).
        [id, router.logicalShards > 1 ? shard : null, body.name, JSON.stringify(body.data)],
      );
      if (ins.rows.length > 0) {
        // Limitless: setval is not supported on its distributed sequences (workload/src/limitless.ts): not raised;
        // a POST that draws this id later finds it taken (ON CONFLICT) and draws the next value.
        if (!router.limitless) await tx.query(RAISE_ITEM_SEQUENCE_SQL, [(BigInt(id) / BigInt(router.logicalShards)).toString()]);
        return { item: versioned(ins.rows[0]), inserted: true };
      }
      if (createOnly) return { item: undefined, inserted: false };
      // Items are never deleted, so the conflicting row is there to update (ITEM_TOUCH_SQL: its version grows).
      const key = router.shardKey(shard, 4);
      const upd = await tx.query(
        `UPDATE items SET name = $2, data = $3, ${ITEM_TOUCH_SQL} WHERE id = $1${key.sql} RETURNING ${ITEM_SELECT_SQL}`,
        [id, body.name, JSON.stringify(body.data), ...key.params],
      );
      return { item: versioned(upd.rows[0]), inserted: false };
    });
    if (!item) throw new HttpError(412, `item ${id} exists (If-None-Match: *)`);
    // Committed: the cache takes the new version, so a replaced item is not served stale (../item-cache.ts).
    await items.written(id, item);
    if (rywWindowMs > 0) {
      reply.header('set-cookie', `${READ_YOUR_WRITES_COOKIE}=${Date.now() + rywWindowMs}; Max-Age=${settings.cache.readYourWritesSeconds}; Path=/items; HttpOnly; SameSite=Lax`);
    }
    return reply.status(inserted ? 201 : 200).send(item.row);
  });
}
