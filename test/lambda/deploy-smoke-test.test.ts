import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import { handler } from '../../lambda/deploy-smoke-test/index';
import { runSmokeTest, settingsFromEnv, type SmokeTestSettings } from '../../lambda/deploy-smoke-test/smoke';

// The deployment smoke test against a real HTTP server on 127.0.0.1: SUCCEEDED only on a 2xx that carried the
// test header, FAILED on 5xx, on a redirect, on no answer within the timeout and on a refused connection.

jest.setTimeout(10_000);

let server: Server;
let base: string;
/** How the server answers the next requests; each request is recorded. */
let answer: (req: IncomingMessage, res: ServerResponse) => void;
const seen: Array<{ path?: string; header?: string | string[] }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url, header: req.headers['x-deployment-test'] });
    answer(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => { seen.length = 0; });

// The per-attempt timeout of the tests whose server answers at once: far above a loopback round trip, so that
// on a busy machine (this process starved for a second, fetch's first request compiling undici) an answer
// is never taken for silence and retried; the timeout itself is tested with its own, short value.
const ANSWERED_WITHIN_MS = 8000;
const settings = (over: Partial<SmokeTestSettings> = {}): SmokeTestSettings => ({
  url: `${base}/healthz`, headerName: 'X-Deployment-Test', headerValue: 'green', timeoutMs: ANSWERED_WITHIN_MS, attempts: 3, retryDelayMs: 0, ...over,
});
const quiet = () => undefined;

test('a 200 passes at the first attempt, with the test header sent', async () => {
  answer = (_req, res) => res.end('ok');
  const result = await runSmokeTest(settings(), fetch, quiet);
  expect(result).toEqual({ hookStatus: 'SUCCEEDED', attempts: [{ status: 200 }] });
  expect(seen).toEqual([{ path: '/healthz', header: 'green' }]);
});

test('503 on every attempt fails the hook after the configured attempts', async () => {
  answer = (_req, res) => { res.statusCode = 503; res.end(); };
  const result = await runSmokeTest(settings(), fetch, quiet);
  expect(result).toEqual({ hookStatus: 'FAILED', attempts: [{ status: 503 }, { status: 503 }, { status: 503 }] });
  expect(seen).toHaveLength(3);
});

test('one 502 then a 204 passes (a revision that just turned healthy may drop one request)', async () => {
  let n = 0;
  answer = (_req, res) => { res.statusCode = n++ === 0 ? 502 : 204; res.end(); };
  const result = await runSmokeTest(settings(), fetch, quiet);
  expect(result).toEqual({ hookStatus: 'SUCCEEDED', attempts: [{ status: 502 }, { status: 204 }] });
});

test('a redirect is not followed and fails: it did not reach the new revision', async () => {
  answer = (_req, res) => { res.writeHead(301, { Location: 'https://example.com/healthz' }); res.end(); };
  const result = await runSmokeTest(settings({ attempts: 1 }), fetch, quiet);
  expect(result).toEqual({ hookStatus: 'FAILED', attempts: [{ status: 301 }] });
  expect(seen).toHaveLength(1);
});

test('no answer within the timeout fails, bounded by timeoutMs per attempt', async () => {
  answer = () => undefined; // holds the request open
  const started = Date.now();
  const result = await runSmokeTest(settings({ attempts: 2, timeoutMs: 200 }), fetch, quiet);
  expect(result).toEqual({ hookStatus: 'FAILED', attempts: [{ error: 'no answer within 200 ms' }, { error: 'no answer within 200 ms' }] });
  expect(Date.now() - started).toBeLessThan(3000);
});

test('a refused connection fails with the reason', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const result = await runSmokeTest(settings({ url: `http://127.0.0.1:${port}/`, attempts: 1 }), fetch, quiet);
  expect(result.hookStatus).toBe('FAILED');
  expect(result.attempts[0].error).toMatch(/ECONNREFUSED/);
});

test('the handler reads its settings from the environment and answers ECS with hookStatus only', async () => {
  answer = (_req, res) => res.end('ok');
  const saved = { ...process.env };
  Object.assign(process.env, {
    SMOKE_TEST_URL: `${base}/items`, SMOKE_TEST_HEADER_NAME: 'X-Deployment-Test', SMOKE_TEST_HEADER_VALUE: 'green',
    SMOKE_TEST_TIMEOUT_MS: String(ANSWERED_WITHIN_MS), SMOKE_TEST_ATTEMPTS: '1', SMOKE_TEST_RETRY_DELAY_MS: '0',
  });
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    await expect(handler({ executionDetails: { lifecycleStage: 'POST_TEST_TRAFFIC_SHIFT' } })).resolves.toEqual({ hookStatus: 'SUCCEEDED' });
    expect(seen).toEqual([{ path: '/items', header: 'green' }]);
  } finally {
    log.mockRestore();
    process.env = saved;
  }
});

test('a missing setting throws (the hook fails and ECS rolls back) instead of passing', () => {
  expect(() => settingsFromEnv({ SMOKE_TEST_URL: 'http://x/' })).toThrow('SMOKE_TEST_HEADER_NAME is not set');
  expect(() => settingsFromEnv({
    SMOKE_TEST_URL: 'http://x/', SMOKE_TEST_HEADER_NAME: 'h', SMOKE_TEST_HEADER_VALUE: 'v', SMOKE_TEST_TIMEOUT_MS: '0', SMOKE_TEST_ATTEMPTS: '1',
  })).toThrow('SMOKE_TEST_TIMEOUT_MS must be a positive integer, got 0');
});
