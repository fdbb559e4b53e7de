import { DATABASE_SERVICES, type DatabaseService } from '../../lib/contracts/database-roles';
import type { DatabaseUserSpec } from '../../workload/src/migrations';
import { databaseCustomResource, log, masterConnection, secretJson } from '../shared/database-custom-resource';
import { runMigrations } from './migrate';

/** The custom resource's properties (lib/constructs/database-roles.ts writes them). */
interface Properties {
  readonly MasterSecretArn: string;
  readonly Host: string;
  readonly Port: string;
  readonly Database: string;
  /** Per service: its user and the secret generated for it. */
  readonly Users: { readonly [S in DatabaseService]: { readonly Name: string; readonly SecretArn: string } };
  /** Changes with the migrations and grants, so an update runs them again. */
  readonly Hash: string;
  /** `limitless` (database.sharding.mode): the Limitless schema, its tables created sharded. Absent: the standard one. */
  readonly Schema?: 'limitless';
}

/**
 * Handler of the DatabaseMigrations custom resource (CDK Provider framework, onEvent only). Create and
 * Update run the migrations and the roles (./migrate.ts) as the master user, read from the master secret;
 * Delete does nothing (the schema and the users stay with the data).
 *
 * A user is created with the password its secret holds while the secret still names that user (its first
 * version); once rotation has taken the secret over, the user exists and its password is rotation's.
 */
export const onEvent = databaseCustomResource<Properties>('db-migrate', async (p) => {
  const master = await masterConnection(p.MasterSecretArn, { host: p.Host, port: Number(p.Port), database: p.Database });
  const users = {} as { [S in DatabaseService]: DatabaseUserSpec };
  for (const service of DATABASE_SERVICES) {
    const { Name, SecretArn } = p.Users[service];
    const secret = await secretJson(SecretArn);
    users[service] = { name: Name, password: secret.username === Name ? secret.password : undefined };
  }
  const result = await runMigrations(master, users, p.Schema === 'limitless' ? 'limitless' : 'standard');
  log('migrated', { database: p.Database, schema: p.Schema ?? 'standard', hash: p.Hash, applied: result.applied, created: result.roles.created, revokedRdsIam: result.roles.revokedRdsIam });
  return { Applied: result.applied.join(',') };
});
