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
