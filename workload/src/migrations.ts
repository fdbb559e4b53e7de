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
  {
    // The transactional outbox (the job's message is committed with the job, a relay sends it), idempotency
    // keys (stored in the transaction of the effect they guard), and 'failed' for jobs the sweeper gives up on.
    id: 2,
    sql: `
      CREATE TABLE outbox (
        id BIGSERIAL PRIMARY KEY,
        job_id UUID NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        body TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now()
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at);
      ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
      ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'done', 'failed'));
      ALTER TABLE jobs ADD COLUMN enqueues INTEGER NOT NULL DEFAULT 1;
      CREATE INDEX jobs_unfinished ON jobs (updated_at) WHERE status IN ('queued', 'running');
      CREATE TABLE idempotency_keys (
        key TEXT NOT NULL,
        route TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        status_code INTEGER NOT NULL,
        body TEXT NOT NULL,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        expires_at TIMESTAMPTZ NOT NULL,
        PRIMARY KEY (key, route)
      );
      CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);`,
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
