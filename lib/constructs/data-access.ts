import { Aws, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ContainerEnvName } from '../contracts/container-env';
import type { AuroraDatabase } from './aurora-database';
import type { Cache } from './cache';
import type { JobQueue } from './job-queue';

/** The handles of the Data stack that services connect to. */
export interface DataTier {
  readonly database: AuroraDatabase;
  readonly cache: Cache;
  readonly jobs: JobQueue;
  /** The key that encrypts the data tier's secrets. */
  readonly encryptionKey: kms.IKey;
  /** Master user name the services connect as (kept in the master secret too). */
  readonly databaseUser: string;
}

/** A container's variables, named by the contract the workload parses (lib/contracts/container-env.ts). */
export interface ContainerSettings {
  readonly environment: { readonly [K in ContainerEnvName]?: string };
  readonly secrets: { readonly [K in ContainerEnvName]?: ecs.Secret };
}

/**
 * What a container needs to reach the data tier: endpoints as environment variables, credentials as ECS
 * secrets (resolved by the agent at task start; never in the task definition as text).
 *
 * Writes go to DB_WRITER_HOST and reads to DB_READER_HOST: the proxy's read/write and read-only endpoints
 * when the proxy is on (clients then authenticate with an IAM token, DB_IAM_AUTH=true), the cluster's
 * endpoints otherwise (password from the secret).
 *
 * The cache has no credential to pass: the container AUTHs as CACHE_USER with an IAM token it signs with the
 * task role for CACHE_NAME (the replication group id or serverless cache name; CACHE_SERVERLESS changes the
 * signed request), CACHE_IAM_AUTH=true.
 */
export function dataTierSettings(scope: Construct, tier: DataTier, dbPoolSize: number): ContainerSettings {
  const { database, cache, jobs } = tier;
  const environment: { [K in ContainerEnvName]?: string } = {
    AWS_REGION: Stack.of(scope).region,
    DB_WRITER_HOST: database.writerEndpoint,
    DB_READER_HOST: database.readerEndpoint,
    DB_PORT: String(database.port),
    DB_NAME: database.databaseName,
    DB_POOL_SIZE: String(dbPoolSize),
    DB_IAM_AUTH: String(database.proxy !== undefined),
    DB_TLS: 'true',
    CACHE_HOST: cache.endpointAddress,
    CACHE_PORT: String(cache.port),
    CACHE_TLS: 'true',
    CACHE_CLUSTER_MODE: String(cache.clusterMode),
    CACHE_IAM_AUTH: 'true',
    CACHE_USER: cache.userId,
    CACHE_NAME: cache.cacheId,
    CACHE_SERVERLESS: String(cache.serverless),
    QUEUE_URL: jobs.queue.queueUrl,
    // The worker extends a message's visibility by this much while its job runs.
    WORKER_VISIBILITY_SECONDS: String(jobs.visibilityTimeoutSeconds),
  };
  if (cache.readerEndpointAddress) environment.CACHE_READER_HOST = cache.readerEndpointAddress;
  // The secrets are referenced by ARN: a grant on the Data stack's secret objects would write the task's
  // execution role into the data key's policy, and the Data stack would then depend on this one.
  // connectToDataTier grants the decrypt on the role's side instead.
  const imported = new Construct(scope, 'DataTierSecrets');
  const byArn = (id: string, secret: secretsmanager.ISecret) => secretsmanager.Secret.fromSecretCompleteArn(imported, id, secret.secretArn);
  const dbSecret = byArn('Database', database.secret);
  const secrets: ContainerSettings['secrets'] = {
    DB_USERNAME: ecs.Secret.fromSecretsManager(dbSecret, 'username'),
    DB_PASSWORD: ecs.Secret.fromSecretsManager(dbSecret, 'password'),
  };
  return { environment, secrets };
}

/**
 * Opens the security-group edges from a service to the database (its proxy when on) and the cache, and
 * lets the task role connect to the proxy and to the cache with IAM auth. Queue permissions differ per
 * service and are granted by the service's own construct.
 */
export function connectToDataTier(service: ecs.FargateService, tier: DataTier, who: string): void {
  // Opened from the service's side, so CDK writes the ingress rules into the service's stack: written from
  // the data side they would land in the Data stack and make it depend on this one.
  service.connections.allowToDefaultPort(tier.database, `${who} to the database`);
  service.connections.allowToDefaultPort(tier.cache, `${who} to the cache`);
  tier.database.proxy?.grantConnect(service.taskDefinition.taskRole, tier.databaseUser);
  tier.cache.grantConnect(service.taskDefinition.taskRole);
  // ECS reads the secrets at task start with the execution role; the data key decrypts them only when the
  // request comes through Secrets Manager.
  service.taskDefinition.obtainExecutionRole().addToPrincipalPolicy(new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [tier.encryptionKey.keyArn],
    conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com` } },
  }));
}
