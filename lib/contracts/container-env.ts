import { z } from 'zod';
import { LOGICAL_SHARD_COUNTS, SHARDING_MODES, shardClustersSchema } from './sharding';

/**
 * The application container's environment: what the Compute stack sets (lib/constructs/data-access.ts takes
 * its names from here) and what the workload parses once at start (workload/src/settings.ts), so a rename
 * or a new required variable fails the type-check on both sides. scripts/services.sh sets the local
 * equivalents.
 *
 * The workload imports this file through the symlink workload/contracts -> ../lib/contracts, because its
 * image is built with workload/ as the Docker build context; lib/constructs/app-task.ts stages the asset with
 * symlinks to outside followed, so the file is in the context as a copy. Hence: zod only, no aws-cdk-lib.
 */
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const described = <T extends z.ZodType>(schema: T, description: string) => schema.meta({ description });

/**
 * The PostgreSQL timeouts every API connection gets (ms): sent by the workload at connection start where it
 * connects directly (DB_SESSION_TIMEOUTS=startup), set by RDS Proxy's initialization query on its own
 * connections where the proxy is on (DB_SESSION_TIMEOUTS=proxy, lib/constructs/aurora-database.ts): one source
 * for both.
 */
export const DB_SESSION_TIMEOUT_DEFAULTS = { statementMs: 5000, lockMs: 3000, idleInTransactionMs: 10_000 } as const;

/**
 * RDS Proxy's initialization query: the same timeouts as SET statements, run by the proxy on each database
 * connection it opens, so no client session runs a SET (which would pin it). Several statements are separated
 * by semicolons (AWS::RDS::DBProxyTargetGroup ConnectionPoolConfigurationInfoFormat, InitQuery).
 */
export const PROXY_INIT_QUERY = [
  `SET statement_timeout = ${DB_SESSION_TIMEOUT_DEFAULTS.statementMs}`,
  `SET lock_timeout = ${DB_SESSION_TIMEOUT_DEFAULTS.lockMs}`,
  `SET idle_in_transaction_session_timeout = ${DB_SESSION_TIMEOUT_DEFAULTS.idleInTransactionMs}`,
].join('; ');

