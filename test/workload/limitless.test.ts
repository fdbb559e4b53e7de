import { randomUUID } from 'crypto';
import { LIMITLESS_MIGRATIONS, LIMITLESS_SHARD_KEY, LIMITLESS_SHARDED_TABLES, limitlessSchemaStatements } from '../../workload/src/limitless';
import { createClusters, type Clusters } from './reshard-clusters';

/**
 * The SQL of `limitless` mode. Aurora PostgreSQL Limitless Database cannot run here, so: the text against
 * AWS's documented rules (workload/src/limitless.ts cites them), and the statements run on stock PostgreSQL,
 * which takes the rds_aurora.* variables as custom settings and ignores them, to prove the tables are the
 * standard schema's (same columns and types as the migrated one) and their keys hold.
 */
const statements = limitlessSchemaStatements();
const creates = statements.filter((s) => /^CREATE TABLE/.test(s));

describe('the statements, by AWS\'s rules for Limitless tables', () => {
  test('every table is created sharded by logical_shard, after the mode and the key are set; all collocated with items', () => {
    expect(creates.map((s) => /^CREATE TABLE (\w+)/.exec(s)![1])).toEqual([...LIMITLESS_SHARDED_TABLES]);
    const at = (prefix: string) => statements.findIndex((s) => s.startsWith(prefix));
    expect(statements[at("SET LOCAL rds_aurora.limitless_create_table_mode")]).toBe(`SET LOCAL rds_aurora.limitless_create_table_mode = 'sharded'`);
    // The shard key as an untyped array literal of column names.
    expect(statements[at("SET LOCAL rds_aurora.limitless_create_table_shard_key")]).toBe(`SET LOCAL rds_aurora.limitless_create_table_shard_key = '{"logical_shard"}'`);
    expect(at('SET LOCAL rds_aurora.limitless_create_table_mode')).toBeLessThan(at('CREATE TABLE items'));
    expect(at('SET LOCAL rds_aurora.limitless_create_table_shard_key')).toBeLessThan(at('CREATE TABLE items'));
    // Collocation names a table that exists: set after items, before the others.
    const collocate = at('SET LOCAL rds_aurora.limitless_create_table_collocate_with');
    expect(statements[collocate]).toBe(`SET LOCAL rds_aurora.limitless_create_table_collocate_with = 'items'`);
    expect(collocate).toBeGreaterThan(at('CREATE TABLE items'));
    expect(collocate).toBeLessThan(at('CREATE TABLE jobs'));
    // Transaction-local settings (SET LOCAL), never session-wide: a pooled connection must not keep creating sharded tables.
    expect(statements.filter((s) => /^SET (?!LOCAL )/.test(s))).toEqual([]);
  });

  test('every primary key starts with the shard key; no foreign key in CREATE TABLE, only ALTER TABLE … ADD CONSTRAINT including the shard key', () => {
    for (const c of creates) expect(c).toMatch(new RegExp(`PRIMARY KEY \\(${LIMITLESS_SHARD_KEY}, `));
    for (const c of creates) expect(c).not.toMatch(/REFERENCES|UNIQUE|GENERATED|IDENTITY|SERIAL|EXCLUDE/i);
    const fks = statements.filter((s) => /FOREIGN KEY/.test(s));
    expect(fks).toEqual([
      'ALTER TABLE jobs ADD CONSTRAINT jobs_item_id_fkey FOREIGN KEY (logical_shard, item_id) REFERENCES items (logical_shard, id)',
      'ALTER TABLE outbox ADD CONSTRAINT outbox_job_id_fkey FOREIGN KEY (logical_shard, job_id) REFERENCES jobs (logical_shard, id) ON DELETE CASCADE',
    ]);
    expect(Math.min(...fks.map((f) => statements.indexOf(f)))).toBeGreaterThan(Math.max(...creates.map((c) => statements.indexOf(c))));
  });

  test('CHECK constraints are comparisons with literals only (no IN, no function); no setval, no partial index', () => {
    const checks = statements.join('\n').match(/CHECK \(([^()]*)\)/g)!;
    expect(checks.length).toBeGreaterThan(0);
    for (const c of checks) expect(c).toMatch(/^CHECK \((\w+ (>=|=) ('\w+'|\d+)( OR )?)+\)$/);
    expect(statements.join('\n')).not.toMatch(/setval|\bIN \(| WHERE /i);
  });

  test('the migration for the runner is the statements, in order, in one migration', () => {
    expect(LIMITLESS_MIGRATIONS).toEqual([{ id: 1, sql: statements.join(';\n') }]);
  });
});

describe('on stock PostgreSQL (the rds_aurora.* settings ignored)', () => {
  let dbs: Clusters;
  beforeAll(async () => {
    // [0]: the standard migrations (the schema to match); [1]: the Limitless statements.
    dbs = await createClusters(2);
    const tx = await dbs.pools[1].connect();
    try {
      await tx.query('DROP TABLE idempotency_keys, outbox, jobs, items CASCADE; DROP SEQUENCE IF EXISTS items_id_seq, outbox_id_seq');
      await tx.query('BEGIN');
      for (const s of statements) await tx.query(s);
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
  }, 30_000);
  afterAll(() => dbs?.close());

  test('the tables have the standard schema\'s columns and types; the shard key is never NULL', async () => {
    const columns = async (i: number) => (await dbs.pools[i].query<{ t: string; c: string; type: string; nullable: string }>(`
      SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable FROM information_schema.columns
       WHERE table_schema = 'public' AND table_name = ANY($1) ORDER BY table_name, column_name`, [[...LIMITLESS_SHARDED_TABLES]])).rows;
    const [standard, limitless] = [await columns(0), await columns(1)];
    expect(limitless.map(({ t, c, type }) => ({ t, c, type }))).toEqual(standard.map(({ t, c, type }) => ({ t, c, type })));
    // Nullable only where the standard schema is (its logical_shard is NULL on rows written before sharding).
    const nullable = (cols: typeof standard) => cols.filter((x) => x.nullable === 'YES' && x.c !== LIMITLESS_SHARD_KEY).map((x) => `${x.t}.${x.c}`);
    expect(nullable(limitless)).toEqual(nullable(standard));
    expect(limitless.filter((x) => x.c === LIMITLESS_SHARD_KEY).map((x) => x.nullable)).toEqual(['NO', 'NO', 'NO', 'NO']);
  });

  test('every index of the standard schema has its namesake (the logical_shard ones are the shard key itself)', async () => {
    const indexes = async (i: number) => (await dbs.pools[i].query<{ name: string }>(
      `SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%logical_shard%' ORDER BY 1`,
      [[...LIMITLESS_SHARDED_TABLES]])).rows.map((r) => r.name);
    expect(await indexes(1)).toEqual(await indexes(0));
  });

  test('the keys hold: ids carry their shard, a job needs its item on the same shard, outbox rows go with their job', async () => {
    const db = dbs.pools[1];
    const L = 16;
    const { rows } = await db.query<{ id: string }>(`INSERT INTO items (logical_shard, id, name) VALUES (3, nextval('items_id_seq') * $1 + 3, 'a') RETURNING id`, [L]);
    expect(Number(BigInt(rows[0].id) % BigInt(L))).toBe(3);
    const job = randomUUID();
    await db.query(`INSERT INTO jobs (logical_shard, id, status, item_id, cpu_ms, io_ms) VALUES (3, $1, 'queued', $2, 1, 1)`, [job, rows[0].id]);
    await expect(db.query(`INSERT INTO jobs (logical_shard, id, status, item_id, cpu_ms, io_ms) VALUES (4, $1, 'queued', $2, 1, 1)`, [randomUUID(), rows[0].id]))
      .rejects.toThrow(/jobs_item_id_fkey/);
    await expect(db.query(`INSERT INTO jobs (logical_shard, id, status, cpu_ms, io_ms) VALUES (3, $1, 'lost', 1, 1)`, [randomUUID()])).rejects.toThrow(/jobs_status_check/);
    await db.query(`INSERT INTO outbox (logical_shard, job_id, body) VALUES (3, $1, '{}')`, [job]);
    await db.query('DELETE FROM jobs WHERE logical_shard = 3 AND id = $1', [job]);
    expect((await db.query('SELECT count(*)::int AS n FROM outbox')).rows[0].n).toBe(0);
    // The same key and route on two logical shards are two keys.
    for (const s of [1, 2]) {
      await db.query(`INSERT INTO idempotency_keys (logical_shard, key, route, request_hash, status_code, body, expires_at) VALUES ($1, 'k', 'r', 'h', 201, '', now())`, [s]);
    }
  });
});
