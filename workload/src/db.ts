import { Signer } from '@aws-sdk/rds-signer';
import { readFileSync } from 'fs';
import { Pool, type PoolClient, type PoolConfig } from 'pg';
import * as tls from 'tls';
import { RotatingPassword, secretCredentialsReader, secretsManagerClient, type DatabaseCredentials } from './db-password';
import { jsonLog } from './log';
import type { Metrics } from './metrics';
import type { Settings } from './settings';

/** PostgreSQL's own bounds on a connection's statements (ms; 0: none). */
export type DbTimeouts = Settings['db']['timeouts'];

/** How long past statement_timeout the client waits for a reply before giving up on the connection. */
export const QUERY_TIMEOUT_MARGIN_MS = 1000;

/**
 * The timeouts as pg connection settings. `startup`: pg sends statement_timeout, lock_timeout and
 * idle_in_transaction_session_timeout as parameters of the startup message, so PostgreSQL applies them when the
 * session starts, with no SET. `proxy`: none are sent. RDS Proxy refuses startup options ("RDS Proxy currently
 * doesn't support command-line options"), and a SET statement pins the client's session to one database
 * connection for good (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-pinning.html),
 * which defeats the proxy's multiplexing; the proxy's initialization query, which it runs on each database
 * connection it opens, is AWS's place for such settings
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-rds-dbproxytargetgroup-connectionpoolconfigurationinfoformat.html).
 * In both, the client gives up on a reply QUERY_TIMEOUT_MARGIN_MS after statement_timeout (pg's query_timeout,
 * a timer in this process): that bounds a server that stopped answering, which no server setting can.
 */
export function timeoutConfig(t: DbTimeouts, where: 'startup' | 'proxy'): Partial<PoolConfig> {
  const client = t.statementMs > 0 ? { query_timeout: t.statementMs + QUERY_TIMEOUT_MARGIN_MS } : {};
  if (where === 'proxy') return client;
  return {
    ...client,
    ...(t.statementMs > 0 && { statement_timeout: t.statementMs }),
    ...(t.lockMs > 0 && { lock_timeout: t.lockMs }),
    ...(t.idleInTransactionMs > 0 && { idle_in_transaction_session_timeout: t.idleInTransactionMs }),
  };
}

/** One cluster's two pools. */
export interface ClusterPools {
  /** Writes (and reads that must see them) go to the writer (the proxy's read/write endpoint). */
  readonly writer: Pool;
  /** Reads go to the reader endpoint (the proxy's read-only endpoint, or the cluster's reader endpoint). */
  readonly reader: Pool;
}

export interface Database extends ClusterPools {
  /**
   * Every cluster's pools, index = cluster number (DB_SHARDS, DB_SHARDING_MODE=clusters); in mode none one,
   * the same pools as `writer` and `reader`. `writer` and `reader` are cluster 0's.
   */
  readonly clusters: readonly ClusterPools[];
  close(): Promise<void>;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The roots a TLS client of this Node trusts by default, as PEM: Mozilla's bundled roots and NODE_EXTRA_CA_CERTS
 * (and the system store under --use-system-ca). Node 22.15+ lists them itself; on Node 20 `tls.rootCertificates`
 * holds only the bundled ones, so the extra file is read here. An unreadable one is skipped, as Node skips it
 * (with a warning at start-up).
 */
function defaultRoots(): string[] {
  const { getCACertificates } = tls as unknown as { getCACertificates?: (type: 'default') => string[] };
  if (getCACertificates) return getCACertificates('default');
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  let extraPem = '';
  try {
    extraPem = extra ? readFileSync(extra, 'utf8') : '';
  } catch {
    // skipped, as Node skips it
  }
  return [...tls.rootCertificates, ...(extraPem.match(PEM_CERTIFICATE) ?? [])];
}

/**
 * What the database connections trust: Node's default roots AND the certificates in `caFile`. One image reaches
 * two kinds of endpoint:
 * - RDS Proxy presents an ACM certificate that chains to Amazon Trust Services (Amazon Root CA 1, Starfield),
 *   roots Node already has; AWS points proxy clients at Amazon Root CA 1, not at the RDS bundle
 *   (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy.howitworks.html#rds-proxy-security.tls);
 * - Aurora's own endpoints present certificates from the RDS CAs, which only the RDS bundle holds
 *   (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html).
 * A bare `ca` replaces the default roots (and fails every handshake with the proxy), so the list given here is
 * both, as Node's docs say to extend them. Built once: tls.connect would otherwise parse the list per connection.
 */
export function databaseTrust(caFile: string): tls.SecureContext {
  if (!caFile) return tls.createSecureContext();
  const bundle = readFileSync(caFile, 'utf8').match(PEM_CERTIFICATE);
  // An empty or truncated download would otherwise leave Aurora unreachable with only a handshake error to go on.
  if (!bundle) throw new Error(`DB_TLS_CA_FILE=${caFile} holds no PEM certificate`);
  return tls.createSecureContext({ ca: [...defaultRoots(), ...bundle] });
}

/** SQLSTATE invalid_password: PostgreSQL refused the password (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
const INVALID_PASSWORD = '28P01';

type ConnectCallback = (err: Error | undefined, client: PoolClient | undefined, done: (release?: boolean | Error) => void) => void;

const logEvent = jsonLog();

/**
 * A pool whose password comes from a secret that rotates while the pool lives. Open connections survive a
 * rotation; new ones must use the new password (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html).
 * So when PostgreSQL refuses a new connection's password, the pool reads the secret again and connects once
 * more: a rotation costs the connection that meets it one extra round trip, not a restart of the task.
 * pg-pool's query() checks clients out through connect(), so queries and explicit checkouts both retry.
 * Nothing ran on a refused connection: connecting again repeats no statement.
 */
class RotatingPasswordPool extends Pool {
  constructor(config: PoolConfig, private readonly secret: RotatingPassword<DatabaseCredentials>, private readonly host: string, private readonly configuredUser: string) {
    // pg calls a function password for every new connection, and only then.
    super({ ...config, password: async () => (await secret.get()).password });
  }

