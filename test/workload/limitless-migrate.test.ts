import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { runMigrations } from '../../lambda/db-migrate/migrate';
import { privilegesRoleOf } from '../../lib/contracts/database-roles';
import { LIMITLESS_MIGRATIONS } from '../../workload/src/limitless';
import { serviceEnv } from './harness';

// The migration custom resource's core with Schema: limitless (lambda/db-migrate: the property
// lib/constructs/database-roles.ts sets in database.sharding.mode limitless) against local PostgreSQL: it runs
// LIMITLESS_MIGRATIONS, not the standard ones, then the same roles and grants, which hold on that schema (the
// services' users write rows with their shard key and draw ids from the sequence). Limitless itself cannot run
// here; stock PostgreSQL ignores the rds_aurora.* settings (test/workload/limitless.test.ts).

const suffix = randomBytes(4).toString('hex');
const name = `sb_limmig_${suffix}`;
const env = serviceEnv();
const conn = { host: env.DB_WRITER_HOST, port: Number(env.DB_PORT) };
// Roles are the server's, shared by every test file: names of this file's own.
const users = { api: { name: `lim_api_${suffix}`, password: randomBytes(12).toString('hex') }, worker: { name: `lim_worker_${suffix}`, password: randomBytes(12).toString('hex') } };
const server = () => new Pool({ ...conn, user: env.DB_USERNAME, database: 'postgres', max: 1 });

beforeAll(async () => {
  const s = server();
  await s.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  await s.end();
});
afterAll(async () => {
  const s = server();
  await s.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  for (const u of Object.values(users)) await s.query(`DROP ROLE IF EXISTS ${u.name}, ${privilegesRoleOf(u.name)}`);
  await s.end();
});

test('Schema limitless: the Limitless schema (sharded by logical_shard), then the roles; the API user writes a keyed row', async () => {
  const target = { ...conn, database: name, user: env.DB_USERNAME, password: env.DB_PASSWORD || undefined, ssl: false as const };
  const result = await runMigrations(target, users, 'limitless');
  expect(result.applied).toEqual(LIMITLESS_MIGRATIONS.map((m) => m.id));
  expect(result.roles.created.sort()).toEqual([users.api.name, privilegesRoleOf(users.api.name), users.worker.name, privilegesRoleOf(users.worker.name)].sort());
  const admin = new Pool({ ...conn, user: env.DB_USERNAME, database: name, max: 1 });
  try {
    // The primary keys of the Limitless schema (the standard one's is (id)).
    const { rows } = await admin.query<{ def: string }>("SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = 'items'::regclass AND contype = 'p'");
    expect(rows).toEqual([{ def: 'PRIMARY KEY (logical_shard, id)' }]);
  } finally {
    await admin.end();
  }
  const api = new Pool({ ...conn, user: users.api.name, password: users.api.password, database: name, max: 1 });
  try {
    const { rows } = await api.query<{ logical_shard: number }>(
      "INSERT INTO items (id, logical_shard, name) VALUES (nextval('items_id_seq') * 256 + 5, 5, 'x') RETURNING logical_shard");
    expect(rows).toEqual([{ logical_shard: 5 }]);
  } finally {
    await api.end();
  }
  // Run again (a custom resource update): nothing to apply.
  expect((await runMigrations(target, users, 'limitless')).applied).toEqual([]);
});
