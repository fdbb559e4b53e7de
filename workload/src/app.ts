import Fastify, { type FastifyInstance } from 'fastify';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { CacheClient } from './cache';
import type { Database } from './db';
import type { Metrics } from './metrics';
import { ShardRouter } from './router';
import { clientErrorHandler, registerErrorHandlers, registerJsonParser } from './http';
import { registerAdmission } from './limits';
import { registerHealthRoutes } from './routes/health';
import { registerItemRoutes } from './routes/items';
import { registerJobRoutes } from './routes/jobs';
import type { Settings } from './settings';

export interface ApiDeps {
  readonly db: Database;
  /**
   * Routes each request to its shard's cluster (./router.ts, ShardRouter.open); required with
   * DB_SHARDING_MODE=clusters, absent otherwise (everything goes to `db`).
   */
  readonly router?: ShardRouter;
  readonly cache: CacheClient;
  /**
   * Unused by the routes: a job's message goes through the outbox, sent by the relay of ./sweeper.ts with its own
   * bounded client, so the API process builds none. Tests still pass one (test/workload/jobs-outbox.test.ts passes
   * its faulty client, so that a route calling SQS again would meet the fault); drop it with those arguments.
   */
  readonly sqs?: SQSClient;
  readonly settings: Settings;
  /** The workload's own KPIs (EMF); absent in tests that do not look at them. */
  readonly metrics?: Metrics;
  readonly logger?: boolean;
}

/**
 * The reference API: the server-wide behaviour here (errors, limits, timeouts, metrics, headers, draining),
 * the endpoints in ./routes (health, items, jobs). Every wait has a bound:
 * - requestTimeout: the whole request (headers and body) must arrive within HTTP_REQUEST_TIMEOUT_MS, else 408
 *   and the connection closes (a client trickling its body no longer holds a connection for minutes);
 * - connectionTimeout: a socket silent for longer than any request may take is closed;
 * - handlerTimeout: a response within HTTP_HANDLER_TIMEOUT_MS, else 503 with Retry-After;
 * - keepAliveTimeout above the load balancer's idle timeout: AWS recommends the target's be larger, otherwise the
 *   load balancer may send a request on a connection the target is closing and answer the client 502
 *   (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout);
 * - the in-flight cap and the per-client rate limit (./limits.ts) answer at once rather than queue.
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const s = deps.settings.http;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: s.bodyLimitBytes,
    requestTimeout: s.requestTimeoutMs,
    connectionTimeout: Math.max(s.requestTimeoutMs, s.handlerTimeoutMs) + 1000,
    keepAliveTimeout: s.keepAliveTimeoutMs,
    handlerTimeout: s.handlerTimeoutMs,
    // Node checks request timeouts on an interval (30 s by default): check often enough for the bound to hold.
    http: { connectionsCheckingInterval: Math.min(1000, s.requestTimeoutMs / 2), headersTimeout: s.requestTimeoutMs },
    clientErrorHandler,
    // While draining, a request on a kept-alive connection is served (with Connection: close, below), not
    // answered by Fastify's own 503 in another body shape: the dependencies are still up until close() resolves.
    return503OnClosing: false,
  });
  registerErrorHandlers(app, { retryAfterSeconds: s.retryAfterSeconds });
  registerJsonParser(app, { maxDepth: s.jsonMaxDepth });
  registerAdmission(app, s, deps.metrics);
  const { metrics } = deps;
  if (metrics) {
    app.addHook('onResponse', async (request, reply) => {
      // The route pattern, never the URL: one series per endpoint whatever the ids (404s share "unmatched").
      const Route = request.routeOptions.url === undefined ? 'unmatched' : `${request.method} ${request.routeOptions.url}`;
      metrics.put('RequestLatency', reply.elapsedTime, { Route });
      metrics.put('RequestCount', 1, { Route, StatusClass: `${Math.floor(reply.statusCode / 100)}xx` });
    });
  }
  app.addHook('onSend', async (_request, reply) => {
    // Several processes answer on one port (WORKLOAD_PROCESSES): say which one did.
    reply.header('x-worker-pid', String(process.pid));
    // Draining (close() was called): a response finishing now ends its connection. Kept alive, the idle
    // connection would hold close() open until the client or keepAliveTimeout ended it.
    if (!app.server.listening) reply.header('connection', 'close');
  });
  if (!deps.router && deps.settings.db.sharding?.mode === 'clusters') throw new Error('DB_SHARDING_MODE=clusters: buildApi needs the router (ShardRouter.open)');
  const router = deps.router ?? ShardRouter.unsharded(deps.db, { metrics });
  registerHealthRoutes(app, deps);
  registerItemRoutes(app, deps, router);
  registerJobRoutes(app, deps, router);
  return app;
}
