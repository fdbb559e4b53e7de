import { Stack, type CfnResource } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ContainerEnvName } from '../contracts/container-env';
import type { DatabaseService } from '../contracts/database-roles';
import type { AuroraDatabase } from './aurora-database';
import type { Cache } from './cache';
import type { JobQueue } from './job-queue';
import { decryptSecretsStatement } from './encryption';

/** The handles of the Data stack that services connect to. */
export interface DataTier {
  readonly database: AuroraDatabase;
  readonly cache: Cache;
  readonly jobs: JobQueue;
  /** The key that encrypts the data tier's secrets (decrypted through Secrets Manager only). */
  readonly secretsKey: kms.IKey;
  /**
   * `database.sharding`: the mode, and in `clusters` mode every cluster (index = cluster number, `database`
   * first) and the logical shard count.
   * @default - mode none: `database` alone
   */
  readonly sharding?: TierSharding;
}

/** How the data tier is sharded (DataTier.sharding). */
export type TierSharding =
  | { readonly mode: 'none' }
  | { readonly mode: 'limitless'; readonly logicalShards: number }
  | { readonly mode: 'clusters'; readonly clusters: readonly AuroraDatabase[]; readonly logicalShards: number };

/** Every cluster a service connects to, index = cluster number. */
const clustersOf = (tier: DataTier): readonly AuroraDatabase[] => (tier.sharding?.mode === 'clusters' ? tier.sharding.clusters : [tier.database]);

/** A container's variables, named by the contract the workload parses (lib/contracts/container-env.ts). */
export interface ContainerSettings {
  readonly environment: { readonly [K in ContainerEnvName]?: string };
}

/**
 * Where the tasks authenticate to the database with IAM tokens: through RDS Proxy, which reads their user's
 * secret itself. Elsewhere they use the password, which they read from that secret.
 */
const usesIamAuth = (tier: DataTier) => tier.database.proxy !== undefined;

/**
 * What a container needs to reach the data tier, as environment variables: endpoints, names, and where the
 * credentials come from, never a credential. ECS `secrets` would resolve the password once, at task start,
 * and a running task would keep it after the 30-day rotation, its new connections refused
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
 *
 * Writes go to DB_WRITER_HOST and reads to DB_READER_HOST: the proxy's read/write and read-only endpoints
 * when the proxy is on (clients then authenticate with an IAM token, DB_IAM_AUTH=true, and nothing from the
 * secret reaches the task), the cluster's endpoints otherwise (the workload reads the password from the
 * secret DB_SECRET_ARN when it opens a connection, with the task role: connectToDataTier grants it).
 * DB_USERNAME is the service's own user (lib/constructs/database-roles.ts), never the master user: neither the
 * master password nor the master secret's ARN reaches a task. Its secret rotates with alternating users
 * where the tasks read it (the workload takes the user name from the secret too), single-user behind the proxy.
 * DB_MIGRATE_ON_START=false: the Data stack's migration custom resource has applied the schema.
 *
 * The cache has no credential to pass: the container AUTHs as CACHE_USER with an IAM token it signs with the
 * task role for CACHE_NAME (the replication group id or serverless cache name; CACHE_SERVERLESS changes the
 * signed request), CACHE_IAM_AUTH=true.
 */
export function dataTierSettings(scope: Construct, tier: DataTier, dbPoolSize: number, service: DatabaseService): ContainerSettings {
  const { database, cache, jobs } = tier;
  const user = database.users[service];
  const environment: { [K in ContainerEnvName]?: string } = {
    AWS_REGION: Stack.of(scope).region,
    DB_WRITER_HOST: database.writerEndpoint,
    DB_READER_HOST: database.readerEndpoint,
    DB_PORT: String(database.port),
    DB_NAME: database.databaseName,
    DB_USERNAME: user.username,
    DB_POOL_SIZE: String(dbPoolSize),
    DB_MIGRATE_ON_START: 'false',
    DB_IAM_AUTH: String(usesIamAuth(tier)),
    DB_TLS: 'true',
    // Behind RDS Proxy the PostgreSQL timeouts come from the proxy's initialization query (aurora-database.ts):
    // the proxy refuses startup options, and a SET from the client would pin its session.
    DB_SESSION_TIMEOUTS: database.proxy ? 'proxy' : 'startup',
    // The Environment dimension of the workload's EMF metrics: the config environment, which lib/app.ts gives
    // every stack as its Environment tag.
    METRICS_ENVIRONMENT: Stack.of(scope).tags.tagValues().Environment,
    CACHE_HOST: cache.endpointAddress,
    CACHE_PORT: String(cache.port),
    CACHE_TLS: 'true',
    CACHE_CLUSTER_MODE: String(cache.clusterMode),
    CACHE_IAM_AUTH: 'true',
    CACHE_USER: cache.userId,
    CACHE_NAME: cache.cacheId,
    CACHE_SERVERLESS: String(cache.serverless),
    // The application user's ACL allows no key outside this prefix (lib/constructs/cache.ts).
    CACHE_KEY_PREFIX: cache.keyPrefix,
    QUEUE_URL: jobs.queue.queueUrl,
    // The worker extends a message's visibility by this much while its job runs.
    WORKER_VISIBILITY_SECONDS: String(jobs.visibilityTimeoutSeconds),
  };
  if (!usesIamAuth(tier)) environment.DB_SECRET_ARN = user.secret.secretArn;
  const sharding = tier.sharding;
  if (sharding && sharding.mode !== 'none') environment.DB_SHARDING_MODE = sharding.mode;
  if (sharding?.mode === 'clusters') {
    // The clusters' endpoints and secrets are tokens (Data stack outputs): toJsonString writes the JSON as an
    // Fn::Join CloudFormation fills in (DB_SHARDS, shardClustersSchema in lib/contracts/sharding.ts).
    environment.DB_SHARDS = Stack.of(scope).toJsonString(sharding.clusters.map((db) => ({
      writerHost: db.writerEndpoint,
      readerHost: db.readerEndpoint,
      ...(!usesIamAuth(tier) && { secretArn: db.users[service].secret.secretArn }),
    })));
    environment.DB_LOGICAL_SHARDS = String(sharding.logicalShards);
  }
  // Limitless: the values of the shard key the workload writes (logical_shard), which Limitless hashes to its shards.
  if (sharding?.mode === 'limitless') environment.DB_LOGICAL_SHARDS = String(sharding.logicalShards);
  // Exported whether or not this environment's tasks import them: CloudFormation refuses to remove an export
  // another stack still imports (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-stack-exports.html),
  // so switching the proxy on would otherwise fail the Data stack's update. The master secret's stays for
  // Compute stacks deployed when the tasks read it: the Data stack deploys first, while they still import it.
  for (const secret of [database.secret, user.secret]) Stack.of(database).exportValue(secret.secretArn);
  for (const shard of clustersOf(tier).slice(1)) Stack.of(shard).exportValue(shard.users[service].secret.secretArn);
  if (cache.readerEndpointAddress) environment.CACHE_READER_HOST = cache.readerEndpointAddress;
  return { environment };
}

