// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { containerEnvSchema } from '../contracts/container-env';
import { shardClustersSchema, type ShardCluster } from '../contracts/sharding';

export type Settings = ReturnType<typeof readSettings>;

/**
 * Everything the workload reads from its environment, validated once at start against the contract the
 * Compute stack sets it by (lib/contracts/container-env.ts), grouped the way the modules use it.
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env) {
  const parsed = containerEnvSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    processes: e.WORKLOAD_PROCESSES,
    region: e.AWS_REGION,
    db: {
      writerHost: e.DB_WRITER_HOST, readerHost: e.DB_READER_HOST, port: e.DB_PORT, name: e.DB_NAME,
      user: e.DB_USERNAME, password: e.DB_PASSWORD, secretArn: e.DB_SECRET_ARN, iamAuth: e.DB_IAM_AUTH, tls: e.DB_TLS, caFile: e.DB_TLS_CA_FILE,
      poolSize: e.DB_POOL_SIZE, migrateOnStart: e.DB_MIGRATE_ON_START, connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS, sessionTimeouts: e.DB_SESSION_TIMEOUTS,
      timeouts: { statementMs: e.DB_STATEMENT_TIMEOUT_MS, lockMs: e.DB_LOCK_TIMEOUT_MS, idleInTransactionMs: e.DB_IDLE_IN_TRANSACTION_TIMEOUT_MS },
      sharding: {
        mode: e.DB_SHARDING_MODE,
        // The schema checked DB_SHARDS in clusters mode; in mode none the one cluster is DB_WRITER_HOST / DB_READER_HOST.
        clusters: e.DB_SHARDING_MODE === 'clusters'
          ? shardClustersSchema.parse(JSON.parse(e.DB_SHARDS!))
          : [{ writerHost: e.DB_WRITER_HOST, readerHost: e.DB_READER_HOST }] as ShardCluster[],
        // Limitless too: the values of the shard key `logical_shard` that Limitless hashes (./router.ts).
        logicalShards: e.DB_SHARDING_MODE === 'none' ? 1 : e.DB_LOGICAL_SHARDS,
        moveWaitMs: e.DB_SHARD_MOVE_WAIT_MS, queryTimeoutMs: e.DB_SHARD_QUERY_TIMEOUT_MS, refreshMs: e.DB_DIRECTORY_REFRESH_SECONDS * 1000,
      },
    },
    http: {
      bodyLimitBytes: e.HTTP_BODY_LIMIT_BYTES, jsonMaxDepth: e.HTTP_JSON_MAX_DEPTH, requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      handlerTimeoutMs: e.HTTP_HANDLER_TIMEOUT_MS, keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS, maxInFlight: e.HTTP_MAX_IN_FLIGHT,
      retryAfterSeconds: e.HTTP_RETRY_AFTER_SECONDS, readyzCacheMs: e.HTTP_READYZ_CACHE_MS,
      rateLimit: {
        perSecond: e.RATE_LIMIT_PER_SECOND, burst: e.RATE_LIMIT_BURST, maxClients: e.RATE_LIMIT_MAX_CLIENTS,
        trustedProxies: e.RATE_LIMIT_TRUSTED_PROXIES.split(',').map((c) => c.trim()).filter(Boolean),
      },
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    cache: {
      host: e.CACHE_HOST, port: e.CACHE_PORT, tls: e.CACHE_TLS,
      clusterMode: e.CACHE_CLUSTER_MODE, ttlSeconds: e.CACHE_TTL_SECONDS, keyPrefix: e.CACHE_KEY_PREFIX,
      commandTimeoutMs: e.CACHE_COMMAND_TIMEOUT_MS, breakerFailures: e.CACHE_BREAKER_FAILURES, breakerOpenMs: e.CACHE_BREAKER_OPEN_MS,
      ttlJitterPercent: e.CACHE_TTL_JITTER_PERCENT, negativeTtlSeconds: e.CACHE_NEGATIVE_TTL_SECONDS, readYourWritesSeconds: e.CACHE_READ_YOUR_WRITES_SECONDS,
      iam: e.CACHE_IAM_AUTH
        ? { userId: e.CACHE_USER, cacheName: e.CACHE_NAME, serverless: e.CACHE_SERVERLESS, region: e.AWS_REGION }
        : undefined,
    },
    queueUrl: e.QUEUE_URL,
    worker: {
      concurrency: e.WORKER_CONCURRENCY, batchSize: e.WORKER_BATCH_SIZE, waitSeconds: e.WORKER_WAIT_SECONDS, visibilitySeconds: e.WORKER_VISIBILITY_SECONDS,
      retryBaseSeconds: e.WORKER_RETRY_BASE_SECONDS, livenessPort: e.WORKER_LIVENESS_PORT,
    },
    job: {
      cpuMs: e.JOB_CPU_MS, ioMs: e.JOB_IO_MS, costFromRequest: e.JOB_COST_FROM_REQUEST, maxMs: e.JOB_MAX_MS,
      stuckAfterSeconds: e.JOB_STUCK_AFTER_SECONDS, maxEnqueues: e.JOB_MAX_ENQUEUES, sweepIntervalMs: e.JOB_SWEEP_INTERVAL_SECONDS * 1000,
    },
    outbox: { pollMs: e.OUTBOX_POLL_MS, leaseSeconds: e.OUTBOX_LEASE_SECONDS },
    idempotency: { ttlSeconds: e.IDEMPOTENCY_TTL_SECONDS },
    metrics: { environment: e.METRICS_ENVIRONMENT, service: e.METRICS_SERVICE, flushMs: e.METRICS_FLUSH_SECONDS * 1000 },
  };
}
