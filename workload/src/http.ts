import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Socket } from 'net';
import { STATUS_CODES } from 'http';
import { z } from 'zod';

/**
 * The one error body of the service, for every 4xx and 5xx it can produce: its own errors, Fastify's (bad JSON,
 * 404, 413, 415, handler timeout) and the socket-level ones Node raises before a route runs (408, 431, 400).
 * `error` is for people, `code` for programs (stable), `details` lists what was wrong with the input.
 */
export interface ErrorBody {
  readonly statusCode: number;
  readonly code: string;
  readonly error: string;
  readonly details?: unknown;
}

const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request', 404: 'not_found', 405: 'method_not_allowed', 408: 'request_timeout', 409: 'conflict',
  413: 'payload_too_large', 415: 'unsupported_media_type', 422: 'unprocessable', 429: 'rate_limited',
  431: 'headers_too_large', 500: 'internal', 503: 'unavailable',
};
const codeFor = (status: number) => CODE_BY_STATUS[status] ?? (status < 500 ? 'bad_request' : 'internal');

export function errorBody(statusCode: number, error: string, code = codeFor(statusCode), details?: unknown): ErrorBody {
  return { statusCode, code, error, ...(details !== undefined && { details }) };
}

/** An error the client caused or must hear about: its status, message and code reach the response. */
export class HttpError extends Error {
  readonly code: string;
  /** Seconds the client should wait before trying again (the Retry-After header), for 429 and 503. */
  readonly retryAfterSeconds?: number;

  constructor(readonly statusCode: number, message: string, readonly details?: unknown, opts: { code?: string; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = opts.code ?? codeFor(statusCode);
    this.retryAfterSeconds = opts.retryAfterSeconds;
  }
}

/** What a request may name as the dependency that failed it (the body says which one, never how). */
export type Dependency = 'database' | 'cache' | 'queue';

/**
 * A dependency is down or too slow (refused, reset, timed out, shutting down, out of connections): 503 with
 * Retry-After, so the client (and the load balancer's view of the service) sees "try again", not a bug (500).
 */
export class DependencyUnavailableError extends HttpError {
  constructor(readonly dependency: Dependency, cause?: unknown, retryAfterSeconds = 1) {
    super(503, `${dependency} unavailable, try again`, undefined, { code: 'dependency_unavailable', retryAfterSeconds, cause });
  }
}

/** Socket errors of a peer that is gone, refusing or silent (Node's net, dns and tls layers). */
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN',
  'ENOTFOUND', 'EAI_AGAIN', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_DESTROYED',
]);

/**
 * PostgreSQL SQLSTATEs (https://www.postgresql.org/docs/current/errcodes-appendix.html) that say "the server
 * cannot do it now", not "the request is wrong": class 08 (connection exception), 53 (insufficient resources:
 * too many connections, out of memory or disk), 57014 query_canceled (statement_timeout), 57P01-57P05
 * (admin/crash shutdown, cannot connect now, idle session timeout), 55P03 lock_not_available (lock_timeout),
 * 25P03 idle_in_transaction_session_timeout, 40001/40P01 (serialization failure, deadlock: retry), and class 28
 * (the database refused this task's credentials: mid-rotation of the secret, until the task reads it again).
 */
const PG_UNAVAILABLE = /^(08|53|28)...$|^57014$|^57P0[1-5]$|^55P03$|^25P03$|^40001$|^40P01$/;

/** Messages of pg, pg-pool and ioredis for a connection that broke, could not be had, or a reply that never came. */
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // pg: the server or the network ended it, or connectionTimeoutMillis passed
  /^timeout exceeded when trying to connect$/, // pg-pool: no connection within connectionTimeoutMillis (checkout timeout)
  /^Query read timeout$/, // pg: query_timeout passed without a reply
  /^Client has encountered a connection error and is not queryable$/,
  /^Connection is closed\.?$/, // ioredis
  /^Command timed out$/, // ioredis commandTimeout
  /^Stream isn't writeable and enableOfflineQueue options is false$/, // ioredis without its offline queue
  /^Failed to refresh slots cache/, // ioredis Cluster
];

/**
 * AWS SDK v3 error names of a request that did not get a usable answer in time, or was throttled: the kinds the
 * SDK itself counts as transient or throttling when it retries
 * (https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
 */
