import type { FastifyInstance } from 'fastify';
import { execFileSync } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { buildApi } from '../../workload/src/app';
import { connectCache, type CacheClient } from '../../workload/src/cache';
import { connectDatabase, type Database } from '../../workload/src/db';
import { invalidateItem, ITEM_SELECT_SQL, ITEM_TOUCH_SQL, ItemCache, itemKey, versioned, type VersionedItem } from '../../workload/src/item-cache';
import { migrate } from '../../workload/src/migrations';
import { readSettings, type Settings } from '../../workload/src/settings';
import { READ_YOUR_WRITES_COOKIE } from '../../workload/src/routes/items';
import { localSqs } from '../../workload/src/tools/local';
import { serviceEnv } from './harness';
import { asServerUser, copyDataDir, freePort, pgBin } from './postgres';

// A reader that lags on purpose: a private PostgreSQL primary and a streaming replica of it (pg_basebackup -R)
// that applies each commit only 30 s after it happened (recovery_min_apply_delay), so for the whole test the
// replica has the rows committed before it was made and none since. The workload takes one DB_PORT for both
// hosts: the primary listens on 127.0.0.1 and the replica on 127.0.0.2 (all of 127/8 is loopback on Linux),
// same port. Aurora replicas share the writer's storage and usually lag by less than 100 ms
// (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Replication.html); RDS Proxy's
// read-only endpoint goes to them too. What matters here is only that a reader can be behind the writer.
const APPLY_DELAY = '30s';

interface LaggingPair {
  readonly port: number;
  stop(): Promise<void>;
}

