import type { DatabaseService } from '../../lib/contracts/database-roles';
import { LIMITLESS_MIGRATIONS } from '../../workload/src/limitless';
import { applyDatabaseRoles, migrate, MIGRATIONS, type DatabaseUserSpec, type RolesApplied } from '../../workload/src/migrations';
import { masterPool, type MasterConnection } from '../shared/master-connection';

export interface MigrationResult {
  readonly applied: number[];
  readonly roles: RolesApplied;
}

/**
 * The migration custom resource's work, against any PostgreSQL: the schema migrations not yet applied
 * (workload/src/migrations.ts, serialised by its advisory lock), then the services' roles and grants
 * (applyDatabaseRoles, after the DDL so that the grants name tables that exist). Safe to run again: a second
 * run applies nothing and grants the same. `schema` `limitless` (database.sharding.mode): the Limitless schema
 * (workload/src/limitless.ts, tables created sharded) instead of the standard one; the same grants.
 *
 * One connection of its own, to the cluster's writer endpoint, not through RDS Proxy: the proxy's
 * initialization query bounds every statement to 5 s (PROXY_INIT_QUERY), and the migrations set their own
 * bounds (statement_timeout 0, lock_timeout MIGRATION_LOCK_TIMEOUT_MS) in their transactions anyway.
 */
export async function runMigrations(
  target: MasterConnection,
  users: { readonly [S in DatabaseService]: DatabaseUserSpec },
  schema: 'standard' | 'limitless' = 'standard',
): Promise<MigrationResult> {
  const pool = masterPool(target, 1);
  try {
    const applied = await migrate(pool, schema === 'limitless' ? LIMITLESS_MIGRATIONS : MIGRATIONS);
    const client = await pool.connect();
    try {
      return { applied, roles: await applyDatabaseRoles(client, users, schema) };
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }
}
