import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import Fastify, { type FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { Pool } from 'pg';
import { DependencyUnavailableError, HttpError, callDependency, isUnavailableError, registerErrorHandlers } from '../../workload/src/http';
import { freePort } from './postgres';
import { eventually, serviceEnv } from './harness';

// The errors are real ones, raised by pg, ioredis and the AWS SDK against a port nothing listens on or against
// the shared local PostgreSQL; the classifier must see them as "unavailable", and bugs or bad input as not.
const env = serviceEnv();
const pgConfig = { host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: 'postgres' };

async function caught(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (err) {
    return err;
  }
  throw new Error('expected a failure');
}

describe('isUnavailableError: real errors of the clients', () => {
  let closedPort: number;
  beforeAll(async () => {
    closedPort = await freePort();
  });

  test('pg: connection refused', async () => {
    const pool = new Pool({ ...pgConfig, port: closedPort, connectionTimeoutMillis: 2000 });
    const err = await caught(() => pool.query('SELECT 1'));
    await pool.end();
    expect(isUnavailableError(err)).toBe(true);
  });

  test('pg: statement_timeout (57014), lock_timeout (55P03) and the pool checkout timeout', async () => {
    const pool = new Pool({ ...pgConfig, max: 1, connectionTimeoutMillis: 200 });
    try {
      // The pool's one connection, opened beforehand: 200 ms is for the checkout below, and opening one can take
      // longer on a loaded machine (a new backend process). pg-pool drops a connection whose query failed.
      const open = () => eventually(() => pool.query('SELECT 1').then(() => true, () => undefined), 10_000, 'an open connection');
      await open();
      const statement = await caught(() => pool.query("SET statement_timeout = '50ms'; SELECT pg_sleep(2)"));
      expect(statement).toMatchObject({ code: '57014' });
      expect(isUnavailableError(statement)).toBe(true);
      await open();
      const held = await pool.connect();
      const checkout = await caught(() => pool.query('SELECT 1'));
      expect((checkout as Error).message).toBe('timeout exceeded when trying to connect');
      expect(isUnavailableError(checkout)).toBe(true);
      held.release();
      const second = new Pool({ ...pgConfig, max: 2 });
      const locker = await second.connect();
      const key = Math.floor(Math.random() * 1e9);
      await locker.query('BEGIN');
      await locker.query('SELECT pg_advisory_xact_lock($1)', [key]);
      const lock = await caught(() => second.query(`SET lock_timeout = '50ms'; SELECT pg_advisory_lock(${key})`));
      expect(lock).toMatchObject({ code: '55P03' });
      expect(isUnavailableError(lock)).toBe(true);
      await locker.query('ROLLBACK');
      locker.release();
      await second.end();
    } finally {
      await pool.end();
    }
  });

  test('pg: a bad statement (42601) or a constraint violation (23505) is not "unavailable"', async () => {
    const pool = new Pool(pgConfig);
    const syntax = await caught(() => pool.query('SELEC 1'));
    await pool.end();
    expect(syntax).toMatchObject({ code: '42601' });
    expect(isUnavailableError(syntax)).toBe(false);
    expect(isUnavailableError(Object.assign(new Error('duplicate key'), { code: '23505' }))).toBe(false);
  });

  test('ioredis: a command while the server cannot be reached', async () => {
    const redis = new Redis({ host: '127.0.0.1', port: closedPort, maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
    redis.on('error', () => undefined);
    const err = await caught(() => redis.get('k'));
    redis.disconnect();
    expect(isUnavailableError(err)).toBe(true);
  });

  test('AWS SDK: SQS endpoint refusing connections', async () => {
    const sqs = new SQSClient({ region: 'us-east-1', endpoint: `http://127.0.0.1:${closedPort}`, credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
    const err = await caught(() => sqs.send(new SendMessageCommand({ QueueUrl: `http://127.0.0.1:${closedPort}/000000000000/q`, MessageBody: 'x' })));
    sqs.destroy();
    expect(isUnavailableError(err)).toBe(true);
  });

  test('AWS SDK: a client error (4xx, not retryable) is not "unavailable"', () => {
    const err = Object.assign(new Error('The specified queue does not exist.'), { name: 'QueueDoesNotExist', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(isUnavailableError(err)).toBe(false);
  });

  test('plain bugs are not "unavailable"', () => {
    expect(isUnavailableError(new TypeError('x is undefined'))).toBe(false);
    expect(isUnavailableError(new RangeError('Maximum call stack size exceeded'))).toBe(false);
    expect(isUnavailableError(undefined)).toBe(false);
  });
});

describe('the one error shape', () => {
  let app: FastifyInstance;
  let base: string;
  beforeAll(async () => {
    app = Fastify();
    registerErrorHandlers(app);
    app.get('/down', () => callDependency('database', Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))));
    app.get('/unwrapped', async () => { throw Object.assign(new Error('Connection terminated unexpectedly'), {}); });
    app.get('/bug', async () => { throw new TypeError('oops: secret detail'); });
    app.get('/teapot', async () => { throw new HttpError(409, 'already there', [{ path: 'name' }]); });
    app.get('/slow-cache', async () => { throw new DependencyUnavailableError('cache', undefined, 3); });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(() => app.close());

  test.each([
    ['/down', 503, { statusCode: 503, code: 'dependency_unavailable', error: 'database unavailable, try again' }, '1'],
    ['/unwrapped', 503, { statusCode: 503, code: 'dependency_unavailable', error: 'a dependency is unavailable, try again' }, '1'],
    ['/slow-cache', 503, { statusCode: 503, code: 'dependency_unavailable', error: 'cache unavailable, try again' }, '3'],
    ['/bug', 500, { statusCode: 500, code: 'internal', error: 'internal error' }, undefined],
    ['/teapot', 409, { statusCode: 409, code: 'conflict', error: 'already there', details: [{ path: 'name' }] }, undefined],
    ['/nowhere', 404, { statusCode: 404, code: 'not_found', error: 'no route GET /nowhere' }, undefined],
  ])('GET %s → %i %j, Retry-After %s', async (url, status, body, retryAfter) => {
    // fastify.inject needs an ESM-only package jest cannot load here: a real request over loopback instead.
    const r = await fetch(`${base}${url}`);
    expect(r.status).toBe(status);
    expect(await r.json()).toEqual(body);
    expect(r.headers.get('retry-after') ?? undefined).toBe(retryAfter);
  });
});