async function startPrimaryAndLaggingReplica(dir: string, seed: (primary: Pool) => Promise<void>): Promise<LaggingPair> {
  execFileSync('chown', ['postgres', dir]);
  const port = await freePort();
  const primaryDir = join(dir, 'primary');
  const replicaDir = join(dir, 'replica');
  const socketDir = (host: string) => {
    const d = join(dir, `sockets-${host}`);
    mkdirSync(d, { recursive: true });
    execFileSync('chown', ['postgres', d]);
    return d;
  };
  // A copy of the run's initdb template (superuser app, trust): initdb itself is most of this setup's CPU.
  await copyDataDir(primaryDir);
  // A socket directory each, outside the data directories: pg_basebackup would copy the primary's socket lock
  // file, and the two share a port (the lock file's name).
  const start = (dataDir: string, host: string, extra: string) => asServerUser(join(pgBin, 'pg_ctl'),
    ['-D', dataDir, '-l', join(dir, `${host}.log`), '-w', '-o', `-h ${host} -p ${port} -k ${socketDir(host)} -c fsync=off -c max_connections=30 -c shared_buffers=16MB ${extra}`, 'start'])
    .catch((err: Error) => {
      throw new Error(`PostgreSQL on ${host} did not start: ${err.message}\n${readFileSync(join(dir, `${host}.log`), 'utf8')}`);
    });
  await start(primaryDir, '127.0.0.1', '');
  // The database initdb made: CREATE DATABASE would copy template1 through the WAL that the replica then streams.
  const app = new Pool({ host: '127.0.0.1', port, user: 'app', database: 'postgres' });
  try {
    await migrate(app);
    await seed(app);
  } finally {
    await app.end();
  }
  // The replica starts from a copy taken now (schema and seed rows included) and streams what follows; a fast
  // checkpoint, or pg_basebackup waits for a spread one (minutes).
  await asServerUser(join(pgBin, 'pg_basebackup'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-D', replicaDir, '-R', '-X', 'stream', '--checkpoint=fast', '--no-sync']);
  await start(replicaDir, '127.0.0.2', `-c recovery_min_apply_delay=${APPLY_DELAY} -c hot_standby=on`);
  return {
    port,
    async stop() {
      for (const d of [replicaDir, primaryDir]) await asServerUser(join(pgBin, 'pg_ctl'), ['-D', d, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    },
  };
}

const json = (r: { body: string }) => JSON.parse(r.body);

/** Real HTTP over loopback (light-my-request's inject needs an ESM-only module jest cannot load here). */
async function serve(app: FastifyInstance) {
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    async inject(req: { method: 'GET' | 'POST'; url: string; payload?: object; headers?: Record<string, string> }) {
      const body = req.payload === undefined ? undefined : JSON.stringify(req.payload);
      const res = await fetch(`${base}${req.url}`, { method: req.method, body, headers: body === undefined ? req.headers : { 'content-type': 'application/json', ...req.headers } });
      return { statusCode: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
    },
  };
}
const dir = mkdtempSync(join(tmpdir(), 'sb-replica-lag-'));
let pair: LaggingPair;
let settings: Settings;
let db: Database;
let cache: CacheClient;
let server: FastifyInstance;
let api: Awaited<ReturnType<typeof serve>>;
let seeded: { a: string; b: string };

beforeAll(async () => {
  pair = await startPrimaryAndLaggingReplica(dir, async (primary) => {
    const { rows } = await primary.query("INSERT INTO items (name) VALUES ('seed-a'), ('seed-b') RETURNING id");
    seeded = { a: rows[0].id, b: rows[1].id };
  });
  const base = serviceEnv();
  settings = readSettings({
    ...base, DB_WRITER_HOST: '127.0.0.1', DB_READER_HOST: '127.0.0.2', DB_PORT: String(pair.port), DB_NAME: 'postgres', DB_USERNAME: 'app',
    QUEUE_URL: 'http://127.0.0.1:1/unused', CACHE_KEY_PREFIX: `lag${randomBytes(4).toString('hex')}:`,
  });
  db = connectDatabase(settings.db, settings.region);
  cache = connectCache(settings.cache);
  server = buildApi({ db, cache, sqs: localSqs(base), settings });
  api = await serve(server);
}, 60_000);

afterAll(async () => {
  await server?.close();
  cache?.disconnect();
  await db?.close();
  await pair?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the replica really lags: a row committed on the primary is not on it', async () => {
  const { rows } = await db.writer.query("INSERT INTO items (name) VALUES ('lag-probe') RETURNING id");
  expect((await db.reader.query('SELECT 1 FROM items WHERE id = $1', [rows[0].id])).rowCount).toBe(0);
  expect((await db.reader.query('SELECT 1 FROM items WHERE id = $1', [seeded.a])).rowCount).toBe(1);
});

test('GET right after POST answers the new item (the POST wrote it through to the cache), not the replica\'s 404', async () => {
  const created = await api.inject({ method: 'POST', url: '/items', payload: { name: 'fresh' } });
  expect(created.statusCode).toBe(201);
  const read = await api.inject({ method: 'GET', url: `/items/${json(created).id}` });
  expect(read.statusCode).toBe(200);
  expect(json(read)).toEqual(json(created));
});

test('without the cache, the read-your-writes cookie sends the writer\'s own reads to the writer', async () => {
  const noCacheServer = buildApi({ db, cache, sqs: localSqs(serviceEnv()), settings: { ...settings, cache: { ...settings.cache, ttlSeconds: 0 } } });
  try {
    const noCache = await serve(noCacheServer);
    const created = await noCache.inject({ method: 'POST', url: '/items', payload: { name: 'mine' } });
    const cookie = String(created.headers['set-cookie']);
    expect(cookie).toMatch(new RegExp(`^${READ_YOUR_WRITES_COOKIE}=\\d+; Max-Age=${settings.cache.readYourWritesSeconds}; Path=/items; HttpOnly; SameSite=Lax$`));
    const url = `/items/${json(created).id}`;
    const own = await noCache.inject({ method: 'GET', url, headers: { cookie: cookie.split(';')[0] } });
    expect(own.statusCode).toBe(200);
    expect(json(own)).toEqual(json(created));
    // Another client (no cookie) reads the replica, which has not got the row yet: the lag a cache-less read sees.
    expect((await noCache.inject({ method: 'GET', url })).statusCode).toBe(404);
    // A cookie claiming more than one window is not one we set: the read goes to the replica.
    const forged = `${READ_YOUR_WRITES_COOKIE}=${Date.now() + 3_600_000}`;
    expect((await noCache.inject({ method: 'GET', url, headers: { cookie: forged } })).statusCode).toBe(404);
  } finally {
    await noCacheServer.close();
  }
});

test('the worker\'s update, invalidated with its version, is read from the writer while the replica lags, and cached as the new row', async () => {
  const url = `/items/${seeded.a}`;
  const before = await api.inject({ method: 'GET', url });
  expect(json(before).processed_count).toBe(0);
  expect(before.headers['x-cache']).toBe('miss');

  // What the worker does after a job (workload/src/jobs.ts): update the item, then invalidate it with the version.
  const { rows } = await db.writer.query(`UPDATE items SET processed_count = processed_count + 1, ${ITEM_TOUCH_SQL} WHERE id = $1 RETURNING ${ITEM_SELECT_SQL}`, [seeded.a]);
  await expect(invalidateItem(cache, settings.cache, seeded.a, versioned(rows[0]).version)).resolves.toBe(true);

  const after = await api.inject({ method: 'GET', url });
  expect(after.statusCode).toBe(200);
  expect(json(after).processed_count).toBe(1);
  // The replica still says 0; the cache got the writer's row, and serves it.
  expect((await db.reader.query('SELECT processed_count FROM items WHERE id = $1', [seeded.a])).rows[0].processed_count).toBe(0);
  const again = await api.inject({ method: 'GET', url });
  expect(again.headers['x-cache']).toBe('hit');
  expect(json(again).processed_count).toBe(1);
});

test('a refill from the lagging replica that lands after a newer write cannot put the older row back', async () => {
  const items = new ItemCache(cache, settings.cache);
  const otherProcess = new ItemCache(cache, settings.cache);
  const select = (pool: Pool) => async (): Promise<VersionedItem | null> => {
    const { rows } = await pool.query(`SELECT ${ITEM_SELECT_SQL} FROM items WHERE id = $1`, [seeded.b]);
    return rows.length ? versioned(rows[0]) : null;
  };
  try {
    // A read misses and loads the replica's row (version 0 of it)... and while it does, another process commits an
    // update and writes it through. Then the read's refill lands.
    const read = await items.read(seeded.b, {
      reader: async () => {
        const stale = await select(db.reader)();
        const { rows } = await db.writer.query(`UPDATE items SET name = 'renamed', ${ITEM_TOUCH_SQL} WHERE id = $1 RETURNING ${ITEM_SELECT_SQL}`, [seeded.b]);
        await otherProcess.written(seeded.b, versioned(rows[0]));
        return stale;
      },
      writer: select(db.writer),
    }, { fresh: false, route: 'test' });
    expect(read.item).toMatchObject({ name: 'seed-b' });
    const cached = JSON.parse((await cache.get(itemKey(settings.cache.keyPrefix, seeded.b)))!);
    expect(cached.row).toMatchObject({ name: 'renamed' });
    expect(json(await api.inject({ method: 'GET', url: `/items/${seeded.b}` }))).toMatchObject({ name: 'renamed' });
  } finally {
    items.close();
    otherProcess.close();
  }
});
