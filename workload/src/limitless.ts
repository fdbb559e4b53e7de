/**
 * The schema in `limitless` mode (database.sharding.mode, Aurora PostgreSQL Limitless Database): the same
 * four tables as the standard migrations (./migrations.ts, through its migration 3), created as SHARDED
 * tables, all by the same shard key and collocated, so that an item, its jobs, their outbox rows and the
 * idempotency keys of one logical shard live on one Limitless shard and every request stays on it.
 *
 * How a table becomes sharded: session variables set before its CREATE TABLE, in the same transaction
 * (SET LOCAL), as AWS documents them
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-creating-config.html):
 *   rds_aurora.limitless_create_table_mode          'sharded' | 'reference' (default 'standard')
 *   rds_aurora.limitless_create_table_shard_key     the shard key columns, as an untyped array literal: '{"logical_shard"}'
 *   rds_aurora.limitless_create_table_collocate_with a sharded table: rows with equal shard keys on the same shard
 *
 * Design decisions, each from a documented Limitless limitation
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reference.DDL-limitations.html):
 * - Shard key `logical_shard` on every table, the same key `clusters` mode routes by
 *   (lib/contracts/sharding.ts logicalShardOf / shardOfItemId): one routing rule for both modes. Every
 *   primary and unique key of a sharded table must contain the shard key ("All primary and unique keys must
 *   include the shard key"), so the keys are (logical_shard, id) and (logical_shard, key, route); a lookup
 *   by id gives logical_shard too, since the id carries it.
 * - Foreign keys: not in CREATE TABLE ("CREATE TABLE with FOREIGN KEY is supported only for standard
 *   tables"); added afterwards with ALTER TABLE … ADD CONSTRAINT, between collocated sharded tables and
 *   including the shard key ("the parent and child tables are collocated and the foreign key is a superset
 *   of the shard key"). ON DELETE CASCADE is supported there; MATCH SIMPLE (the default) lets a job without
 *   an item through.
 * - Ids: IDENTITY columns are not supported; sequences are, as distributed sequences whose values are
 *   unique but only monotonic within a session (each router takes its own chunks), and setval is not
 *   supported. So ids are unique, not ordered by time across connections (the workload orders by created_at,
 *   never by id), and nothing may setval them. Item ids are `nextval('items_id_seq') × L + logical shard`,
 *   as in `clusters` mode (itemIdOf), given by the INSERT, so the id carries its shard; outbox ids come from
 *   their sequence by default.
 * - CHECK: "simple constraints that involve comparison operators with literals" only: jobs.status is
 *   checked with = and OR, not IN (an array expression). Local PostgreSQL cannot say whether Limitless
 *   takes the OR form; AWS's examples combine comparisons with AND.
 * - No reference table: reference tables are copies on every shard for small, rarely written tables joined
 *   with sharded ones (product catalogues, zip codes); the workload has none. schema_migrations stays a
 *   standard table (on one shard; read once at start).
 * - The indexes are plain ones: jobs_unfinished is a partial index in the standard schema; Limitless
 *   documents CREATE INDEX for sharded tables without saying whether WHERE is supported, so it indexes
 *   (status, updated_at) instead, which serves the same sweeper query.
 *
 * None of this can run locally (Limitless exists only as an Aurora shard group): test/workload/limitless.test.ts
 * checks the statements' text against these rules, and runs them on stock PostgreSQL (which accepts the
 * rds_aurora.* variables as custom settings and ignores them) to prove the tables have the standard schema's
 * columns and keys.
 */

/** The shard key of every table: the logical shard (lib/contracts/sharding.ts). */
export const LIMITLESS_SHARD_KEY = 'logical_shard';

/** The tables, in creation order; the first is the one the others are collocated with. */
export const LIMITLESS_SHARDED_TABLES = ['items', 'jobs', 'outbox', 'idempotency_keys'] as const;

const JOB_STATUSES = ['queued', 'running', 'done', 'failed'] as const;

/**
 * The statements that create the schema in a Limitless database (`postgres_limitless`), in order, to run in
 * ONE transaction (the SET LOCALs end with it). The role grants (applyDatabaseRoles) run afterwards as in
 * the other modes: the sequences keep the standard names (items_id_seq, outbox_id_seq) they grant.
 */
export function limitlessSchemaStatements(): string[] {
  const key = LIMITLESS_SHARD_KEY;
  return [
    'CREATE SEQUENCE items_id_seq AS BIGINT',
    'CREATE SEQUENCE outbox_id_seq AS BIGINT',
    `SET LOCAL rds_aurora.limitless_create_table_mode = 'sharded'`,
    `SET LOCAL rds_aurora.limitless_create_table_shard_key = '{"${key}"}'`,
    `CREATE TABLE items (
      ${key} INTEGER NOT NULL CHECK (${key} >= 0),
      id BIGINT NOT NULL,
      name TEXT NOT NULL,
      data JSONB NOT NULL DEFAULT '{}'::jsonb,
      processed_count INTEGER NOT NULL DEFAULT 0,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (${key}, id)
    )`,
    `SET LOCAL rds_aurora.limitless_create_table_collocate_with = 'items'`,
    `CREATE TABLE jobs (
      ${key} INTEGER NOT NULL CHECK (${key} >= 0),
      id UUID NOT NULL,
      status TEXT NOT NULL CONSTRAINT jobs_status_check CHECK (${JOB_STATUSES.map((s) => `status = '${s}'`).join(' OR ')}),
      item_id BIGINT,
      cpu_ms INTEGER NOT NULL,
      io_ms INTEGER NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      enqueues INTEGER NOT NULL DEFAULT 1,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      completed_at TIMESTAMPTZ,
      PRIMARY KEY (${key}, id)
    )`,
    `CREATE TABLE outbox (
      ${key} INTEGER NOT NULL CHECK (${key} >= 0),
      id BIGINT NOT NULL DEFAULT nextval('outbox_id_seq'),
      job_id UUID NOT NULL,
      body TEXT NOT NULL,
      attempts INTEGER NOT NULL DEFAULT 0,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      PRIMARY KEY (${key}, id)
    )`,
    `CREATE TABLE idempotency_keys (
      ${key} INTEGER NOT NULL CHECK (${key} >= 0),
      key TEXT NOT NULL,
      route TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      status_code INTEGER NOT NULL,
      body TEXT NOT NULL,
      created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
      expires_at TIMESTAMPTZ NOT NULL,
      PRIMARY KEY (${key}, key, route)
    )`,
    'CREATE INDEX outbox_due ON outbox (next_attempt_at)',
    'CREATE INDEX jobs_unfinished ON jobs (status, updated_at)',
    'CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)',
    'CREATE INDEX items_newest ON items (created_at DESC, id DESC)',
    `ALTER TABLE jobs ADD CONSTRAINT jobs_item_id_fkey FOREIGN KEY (${key}, item_id) REFERENCES items (${key}, id)`,
    `ALTER TABLE outbox ADD CONSTRAINT outbox_job_id_fkey FOREIGN KEY (${key}, job_id) REFERENCES jobs (${key}, id) ON DELETE CASCADE`,
  ];
}

/**
 * The Limitless schema as migrations of the shape of ./migrations.ts MIGRATIONS, for the same runner (its
 * advisory lock, ledger and per-migration transaction): append-only, ids of its own.
 */
export const LIMITLESS_MIGRATIONS: ReadonlyArray<{ readonly id: number; readonly sql: string }> = [
  { id: 1, sql: limitlessSchemaStatements().join(';\n') },
];
