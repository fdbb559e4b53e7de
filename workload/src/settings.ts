import { z } from 'zod';

/**
 * Everything the workload reads from its environment, validated once at start. The Compute stack sets
 * these (lib/constructs/data-access.ts); scripts/services.sh sets the local equivalents.
 */
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const envSchema = z.object({
  PORT: int(1, 65535).default(8080),
  HOST: z.string().default('0.0.0.0'),
  AWS_REGION: z.string().default('us-east-1'),
  DB_WRITER_HOST: z.string().min(1),
  DB_READER_HOST: z.string().min(1),
  DB_PORT: int(1, 65535).default(5432),
  DB_NAME: z.string().min(1),
  DB_USERNAME: z.string().min(1),
  DB_PASSWORD: z.string().default(''),
  /** Authenticate with an IAM token (RDS Proxy) instead of the password. */
  DB_IAM_AUTH: bool.default(false),
  DB_TLS: bool.default(true),
  /** CA bundle for TLS to Aurora directly (the proxy's certificate chains to a public CA). */
  DB_TLS_CA_FILE: z.string().default(''),
  DB_POOL_SIZE: int(1, 100).default(5),
  CACHE_HOST: z.string().min(1),
  CACHE_PORT: int(1, 65535).default(6379),
  CACHE_TLS: bool.default(true),
  CACHE_CLUSTER_MODE: bool.default(false),
  /**
   * Authenticate to ElastiCache as CACHE_USER with an IAM token signed for CACHE_NAME (the replication group
   * id or serverless cache name; CACHE_SERVERLESS=true for the latter). Off: no AUTH (the local Redis).
   */
  CACHE_IAM_AUTH: bool.default(false),
  CACHE_USER: z.string().default(''),
  CACHE_NAME: z.string().default(''),
  CACHE_SERVERLESS: bool.default(false),
  /** How long an item stays cached (s); 0 turns the cache off. */
  CACHE_TTL_SECONDS: int(0, 86400).default(300),
  CACHE_KEY_PREFIX: z.string().default(''),
  QUEUE_URL: z.string().url(),
  /** Worker: messages per receive (SQS allows 1 to 10) and long-poll wait (s). */
  WORKER_BATCH_SIZE: int(1, 10).default(10),
  WORKER_WAIT_SECONDS: int(0, 20).default(20),
  /** Worker: the visibility a message gets, extended while its job runs (s). */
  WORKER_VISIBILITY_SECONDS: int(1, 43200).default(180),
  /** Default work of a job when the request does not say (ms of CPU, ms of waiting on I/O). */
  JOB_CPU_MS: int(0, 600_000).default(50),
  JOB_IO_MS: int(0, 600_000).default(200),
});

export type Settings = ReturnType<typeof readSettings>;

export function readSettings(env: NodeJS.ProcessEnv = process.env) {
  const parsed = envSchema.superRefine((e, ctx) => {
    for (const key of ['CACHE_USER', 'CACHE_NAME'] as const) {
      if (e.CACHE_IAM_AUTH && !e[key]) ctx.addIssue({ code: 'custom', path: [key], message: 'required when CACHE_IAM_AUTH=true' });
    }
  }).safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid environment:\n  ${problems.join('\n  ')}`);
  }
  const e = parsed.data;
  return {
    port: e.PORT,
    host: e.HOST,
    region: e.AWS_REGION,
    db: {
      writerHost: e.DB_WRITER_HOST, readerHost: e.DB_READER_HOST, port: e.DB_PORT, name: e.DB_NAME,
      user: e.DB_USERNAME, password: e.DB_PASSWORD, iamAuth: e.DB_IAM_AUTH, tls: e.DB_TLS, caFile: e.DB_TLS_CA_FILE,
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
    worker: { batchSize: e.WORKER_BATCH_SIZE, waitSeconds: e.WORKER_WAIT_SECONDS, visibilitySeconds: e.WORKER_VISIBILITY_SECONDS },
    job: { cpuMs: e.JOB_CPU_MS, ioMs: e.JOB_IO_MS },
  };
}
