import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { z } from 'zod';

/**
 * How long a password read from the secret serves new connections before it is read again. AWS recommends
 * caching secret values in the client (https://docs.aws.amazon.com/secretsmanager/latest/userguide/retrieving-secrets.html);
 * its caching components refresh hourly by default. Minutes here keep the number of connections that try a
 * rotated-away password small; a refused password is read again at once anyway (`refresh`).
 */
export const PASSWORD_MAX_AGE_MS = 5 * 60_000;

/**
 * A refused password reads the secret again at most this often. During a single-user rotation the database
 * has the new password a moment before the secret does
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html), so a read can still
 * return the old one: the next refusal after this interval reads again. It also bounds the calls a wrong
 * password makes to Secrets Manager to one per second per task.
 */
export const MIN_REFRESH_INTERVAL_MS = 1_000;

export interface RotatingPasswordOptions {
  readonly maxAgeMs?: number;
  readonly minRefreshIntervalMs?: number;
  /** A failed read while an earlier value is still at hand (that value is used). */
  readonly onReadError?: (err: Error) => void;
  readonly now?: () => number;
}

/**
 * The database password as the secret holds it now, for a process that opens connections for weeks while the
 * secret rotates underneath it. ECS resolves a task definition's `secrets` once, at task start
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html), which is
 * why the password is read here instead, when a connection opens.
 *
 * One read at a time: the connections a burst opens (or a rotation refuses) share it.
 */
export class RotatingPassword<T = string> {
  private current?: { readonly value: T; readonly readAt: number };
  private reading?: Promise<T>;
  private readonly maxAgeMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;

  constructor(private readonly read: () => Promise<T>, private readonly options: RotatingPasswordOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? PASSWORD_MAX_AGE_MS;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? MIN_REFRESH_INTERVAL_MS;
    this.now = options.now ?? Date.now;
  }

  /** For a new connection: the value read within `maxAgeMs`, else a fresh read. */
  get(): Promise<T> {
    const c = this.current;
    if (c && this.now() - c.readAt < this.maxAgeMs) return Promise.resolve(c.value);
    return this.readOnce();
  }

  /** After the database refused the password: a fresh read, unless one finished within `minRefreshIntervalMs`. */
  refresh(): Promise<T> {
    const c = this.current;
    if (c && this.now() - c.readAt < this.minRefreshIntervalMs) return Promise.resolve(c.value);
    return this.readOnce();
  }

  private readOnce(): Promise<T> {
    this.reading ??= this.read()
      .then((value) => {
        this.current = { value, readAt: this.now() };
        return value;
      }, (err: Error) => {
        // Secrets Manager out of reach for a moment must not take the database with it: the password at hand is
        // most likely still the database's (rotations are weeks apart), so it serves until the next read is due.
        // With none at hand (the first read) the connection fails, and says why.
        if (!this.current) throw err;
        this.options.onReadError?.(err);
        this.current = { value: this.current.value, readAt: this.now() };
        return this.current.value;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}

/** The part of an RDS database secret the connection needs (the secret also holds host, port, engine). */
const databaseSecret = z.object({ password: z.string().min(1), username: z.string().min(1).optional() });

/** The user and password a secret holds now. */
export interface DatabaseCredentials {
  /** Absent in a secret that holds only a password: the configured user (DB_USERNAME) then. */
  readonly username?: string;
  readonly password: string;
}

/**
 * A Secrets Manager client whose every wait is bounded: a read happens while a connection waits for it (pg's
 * connectionTimeoutMillis is 5 s), and the SDK's default HTTP handler has no request timeout. A read that never
 * ends would also hold every later connection: they share the read under way (RotatingPassword). As in ./sqs.ts,
 * `requestTimeout` alone only logs a warning in @smithy/node-http-handler 4.4 and later; `throwOnRequestTimeout`
 * makes it a TimeoutError, which the SDK retries within `maxAttempts`
 * (https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-smithy-node-http-handler,
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html). Reproduced in
 * test/workload/db-password.test.ts against an endpoint that accepts and never answers.
 * The endpoint and credentials come from the environment unless `config` says.
 */
export function secretsManagerClient(region: string, config: SecretsManagerClientConfig = {}): SecretsManagerClient {
  return new SecretsManagerClient({
    ...config,
    region,
    maxAttempts: 2,
    requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true },
  });
}

/** Reads the `password` of the secret `secretArn` (its AWSCURRENT version). Errors name the secret, never its value. */
export function secretPasswordReader(client: SecretsManagerClient, secretArn: string): () => Promise<string> {
  const read = secretCredentialsReader(client, secretArn);
  return async () => (await read()).password;
}

/**
 * Reads the `username` and `password` of the secret `secretArn` (its AWSCURRENT version). The user name
 * matters with multi-user (alternating users) rotation: each rotation moves the secret to the other of
 * `<user>` and `<user>_clone`, whose password it has just set
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html#rotating-secrets-two-users).
 */
export function secretCredentialsReader(client: SecretsManagerClient, secretArn: string): () => Promise<DatabaseCredentials> {
  return async () => {
    let text: string | undefined;
    try {
      text = (await client.send(new GetSecretValueCommand({ SecretId: secretArn }))).SecretString;
    } catch (err) {
      const e = err as Error;
      throw new Error(`cannot read the database password from DB_SECRET_ARN=${secretArn}: ${e.name}: ${e.message}`, { cause: err });
    }
    let json: unknown;
    try {
      json = JSON.parse(text ?? '');
    } catch {
      json = undefined;
    }
    const parsed = databaseSecret.safeParse(json);
    if (!parsed.success) throw new Error(`DB_SECRET_ARN=${secretArn} holds no JSON object with a "password" string`);
    return parsed.data;
  };
}
