import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Sha256 } from '@smithy/core/checksum';
import { buildQueryString, HttpRequest } from '@smithy/core/protocols';
import { SignatureV4 } from '@smithy/signature-v4';
import { Cluster, Redis, type ClusterNode, type ClusterOptions as IoClusterOptions, type RedisOptions } from 'ioredis';
import { jsonLog, throttled } from './log';
import type { Settings } from './settings';

export type CacheClient = Redis | Cluster;
type CacheSettings = Settings['cache'];
type IamSettings = NonNullable<CacheSettings['iam']>;
type ClusterOptions = IoClusterOptions & { redisOptions?: { replyMapping?: 'legacy' } };
/** Static AWS credentials or a provider of them, as the signer takes them. */
export type AwsCredentials = ConstructorParameters<typeof SignatureV4>[0]['credentials'];

/**
 * ElastiCache accepts an IAM token for 15 minutes ("Authenticating with IAM", Limitations:
 * https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/auth-iam.html). Not reproducible here: the local Redis
 * has no IAM; test/workload/cache-auth.test.ts checks the token's form and that every (re)connect takes a new one.
 */
export const IAM_TOKEN_EXPIRY_SECONDS = 900;
/** How old a token may get before connections take a new one: well inside its 15 minutes. */
export const IAM_TOKEN_REFRESH_MS = 10 * 60_000;

/**
 * The IAM authentication token for ElastiCache (User Guide, "Authenticating with IAM", Connecting): a SigV4
 * presigned `GET https://<cache name>/?Action=connect&User=<user id>` (plus `&ResourceType=ServerlessCache`
 * for a serverless cache), service `elasticache`, valid for 900 s, without its `https://` prefix. The cache
 * name is the replication group id or serverless cache name, in lower case as ElastiCache keeps it.
 */
export async function elastiCacheIamToken(iam: IamSettings, credentials: AwsCredentials, signingDate = new Date()): Promise<string> {
  const hostname = iam.cacheName.toLowerCase();
  const signer = new SignatureV4({ service: 'elasticache', region: iam.region, credentials, sha256: Sha256 });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'connect', User: iam.userId, ...(iam.serverless && { ResourceType: 'ServerlessCache' }) },
    headers: { host: hostname },
  });
  const signed = await signer.presign(request, { expiresIn: IAM_TOKEN_EXPIRY_SECONDS, signingDate });
  return `${hostname}/?${buildQueryString(signed.query ?? {})}`;
}

/** Where connections get their password from when IAM authentication is on. */
export interface CacheAuth {
  /** A fresh IAM token (the signing is local; the credential chain caches and renews the role's keys). */
  token(): Promise<string>;
}

/** Tokens from the default credential chain: in ECS, the task role. */
export function iamAuth(iam: IamSettings, credentials: AwsCredentials = defaultProvider()): CacheAuth {
  return { token: () => elastiCacheIamToken(iam, credentials) };
}

/** An error the application should see: on the client's 'error' listeners, or the console if it has none. */
function report(client: CacheClient, err: unknown): void {
  if (client.listenerCount('error') > 0) client.emit('error', err);
  else console.error('[cache] IAM authentication:', err);
}

/**
 * A Redis client that sets a fresh token as its password before every connect, the first and each reconnect
 * (ioredis reads `options.password` when it connects and sends `AUTH <user> <token>`). Tokens expire after 15
 * minutes and ElastiCache drops IAM-authenticated connections after 12 hours; both matter only at (re)connect,
 * which is where the token is made. `lazyConnect` keeps the constructor from connecting before it has a token;
 * callers that ask while a connect is under way share it; and a command sent before the first connect (ioredis
 * would connect for it, without a password) waits for that connect and then goes the usual way.
 */
class IamRedis extends Redis {
  private connecting?: Promise<void>;

  constructor(options: RedisOptions & { replyMapping?: 'legacy' }, private readonly cacheAuth: CacheAuth) {
    super({ ...options, lazyConnect: true });
  }

  override connect(callback?: (err?: Error | null) => void): Promise<void> {
    this.connecting ??= (async () => {
      this.options.password = await this.cacheAuth.token();
      await super.connect();
    })().finally(() => { this.connecting = undefined; });
    if (callback) this.connecting.then(() => callback(null), callback);
    return this.connecting;
  }

  override sendCommand(...args: Parameters<Redis['sendCommand']>): unknown {
    if (this.status !== 'wait') return super.sendCommand(...args);
    return this.connect().then(() => super.sendCommand(...args), (err) => {
      args[0].reject(err);
      return args[0].promise;
    });
  }
}

