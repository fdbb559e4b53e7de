import { z } from 'zod';

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

export const containerEnvSchema = z.object({
  PORT: described(int(1, 65535).default(8080), 'Port the API listens on.'),
  HOST: described(z.string().default('0.0.0.0'), 'Address the API listens on.'),
  WORKLOAD_PROCESSES: described(int(1, 16).default(1), 'API: Node.js processes per task sharing its port (node:cluster), one per vCPU; each opens its own database pools and cache connection. The worker command runs one process whatever this says.'),
  AWS_REGION: described(z.string().default('us-east-1'), 'Region of the stack: AWS SDK clients and the IAM tokens the workload signs.'),
  DB_WRITER_HOST: described(z.string().min(1), 'Where writes go: the RDS Proxy read/write endpoint when the proxy is on, the cluster (writer) endpoint otherwise.'),
  DB_READER_HOST: described(z.string().min(1), 'Where reads go: the proxy read-only endpoint when the proxy is on, the cluster reader endpoint otherwise.'),
  DB_PORT: described(int(1, 65535).default(5432), 'PostgreSQL port of both hosts.'),
  DB_NAME: described(z.string().min(1), 'Database name.'),
  DB_USERNAME: described(z.string().min(1), 'Database user (database.masterUsername): the user IAM tokens are signed for with DB_IAM_AUTH=true, otherwise the user whose password DB_SECRET_ARN holds. A name, not a credential.'),
  DB_SECRET_ARN: described(z.string().regex(/^arn:[\w-]+:secretsmanager:/, 'a Secrets Manager secret ARN').optional(),
    'Secret (JSON with "password") the workload reads the database password from with the task role whenever it opens a connection: cached for minutes, read again when the database refuses it, so a rotated password is picked up without a restart. Set by the stack where DB_IAM_AUTH=false; never with DB_IAM_AUTH=true or DB_PASSWORD.'),
  DB_PASSWORD: described(z.string().default(''), 'A fixed database password, for local runs only (scripts/services.sh): the stack never sets it, since a value fixed at task start goes stale when the secret rotates (DB_SECRET_ARN instead). Unused with DB_IAM_AUTH=true.'),
  DB_IAM_AUTH: described(bool.default(false), 'Authenticate with an IAM token signed by the task role (RDS Proxy) instead of the password.'),
  DB_TLS: described(bool.default(true), 'TLS to the database (the cluster forces it).'),
  DB_TLS_CA_FILE: described(z.string().default(''), 'CA bundle for TLS to Aurora directly (the proxy\'s certificate chains to a public CA); the image sets it.'),
  DB_POOL_SIZE: described(int(1, 100).default(5), 'Connections per pool, per process: the connection budget in config counts it.'),
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
  QUEUE_URL: described(z.string().url(), 'URL of the jobs queue.'),
  WORKER_CONCURRENCY: described(int(1, 100).default(10), 'Worker: jobs one process runs at once (worker.concurrency); it receives only as many messages as it has free slots, so a message never waits in the task for a slot while its visibility runs.'),
  WORKER_BATCH_SIZE: described(int(1, 10).default(10), 'Worker: most messages per receive (SQS allows 1 to 10); a receive asks for fewer when fewer slots are free.'),
  WORKER_WAIT_SECONDS: described(int(0, 20).default(20), 'Worker: long-poll wait of a receive (s).'),
  WORKER_VISIBILITY_SECONDS: described(int(1, 43200).default(180), 'Worker: the visibility a message gets, extended by this much while its job runs (s); the stack sets the queue\'s visibility timeout.'),
  JOB_CPU_MS: described(int(0, 600_000).default(50), 'Default CPU work of a job when the request does not say (ms).'),
  JOB_IO_MS: described(int(0, 600_000).default(200), 'Default wait on I/O of a job when the request does not say (ms).'),
  METRICS_ENVIRONMENT: described(z.string().min(1).default('local'), 'The `Environment` dimension of the workload\'s own metrics (EMF on stdout, lib/contracts/workload-metrics.ts): the config environment the stack was synthesized for.'),
  METRICS_FLUSH_SECONDS: described(int(0, 60).default(10), 'How often buffered metrics are written as EMF lines (s); 0 writes only when a series holds 100 values or at shutdown.'),
}).superRefine((e, ctx) => {
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