export const containerEnvSchema = z.object({
  PORT: described(int(1, 65535).default(8080), 'Port the API listens on.'),
  HOST: described(z.string().default('0.0.0.0'), 'Address the API listens on.'),
  WORKLOAD_PROCESSES: described(int(1, 16).default(1), 'API: Node.js processes per task sharing its port (node:cluster), one per vCPU; each opens its own database pools and cache connection. The worker command runs one process whatever this says.'),
  AWS_REGION: described(z.string().default('us-east-1'), 'Region of the stack: AWS SDK clients and the IAM tokens the workload signs.'),
  DB_WRITER_HOST: described(z.string().min(1), 'Where writes go: the RDS Proxy read/write endpoint when the proxy is on, the cluster (writer) endpoint otherwise.'),
  DB_READER_HOST: described(z.string().min(1), 'Where reads go: the proxy read-only endpoint when the proxy is on, the cluster reader endpoint otherwise.'),
  DB_PORT: described(int(1, 65535).default(5432), 'PostgreSQL port of both hosts.'),
  DB_NAME: described(z.string().min(1), 'Database name.'),
  DB_USERNAME: described(z.string().min(1), 'Database user: the service\'s own (lib/contracts/database-roles.ts), never the master user; the user IAM tokens are signed for with DB_IAM_AUTH=true. With DB_SECRET_ARN the secret\'s `username` wins: multi-user rotation alternates it between this user and <user>_clone. A name, not a credential.'),
  DB_SECRET_ARN: described(z.string().regex(/^arn:[\w-]+:secretsmanager:/, 'a Secrets Manager secret ARN').optional(),
    'Secret (JSON with "password") the workload reads the database password from with the task role whenever it opens a connection: cached for minutes, read again when the database refuses it, so a rotated password is picked up without a restart. Set by the stack where DB_IAM_AUTH=false; never with DB_IAM_AUTH=true or DB_PASSWORD.'),
  DB_PASSWORD: described(z.string().default(''), 'A fixed database password, for local runs only (scripts/services.sh): the stack never sets it, since a value fixed at task start goes stale when the secret rotates (DB_SECRET_ARN instead). Unused with DB_IAM_AUTH=true.'),
  DB_IAM_AUTH: described(bool.default(false), 'Authenticate with an IAM token signed by the task role (RDS Proxy) instead of the password.'),
  DB_TLS: described(bool.default(true), 'TLS to the database (the cluster forces it).'),
  DB_TLS_CA_FILE: described(z.string().default(''), 'CA bundle for TLS to Aurora directly (the proxy\'s certificate chains to a public CA); the image sets it.'),
  DB_MIGRATE_ON_START: described(bool.default(true), 'Apply the schema migrations (workload/src/migrations.ts) before serving, as the connected user: local runs and tests. The stack sets false: its migration custom resource (lambda/db-migrate) applies them, and the services\' roles and grants, with the master secret before the services deploy; the services\' users may not run DDL.'),
  DB_SHARDING_MODE: described(z.enum(SHARDING_MODES).default('none'), 'database.sharding.mode: `none` (one cluster: DB_WRITER_HOST / DB_READER_HOST), `clusters` (DB_SHARDS, routed by shard key through the directory, lib/contracts/sharding.ts) or `limitless` (one Aurora Limitless endpoint; the database shards the tables itself).'),
  DB_SHARDS: described(z.string().optional(), 'With DB_SHARDING_MODE=clusters: the clusters as a JSON array of {writerHost, readerHost, secretArn?} (lib/contracts/sharding.ts, shardClustersSchema), index = cluster number, cluster 0 the one of DB_WRITER_HOST. Each entry\'s secret is the service\'s own user on that cluster (DB_IAM_AUTH=false).'),
  DB_LOGICAL_SHARDS: described(int(1, 4096).default(1), 'Logical shards (database.sharding.logicalShards): a shard key hashes to one of them, the directory maps each to a cluster; fixed once data is written (item ids carry theirs). 1 with DB_SHARDING_MODE=none.'),
  DB_POOL_SIZE: described(int(1, 100).default(5), 'Connections per pool, per process: the connection budget in config counts it. With DB_SHARDING_MODE=clusters every cluster gets its own writer and reader pool of this size (the budget is per cluster).'),
  DB_SHARD_MOVE_WAIT_MS: described(int(100, 60_000).default(5000), 'DB_SHARDING_MODE=clusters: how long a request waits for a logical shard a move has frozen (ms), re-reading the directory and retrying on its new cluster; past it the answer is 503 with Retry-After. Below HTTP_HANDLER_TIMEOUT_MS.'),
  DB_SHARD_QUERY_TIMEOUT_MS: described(int(100, 60_000).default(2000), 'Cross-shard list queries (GET /items): how long each cluster\'s query of the scatter-gather may take (ms); a cluster slower than that (or down) makes the list a 503 with Retry-After.'),
  DB_DIRECTORY_REFRESH_SECONDS: described(int(1, 3600).default(30), 'DB_SHARDING_MODE=clusters: how often a process reads the shard directory again (s), besides at once when a cluster says it no longer holds a shard.'),
  CACHE_HOST: described(z.string().min(1), 'Primary (or configuration) endpoint of the cache.'),
  CACHE_READER_HOST: described(z.string().optional(), 'Reader endpoint of a replication group without cluster mode; set by the stack, not read by the reference workload.'),
  CACHE_PORT: described(int(1, 65535).default(6379), 'Cache port.'),
  CACHE_TLS: described(bool.default(true), 'TLS to the cache (in-transit encryption is required).'),
  CACHE_CLUSTER_MODE: described(bool.default(false), 'Connect as a Redis Cluster client (sharded replication group or serverless cache).'),
  CACHE_IAM_AUTH: described(bool.default(false), 'AUTH as CACHE_USER with an IAM token signed for CACHE_NAME. Off: no AUTH (the local Redis).'),
  CACHE_USER: described(z.string().default(''), 'Cache user id (required with CACHE_IAM_AUTH=true).'),
  CACHE_NAME: described(z.string().default(''), 'Replication group id or serverless cache name the IAM token is signed for (required with CACHE_IAM_AUTH=true).'),
  CACHE_SERVERLESS: described(bool.default(false), 'CACHE_NAME is a serverless cache: the token\'s signed request differs.'),
  CACHE_TTL_SECONDS: described(int(0, 86400).default(300), 'How long an item stays cached (s); 0 turns the cache off.'),
  CACHE_KEY_PREFIX: described(z.string().default(''), 'Prefix of every cache key.'),
  CACHE_COMMAND_TIMEOUT_MS: described(int(10, 10_000).default(250), 'Longest wait for one cache command (ms): past it the request goes on without the cache (fails open) and the failure counts towards the breaker.'),
  CACHE_BREAKER_FAILURES: described(int(1, 1000).default(5), 'Consecutive cache failures (errors or timeouts) that open the breaker: while open, requests skip the cache (no waits) and read the database.'),
  CACHE_BREAKER_OPEN_MS: described(int(10, 600_000).default(5000), 'How long the breaker stays open before one probe (a request\'s command, or PING when none comes) tries the cache again (ms).'),
  CACHE_TTL_JITTER_PERCENT: described(int(0, 50).default(10), 'Each entry\'s TTL is shortened by a random 0 to this % so that entries filled together do not expire together.'),
  CACHE_NEGATIVE_TTL_SECONDS: described(int(0, 3600).default(5), 'How long a "no such item" (404) stays cached (s); 0 caches no 404.'),
  CACHE_READ_YOUR_WRITES_SECONDS: described(int(0, 3600).default(5), 'After POST /items the client gets a cookie that, for this long (s), sends its item reads to the writer past the cache and the replicas; 0: no cookie.'),
  QUEUE_URL: described(z.string().url(), 'URL of the jobs queue.'),
  WORKER_CONCURRENCY: described(int(1, 100).default(10), 'Worker: jobs one process runs at once (worker.concurrency); it receives only as many messages as it has free slots, so a message never waits in the task for a slot while its visibility runs.'),
  WORKER_BATCH_SIZE: described(int(1, 10).default(10), 'Worker: most messages per receive (SQS allows 1 to 10); a receive asks for fewer when fewer slots are free.'),
  WORKER_WAIT_SECONDS: described(int(0, 20).default(20), 'Worker: long-poll wait of a receive (s).'),
  WORKER_VISIBILITY_SECONDS: described(int(1, 43200).default(180), 'Worker: the visibility a message gets, extended by this much while its job runs (s); the stack sets the queue\'s visibility timeout.'),
  WORKER_RETRY_BASE_SECONDS: described(int(0, 43200).default(2), 'Worker: a failed job\'s message comes back after this long (s), doubling per receive (ChangeMessageVisibility), up to WORKER_VISIBILITY_SECONDS.'),
  WORKER_LIVENESS_PORT: described(int(0, 65535).default(0), 'Worker: a port on 127.0.0.1 that answers 200 while the worker\'s loop makes progress and 503 once it has stalled; the container health check asks it. 0: none.'),
  JOB_CPU_MS: described(int(0, 600_000).default(50), 'API: CPU work of a job (ms), from worker.jobCpuMs; a request may set it only with JOB_COST_FROM_REQUEST=true.'),
  JOB_IO_MS: described(int(0, 600_000).default(200), 'API: wait on I/O of a job (ms), from worker.jobIoMs; a request may set it only with JOB_COST_FROM_REQUEST=true.'),
  JOB_COST_FROM_REQUEST: described(bool.default(false), 'API: let POST /jobs set cpuMs and ioMs (worker.jobCostFromRequest, for load tests of the worker; refused in production). Off: a request that sets them gets 400.'),
  JOB_MAX_MS: described(int(0, 600_000).default(60_000), 'The longest job (cpuMs + ioMs, ms): the API refuses more with 400, the worker runs no job longer; the stack sets it below worker.stopTimeoutSeconds.'),
  JOB_STUCK_AFTER_SECONDS: described(int(1, 1_209_600).default(900), 'API: a job \'queued\' or \'running\' with no change for this long (s) and nothing in the outbox is stuck: the sweeper sends it again, or marks it \'failed\' after JOB_MAX_ENQUEUES sends.'),
  JOB_MAX_ENQUEUES: described(int(1, 100).default(3), 'API: how many times in all a job\'s message is sent (the first included) before the sweeper marks it \'failed\'.'),
  JOB_SWEEP_INTERVAL_SECONDS: described(int(1, 3600).default(60), 'API: how often each API process looks for stuck jobs and expired idempotency keys (s).'),
  OUTBOX_POLL_MS: described(int(10, 60_000).default(1000), 'API: how often the relay looks for outbox rows it did not hear of (another process\'s, or due for a retry) (ms); rows this process writes are sent at once.'),
  OUTBOX_LEASE_SECONDS: described(int(5, 3600).default(30), 'API: how long a relay owns the outbox rows it is sending (s); another relay sends them after this if it died. Above one send\'s bound (2 attempts × 3 s).'),
  IDEMPOTENCY_TTL_SECONDS: described(int(60, 2_592_000).default(86_400), 'API: how long an Idempotency-Key and its response are kept (s); a retry after this runs again.'),
  HTTP_BODY_LIMIT_BYTES: described(int(1024, 10 * 1024 * 1024).default(64 * 1024), 'API: largest request body (bytes); a larger one gets 413 before it is parsed.'),
  HTTP_JSON_MAX_DEPTH: described(int(1, 1000).default(32), 'API: deepest nesting of objects and arrays in a JSON body; deeper gets 400 (a value nested thousands deep would overflow the stack when serialised back).'),
  HTTP_REQUEST_TIMEOUT_MS: described(int(1000, 600_000).default(10_000), 'API: longest time to receive a whole request, headers and body (ms); a slower client gets 408 and its connection closed.'),
  HTTP_HANDLER_TIMEOUT_MS: described(int(100, 600_000).default(15_000), 'API: longest time from a request received to its response (ms); past it the answer is 503 with Retry-After. Below the load balancer\'s idle timeout.'),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: described(int(1000, 4_100_000).default(65_000), 'API: how long an idle kept-alive connection stays open (ms). Above the load balancer\'s idle timeout (alb.idleTimeoutSeconds, 60 s by default), so the load balancer, not the task, closes idle connections; the stack sets it from alb.idleTimeoutSeconds.'),
  HTTP_MAX_IN_FLIGHT: described(int(1, 100_000).default(256), 'API: requests one process works on at once; beyond it a request gets 503 with Retry-After at once (load shedding, metric LoadShed). /healthz is never shed.'),
  HTTP_RETRY_AFTER_SECONDS: described(int(1, 3600).default(1), 'API: the Retry-After of a 503 (dependency unavailable, shed, timed out).'),
  HTTP_READYZ_CACHE_MS: described(int(0, 60_000).default(1000), 'API: how long a /readyz result is reused (ms): callers within it share one check, so /readyz costs the database and cache at most one check per process per period.'),
  RATE_LIMIT_PER_SECOND: described(int(0, 1_000_000).default(0), 'API: requests per second one client may make to one process (token bucket; 429 with Retry-After beyond it, metric LoadShed); 0 turns the limit off.'),
  RATE_LIMIT_BURST: described(int(1, 1_000_000).default(50), 'API: requests a client may make at once above its rate (the bucket\'s size).'),
  RATE_LIMIT_TRUSTED_PROXIES: described(z.string().default(''), 'API: comma-separated CIDRs of the load balancer (e.g. the VPC\'s): a connection from one of them is the ALB\'s, and its client is the right-most X-Forwarded-For address (the one the ALB appended). From anywhere else X-Forwarded-For is ignored and the client is the peer address. "" trusts no one.'),
  RATE_LIMIT_MAX_CLIENTS: described(int(100, 10_000_000).default(10_000), 'API: clients whose buckets one process keeps; the least recently seen is forgotten beyond it, so memory stays bounded.'),
  DB_STATEMENT_TIMEOUT_MS: described(int(0, 3_600_000).default(DB_SESSION_TIMEOUT_DEFAULTS.statementMs), 'API: PostgreSQL statement_timeout of each connection (ms; 0: none). The client also gives up on a reply 1 s after it (pg query_timeout), which bounds a server that stopped answering. The worker uses WORKER_VISIBILITY_SECONDS instead.'),
  DB_LOCK_TIMEOUT_MS: described(int(0, 3_600_000).default(DB_SESSION_TIMEOUT_DEFAULTS.lockMs), 'API: PostgreSQL lock_timeout of each connection (ms; 0: none): a locked table fails the statement fast (503) instead of holding a connection.'),
  DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: described(int(0, 3_600_000).default(DB_SESSION_TIMEOUT_DEFAULTS.idleInTransactionMs), 'PostgreSQL idle_in_transaction_session_timeout of each connection (ms; 0: none): a transaction left open by a stuck process ends instead of holding its locks.'),
  DB_CONNECT_TIMEOUT_MS: described(int(100, 60_000).default(3000), 'Longest wait for a connection from the pool, a new connection included (ms); past it the request gets 503.'),
  DB_SESSION_TIMEOUTS: described(z.enum(['startup', 'proxy']).default('startup'), 'Where the PostgreSQL timeouts are set: `startup` sends them as parameters of each connection\'s startup message (direct connections); `proxy` sends none, since RDS Proxy refuses startup options and a SET would pin the session: the proxy\'s initialization query sets them (the stack sets `proxy` where the proxy is on).'),
  SHUTDOWN_TIMEOUT_MS: described(int(1000, 120_000).default(25_000), 'After SIGTERM, how long a process may drain (finish requests or jobs in flight) before it exits anyway (ms): below the container\'s stop timeout (30 s for the API), so the process ends on its own terms, not by SIGKILL.'),
  METRICS_ENVIRONMENT: described(z.string().min(1).default('local'), 'The `Environment` dimension of the workload\'s own metrics (EMF on stdout, lib/contracts/workload-metrics.ts): the config environment the stack was synthesized for.'),
  METRICS_SERVICE: described(z.string().regex(/^[a-z][a-z0-9-]{0,23}$|^$/).default(''), 'The `Service` dimension of the workload\'s own metrics: the HTTP service\'s name in config ("api", or a `services` entry\'s name, so that two services running the same image report apart); "" uses the command (api or worker).'),
  METRICS_FLUSH_SECONDS: described(int(0, 60).default(10), 'How often buffered metrics are written as EMF lines (s); 0 writes only when a series holds 100 values or at shutdown.'),
}).superRefine((e, ctx) => {
  for (const cidr of e.RATE_LIMIT_TRUSTED_PROXIES.split(',').map((c) => c.trim()).filter(Boolean)) {
    const [address, prefix] = cidr.split('/');
    const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(address ?? '');
    const v6 = !v4 && /^[0-9a-fA-F:]+$/.test(address ?? '') && address.includes(':');
    const bits = Number(prefix);
    if (!(v4 || v6) || prefix === undefined || !Number.isInteger(bits) || bits < 0 || bits > (v4 ? 32 : 128)) {
      ctx.addIssue({ code: 'custom', path: ['RATE_LIMIT_TRUSTED_PROXIES'], message: `"${cidr}" is not a CIDR (e.g. 10.0.0.0/16)` });
    }
  }
  if (e.DB_SHARDING_MODE === 'clusters') {
    if (e.DB_SHARDS === undefined) ctx.addIssue({ code: 'custom', path: ['DB_SHARDS'], message: 'required when DB_SHARDING_MODE=clusters' });
    else {
      let parsed: unknown;
      try { parsed = JSON.parse(e.DB_SHARDS); } catch { parsed = undefined; }
      const clusters = shardClustersSchema.safeParse(parsed);
      if (!clusters.success) ctx.addIssue({ code: 'custom', path: ['DB_SHARDS'], message: `not a JSON array of {writerHost, readerHost, secretArn?}: ${clusters.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}` });
    }
    if (!(LOGICAL_SHARD_COUNTS as readonly number[]).includes(e.DB_LOGICAL_SHARDS)) {
      ctx.addIssue({ code: 'custom', path: ['DB_LOGICAL_SHARDS'], message: `${e.DB_LOGICAL_SHARDS} is not one of ${LOGICAL_SHARD_COUNTS.join(', ')}` });
    }
  } else if (e.DB_SHARDS !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['DB_SHARDS'], message: `set with DB_SHARDING_MODE=${e.DB_SHARDING_MODE}: only clusters mode routes over several clusters` });
  }
  if (e.DB_SECRET_ARN !== undefined && e.DB_IAM_AUTH) {
    ctx.addIssue({ code: 'custom', path: ['DB_SECRET_ARN'], message: 'unused with DB_IAM_AUTH=true (tokens replace the password): do not give the task the password' });
  }
  if (e.DB_SECRET_ARN !== undefined && e.DB_PASSWORD !== '') {
    ctx.addIssue({ code: 'custom', path: ['DB_PASSWORD'], message: 'set together with DB_SECRET_ARN: the password comes from one of them, unset DB_PASSWORD' });
  }
  for (const key of ['CACHE_USER', 'CACHE_NAME'] as const) {
    if (e.CACHE_IAM_AUTH && !e[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required when CACHE_IAM_AUTH=true' });
  }
});

