// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { containerEnvSchema } from '../contracts/container-env';

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
      poolSize: e.DB_POOL_SIZE,
    },
    cache: {
      host: e.CACHE_HOST, port: e.CACHE_PORT, tls: e.CACHE_TLS,
      clusterMode: e.CACHE_CLUSTER_MODE, ttlSeconds: e.CACHE_TTL_SECONDS, keyPrefix: e.CACHE_KEY_PREFIX,
      iam: e.CACHE_IAM_AUTH
        ? { userId: e.CACHE_USER, cacheName: e.CACHE_NAME, serverless: e.CACHE_SERVERLESS, region: e.AWS_REGION }
        : undefined,
    },
    queueUrl: e.QUEUE_URL,
    worker: { concurrency: e.WORKER_CONCURRENCY, batchSize: e.WORKER_BATCH_SIZE, waitSeconds: e.WORKER_WAIT_SECONDS, visibilitySeconds: e.WORKER_VISIBILITY_SECONDS },
    job: { cpuMs: e.JOB_CPU_MS, ioMs: e.JOB_IO_MS },
    metrics: { environment: e.METRICS_ENVIRONMENT, flushMs: e.METRICS_FLUSH_SECONDS * 1000 },
  };
}
