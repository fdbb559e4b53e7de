import type { FastifyInstance } from 'fastify';
import { z } from 'zod';

/** An error the client caused or must hear about: its status and message reach the response. */
export class HttpError extends Error {
  constructor(readonly statusCode: number, message: string, readonly details?: unknown) {
    super(message);
  }
}

/** `value` checked against `schema`, or a 400 that lists each problem with its path. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(400, 'invalid request', result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })));
  }
  return result.data;
}

/** The error and not-found handlers every route shares: a 4xx keeps its message, anything else is a logged 500. */
export function registerErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: { statusCode?: number; message: string; details?: unknown }, request, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) request.log.error(err);
    return reply.status(status).send({ error: status === 500 ? 'internal error' : err.message, ...(err.details !== undefined && { details: err.details }) });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error: 'not found' }));
}
