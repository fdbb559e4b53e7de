import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'crypto';
import type { ClientBase, Pool } from 'pg';
// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { cloneOf, DATABASE_SERVICES, privilegesRoleOf, type DatabaseService } from '../contracts/database-roles';
import { SHARD_OWNERSHIP_TABLE } from '../contracts/sharding';
import { SHARD_FENCE_DDL, SHARD_FENCE_FUNCTION, SHARD_LAYOUT_DDL, SHARD_OWNERSHIP_DDL } from './shards';

/** Arbitrary, fixed key of the advisory lock that serialises migrations (and role changes) across runs. */
const MIGRATION_LOCK = 7_314_021;

/**
 * How long one migration's statement may wait for a lock (ms). DDL takes an ACCESS EXCLUSIVE lock, and while
 * it waits in the queue every later query of the table waits behind it: better fail the migration (the
 * deploy fails and can be retried) than stall the API behind a long transaction.
 * https://www.postgresql.org/docs/current/explicit-locking.html
 */
export const MIGRATION_LOCK_TIMEOUT_MS = 10_000;

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
  {
    // Sharding (database.sharding.mode clusters; harmless in mode none, where the tables stay empty and
    // logical_shard NULL): the shard directory's tables and write fence (./shards.ts), on every cluster; each
    // sharded table's logical shard, so a move selects one shard's rows in every table; the newest items first
    // for the cross-shard list (GET /items). Idempotent (IF NOT EXISTS, OR REPLACE): a cluster added later runs it
    // like the others.
    id: 3,
    sql: `
      ${SHARD_OWNERSHIP_DDL};
      ${SHARD_LAYOUT_DDL};
      ${SHARD_FENCE_DDL};
      ALTER TABLE items ADD COLUMN IF NOT EXISTS logical_shard INTEGER;
      ALTER TABLE jobs ADD COLUMN IF NOT EXISTS logical_shard INTEGER;
      ALTER TABLE outbox ADD COLUMN IF NOT EXISTS logical_shard INTEGER;
      ALTER TABLE idempotency_keys ADD COLUMN IF NOT EXISTS logical_shard INTEGER;
      CREATE INDEX IF NOT EXISTS items_logical_shard ON items (logical_shard);
      CREATE INDEX IF NOT EXISTS jobs_logical_shard ON jobs (logical_shard);
      CREATE INDEX IF NOT EXISTS items_newest ON items (created_at DESC, id DESC);`,
  },
];

/**
 * Applies the migrations not yet applied, once, however many tasks start at the same moment: a session
 * advisory lock makes the others wait, then find nothing left to do. Runs at start-up, never per request.
 * Returns the ids it applied. `migrations`: MIGRATIONS, or in limitless mode ./limitless.ts LIMITLESS_MIGRATIONS
 * (a schema of its own, with ids of its own, in its own database).
 */
