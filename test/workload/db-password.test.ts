import { CreateSecretCommand, DeleteSecretCommand, GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'crypto';
import { createServer, type AddressInfo, type Socket } from 'net';
import { MIN_REFRESH_INTERVAL_MS, PASSWORD_MAX_AGE_MS, RotatingPassword, secretPasswordReader, secretsManagerClient } from '../../workload/src/db-password';
import { serviceEnv } from './harness';

/** A reader that hands out the values given, one per read, counting reads; `gate` holds a read open. */
function reader(values: Array<string | Error>) {
  const state = { reads: 0, release: undefined as undefined | (() => void) };
  const read = async () => {
    const value = values[Math.min(state.reads++, values.length - 1)];
    await new Promise<void>((resolve) => { state.release = resolve; });
    if (value instanceof Error) throw value;
    return value;
  };
  return { read, state, release: () => state.release?.() };
}

/** Lets pending promise callbacks run, so that a read which was started can be seen started. */
const settle = () => new Promise((r) => setImmediate(r));

describe('RotatingPassword', () => {
  let clock = 0;
  const now = () => clock;
  beforeEach(() => { clock = 1_000_000; });

  test('connections opening together share one read', async () => {
    const r = reader(['A']);
    const password = new RotatingPassword(r.read, { now });
    const waiting = Array.from({ length: 20 }, () => password.get());
    await settle();
    r.release();
    expect(await Promise.all(waiting)).toEqual(Array(20).fill('A'));
    expect(r.state.reads).toBe(1);
  });

  test(`a value serves new connections for ${PASSWORD_MAX_AGE_MS / 60_000} minutes, then the secret is read again`, async () => {
    const r = reader(['A', 'B']);
    const password = new RotatingPassword(r.read, { now });
    const first = password.get();
    await settle();
    r.release();
    expect(await first).toBe('A');
    clock += PASSWORD_MAX_AGE_MS - 1;
    expect(await password.get()).toBe('A');
    expect(r.state.reads).toBe(1);
    clock += 1;
    const second = password.get();
    await settle();
    r.release();
    expect(await second).toBe('B');
    expect(r.state.reads).toBe(2);
  });

  test(`a refused password reads the secret again at once, but at most once per ${MIN_REFRESH_INTERVAL_MS} ms`, async () => {
    const r = reader(['A', 'B', 'C']);
    const password = new RotatingPassword(r.read, { now });
    const first = password.get();
    await settle();
    r.release();
    await first;
    clock += MIN_REFRESH_INTERVAL_MS;
    // Twenty connections refused together: one read.
    const refreshed = Array.from({ length: 20 }, () => password.refresh());
    await settle();
    r.release();
    expect(await Promise.all(refreshed)).toEqual(Array(20).fill('B'));
    expect(r.state.reads).toBe(2);
    // Refused again right away (the secret not updated yet, mid-rotation): the value just read is as fresh as it gets.
    clock += MIN_REFRESH_INTERVAL_MS - 1;
    expect(await password.refresh()).toBe('B');
    expect(r.state.reads).toBe(2);
    clock += 1;
    const later = password.refresh();
    await settle();
    r.release();
    expect(await later).toBe('C');
    expect(r.state.reads).toBe(3);
  });

  test('Secrets Manager out of reach: the value at hand keeps serving (and the failure is reported) until the next read is due', async () => {
    const outage = new Error('connect ETIMEDOUT');
    const r = reader(['A', outage, 'B']);
    const errors: Error[] = [];
    const password = new RotatingPassword(r.read, { now, onReadError: (err) => errors.push(err) });
    const first = password.get();
    await settle();
    r.release();
    await first;
    clock += PASSWORD_MAX_AGE_MS;
    const during = password.get();
    await settle();
    r.release();
    expect(await during).toBe('A');
    expect(errors).toEqual([outage]);
    // Not read again on every connection while the service is out: the next regular read is a max age away.
    expect(await password.get()).toBe('A');
    expect(r.state.reads).toBe(2);
  });

  test('no value at hand: the first read failing fails the connection with its error', async () => {
    const r = reader([new Error('AccessDeniedException: not authorized')]);
    const password = new RotatingPassword(r.read, { now });
    const first = password.get();
    await settle();
    r.release();
    await expect(first).rejects.toThrow('AccessDeniedException: not authorized');
  });
});

// Against moto_server's Secrets Manager (started by jest's global setup), as the task reads the RDS master secret.
describe('secretPasswordReader', () => {
  const env = serviceEnv();
  const client = new SecretsManagerClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const created: string[] = [];
  const secret = async (value: string) => {
    const { ARN } = await client.send(new CreateSecretCommand({ Name: `sb-test-${randomBytes(4).toString('hex')}`, SecretString: value }));
    created.push(ARN!);
    return ARN!;
  };
  afterAll(async () => {
    await Promise.all(created.map((arn) => client.send(new DeleteSecretCommand({ SecretId: arn, ForceDeleteWithoutRecovery: true }))));
    client.destroy();
  });

  test('reads the password of an RDS database secret', async () => {
    const arn = await secret(JSON.stringify({ engine: 'postgres', host: 'db', port: 5432, username: 'app', password: 'p@ss w0rd' }));
    expect(await secretPasswordReader(client, arn)()).toBe('p@ss w0rd');
  });

  test('a secret without a password, or not JSON, is named in the error; its value is not', async () => {
    const noPassword = await secret(JSON.stringify({ username: 'app', pass: 'do-not-print-me' }));
    await expect(secretPasswordReader(client, noPassword)()).rejects.toThrow(`DB_SECRET_ARN=${noPassword} holds no JSON object with a "password" string`);
    const notJson = await secret('do-not-print-me');
    const err = await secretPasswordReader(client, notJson)().catch((e: Error) => e);
    expect((err as Error).message).toBe(`DB_SECRET_ARN=${notJson} holds no JSON object with a "password" string`);
  });

  test('a secret that cannot be read is named, with the service\'s reason', async () => {
    const missing = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sb-test-missing-AbCdEf';
    await expect(secretPasswordReader(client, missing)()).rejects.toThrow(
      new RegExp(`^cannot read the database password from DB_SECRET_ARN=${missing}: ResourceNotFoundException: `));
  });
});

// An endpoint that accepts and never answers (a paused or black-holed Secrets Manager): the task's client gives up
// within its bound (2 attempts of 1 s connect + 2 s request, plus the retry delay) instead of waiting for ever.
describe('secretsManagerClient', () => {
  test('a read from an endpoint that never answers fails with a timeout within its bound', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => { sockets.add(socket); });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    const client = secretsManagerClient('us-east-1', { endpoint: `http://127.0.0.1:${port}`, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const started = Date.now();
      const err = await client.send(new GetSecretValueCommand({ SecretId: 'sb-test-silent' })).catch((e: Error) => e);
      expect((err as Error).name).toBe('TimeoutError');
      expect(sockets.size).toBe(2);
      // Generous: the bound is about 4 s; without throwOnRequestTimeout the read never ends (the test times out).
      expect(Date.now() - started).toBeLessThan(9_000);
    } finally {
      client.destroy();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  }, 12_000);
});