/**
 * The cluster client with IAM tokens. Its node connections are plain clients the cluster creates itself, so
 * the cluster writes a token into every node's options: before it connects, whenever a node is added (nodes
 * connect lazily, after that), and every IAM_TOKEN_REFRESH_MS, so that a node that (re)connects at any time
 * finds a token younger than its 15 minutes.
 */
class IamCluster extends Cluster {
  private token = '';
  private timer?: NodeJS.Timeout;
  private connecting?: Promise<void>;

  constructor(nodes: ClusterNode[], options: ClusterOptions, private readonly cacheAuth: CacheAuth) {
    super(nodes, { ...options, lazyConnect: true });
    this.on('+node', (node: Redis) => { node.options.password = this.token; });
    this.on('end', () => { clearInterval(this.timer); this.timer = undefined; });
  }

  override connect(): Promise<void> {
    this.connecting ??= (async () => {
      await this.refresh();
      if (!this.timer) {
        this.timer = setInterval(() => this.refresh().catch((err) => report(this, err)), IAM_TOKEN_REFRESH_MS);
        this.timer.unref();
      }
      await super.connect();
    })().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  private async refresh(): Promise<void> {
    this.token = await this.cacheAuth.token();
    if (this.options.redisOptions) this.options.redisOptions.password = this.token;
    for (const node of this.nodes('all')) node.options.password = this.token;
  }
}

/** How long one connection attempt may take (TCP, TLS, AUTH) before ioredis drops it and retries. */
export const CACHE_CONNECT_TIMEOUT_MS = 3000;
/** At most one `cache_connection_error` line per this long per client: a down cache retries every 2 s. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * What a cache that stopped answering costs a caller: never more than CACHE_COMMAND_TIMEOUT_MS per command.
 * - `commandTimeout` rejects a command sent and not answered in time (a paused server, a partition);
 * - the offline queue holds commands only until the first connection is ready (so a request that arrives while
 *   the process starts does not fail for nothing); after that, while the connection is down, a command fails at
 *   once instead of queueing: ioredis would otherwise hold it (and everything after it, without bound) until a
 *   reconnect, and send it late, a SET of a row older than what was written since;
 * - one retry of a command caught by a reconnect, not 20 (ioredis's default);
 * - an 'error' listener, so a connection error is a log line (at most one per 10 s) and not ioredis's
 *   "Unhandled error event" on every reconnect attempt.
 * Callers fall back to the database when a command fails (./item-cache.ts).
 */
function failFast(client: CacheClient): CacheClient {
  const log = jsonLog();
  client.on('error', throttled(ERROR_LOG_INTERVAL_MS, (suppressed, err: Error) => log('cache_connection_error', { error: err.message, suppressed })));
  client.once('ready', () => { client.options.enableOfflineQueue = false; });
  return client;
}

/**
 * Valkey/Redis over TLS; the cluster client when the group is sharded. With `s.iam`, AUTH as the IAM-enabled
 * user with an IAM token (from `auth`, by default signed with the default credential chain); without, no AUTH
 * (the local Redis of tests and `npm run workload:dev`). Fails fast while the cache is down (failFast).
 */
export function connectCache(s: CacheSettings, auth: CacheAuth | undefined = s.iam && iamAuth(s.iam)): CacheClient {
  const options = {
    ...(s.tls && { tls: {} }),
    ...(s.iam && { username: s.iam.userId }),
    // No CLIENT SETINFO on connect: the ElastiCache user's ACL allows only the commands the workload uses
    // (lib/constructs/cache.ts, CACHE_APP_COMMANDS; access strings:
    // https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html), and the library name is not
    // worth a permission.
    disableClientInfo: true,
    maxRetriesPerRequest: 1,
    commandTimeout: s.commandTimeoutMs,
    connectTimeout: CACHE_CONNECT_TIMEOUT_MS,
    enableOfflineQueue: true,
  };
  const startup = [{ host: s.host, port: s.port }];
  // ElastiCache's TLS certificates name the configuration endpoint: keep it for every node. No AWS page found that
  // says so; ioredis's README documents this option for ElastiCache clusters with TLS. Not reproducible here.
  const clusterOptions: ClusterOptions = { dnsLookup: (address, cb) => cb(null, address), redisOptions: options, enableOfflineQueue: true };
  if (!auth) return failFast(s.clusterMode ? new Cluster(startup, clusterOptions) : new Redis({ ...startup[0], ...options }));

  const client = failFast(s.clusterMode ? new IamCluster(startup, clusterOptions, auth) : new IamRedis({ ...startup[0], ...options }, auth));
  // Connect now, as a client without lazyConnect would; a failure (no credentials, say) is reported, and the
  // next command tries again.
  client.connect().catch((err) => report(client, err));
  return client;
}
