import { Pool } from 'pg';
import { randomBytes } from 'crypto';
import { migrate, MIGRATIONS } from '../../workload/src/migrations';
import { serviceEnv } from './harness';

test('concurrent first start: the advisory lock lets one task apply each migration, the others wait', async () => {
  const env = serviceEnv();
  const name = `sb_migrate_${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: 'postgres' });
  await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  // separate pools, as separate tasks would have
  const pools = Array.from({ length: 5 }, () => new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: name }));
  // DROP DATABASE … WITH (FORCE) below ends any connection still open; that is expected here.
  for (const p of pools) p.on('error', () => undefined);
  try {
    const applied = await Promise.all(pools.map((p) => migrate(p)));
    expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.id));
    expect(applied.filter((a) => a.length > 0)).toHaveLength(1);
    const { rows } = await pools[0].query('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0].n).toBe(MIGRATIONS.length);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});

test('migration 2 over a database at migration 1 with jobs in it: outbox and idempotency keys added, old jobs kept, \'failed\' allowed', async () => {
  const env = serviceEnv();
  const name = `sb_migrate_${randomBytes(4).toString('hex')}`;
  const admin = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: 'postgres' });
  await admin.query(`CREATE DATABASE ${name} TEMPLATE template0`);
  const pool = new Pool({ host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME, database: name });
  pool.on('error', () => undefined);
  try {
    // A database as the first release left it, with a job in it.
    await pool.query('CREATE TABLE schema_migrations (id INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    await pool.query(MIGRATIONS[0].sql);
    await pool.query('INSERT INTO schema_migrations (id) VALUES (1)');
    await pool.query("INSERT INTO jobs (id, status, cpu_ms, io_ms) VALUES ('00000000-0000-4000-8000-000000000001', 'queued', 1, 1)");
    expect(await migrate(pool)).toEqual(MIGRATIONS.slice(1).map((m) => m.id));
    expect((await pool.query('SELECT status, enqueues FROM jobs')).rows).toEqual([{ status: 'queued', enqueues: 1 }]);
    await pool.query("UPDATE jobs SET status = 'failed'");
    await expect(pool.query("UPDATE jobs SET status = 'lost'")).rejects.toThrow(/jobs_status_check/);
    expect((await pool.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name IN ('outbox', 'idempotency_keys')")).rows[0].n).toBe(2);
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
});
