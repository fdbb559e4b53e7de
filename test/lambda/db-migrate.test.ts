import { randomBytes } from 'crypto';
import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { runMigrations } from '../../lambda/db-migrate/migrate';
import { privilegesRoleOf } from '../../lib/contracts/database-roles';
import { MIGRATIONS } from '../../workload/src/migrations';
import { serviceEnv } from '../workload/harness';
import { startPasswordPostgres, type PasswordPostgres } from '../workload/postgres';

// The migration custom resource's core (lambda/db-migrate/migrate.ts) against real PostgreSQL: a server of this
// file's own that checks passwords (SCRAM, as Aurora does), so the users it creates are proven to log in with
// the passwords their secrets hold. The handler around it only reads the secrets and passes them on.

let dir: string;
let pg: PasswordPostgres;
let admin: Pool;
const adminPassword = randomBytes(12).toString('hex');
const users = {
  api: { name: 'app_api', password: randomBytes(16).toString('base64url') },
  worker: { name: 'app_worker', password: randomBytes(16).toString('base64url') },
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-db-migrate-'));
  pg = await startPasswordPostgres(dir, adminPassword);
  admin = new Pool({ host: '127.0.0.1', port: pg.port, user: 'admin', password: adminPassword, database: 'postgres', max: 1 });
  await admin.query('CREATE DATABASE app');
}, 30_000);
afterAll(async () => {
  await admin?.end();
  await pg?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const target = () => ({ host: '127.0.0.1', port: pg.port, database: 'app', user: 'admin', password: adminPassword, ssl: false as const });
const connectAs = (user: string, password: string) => new Pool({ host: '127.0.0.1', port: pg.port, user, password, database: 'app', max: 1 });

test('first run: every migration, then the roles; each user logs in with its secret\'s password, and cannot create a table', async () => {
  const result = await runMigrations(target(), users);
  expect(result.applied).toEqual(MIGRATIONS.map((m) => m.id));
  expect(result.roles.created.sort()).toEqual(['app_api', 'app_api_privileges', 'app_worker', 'app_worker_privileges']);
  for (const { name, password } of Object.values(users)) {
    const pool = connectAs(name, password);
    try {
      expect((await pool.query('SELECT current_user AS u')).rows[0].u).toBe(name);
      await expect(pool.query('CREATE TABLE intruder (id int)')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await pool.end();
    }
    const wrong = connectAs(name, 'not-the-password');
    await expect(wrong.query('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
    await wrong.end();
  }
  // The server was sent a SCRAM verifier, never the password: neither its catalog nor its log holds it.
  const stored = await admin.query<{ rolpassword: string }>("SELECT rolpassword FROM pg_authid WHERE rolname = 'app_api'");
  expect(stored.rows[0].rolpassword).toMatch(/^SCRAM-SHA-256\$4096:/);
  expect(readFileSync(join(dir, 'server.log'), 'utf8')).not.toContain(users.api.password);
});

test('a second run (an update of the custom resource) applies nothing, creates nothing, and keeps the passwords rotation set', async () => {
  // As a rotation would have it: the user's password is no longer the one its secret was created with.
  await admin.query("ALTER ROLE app_worker PASSWORD 'rotated-password'");
  const again = await runMigrations(target(), { api: users.api, worker: { name: 'app_worker' } });
  expect(again).toEqual({ applied: [], roles: { created: [], revokedRdsIam: [] } });
  const pool = connectAs('app_worker', 'rotated-password');
  try {
    expect((await pool.query('SELECT pg_has_role(current_user, $1, \'USAGE\') AS m', [privilegesRoleOf('app_worker')])).rows[0].m).toBe(true);
  } finally {
    await pool.end();
  }
});

test('the migrations run with their own statement and lock bounds, whatever the session had (RDS Proxy\'s initialization query sets 5 s / 3 s)', async () => {
  // The shared server: a fresh database whose session defaults are the proxy's bounds, and a lock held
  // elsewhere for longer than the session's lock_timeout: the migration waits past it and succeeds.
  const env = serviceEnv();
  const name = `sb_migrate_${randomBytes(4).toString('hex')}`;
  const shared = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: 'postgres', max: 1 });
  await shared.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  await shared.query(`ALTER DATABASE ${name} SET lock_timeout = 300`);
  const holder = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: name, max: 1 });
  holder.on('error', () => undefined);
  try {
    await holder.query('CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const lock = await holder.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE schema_migrations IN ACCESS EXCLUSIVE MODE');
    const run = runMigrations({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), database: name, user: env.DB_USERNAME, ssl: false }, {
      api: { name: `sb_mapi_${name.slice(-8)}` }, worker: { name: `sb_mwrk_${name.slice(-8)}` },
    });
    await new Promise((r) => setTimeout(r, 1000));
    await lock.query('COMMIT');
    lock.release();
    expect((await run).applied).toEqual(MIGRATIONS.map((m) => m.id));
  } finally {
    await holder.end();
    await shared.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    for (const u of ['sb_mapi_', 'sb_mwrk_']) {
      const user = `${u}${name.slice(-8)}`;
      await shared.query(`DROP ROLE IF EXISTS ${user}`);
      await shared.query(`DROP ROLE IF EXISTS ${privilegesRoleOf(user)}`);
    }
    await shared.end();
  }
});
