import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import type { FastifyInstance } from 'fastify';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stackId } from '../../../lib/contracts/stacks';
import { main } from '../../../tools/seed/cli';
import { createServer, type Server } from 'http';
import { itemsReadByMix, MAX_RETRY_AFTER_SECONDS, retryDelayMs, sampleIds, seed } from '../../../tools/seed/seed';
import { buildApi } from '../../../workload/src/app';
import { startFaultProxy, type FaultProxy } from '../../workload/fault-proxy';
import { createHarness, type Harness } from '../../workload/harness';
import { motoClient, uniqueId } from '../kpi-report/moto';

// The reference API on the local PostgreSQL, Redis and SQS (a fresh database per API), started in this file.
const apis: Array<{ h: Harness; server: FastifyInstance; base: string }> = [];
async function startApi(): Promise<{ h: Harness; base: string }> {
  const h = await createHarness();
  const server = buildApi({ db: h.db, cache: h.cache, sqs: h.sqs, settings: h.settings });
  const base = await server.listen({ port: 0, host: '127.0.0.1' });
  apis.push({ h, server, base });
  return { h, base };
}
afterAll(async () => {
  for (const a of apis) {
    await a.server.close();
    await a.h.close();
  }
});

const rows = async (h: Harness) => (await h.db.writer.query<{ n: number }>('SELECT count(*)::int AS n FROM items')).rows[0].n;
const opts = { concurrency: 4, timeoutMs: 5_000, verify: 10 };

describe('seed: the items the request mix reads', () => {
  test('creates ids 1…N through the API (PUT); a second run creates nothing; a larger N goes on from what exists', async () => {
    const { h, base } = await startApi();
    const first = await seed({ target: base, items: 12, ...opts });
    expect(first).toMatchObject({ found: 0, created: 12, existed: 0, verified: { sampled: 10, found: 10, missing: [] } });
    expect(await rows(h)).toBe(12);
    // Idempotent: the same N again finds every id; its batch is written again with If-None-Match: *, all 412.
    expect(await seed({ target: base, items: 12, ...opts })).toMatchObject({ found: 12, created: 0, existed: 12 });
    // Resumable: a larger N creates only the difference.
    expect(await seed({ target: base, items: 20, ...opts })).toMatchObject({ found: 12, created: 8, existed: 12, verified: { missing: [] } });
    expect(await rows(h)).toBe(20);
    const res = await fetch(`${base}/items/20`);
    expect(res.status).toBe(200);
  });

  test('a run stopped with holes in its last batch: the next run fills them; an item written by someone else is left as it is', async () => {
    const { h, base } = await startApi();
    // An item POSTed before any seeding takes id 1 (mode none: serial ids).
    const posted = await fetch(`${base}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'mine' }) });
    expect(((await posted.json()) as { id: string }).id).toBe('1');
    expect(await seed({ target: base, items: 20, ...opts })).toMatchObject({ created: 19, existed: 1 });
    // What a run that failed on ids 5 and 9 leaves (its other requests went on up to 20).
    await h.db.writer.query('DELETE FROM items WHERE id IN (5, 9)');
    expect(await seed({ target: base, items: 20, ...opts })).toMatchObject({ found: 20, created: 2, existed: 18, verified: { missing: [] } });
    expect(await rows(h)).toBe(20);
    expect((await h.db.writer.query('SELECT name FROM items WHERE id = 1')).rows).toEqual([{ name: 'mine' }]);
  });

  test('a PUT whose reply is lost is retried: the id is the request\'s, so the retry finds the row (412), never a second item', async () => {
    const { h, base } = await startApi();
    const proxy: FaultProxy = await startFaultProxy({ port: Number(new URL(base).port) });
    let watch: NodeJS.Timeout | undefined;
    try {
      const result = await seed({
        target: `http://127.0.0.1:${proxy.port}`, items: 5, concurrency: 1, timeoutMs: 5_000, verify: 5,
        // After the existing ids are looked up, before the first PUT: lose the next reply, then pass again.
        log: (line) => {
          if (!line.includes('writing ids')) return;
          proxy.setMode('drop-replies');
          watch = setInterval(() => {
            if (proxy.droppedReplies > 0) {
              proxy.setMode('pass');
              clearInterval(watch);
            }
          }, 5);
        },
      });
      expect(proxy.droppedReplies).toBe(1);
      expect(result).toMatchObject({ created: 4, existed: 1, verified: { found: 5, missing: [] } });
      expect(await rows(h)).toBe(5);
    } finally {
      clearInterval(watch);
      await proxy.close();
    }
  });

  test('ids 1…N exactly whatever ids POST would allocate (a sequence that starts elsewhere): exit 0', async () => {
    const { h, base } = await startApi();
    await h.db.writer.query("SELECT setval('items_id_seq', 1000)");
    let stdout = '';
    const code = await main(['--env', 'dev', '--target', base, '--items', '6', '--verify', '3', '--json'], { stdout: (s) => (stdout += s), stderr: () => undefined });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ created: 6, verified: { sampled: 3, found: 3, missing: [] } });
    expect((await h.db.writer.query<{ id: string }>('SELECT id FROM items ORDER BY id')).rows.map((r) => Number(r.id))).toEqual([1, 2, 3, 4, 5, 6]);
  });
});