/**
 * Opens the security-group edges from a service to the database (its proxy when on) and the cache, and
 * lets the task role connect to the proxy as the service's own user and to the cache with IAM auth, or read
 * that user's secret where there is no proxy. Queue permissions differ per service and are granted by the
 * service's own construct.
 */
export function connectToDataTier(service: ecs.FargateService, tier: DataTier, who: string, databaseService: DatabaseService): void {
  const clusters = clustersOf(tier);
  // Opened from the service's side, so CDK writes the ingress rules into the service's stack: written from
  // the data side they would land in the Data stack and make it depend on this one.
  clusters.forEach((db, i) => service.connections.allowToDefaultPort(db, i === 0 ? `${who} to the database` : `${who} to database cluster ${i}`));
  service.connections.allowToDefaultPort(tier.cache, `${who} to the cache`);
  const taskRole = service.taskDefinition.taskRole;
  if (tier.database.proxy) {
    // Every cluster has a proxy or none does (one `database.proxy` for all).
    for (const db of clusters) db.proxy!.grantConnect(taskRole, db.users[databaseService].username);
    proxyConnectLintException(service);
  }
  tier.cache.grantConnect(taskRole);
  if (usesIamAuth(tier)) return;
  // The workload reads the password with the task role whenever it opens a connection: its own user's
  // secret on each cluster.
  const scope = new Construct(service, 'DataTierSecrets');
  clusters.forEach((db, i) => grantReadSecret(scope, taskRole, db.users[databaseService].secret.secretArn, tier.secretsKey, i === 0 ? 'Database' : `DatabaseShard${i}`));
}

/**
 * GetSecretValue on one secret, and kms:Decrypt on its key only through Secrets Manager and for that secret
 * (decryptSecretsStatement). Granted on the secret imported by ARN, not on the Data stack's object: that
 * grant would also write this role into the secrets key's policy, and the Data stack would then depend on
 * the grantee's stack.
 */
export function grantReadSecret(scope: Construct, grantee: iam.IGrantable, secretArn: string, secretsKey: kms.IKey, id = 'Database'): void {
  secretsmanager.Secret.fromSecretCompleteArn(scope, id, secretArn).grantRead(grantee);
  grantee.grantPrincipal.addToPrincipalPolicy(decryptSecretsStatement(secretsKey, [secretArn]));
}

/**
 * The task role's rds-db:connect names the proxy by its resource id, which the policy cuts out of the proxy's
 * ARN ({"Fn::Select": [6, {"Fn::Split": [":", arn]}]}, CDK's DatabaseProxy.grantConnect); the ARN comes from
 * the Data stack through Fn::GetStackOutput. cfn-lint (1.51) does not list Fn::GetStackOutput among the
 * functions Fn::Split takes and reports E1022 there; CDK itself writes Fn::Split over Fn::GetStackOutput for
 * every weak list reference (aws-cdk-lib core/lib/private/refs.js). Ignored on this one policy, with the
 * reason next to it (cfn-lint reads `Metadata.cfn-lint.config.ignore_checks` of a resource).
 */
function proxyConnectLintException(service: ecs.FargateService): void {
  const policy = service.taskDefinition.taskRole.node.tryFindChild('DefaultPolicy')?.node.defaultChild as CfnResource | undefined;
  if (!policy) throw new Error(`${service.node.path}: the task role has no default policy to hold rds-db:connect`);
  policy.addMetadata('cfn-lint', {
    config: { ignore_checks: ['E1022'] },
    reasons: { E1022: 'rds-db:connect is scoped to the proxy resource id, split out of the proxy ARN read with Fn::GetStackOutput from the Data stack; cfn-lint does not list Fn::GetStackOutput among the functions Fn::Split takes.' },
  });
}
