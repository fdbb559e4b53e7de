import type { FastifyInstance } from 'fastify';
import { request as httpRequest } from 'http';
import { buildApi } from '../../workload/src/app';
import { jsonProblem } from '../../workload/src/http';
import { createHarness, type Harness } from './harness';

// Input that validates is input that stores: JSON the schema accepts but PostgreSQL or the serialiser cannot
// take gets a 400 naming the problem, never a 500; and every error the service can produce has one body shape.
// Against the real API on loopback with the local PostgreSQL, Redis and SQS endpoint.
let h: Harness;
let server: FastifyInstance;
let base: string;

beforeAll(async () => {
  h = await createHarness({ env: { HTTP_JSON_MAX_DEPTH: '32', HTTP_BODY_LIMIT_BYTES: '65536' } });
  server = buildApi({ db: h.db, cache: h.cache, sqs: h.sqs, settings: h.settings });
  base = await server.listen({ port: 0, host: '127.0.0.1' });
});
afterAll(async () => {
  await server.close();
  await h.close();
});

/** POSTs `body` as it is (a string, so escapes like \u0000 reach the server as JSON text). */
async function post(path: string, body: string, contentType = 'application/json') {
  const r = await fetch(`${base}${path}`, { method: 'POST', body, headers: { 'content-type': contentType } });
  return { status: r.status, headers: r.headers, body: await r.json() as Record<string, unknown> };
}

const nested = (depth: number) => `{"name":"deep","data":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}`;

/** The one shape: statusCode (as the response's), a stable code, a message, details only when there are some. */
function expectErrorShape(r: { status: number; body: Record<string, unknown> }) {
  expect(r.body).toEqual({ statusCode: r.status, code: expect.stringMatching(/^[a-z_]+$/), error: expect.any(String), ...(r.body.details !== undefined && { details: r.body.details }) });
}

describe('JSON the schema accepts but the database cannot store: 400, not 500', () => {
  test.each([
    ['NUL in a name (text column)', '{"name":"a\\u0000b"}', 'name'],
    ['NUL in data (jsonb)', '{"name":"ok","data":{"k":"a\\u0000b"}}', 'data.k'],
    ['NUL in a key of data', '{"name":"ok","data":{"a\\u0000":1}}', 'data.a\u0000'],
    ['a lone high surrogate in data (jsonb refuses \\ud800)', '{"name":"ok","data":{"k":"\\ud800"}}', 'data.k'],
    ['a lone low surrogate in a name (it would be stored as U+FFFD)', '{"name":"x\\udc00"}', 'name'],
    ['nesting deeper than HTTP_JSON_MAX_DEPTH', nested(40), 'data.x'],
    ['nesting of 5,000 levels (JSON.stringify overflows the stack)', nested(5000), 'data.x'],
  ])('%s', async (_what, body, path) => {
    const r = await post('/items', body);
    expect(r.status).toBe(400);
    expectErrorShape(r);
    expect(r.body.code).toBe('invalid_request');
    expect((r.body.details as Array<{ path: string }>)[0].path.startsWith(path.split('.').slice(0, 2).join('.'))).toBe(true);
  });

  test('a surrogate pair (a real emoji) and nesting at the limit are stored as sent', async () => {
    const r = await post('/items', '{"name":"\\ud83d\\ude00","data":{"x":' + '['.repeat(29) + ']'.repeat(29) + '}}');
    expect(r.status).toBe(201);
    expect(r.body.name).toBe('😀');
  });

  test('prototype poisoning keys are refused as Fastify\'s own parser refuses them', async () => {
    expect((await post('/items', '{"name":"p","data":{"__proto__":{"admin":true}}}')).status).toBe(400);
    expect((await post('/items', '{"name":"p","data":{"constructor":{"prototype":{"admin":true}}}}')).status).toBe(400);
  });
});

describe('one error body for every 4xx and 5xx', () => {
  test.each([
    ['invalid JSON', () => post('/items', '{"name":'), 400],
    ['an empty JSON body', () => post('/items', ''), 400],
    ['a schema violation', () => post('/items', '{"name":""}'), 400],
    ['a body over HTTP_BODY_LIMIT_BYTES', () => post('/items', JSON.stringify({ name: 'big', data: { s: 'x'.repeat(70_000) } })), 413],
    ['a media type the API does not parse', () => post('/items', 'name=x', 'application/x-www-form-urlencoded'), 415],
    ['no such route', async () => { const r = await fetch(`${base}/nowhere`); return { status: r.status, body: await r.json() as Record<string, unknown> }; }, 404],
    ['no such item', async () => { const r = await fetch(`${base}/items/99999999`); return { status: r.status, body: await r.json() as Record<string, unknown> }; }, 404],
  ])('%s', async (_what, send, status) => {
    const r = await send();
    expect(r.status).toBe(status);
    expectErrorShape(r);
  });

  test('headers too large (431, raised by Node before any route) in the same shape', async () => {
    const r = await new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest(`${base}/healthz`, { headers: { 'x-big': 'x'.repeat(20_000) } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c)).on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
      });
      req.on('error', reject).end();
    });
    expect(r.status).toBe(431);
    expectErrorShape(r);
  });
});

test('jsonProblem walks without recursion: 100,000 levels do not overflow its stack', () => {
  const deep = JSON.parse('['.repeat(100_000) + ']'.repeat(100_000));
  expect(jsonProblem(deep, 32)).toEqual({ path: expect.any(String), message: 'nests deeper than 32 levels' });
});
