import Fastify, { type FastifyInstance } from 'fastify';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { CacheClient } from './cache';
import type { Database } from './db';
import type { Metrics } from './metrics';
import { registerErrorHandlers } from './http';
import { registerHealthRoutes } from './routes/health';
import { registerItemRoutes } from './routes/items';
import { registerJobRoutes } from './routes/jobs';
import type { Settings } from './settings';

export interface ApiDeps {
  readonly db: Database;
  readonly cache: CacheClient;
  readonly sqs: SQSClient;
  readonly settings: Settings;
  /** The workload's own KPIs (EMF); absent in tests that do not look at them. */
  readonly metrics?: Metrics;
  readonly logger?: boolean;
}

/**
 * The reference API: the server-wide behaviour here (errors, headers, draining), the endpoints in ./routes
 * (health, items, jobs).
 */
export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({ logger: deps.logger ?? false, bodyLimit: 64 * 1024 });
  registerErrorHandlers(app);
  app.addHook('onSend', async (_request, reply) => {
    // Several processes answer on one port (WORKLOAD_PROCESSES): say which one did.
    reply.header('x-worker-pid', String(process.pid));
    // Draining (close() was called): a response finishing now ends its connection. Kept alive, the idle
    // connection would hold close() open until the client or keepAliveTimeout (72 s in Fastify) ended it.
    if (!app.server.listening) reply.header('connection', 'close');
  });
  registerHealthRoutes(app, deps);
  registerItemRoutes(app, deps);
  registerJobRoutes(app, deps);
  return app;
}