const SDK_UNAVAILABLE_NAMES = new Set([
  'TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError', 'ThrottlingException', 'Throttling',
  'RequestThrottled', 'RequestThrottledException', 'ServiceUnavailable', 'InternalError', 'InternalFailure',
]);

interface ErrorLike {
  name?: unknown; code?: unknown; message?: unknown; cause?: unknown; errors?: unknown;
  $metadata?: { httpStatusCode?: number }; $fault?: unknown; $retryable?: unknown;
}

/**
 * True when `err` says a dependency is unavailable (down, unreachable, overloaded, too slow), as opposed to a
 * bug or bad input: errors of pg and pg-pool (SQLSTATEs above, broken connections, checkout and query
 * timeouts), ioredis (closed connection, command timeout, retries exhausted) and the AWS SDK (timeouts,
 * throttling, 5xx, retryable faults, network errors). Looks through `cause` and AggregateError's `errors`.
 */
export function isUnavailableError(err: unknown, depth = 0): boolean {
  if (err === null || typeof err !== 'object' || depth > 5) return false;
  const e = err as ErrorLike;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (err instanceof DependencyUnavailableError) return true;
  if (code && (NETWORK_CODES.has(code) || PG_UNAVAILABLE.test(code))) return true;
  if (UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return true;
  if (name === 'MaxRetriesPerRequestError') return true; // ioredis gave up on a command while reconnecting
  if (e.$metadata !== undefined || e.$fault !== undefined) {
    if (SDK_UNAVAILABLE_NAMES.has(name) || e.$retryable !== undefined) return true;
    // The SDK wraps a non-Error it caught ("AWS SDK error wrapper for Error: connect ECONNREFUSED ...", as it
    // does for an error from another realm), dropping its code: the code survives only in the message.
    if ([...NETWORK_CODES].some((c) => message.includes(c))) return true;
    const status = e.$metadata?.httpStatusCode;
    if (e.$fault === 'server' || (status !== undefined && status >= 500)) return true;
  }
  if (Array.isArray(e.errors) && e.errors.some((x) => isUnavailableError(x, depth + 1))) return true;
  return isUnavailableError(e.cause, depth + 1);
}

/** `err` as a 503 naming `dependency` when it says the dependency is unavailable; otherwise `err` unchanged. */
export function asDependencyError(dependency: Dependency, err: unknown): unknown {
  return !(err instanceof HttpError) && isUnavailableError(err) ? new DependencyUnavailableError(dependency, err) : err;
}

/** Awaits `work`; a failure that says `dependency` is unavailable becomes its 503 (DependencyUnavailableError). */
export async function callDependency<T>(dependency: Dependency, work: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof work === 'function' ? work() : work);
  } catch (err) {
    throw asDependencyError(dependency, err);
  }
}

/** `value` checked against `schema`, or a 400 that lists each problem with its path. */
export function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new HttpError(400, 'invalid request', result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })), { code: 'invalid_request' });
  }
  return result.data;
}

/** Sends `body` with its status, and Retry-After when it has one. */
export function sendError(reply: FastifyReply, body: ErrorBody, retryAfterSeconds?: number): FastifyReply {
  if (retryAfterSeconds !== undefined) reply.header('retry-after', String(Math.max(1, Math.ceil(retryAfterSeconds))));
  return reply.status(body.statusCode).type('application/json; charset=utf-8').send(body);
}

interface FastifyErrorLike { statusCode?: number; code?: string; message: string; details?: unknown; validation?: unknown }

/**
 * The error and not-found handlers every route shares. An HttpError keeps its status and message; Fastify's own
 * 4xx (bad JSON, body too large, media type) keep theirs in the same shape; its handler timeout and any error
 * that says a dependency is unavailable are a 503 with Retry-After; anything else is a logged 500 that says
 * nothing of the cause.
 */