  /**
   * The user new connections log in as: the secret's, which multi-user rotation alternates between `<user>`
   * and `<user>_clone` (pg-pool builds each new client from its options; connections already open keep theirs).
   */
  private useUserOf(credentials: DatabaseCredentials): void {
    (this as unknown as { options: PoolConfig }).options.user = credentials.username ?? this.configuredUser;
  }

  connect(): Promise<PoolClient>;
  connect(callback: ConnectCallback): void;
  connect(callback?: ConnectCallback): Promise<PoolClient> | void {
    const checkout = this.secret.get().then((c) => {
      this.useUserOf(c);
      return super.connect();
    }).catch(async (err: Error & { code?: string }) => {
      if (err.code !== INVALID_PASSWORD) throw err;
      logEvent('db_password_refused', { host: this.host });
      this.useUserOf(await this.secret.refresh());
      return super.connect();
    });
    if (!callback) return checkout;
    checkout.then((client) => callback(undefined, client, client.release), (err: Error) => callback(err, undefined, () => undefined));
  }
}

export interface ConnectOptions {
  /** Bounds on each connection's statements; none when absent (migrations, tools, tests that hold locks). */
  readonly timeouts?: DbTimeouts;
  /**
   * Pool size, use, waiters and acquire time as EMF (metric dimension Pool: writer, reader; in clusters mode
   * writer-<n>, reader-<n> per cluster n, cluster 0 included, so every cluster's series has the same shape).
   */
  readonly metrics?: Metrics;
}

/**
 * Two pools of `poolSize` each per cluster (one cluster in mode none; every cluster of DB_SHARDS in clusters
 * mode): the size the connection budget in cdk.json was checked with, per cluster. A checkout (a new connection
 * included) waits at most DB_CONNECT_TIMEOUT_MS. The password, where there is one, comes from (in this order):
 * - nowhere, with IAM auth (RDS Proxy): each connection signs a token with the task role, for the same user on
 *   every cluster;
 * - the cluster's secret (DB_SHARDS secretArn, else DB_SECRET_ARN), read when a connection opens
 *   (RotatingPassword), so a rotation is picked up;
 * - DB_PASSWORD as given (local runs).
 */
export function connectDatabase(s: Settings['db'], region: string, opts: ConnectOptions = {}): Database {
  // Verification stays full: the chain (rejectUnauthorized) and the host name (tls.checkServerIdentity, which pg
  // gets by passing `host` to tls.connect). pg copies `secureContext` into tls.connect's options unchanged.
  const ssl = s.tls ? { rejectUnauthorized: true, secureContext: databaseTrust(s.caFile) } : false;
  // Mode none (also settings built by hand without `sharding`, as tools and tests do): the one cluster of
  // DB_WRITER_HOST / DB_READER_HOST.
  const sharded = s.sharding?.mode === 'clusters';
  const list = sharded ? s.sharding.clusters : [{ writerHost: s.writerHost, readerHost: s.readerHost, secretArn: undefined, database: undefined }];
  const arns = s.iamAuth ? [] : [...new Set(list.map((c) => c.secretArn ?? s.secretArn).filter((a): a is string => !!a))];
  const secrets = arns.length > 0 ? secretsManagerClient(region) : undefined;
  // One reader per secret: clusters that share a secret share its cache.
  const secretOf = new Map(arns.map((arn) => [arn, new RotatingPassword(secretCredentialsReader(secrets!, arn), {
    onReadError: (err) => logEvent('db_secret_read_failed', { error: err.message }),
  })]));
  const pool = (host: string, database: string, secretArn: string | undefined) => {
    const config: PoolConfig = {
      host, port: s.port, database, user: s.user, ssl,
      max: s.poolSize,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: s.connectTimeoutMs,
      ...(opts.timeouts && timeoutConfig(opts.timeouts, s.sessionTimeouts)),
      // IAM tokens live 15 minutes: sign one per new connection.
      password: s.iamAuth
        ? () => new Signer({ hostname: host, port: s.port, username: s.user, region }).getAuthToken()
        : s.password,
    };
    const secret = secretArn ? secretOf.get(secretArn) : undefined;
    const p = secret ? new RotatingPasswordPool(config, secret, host, s.user) : new Pool(config);
    // An idle connection the server ends (failover, proxy restart, an admin) emits 'error' on the pool;
    // unhandled, it would crash the process. The pool drops that client and opens another when needed.
    p.on('error', (err) => logEvent('db_idle_client_error', { host, error: err.message }));
    return p;
  };
  const clusters: ClusterPools[] = list.map((c) => {
    const database = c.database ?? s.name;
    const secretArn = s.iamAuth ? undefined : c.secretArn ?? s.secretArn;
    const writer = pool(c.writerHost, database, secretArn);
    const reader = c.readerHost === c.writerHost ? writer : pool(c.readerHost, database, secretArn);
    return { writer, reader };
  });
  const named: Record<string, Pool> = {};
  clusters.forEach(({ writer, reader }, n) => {
    const suffix = sharded ? `-${n}` : '';
    named[`writer${suffix}`] = writer;
    if (reader !== writer) named[`reader${suffix}`] = reader;
  });
  const stopSampling = opts.metrics ? measurePools(named, s.poolSize, opts.metrics) : () => undefined;
  return {
    writer: clusters[0].writer,
    reader: clusters[0].reader,
    clusters,
    async close() {
      stopSampling();
      for (const { writer, reader } of clusters) {
        await writer.end();
        if (reader !== writer) await reader.end();
      }
      secrets?.destroy();
    },
  };
}

/**
 * Pool metrics: every checkout's wait (PoolAcquireTime, failed ones included: a checkout timeout is the wait
 * that matters), and each pool's size, connections in use, waiters and use as a % of `poolSize`, sampled every
 * `sampleMs`. pg-pool's query() checks out through connect(), so wrapping connect() times both.
 */
export function measurePools(pools: Record<string, Pool>, poolSize: number, metrics: Metrics, sampleMs = 1000): () => void {
  for (const [name, pool] of Object.entries(pools)) {
    const connect = pool.connect.bind(pool) as (cb: ConnectCallback) => void;
    const timed = (callback?: ConnectCallback): Promise<PoolClient> | void => {
      const start = performance.now();
      const checkout = new Promise<PoolClient>((resolve, reject) => connect((err, client) => {
        metrics.put('PoolAcquireTime', performance.now() - start, { Pool: name });
        if (err || !client) reject(err);
        else resolve(client);
      }));
      if (!callback) return checkout;
      checkout.then((client) => callback(undefined, client, client.release), (err: Error) => callback(err, undefined, () => undefined));
    };
    pool.connect = timed as Pool['connect'];
  }
  const sample = () => {
    for (const [name, pool] of Object.entries(pools)) {
      const inUse = pool.totalCount - pool.idleCount;
      metrics.put('PoolSize', pool.totalCount, { Pool: name });
      metrics.put('PoolInUse', inUse, { Pool: name });
      metrics.put('PoolWaiting', pool.waitingCount, { Pool: name });
      metrics.put('PoolUtilization', (100 * inUse) / poolSize, { Pool: name });
    }
  };
  const timer = setInterval(sample, sampleMs);
  timer.unref();
  return () => clearInterval(timer);
}