export async function migrate(pool: Pool, migrations: ReadonlyArray<{ readonly id: number; readonly sql: string }> = MIGRATIONS): Promise<number[]> {
  const client = await pool.connect();
  try {
    // A session through RDS Proxy gets 5 s statement and 3 s lock timeouts from its initialization query
    // (PROXY_INIT_QUERY, run on each database connection the proxy opens:
    // https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-rds-dbproxytargetgroup-connectionpoolconfigurationinfoformat.html):
    // waiting here for another run's lock may take longer. The SETs below pin this session to its database
    // connection (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-pinning.html), which is
    // harmless for a connection used once and closed. Neither is reproducible here (no proxy locally). This connection is the
    // migration's own, closed after it; its bounds are set here, for the session, and again in each migration.
    // Another run's advisory lock is waited for without bound; the tables' locks only so long.
    await client.query('SET statement_timeout = 0; SET lock_timeout = 0');
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await client.query(`SET lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}`);
    await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (id INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())');
    const done = new Set((await client.query<{ id: number }>('SELECT id FROM schema_migrations')).rows.map((r) => r.id));
    const applied: number[] = [];
    for (const m of migrations.filter((x) => !done.has(x.id))) {
      await client.query('BEGIN');
      try {
        // A migration may take its time (statement), not wait long for a lock other traffic holds (lock).
        await client.query(`SET LOCAL statement_timeout = 0; SET LOCAL lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}`);
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

/** What one service's role may do to one table: SELECT and DELETE on the table, INSERT and UPDATE per column. */
export interface TablePrivileges {
  readonly select?: true;
  /** The columns it may give values to (the others take their defaults), or true for every column. */
  readonly insert?: readonly string[] | true;
  readonly update?: readonly string[];
  readonly delete?: true;
}

export interface ServicePrivileges {
  readonly tables: { readonly [table: string]: TablePrivileges };
  /** Sequences behind the BIGSERIAL ids it inserts (USAGE allows nextval). */
  readonly sequences: readonly string[];
  /**
   * Sequences it may also raise (UPDATE allows setval): after PUT /items/:id inserts a client-chosen id, the
   * sequence is moved above it so that no later POST allocates it
   * (https://www.postgresql.org/docs/current/sql-grant.html, "UPDATE: For sequences, this privilege allows use
   * of the nextval and setval functions").
   */
  readonly raisesSequences?: readonly string[];
  /** Functions it may call (EXECUTE), as `name(argument types)`. */
  readonly functions: readonly string[];
}

/**
 * Least privilege, read off the workload's SQL; every table not named here is out of reach (schema_migrations
 * included), and neither role may create anything. Change it with the SQL it allows.
 *
 * API (routes/*.ts, jobs.ts createJob, outbox.ts, idempotency.ts, sweeper.ts): reads items, inserts them
 * (name, data) and replaces them (PUT /items/:id: name, data, updated_at; it raises items_id_seq above the
 * id); inserts jobs and reads them back; the sweeper re-enqueues or fails stuck jobs (status, enqueues,
 * updated_at; FOR UPDATE needs UPDATE); the outbox relay inserts, leases (next_attempt_at, attempts) and
 * deletes sent rows; idempotency keys are its own: insert, upsert an expired one, delete expired.
 *
 * Worker (worker.ts, jobs.ts processJob): claims and finishes a job (status, attempts, updated_at,
 * completed_at) and counts it on its item (processed_count, updated_at). It cannot insert or delete
 * anything, change a job's cost (cpu_ms, io_ms), or read the outbox and idempotency keys.
 *
 * Sharding (both): they read the shard directory (SELECT on shard_ownership) and take the write fence through
 * shard_fence (EXECUTE), never UPDATE on shard_ownership: only the migrations' user and the shard mover change
 * who holds a shard. The API gives items their id and logical shard (itemIdOf in SQL), jobs, outbox rows and
 * idempotency keys their logical shard.
 */
export const SERVICE_PRIVILEGES: { readonly [S in DatabaseService]: ServicePrivileges } = {
  api: {
    tables: {
      items: { select: true, insert: ['id', 'logical_shard', 'name', 'data'], update: ['name', 'data', 'updated_at'] },
      jobs: { select: true, insert: ['id', 'status', 'item_id', 'cpu_ms', 'io_ms', 'logical_shard'], update: ['status', 'enqueues', 'updated_at'] },
      outbox: { select: true, insert: ['job_id', 'body', 'logical_shard'], update: ['next_attempt_at', 'attempts'], delete: true },
      idempotency_keys: { select: true, insert: true, update: ['request_hash', 'status_code', 'body', 'created_at', 'expires_at'], delete: true },
      [SHARD_OWNERSHIP_TABLE]: { select: true },
    },
    sequences: ['items_id_seq', 'outbox_id_seq'],
    raisesSequences: ['items_id_seq'],
    functions: [SHARD_FENCE_FUNCTION],
  },
  worker: {
    tables: {
      jobs: { select: true, update: ['status', 'attempts', 'updated_at', 'completed_at'] },
      items: { select: true, update: ['processed_count', 'updated_at'] },
      [SHARD_OWNERSHIP_TABLE]: { select: true },
    },
    sequences: [],
    functions: [SHARD_FENCE_FUNCTION],
  },
};

/** A service's login user, and the password to create it with (none: a user that logs in without one, e.g. locally under trust). */
export interface DatabaseUserSpec {
  readonly name: string;
  readonly password?: string;
}

/** What applyDatabaseRoles changed, for the caller's log. */
export interface RolesApplied {
  readonly created: string[];
  readonly revokedRdsIam: string[];
}

/**
 * Makes each service's roles what SERVICE_PRIVILEGES says, in the connected database, once the schema exists
 * (after migrate): re-running it changes nothing, and a privilege removed from the list is revoked.
 *
 * - `<user>_privileges` (NOLOGIN) holds the grants: everything on the public schema's tables and sequences is
 *   revoked from it, then granted again from the list (REVOKE on a table also revokes its column privileges).
 * - `<user>` logs in (created with `password` if missing; an existing user's password is left to rotation),
 *   and it and its `<user>_clone`, when multi-user rotation has made one, are members of `<user>_privileges`.
 * - Neither is a member of `rds_iam`: on RDS a member of it can log in with an IAM token only, and the proxy
 *   (or a task without the proxy) logs in with the password from the user's secret
 *   (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/database-authentication.html). IAM auth is
 *   between the task and RDS Proxy.
 * - PUBLIC may not create in the public schema (PostgreSQL before 15 let it), so no user but the owner can.
 */
export async function applyDatabaseRoles(
  client: ClientBase,
  users: { readonly [S in DatabaseService]: DatabaseUserSpec },
  // `limitless`: the schema of ./limitless.ts, which has no shard directory (shard_ownership, shard_fence) to
  // grant, and whose sequences nothing raises (setval is not supported on Limitless's distributed sequences).
  schema: 'standard' | 'limitless' = 'standard',
): Promise<RolesApplied> {
  const inSchema = (name: string) => schema !== 'limitless' || !(name === SHARD_OWNERSHIP_TABLE || name === SHARD_FENCE_FUNCTION);
  const id = (name: string) => client.escapeIdentifier(name);
  const exists = async (name: string) => (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount! > 0;
  const applied: RolesApplied = { created: [], revokedRdsIam: [] };
  await client.query('SET statement_timeout = 0; SET lock_timeout = 0');
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL lock_timeout = ${MIGRATION_LOCK_TIMEOUT_MS}`);
    const database = id((await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0].db);
    await client.query('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    const rdsIam = await exists('rds_iam');
    for (const service of DATABASE_SERVICES) {
      const { name, password } = users[service];
      const privileges = privilegesRoleOf(name);
      if (!(await exists(privileges))) {
        await client.query(`CREATE ROLE ${id(privileges)} NOLOGIN`);
        applied.created.push(privileges);
      }
      const p = id(privileges);
      await client.query(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM ${p}`);
      await client.query(`REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM ${p}`);
      await client.query(`REVOKE ALL ON ALL FUNCTIONS IN SCHEMA public FROM ${p}`);
      await client.query(`GRANT CONNECT ON DATABASE ${database} TO ${p}`);
      await client.query(`GRANT USAGE ON SCHEMA public TO ${p}`);
      const spec = SERVICE_PRIVILEGES[service];
      for (const [table, t] of Object.entries(spec.tables).filter(([table]) => inSchema(table))) {
        const columns = (cs: readonly string[]) => cs.map(id).join(', ');
        const grants = [
          t.select && 'SELECT',
          t.insert === true && 'INSERT',
          Array.isArray(t.insert) && `INSERT (${columns(t.insert)})`,
          t.update && `UPDATE (${columns(t.update)})`,
          t.delete && 'DELETE',
        ].filter(Boolean);
        await client.query(`GRANT ${grants.join(', ')} ON TABLE public.${id(table)} TO ${p}`);
      }
      for (const sequence of spec.sequences) await client.query(`GRANT USAGE ON SEQUENCE public.${id(sequence)} TO ${p}`);
      for (const sequence of schema === 'limitless' ? [] : spec.raisesSequences ?? []) await client.query(`GRANT UPDATE ON SEQUENCE public.${id(sequence)} TO ${p}`);
      for (const fn of spec.functions.filter(inSchema)) {
        const [, name, args] = /^(\w+)\(([\w, ]*)\)$/.exec(fn) ?? [];
        if (!name) throw new Error(`not a function signature: ${fn}`);
        await client.query(`GRANT EXECUTE ON FUNCTION public.${id(name)}(${args}) TO ${p}`);
      }

      if (!(await exists(name))) {
        await client.query(`CREATE ROLE ${id(name)} LOGIN${password ? ` PASSWORD ${client.escapeLiteral(scramVerifier(password))}` : ''}`);
        applied.created.push(name);
      }
      for (const user of [name, cloneOf(name)]) {
        if (user !== name && !(await exists(user))) continue;
        await client.query(`GRANT ${p} TO ${id(user)}`);
        if (rdsIam && (await client.query('SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = $1 AND u.rolname = $2', ['rds_iam', user])).rowCount! > 0) {
          await client.query(`REVOKE rds_iam FROM ${id(user)}`);
          applied.revokedRdsIam.push(user);
        }
      }
    }
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
  }
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password`: given one in CREATE ROLE … PASSWORD, it stores
 * it as is, so the password itself never reaches the server, its statement log or an error message
 * (https://www.postgresql.org/docs/current/sql-createrole.html, "If the presented password string is already
 * in … SCRAM-encrypted format, then it is stored as-is"; the format: RFC 5803, as PostgreSQL's
 * src/common/scram-common.c builds it).
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = 4096): string {
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
