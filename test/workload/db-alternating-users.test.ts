import { CreateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { connectDatabase, type Database } from '../../workload/src/db';
import { readSettings } from '../../workload/src/settings';
import { eventually, serviceEnv } from './harness';
import { startPasswordPostgres, type PasswordPostgres } from './postgres';

// Without RDS Proxy a service's secret rotates with alternating users (lib/constructs/database-roles.ts): each
// rotation sets the password of the user the secret does not name, `app_api` or `app_api_clone`, and then names
// it (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html#rotating-secrets-two-users).
// A task that kept logging in as DB_USERNAME with the secret's password would be refused from the first rotation
// on. Here, against a PostgreSQL that checks passwords and moto_server's Secrets Manager, the pool follows the
// secret's user.

const hex = () => randomBytes(12).toString('hex');
const base = serviceEnv();
let dir: string;
let pg: PasswordPostgres;
let admin: Pool;
let secrets: SecretsManagerClient;
let secretArn: string;
let db: Database;
const passwords = { app_api: hex(), app_api_clone: hex() };
const secretValue = (username: keyof typeof passwords) => JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: pg.port, username, dbname: 'app', password: passwords[username] });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-db-alt-'));
  pg = await startPasswordPostgres(dir, hex());
  admin = new Pool({ host: '127.0.0.1', port: pg.port, user: pg.admin.user, password: pg.admin.password, database: 'postgres', max: 1 });
  await admin.query(`CREATE ROLE app_api LOGIN PASSWORD '${passwords.app_api}'`);
  await admin.query('CREATE DATABASE app');
  secrets = new SecretsManagerClient({ region: base.AWS_REGION, endpoint: base.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  secretArn = (await secrets.send(new CreateSecretCommand({ Name: `sb-alt-${hex()}`, SecretString: secretValue('app_api') }))).ARN!;
  // The workload's own Secrets Manager client finds moto through the SDK's standard variables.
  Object.assign(process.env, { AWS_ENDPOINT_URL: base.AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' });
  const settings = readSettings({
    ...base, DB_WRITER_HOST: '127.0.0.1', DB_READER_HOST: '127.0.0.1', DB_PORT: String(pg.port), DB_NAME: 'app', DB_USERNAME: 'app_api',
    DB_PASSWORD: '', DB_SECRET_ARN: secretArn, DB_TLS: 'false', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/unused',
  });
  db = connectDatabase(settings.db, settings.region);
}, 30_000);

afterAll(async () => {
  await db?.close();
  await admin?.end();
  if (secretArn) await secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));
  secrets?.destroy();
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const whoAmI = async () => (await db.writer.query<{ u: string }>('SELECT current_user AS u')).rows[0].u;
/** The user new connections log in as, once one succeeds: the first after a rotation may be refused (and is retried once). */
const nextLoginAs = (user: string) => eventually(async () => (await whoAmI().catch(() => undefined)) === user || undefined, 5_000, `a login as ${user}`);

/** Ends the pool's connections, as an idle timeout, a failover or the pool growing would: the next query opens one. */
const dropConnections = () => admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename LIKE 'app_api%'");

test('after each rotation new connections log in as the user the secret names, with its password', async () => {
  expect(await whoAmI()).toBe('app_api');
  // The first rotation: the clone is created (a member of the user) with a new password, then the secret names it.
  await admin.query(`CREATE ROLE app_api_clone LOGIN PASSWORD '${passwords.app_api_clone}' IN ROLE app_api`);
  await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: secretValue('app_api_clone') }));
  // The second rotation sets app_api's password and names it again...
  passwords.app_api = hex();
  await admin.query(`ALTER ROLE app_api PASSWORD '${passwords.app_api}'`);
  await dropConnections();
  // ...which, read before it, is refused for app_api: the pool reads the secret again and logs in as the clone.
  await nextLoginAs('app_api_clone');
  await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: secretValue('app_api') }));
  // The third sets the clone's: the clone's password the pool holds is refused, the secret names app_api.
  passwords.app_api_clone = hex();
  await admin.query(`ALTER ROLE app_api_clone PASSWORD '${passwords.app_api_clone}'`);
  await dropConnections();
  await nextLoginAs('app_api');
});