export function registerErrorHandlers(app: FastifyInstance, opts: { retryAfterSeconds?: number } = {}): void {
  const retryAfter = opts.retryAfterSeconds ?? 1;
  app.setErrorHandler((err: FastifyErrorLike, request, reply) => {
    if (err instanceof HttpError) {
      if (err.statusCode >= 500) request.log.warn({ err: err.cause ?? err }, err.message);
      return sendError(reply, errorBody(err.statusCode, err.message, err.code, err.details), err.retryAfterSeconds ?? (err.statusCode === 503 ? retryAfter : undefined));
    }
    if (err.code === 'FST_ERR_HANDLER_TIMEOUT') {
      request.log.warn({ url: request.url }, 'handler timeout');
      return sendError(reply, errorBody(503, 'the request took too long, try again', 'timeout'), retryAfter);
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(reply, errorBody(err.statusCode, err.message, codeFor(err.statusCode), err.details));
    }
    if (isUnavailableError(err)) {
      request.log.warn({ err }, 'dependency unavailable');
      return sendError(reply, errorBody(503, 'a dependency is unavailable, try again', 'dependency_unavailable'), retryAfter);
    }
    request.log.error(err);
    return sendError(reply, errorBody(500, 'internal error'));
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, errorBody(404, `no route ${request.method} ${request.url.split('?')[0]}`)));
}

/**
 * Fastify's `clientErrorHandler`: what Node reports on the socket before any route runs (the request took
 * longer than requestTimeout: 408; headers too large: 431; unparseable HTTP: 400), in the same body shape.
 * The connection is closed after it: the request on it cannot be trusted to have ended.
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const message = status === 408 ? 'the request was not received in time' : status === 431 ? 'request headers too large' : 'malformed HTTP request';
  const body = JSON.stringify(errorBody(status, message));
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n`
      + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}

/** An unpaired UTF-16 surrogate: not Unicode, so not storable as UTF-8 (PostgreSQL refuses `\ud800` in jsonb). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * What makes a parsed JSON value unstorable or unsafe even though JSON allows it, or undefined: a string (key
 * or value) with NUL, which PostgreSQL stores in neither text nor jsonb; a lone surrogate, which is not
 * Unicode; nesting deeper than `maxDepth` (JSON.parse takes any depth, JSON.stringify overflows the stack at a
 * few thousand); `__proto__` or `constructor.prototype` keys (prototype poisoning, refused as Fastify's own
 * parser refuses them). Iterative, so a deep value cannot overflow the stack here either.
 */
export function jsonProblem(value: unknown, maxDepth: number): { path: string; message: string } | undefined {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value, depth: 0, path: '' }];
  const checkString = (s: string, path: string) => {
    if (s.includes('\u0000')) return { path, message: 'contains NUL (\\u0000), which cannot be stored' };
    if (LONE_SURROGATE.test(s)) return { path, message: 'contains a lone surrogate (an unpaired \\uD800-\\uDFFF), which is not valid Unicode' };
    return undefined;
  };
  while (stack.length > 0) {
    const { value: v, depth, path } = stack.pop()!;
    if (typeof v === 'string') {
      const problem = checkString(v, path);
      if (problem) return problem;
    } else if (v !== null && typeof v === 'object') {
      if (depth >= maxDepth) return { path, message: `nests deeper than ${maxDepth} levels` };
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      for (const [key, child] of entries) {
        const childPath = path ? `${path}.${key}` : key;
        if (!Array.isArray(v)) {
          const problem = checkString(key, childPath);
          if (problem) return { path: childPath, message: `key ${problem.message}` };
          if (key === '__proto__' || (key === 'constructor' && child !== null && typeof child === 'object' && Object.hasOwn(child, 'prototype'))) {
            return { path: childPath, message: 'a key that could poison prototypes' };
          }
        }
        stack.push({ value: child, depth: depth + 1, path: childPath });
      }
    }
  }
  return undefined;
}

/**
 * Replaces Fastify's JSON body parser with one that also refuses (400, one problem with its path) what the
 * database or the serialiser would fail on later as a 500: see jsonProblem. Invalid JSON and an empty body
 * stay 400; the size limit (bodyLimit, 413) applies before parsing, as before.
 */
export function registerJsonParser(app: FastifyInstance, limits: { maxDepth: number }): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string;
    if (text.length === 0) return done(new HttpError(400, 'empty JSON body', undefined, { code: 'invalid_json' }), undefined);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return done(new HttpError(400, `invalid JSON: ${(err as Error).message}`, undefined, { code: 'invalid_json' }), undefined);
    }
    const problem = jsonProblem(value, limits.maxDepth);
    if (problem) return done(new HttpError(400, 'invalid request', [problem], { code: 'invalid_request' }), undefined);
    done(null, value);
  });
}
