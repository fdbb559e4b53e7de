import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Pool, type PoolConfig } from 'pg';
import { z } from 'zod';
import { reshardEventSchema, runAction, type ReshardResponse } from './action';

/**
 * The re-shard function (`clusters` mode): `npm run reshard -- --env <env> status|plan|move` invokes it, since
 * the clusters are reachable only from inside the VPC. One invocation, one action (./action.ts); a move runs
 * to its end within the invocation (Lambda's limit is 15 minutes: the grace period and one shard's copy must
 * fit), and a move cut short is finished by the next (workload/src/reshard.ts converges from any step).
 *
 * Environment (the stack sets it; parsed by reshardEnvSchema, a bad one fails every invocation by name):
 *   RESHARD_CLUSTERS       JSON array, one entry per cluster in DB_SHARDS order (index = cluster number):
 *                          [{ "host": writer endpoint, "port"?: 5432, "secretArn": the cluster's master secret,
 *                             "database"?: its database when it differs from RESHARD_DATABASE }]
 *                          The master user: it owns the tables (the services' roles may not UPDATE
 *                          shard_ownership or DELETE items) and reaches the writer directly, not through RDS
 *                          Proxy, whose initialization query bounds statements to 5 s.
 *   RESHARD_DATABASE       the database name on every cluster (the stack's database.name)
 *   RESHARD_GRACE_SECONDS  how long a moved shard's old copy stays for readers still routed to it (default 60)
 * The function needs secretsmanager:GetSecretValue on each secret (and KMS decrypt of its key), a network
 * path to each writer on its port, and NODE_EXTRA_CA_CERTS with the RDS CA bundle.
 */
export const reshardEnvSchema = z.object({
  RESHARD_CLUSTERS: z.string().transform((s, ctx) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      ctx.addIssue({ code: 'custom', message: 'not JSON' });
      return z.NEVER;
    }
  }).pipe(z.array(z.strictObject({
    host: z.string().min(1),
    port: z.number().int().positive().default(5432),
    database: z.string().min(1).optional(),
    secretArn: z.string().regex(/^arn:[\w-]+:secretsmanager:/, 'a Secrets Manager secret ARN'),
  })).min(1)),
  RESHARD_DATABASE: z.string().min(1),
  RESHARD_GRACE_SECONDS: z.coerce.number().min(0).max(600).default(60),
});
export type ReshardEnv = z.infer<typeof reshardEnvSchema>;

export interface HandlerDeps {
  readonly env: Record<string, string | undefined>;
  /** A cluster's master user and password, from its secret. */
  readonly credentials: (secretArn: string) => Promise<{ username: string; password: string }>;
  /** @default - TLS verified against the runtime's trust (NODE_EXTRA_CA_CERTS holds the RDS CA bundle) */
  readonly ssl?: PoolConfig['ssl'];
}

/** The handler's work with its dependencies given (the tests give local ones). */
export async function handle(rawEvent: unknown, deps: HandlerDeps): Promise<ReshardResponse> {
  const env = reshardEnvSchema.safeParse(deps.env);
  if (!env.success) {
    throw new Error(`the function's environment is not what the stack sets: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const event = reshardEventSchema.safeParse(rawEvent);
  if (!event.success) {
    throw new Error(`not a re-shard event (${event.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}): send {"action":"status"|"plan"} or {"action":"move","shard":N,"to":C}`);
  }
  const { RESHARD_CLUSTERS: clusters, RESHARD_DATABASE: database, RESHARD_GRACE_SECONDS: graceSeconds } = env.data;
  const pools = await Promise.all(clusters.map(async (c) => {
    const { username, password } = await deps.credentials(c.secretArn);
    const pool = new Pool({
      host: c.host, port: c.port, database: c.database ?? database, user: username, password, max: 4, connectionTimeoutMillis: 10_000,
      // Aurora's certificate chains to an RDS CA (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html).
      ssl: deps.ssl ?? { rejectUnauthorized: true },
    });
    // An idle connection the server ends emits 'error' on the pool; the action sees its own errors.
    pool.on('error', () => undefined);
    return pool;
  }));
  try {
    return await runAction(event.data, pools, {
      graceMs: graceSeconds * 1000,
      onStep: (step, detail) => console.log(JSON.stringify({ message: 'reshard step', step, ...detail })),
    });
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

const secrets = new SecretsManagerClient({});

export async function handler(event: unknown): Promise<ReshardResponse> {
  return handle(event, {
    env: process.env,
    async credentials(secretArn) {
      const value = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn }));
      const { username, password } = JSON.parse(value.SecretString ?? '{}') as { username?: string; password?: string };
      if (!username || !password) throw new Error(`secret ${secretArn} has no username and password`);
      return { username, password };
    },
  });
}
