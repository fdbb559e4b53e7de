import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { DATABASE_SERVICES, type DatabaseService } from '../../lib/contracts/database-roles';
import type { DatabaseUserSpec } from '../../workload/src/migrations';
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

const secrets = new SecretsManagerClient({});

async function secretJson(arn: string): Promise<{ username?: string; password?: string }> {
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  return JSON.parse(value.SecretString ?? '{}') as { username?: string; password?: string };
}

const log = (message: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ message, ...fields }));

/**
 * Handler of the DatabaseMigrations custom resource (CDK Provider framework, onEvent only). Create and
 * Update run the migrations and the roles (./migrate.ts) as the master user, read from the master secret;
 * Delete does nothing (the schema and the users stay with the data).
 *
 * A user is created with the password its secret holds while the secret still names that user (its first
 * version); once rotation has taken the secret over, the user exists and its password is rotation's.
 */
export async function onEvent(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const p = event.ResourceProperties as unknown as Properties;
  const PhysicalResourceId = `db-migrate-${p.Database}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId };
  const master = await secretJson(p.MasterSecretArn);
  const users = {} as { [S in DatabaseService]: DatabaseUserSpec };
  for (const service of DATABASE_SERVICES) {
    const { Name, SecretArn } = p.Users[service];
    const secret = await secretJson(SecretArn);
    users[service] = { name: Name, password: secret.username === Name ? secret.password : undefined };
  }
  const result = await runMigrations({
    host: p.Host, port: Number(p.Port), database: p.Database, user: master.username!, password: master.password,
    // Aurora's certificate chains to an RDS CA (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html),
    // which the runtime trusts through NODE_EXTRA_CA_CERTS (set on the function).
    ssl: { rejectUnauthorized: true },
  }, users, p.Schema === 'limitless' ? 'limitless' : 'standard');
  log('migrated', { database: p.Database, schema: p.Schema ?? 'standard', hash: p.Hash, applied: result.applied, created: result.roles.created, revokedRdsIam: result.roles.revokedRdsIam });
  return { PhysicalResourceId, Data: { Applied: result.applied.join(',') } };
}