describe('seed: a busy API\'s Retry-After', () => {
  test('the delay is the server\'s Retry-After (seconds or an HTTP date), capped, never below the back-off', () => {
    expect(retryDelayMs(1, null)).toBe(200);
    expect(retryDelayMs(2, '3')).toBe(3000);
    expect(retryDelayMs(2, '0')).toBe(400);
    expect(retryDelayMs(1, '86400')).toBe(MAX_RETRY_AFTER_SECONDS * 1000);
    expect(retryDelayMs(1, new Date(10_000 + 2000).toUTCString(), 10_000)).toBe(2000);
    expect(retryDelayMs(1, 'soon')).toBe(200);
  });

  test('a 503 with Retry-After: 1 is retried no sooner than a second later (it used to come back after 200 ms)', async () => {
    // A stand-in API: the first GET answers 503 Retry-After: 1, later ones 200 (item 1 exists, seeded); PUT 412.
    const arrivals: number[] = [];
    const server: Server = createServer((req, res) => {
      arrivals.push(performance.now());
      if (arrivals.length === 1) {
        res.writeHead(503, { 'retry-after': '1' }).end('busy');
      } else {
        res.writeHead(req.url !== '/items/1' ? 404 : req.method === 'PUT' ? 412 : 200, { 'content-type': 'application/json' }).end('{"name":"seed-1"}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as { port: number };
      const result = await seed({ target: `http://127.0.0.1:${port}`, items: 1, concurrency: 1, timeoutMs: 5_000, verify: 1 });
      expect(result).toMatchObject({ found: 1, created: 0, existed: 1 });
      // Timers never fire early: the retry waited the server's second, not the 200 ms back-off.
      expect(arrivals[1] - arrivals[0]).toBeGreaterThanOrEqual(990);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('npm run seed', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seed-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('without --target: the Compute stack\'s ApiUrl output (a deployed API), N from the request mix', async () => {
    const { h, base } = await startApi();
    // GIVEN an environment whose mix reads /items/{{rand:7}} and whose Compute stack (in moto) outputs the API's URL
    const cdk = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'cdk.json'), 'utf8'));
    const root = cdk.context['scaling-blueprint'];
    const env = uniqueId('seed').replace(/-/g, '');
    root.environments[env] = {
      ...root.environments.dev,
      loadTest: { ...root.environments.dev.loadTest, mix: [{ name: 'item-read', method: 'GET', path: '/items/{{rand:7}}', weight: 1 }] },
    };
    const cdkJson = path.join(dir, 'cdk.json');
    fs.writeFileSync(cdkJson, JSON.stringify(cdk));
    const cloudFormation = motoClient(CloudFormationClient);
    await cloudFormation.send(new CreateStackCommand({
      StackName: stackId(env, 'Compute'),
      TemplateBody: JSON.stringify({ Resources: { Handle: { Type: 'AWS::CloudFormation::WaitConditionHandle' } }, Outputs: { ApiUrl: { Value: base } } }),
    }));
    let stdout = '';
    let stderr = '';
    // WHEN
    const code = await main(['--env', env, '--config', cdkJson], { cloudFormation, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
    // THEN
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain(`${base}: items 1…0 seeded; writing ids 1…7`);
    expect(stdout).toContain('Created 7 item(s); ids 1…7 seeded before: 0.');
    expect(stdout).toContain('Verified 7 of 7 sampled ids.');
    expect(await rows(h)).toBe(7);
  });

  test.each([
    [['--target', 'http://127.0.0.1:1'], /--env is required/],
    [['--env', 'dev', '--target', 'ftp://x', '--items', '3'], /--target ftp:\/\/x: an http\(s\) URL/],
    [['--env', 'dev', '--target', 'http://127.0.0.1:1', '--items', '2.5'], /--items = "2.5": must be a whole number/],
    [['--env', 'dev', '--target', 'http://127.0.0.1:1', '--items', '2000000'], /--items 2000000: at most 1000000/],
    [['--env', 'dev', '--target', 'http://127.0.0.1:1', '--items', '3', '--timeout-ms', '200'], /seed: GET http:\/\/127\.0\.0\.1:1\/items\/3: .* after 3 attempts/],
  ])('usage errors and an unreachable API exit 2 with the reason: %j', async (args, message) => {
    let stderr = '';
    const code = await main(args, { stdout: () => undefined, stderr: (s) => (stderr += s) });
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  test('the mix\'s N; ids sampled across the range', () => {
    expect(itemsReadByMix([{ method: 'GET', path: '/items/{{rand:1000}}' }, { method: 'POST', path: '/items' }, { method: 'GET', path: '/items/{{rand:50}}?x=1' }])).toBe(1000);
    expect(itemsReadByMix([{ method: 'GET', path: '/healthz' }])).toBeUndefined();
    expect(sampleIds(100, 5)).toEqual([1, 26, 51, 75, 100]);
    expect(sampleIds(3, 10)).toEqual([1, 2, 3]);
  });
});
