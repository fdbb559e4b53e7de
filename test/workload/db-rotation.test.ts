import { CreateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DeleteQueueCommand } from '@aws-sdk/client-sqs';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Pool } from 'pg';
import { createLocalQueue, localSqs } from '../../workload/src/tools/local';
import { eventually, serviceEnv, spawnCollecting } from './harness';
import { freePort, startPasswordPostgres, type PasswordPostgres } from './postgres';
import { workloadBundle } from './workload-bundle';

// The master password rotates every database.secretRotationDays (Secrets Manager single-user rotation): the
// rotation function changes the password in the database, then makes the new value the secret's current one.
// Open connections survive it; new ones need the new password
// (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html). A task that got its
// password once, at start (ECS `secrets`), can then open no connection again and answers 500 until it is
// replaced, while /healthz keeps it registered.
//
// Here the real API process (the bundle of workload/src/main.ts the container runs) runs against a PostgreSQL that
// checks passwords and moto_server's Secrets Manager, configured as the stack configures it without RDS Proxy:
// DB_SECRET_ARN, no DB_PASSWORD. A rotation is what the rotation function does: ALTER ROLE, PutSecretValue,
// and the connections the API holds dropped (as after an idle timeout, a failover, or the pool growing).

const hex = () => randomBytes(12).toString('hex');
const base = serviceEnv();
let dir: string;
let pg: PasswordPostgres;
let admin: Pool;
let secrets: SecretsManagerClient;
let secretArn: string;
let queueUrl: string;
let api: ReturnType<typeof spawnCollecting>;
let url: string;
/** The password the secret holds now. */
let current: string;

const secretValue = (password: string) => JSON.stringify({ engine: 'postgres', host: '127.0.0.1', port: pg.port, username: 'app', dbname: 'app', password });

/** What the rotation function's setSecret step does: the database's password changes. */
const changeDatabasePassword = (password: string) => admin.query(`ALTER ROLE app PASSWORD '${password}'`);
/** What its finishSecret step makes visible: the secret's current value is the new password. */
const updateSecret = (password: string) => secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: secretValue(password) }));

/** Ends every connection the API holds, and waits until the server has none left for it. */
async function dropApiConnections(): Promise<void> {
  await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = 'app'");
  await eventually(async () => {
    const { rows } = await admin.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = 'app'");
    return rows[0].n === 0 ? true : undefined;
  }, 10_000, "the API's connections to end");
}

/** Whether PostgreSQL takes `password` for app right now: the rotation is real, not an artefact of trust auth. */
async function acceptsPassword(password: string): Promise<boolean | string> {
  const client = new Pool({ host: '127.0.0.1', port: pg.port, user: 'app', password, database: 'app', max: 1 });
  try {
    await client.query('SELECT 1');
    return true;
  } catch (err) {
    return (err as { code?: string }).code === '28P01' ? false : (err as Error).message;
  } finally {
    await client.end();
  }
}

const createItem = () => fetch(`${url}/items`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'rotation' }) })
  .then(async (r) => ({ status: r.status, id: r.status === 201 ? String((await r.json() as { id: string }).id) : undefined }));
const statusOf = (path: string) => fetch(`${url}${path}`).then((r) => r.status);
/** Polls POST /items until it answers `status`, with the API's output in the failure. */
const untilCreateAnswers = (status: number, what: string) =>
  eventually(async () => ((await createItem()).status === status ? true : undefined), 15_000, `${what}; API output:\n${api.output}`);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-db-rotation-'));
  pg = await startPasswordPostgres(dir, hex());
  admin = new Pool({ host: '127.0.0.1', port: pg.port, user: pg.admin.user, password: pg.admin.password, database: 'postgres', max: 1 });
  current = hex();
  await admin.query(`CREATE ROLE app LOGIN PASSWORD '${current}'`);
  await admin.query('CREATE DATABASE app OWNER app');

  secrets = new SecretsManagerClient({ region: base.AWS_REGION, endpoint: base.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  secretArn = (await secrets.send(new CreateSecretCommand({ Name: `sb-rotation-${hex()}`, SecretString: secretValue(current) }))).ARN!;
  queueUrl = await createLocalQueue(base, `jobs-rotation-${hex()}`);

  const port = await freePort();
  url = `http://127.0.0.1:${port}`;
  api = spawnCollecting(process.execPath, [await workloadBundle(), 'api'], {
    ...process.env, ...base,
    DB_WRITER_HOST: '127.0.0.1', DB_READER_HOST: '127.0.0.1', DB_PORT: String(pg.port), DB_NAME: 'app', DB_USERNAME: 'app',
    DB_PASSWORD: '', DB_SECRET_ARN: secretArn, DB_TLS: 'false',
    // Every read goes to the database: a cache hit would hide a connection that cannot be opened.
    CACHE_TTL_SECONDS: '0', CACHE_KEY_PREFIX: `rot${hex()}:`,
    // Each /readyz checks anew: the test reads readiness right after the database changes.
    HTTP_READYZ_CACHE_MS: '0',
    QUEUE_URL: queueUrl, PORT: String(port), HOST: '127.0.0.1',
  });
  await eventually(() => statusOf('/healthz').catch(() => undefined), 30_000, `the API to listen; its output:\n${api.output}`);
});

afterAll(async () => {
  if (api) {
    api.child.kill('SIGTERM');
    await api.exited;
  }
  await admin?.end();
  if (secretArn) await secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));
  secrets?.destroy();
  if (queueUrl) {
    const sqs = localSqs(base);
    await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    sqs.destroy();
  }
  await pg?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('after a rotation the API opens new connections with the new password, without a restart', async () => {
  expect((await createItem()).status).toBe(201);

  const rotated = hex();
  await changeDatabasePassword(rotated);
  await updateSecret(rotated);
  await dropApiConnections();
  // The password the API started with no longer opens a connection; the new one does.
  expect(await acceptsPassword(current)).toBe(false);
  expect(await acceptsPassword(rotated)).toBe(true);
  current = rotated;

  await untilCreateAnswers(201, 'a write after the rotation');
  // Not a lucky request: writes and reads keep working, on connections opened with the rotated password.
  const created = await createItem();
  expect(created.status).toBe(201);
  expect(await statusOf(`/items/${created.id}`)).toBe(200);
  expect(await statusOf('/readyz')).toBe(200);
  // It was the refusal that made the API read the secret again (the cached value was minutes from expiring).
  expect(api.output).toContain('"event":"db_password_refused"');
  expect(api.child.exitCode).toBeNull();
});

test('mid-rotation (the database changed, the secret not yet): requests get 503 (not 500), /healthz stays 200, and they recover once the secret is updated', async () => {
  const rotated = hex();
  await changeDatabasePassword(rotated);
  await dropApiConnections();
  expect(await acceptsPassword(current)).toBe(false);

  // A refused password (SQLSTATE 28P01) is the database being unavailable to this task for now, not a bug: 503.
  await untilCreateAnswers(503, 'a write to get 503 while the secret still holds the old password');
  // Liveness touches no dependency: the task is not restarted over a password it will pick up by itself.
  expect(await statusOf('/healthz')).toBe(200);
  // Readiness says what is wrong.
  expect(await statusOf('/readyz')).toBe(503);

  await updateSecret(rotated);
  current = rotated;
  await untilCreateAnswers(201, 'a write once the secret holds the new password');
  expect(await statusOf('/readyz')).toBe(200);
  expect(api.child.exitCode).toBeNull();
});
