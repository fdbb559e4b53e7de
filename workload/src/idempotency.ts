import { createHash } from 'crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Pool, PoolClient } from 'pg';
import { HttpError } from './http';
import type { ShardTarget } from './router';

/** The request header (https://datatracker.ietf.org/doc/draft-ietf-httpapi-idempotency-key-header/). */
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** Set on a response that repeats the stored one instead of running the request again. */
export const REPLAYED_HEADER = 'idempotent-replayed';
/** What a key may be: printable ASCII, 1 to 255 characters (a UUID is the usual choice). */
const KEY = /^[\x21-\x7e]{1,255}$/;

/** A response an effect produced: stored with its key, and sent again for a retry with the same key. */
export interface StoredResponse {
  readonly statusCode: number;
  readonly body: unknown;
}

/** Runs `fn` in one transaction on a client of `pool`: committed when it returns, rolled back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>): Promise<T> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const result = await fn(tx);
    await tx.query('COMMIT');
    return result;
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

interface StoredRow { request_hash: string; status_code: number; body: string }

/** What `once` answers: the response, and whether it is a stored one sent again. */
export interface OnceResult {
  readonly statusCode: number;
  /** The response body as JSON text. */
  readonly payload: string;
  readonly replayed: boolean;
}

/** Sends what `once` answered. */
export function sendOnce(reply: FastifyReply, result: OnceResult): FastifyReply {
  if (result.replayed) reply.header(REPLAYED_HEADER, 'true');
  return reply.status(result.statusCode).type('application/json; charset=utf-8').send(result.payload);
}

/**
 * A POST that applies once per `Idempotency-Key`: the same key on the same route gets the same status and body
 * (with `Idempotent-Replayed: true`), whether the first request is finished or still running; the same key with
 * another body gets 422. Without the header the effect simply runs in its transaction.
 *
 * The key is stored in the transaction of the effect (`effect` writes through `tx`), so either both commit or
 * neither: a request that failed (a 4xx, a 5xx, a task killed mid-way) stored nothing, and its retry runs
 * again, which is safe because nothing of it was applied. Safe across API tasks without a lock of its own: two
 * requests with one key both run their effect, the second one's key insert waits for the first transaction on
 * the primary key, finds the committed key, and rolls its effect back to answer with the stored response.
 * Keys expire after `ttlSeconds` (an expired key counts as new; the sweeper deletes expired rows).
 */
export async function once(
  where: Pool | ShardTarget,
  request: FastifyRequest,
  ttlSeconds: number,
  effect: (tx: PoolClient) => Promise<StoredResponse>,
): Promise<OnceResult> {
  // Sharded (ShardTarget, ./router.ts): the key is read and stored on the shard of the effect, in its fenced
  // transaction, so a retry that routes to the same shard finds it; a pool is one unsharded database.
  const target: ShardTarget = 'transaction' in where ? where : {
    shard: null,
    query: (sql, params) => where.query(sql, params).then((r) => r.rows),
    transaction: (fn) => inTransaction(where, fn),
  };
  const key = request.headers[IDEMPOTENCY_HEADER];
  if (key === undefined) {
    const result = await target.transaction(effect);
    return { statusCode: result.statusCode, payload: JSON.stringify(result.body), replayed: false };
  }
  if (typeof key !== 'string' || !KEY.test(key)) {
    throw new HttpError(400, `${IDEMPOTENCY_HEADER} must be 1 to 255 printable ASCII characters, given once`);
  }
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  const requestHash = createHash('sha256').update(JSON.stringify(request.body ?? null)).digest('hex');
  // Limitless (./router.ts): the key's row is found on its shard only; its primary key starts with the shard key.
  const onShard = target.limitless && target.shard !== null;
  const stored = () => target.query<StoredRow>(
    `SELECT request_hash, status_code, body FROM idempotency_keys WHERE key = $1 AND route = $2 AND expires_at > now()${onShard ? ' AND logical_shard = $3' : ''}`,
    onShard ? [key, route, target.shard] : [key, route],
  ).then((rows) => rows[0]);
  const replay = (row: StoredRow): OnceResult => {
    if (row.request_hash !== requestHash) {
      throw new HttpError(422, `${IDEMPOTENCY_HEADER} ${JSON.stringify(key)} was used with another request body on ${route}; use a new key for a new request`);
    }
    return { statusCode: row.status_code, payload: row.body, replayed: true };
  };

  const earlier = await stored();
  if (earlier) return replay(earlier);

  try {
    return await target.transaction(async (tx) => {
      const result = await effect(tx);
      const payload = JSON.stringify(result.body);
      // An expired row with this key is replaced; a live one (committed by a concurrent request while this one
      // ran) makes the insert return nothing, and this transaction's effect is rolled back.
      const claimed = await tx.query(
        `INSERT INTO idempotency_keys (key, route, request_hash, status_code, body, expires_at, logical_shard)
         VALUES ($1, $2, $3, $4, $5, now() + make_interval(secs => $6), $7)
         ON CONFLICT (${onShard ? 'logical_shard, key, route' : 'key, route'}) DO UPDATE SET request_hash = EXCLUDED.request_hash, status_code = EXCLUDED.status_code,
           body = EXCLUDED.body, created_at = now(), expires_at = EXCLUDED.expires_at
         WHERE idempotency_keys.expires_at <= now()`,
        [key, route, requestHash, result.statusCode, payload, ttlSeconds, target.shard],
      );
      if (claimed.rowCount === 0) throw new LostRace();
      return { statusCode: result.statusCode, payload, replayed: false };
    });
  } catch (err) {
    if (!(err instanceof LostRace)) throw err;
    const winner = await stored();
    // The winner's key expired between its commit and this read: practically never; the client retries.
    if (!winner) throw new HttpError(409, `a concurrent request with ${IDEMPOTENCY_HEADER} ${JSON.stringify(key)} finished with an expired key; retry`);
    return replay(winner);
  }
}

class LostRace extends Error {}
