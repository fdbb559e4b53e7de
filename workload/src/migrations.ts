import type { Pool } from 'pg';

/** Arbitrary, fixed key of the advisory lock that serialises migrations across tasks. */
const MIGRATION_LOCK = 7_314_021;

/** Append-only: never edit a migration that may have run; add the next one. */
export const MIGRATIONS: ReadonlyArray<{ readonly id: number; readonly sql: string }> = [
  {
    id: 1,
    sql: `
      CREATE TABLE items (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL,
        data JSONB NOT NULL DEFAULT '{}'::jsonb,
        processed_count INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE TABLE jobs (
        id UUID PRIMARY KEY,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done')),
        item_id BIGINT REFERENCES items (id),
        cpu_ms INTEGER NOT NULL,
        io_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        completed_at TIMESTAMPTZ
      );`,
  },
];

/**
 * Applies the migrations not yet applied, once, however many tasks start at the same moment: a session
 * advisory lock makes the others wait, then find nothing left to do. Runs at start-up, never per request.
 * Returns the ids it applied.
 */
export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    const applied: number[] = [];
    for (const m of MIGRATIONS.filter((x) => !done.has(x.id))) {
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (id) VALUES ($1)', [m.id]);
        await client.query('COMMIT');
        applied.push(m.id);
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
    return applied;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    client.release();
  }
}
