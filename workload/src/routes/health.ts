import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app';
import { errorBody, sendError } from '../http';

export interface Readiness {
  readonly writer: boolean;
  readonly reader: boolean;
  readonly cache: boolean;
}

/** `work` or false after `ms`: a check that hangs (a paused server) counts as failed, and /readyz still answers. */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([work.then(() => true, () => false), timeout]).finally(() => clearTimeout(timer));
}

/**
 * `check` shared by every caller within `ttlMs` of its start, and by every caller while it runs: however many
 * anonymous callers ask, the dependencies see at most one check per period per process.
 */
export function sharedCheck<T>(check: () => Promise<T>, ttlMs: number, now: () => number = Date.now): () => Promise<T> {
  let last: { at: number; result: Promise<T> } | undefined;
  return () => {
    const t = now();
    if (!last || t - last.at >= ttlMs) {
      const result = check();
      last = { at: t, result };
      // A period that has passed while the check ran still ends at the check's start: the next caller starts anew.
      result.catch(() => undefined);
    }
    return last.result;
  };
}

/**
 * Liveness touches nothing (a database blip must not drain the target group); readiness checks both pools
 * and the cache, each bounded (a hung dependency is "not ready", not a hung probe), and the result is reused for
 * HTTP_READYZ_CACHE_MS, so /readyz is cheap to call.
 */
export function registerHealthRoutes(app: FastifyInstance, { db, cache, settings }: ApiDeps): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  const boundMs = Math.max(100, Math.min(settings.db.connectTimeoutMs + 1000, settings.http.handlerTimeoutMs - 100));
  const readiness = sharedCheck<Readiness>(async () => {
    // Every cluster (DB_SHARDING_MODE=clusters): a request may route to any of them.
    const all = (pools: Array<{ query(sql: string): Promise<unknown> }>) => Promise.all(pools.map((p) => within(p.query('SELECT 1'), boundMs))).then((up) => up.every(Boolean));
    const [writer, reader, cacheUp] = await Promise.all([
      all(db.clusters.map((c) => c.writer)),
      all(db.clusters.map((c) => c.reader)),
      within(cache.ping(), boundMs),
    ]);
    return { writer, reader, cache: cacheUp };
  }, settings.http.readyzCacheMs);

  app.get('/readyz', async (_request, reply) => {
    const r = await readiness();
    if (r.writer && r.reader && r.cache) return reply.send(r);
    const down = Object.entries(r).filter(([, up]) => !up).map(([name]) => name);
    return sendError(reply, errorBody(503, `not ready: ${down.join(', ')} unavailable`, 'not_ready', r), settings.http.retryAfterSeconds);
  });
}