/** A variable's name. */
export type ContainerEnvName = keyof z.input<typeof containerEnvSchema>;
/** The environment as parsed: numbers, booleans, defaults filled in. */
export type ContainerEnv = z.infer<typeof containerEnvSchema>;
/** Every name, in the schema's order. */
export const CONTAINER_ENV_NAMES = containerEnvSchema.keyof().options;

/** Where the reference worker answers its liveness check, on 127.0.0.1 only (the stack sets WORKER_LIVENESS_PORT to it). */
export const WORKER_LIVENESS_PORT = 8081;
/**
 * The reference worker's container health check (CMD-SHELL): busybox wget, which its node:22-alpine image has,
 * asks the liveness port; a 503 (the loop stalled) or no answer within 3 s (the event loop blocked) fails it.
 */
export const WORKER_HEALTH_CHECK_COMMAND = `wget -q -T 3 -O /dev/null http://127.0.0.1:${WORKER_LIVENESS_PORT}/ || exit 1`;

/**
 * The API's HTTP timeouts for a load balancer whose idle timeout is `albIdleTimeoutSeconds`: keep-alive above it
 * (AWS recommends the target's idle timeout be larger than the load balancer's, otherwise the load balancer may
 * send a request on a connection the target is closing and answer 502:
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-load-balancer-attributes.html#connection-idle-timeout),
 * and the handler's bound below it (else the load balancer answers 504 before the API's own 503).
 */
export function apiTimeoutsForAlb(albIdleTimeoutSeconds: number): { HTTP_KEEP_ALIVE_TIMEOUT_MS: string; HTTP_HANDLER_TIMEOUT_MS: string } {
  return {
    HTTP_KEEP_ALIVE_TIMEOUT_MS: String((albIdleTimeoutSeconds + 5) * 1000),
    HTTP_HANDLER_TIMEOUT_MS: String(Math.max(100, Math.min(15_000, albIdleTimeoutSeconds * 1000 - 1000))),
  };
}

/** A process's drain deadline for a container ECS kills `stopTimeoutSeconds` after SIGTERM: 5 s before it. */
export const shutdownTimeoutFor = (stopTimeoutSeconds: number): string => String(Math.max(1000, (stopTimeoutSeconds - 5) * 1000));
