import { AuroraPostgresEngineVersion } from 'aws-cdk-lib/aws-rds';

/**
 * What AWS supports, so that a typo or a retired version fails synth instead of the deploy.
 *
 * Aurora PostgreSQL versions: the versions aws-cdk-lib knows (its AuroraPostgresEngineVersion constants,
 * kept current by the CDK team with each release; this project pins aws-cdk-lib 2.276.0). Limitless
 * variants are left out: they are a different kind of cluster.
 */
export const AURORA_POSTGRES_VERSIONS: readonly string[] = Object.getOwnPropertyNames(AuroraPostgresEngineVersion)
  .filter((name) => name.startsWith('VER_'))
  .map((name) => (AuroraPostgresEngineVersion as unknown as Record<string, AuroraPostgresEngineVersion>)[name].auroraPostgresFullVersion)
  .filter((v) => /^\d+\.\d+$/.test(v));

/**
 * ElastiCache engine versions this blueprint deploys, as of 2026-11 (ElastiCache User Guide, "Supported
 * engines and versions"). Redis OSS 6.x is left out: its parameter-group family ("redis6.x") differs from
 * the "<engine><major>" naming the cache construct uses, and 7.x has been the default since 2023. Every
 * version here must support IAM authentication, which the cache construct uses: Valkey 7.2+ and Redis OSS
 * 7.0+ (ElastiCache User Guide, "Authenticating with IAM", Limitations; test/constructs/cache.spec.ts checks).
 */
export const CACHE_ENGINE_VERSIONS: Readonly<Record<'valkey' | 'redis', readonly string[]>> = {
  valkey: ['7.2', '8.0', '8.1'],
  redis: ['7.0', '7.1'],
};

/**
 * Node-based ElastiCache node types, as of 2026-11 (ElastiCache User Guide, "Supported node types"),
 * current generations only: burstable t3/t4g (micro to medium), general purpose m5/m6g/m7g and memory
 * optimised r5/r6g/r7g (large to 16xlarge; r5 and m5 up to 24xlarge).
 */
export const CACHE_NODE_TYPE = /^cache\.((t3|t4g)\.(micro|small|medium)|(m6g|m7g|r6g|r7g)\.(large|xlarge|2xlarge|4xlarge|8xlarge|12xlarge|16xlarge)|(m5|r5)\.(large|xlarge|2xlarge|4xlarge|12xlarge|24xlarge))$/;

/**
 * Lambda runtimes this blueprint's functions (and the ones CDK adds) may use, as of 2026-11 (AWS Lambda
 * Developer Guide, "Lambda runtimes": nodejs22.x and nodejs24.x are supported with no deprecation date
 * announced; nodejs20.x is deprecated from 2026-04-30 and cannot be created after that). Checked on every
 * template by test/stacks/stacks.spec.ts.
 */
export const LAMBDA_RUNTIMES: readonly string[] = ['nodejs22.x', 'nodejs24.x'];
