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

// ---------------------------------------------------------------------------------------------------------
// Aurora PostgreSQL Limitless Database (database.sharding.mode "limitless")
// https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html
// ---------------------------------------------------------------------------------------------------------

/**
 * Limitless Database runs only on its own engine versions, spelled "<major>.<minor>-limitless" ("Aurora
 * PostgreSQL Limitless Database uses special Aurora PostgreSQL DB engine versions": the user guide lists
 * 16.4-limitless and 16.6-limitless, the release notes the later ones,
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraPostgreSQLReleaseNotes/limitless-updates.html). Taken, like
 * AURORA_POSTGRES_VERSIONS, from the versions aws-cdk-lib knows (its VER_16_x_LIMITLESS constants), so that
 * the list moves with the pinned aws-cdk-lib rather than with a hand-kept copy.
 */
export const AURORA_POSTGRES_LIMITLESS_VERSIONS: readonly string[] = Object.getOwnPropertyNames(AuroraPostgresEngineVersion)
  .filter((name) => name.startsWith('VER_'))
  .map((name) => (AuroraPostgresEngineVersion as unknown as Record<string, AuroraPostgresEngineVersion>)[name].auroraPostgresFullVersion)
  .filter((v) => /^\d+\.\d+-limitless$/.test(v))
  .sort((a, b) => parseFloat(a.split('.')[1]) - parseFloat(b.split('.')[1]));

/**
 * Where AWS does not offer Limitless Database, with the reason the loader gives: "available in all AWS Regions
 * except Asia Pacific (Taipei) and AWS GovCloud (US) Regions" (user guide, requirements, as of 2026-12; the
 * China Regions' own guide lists only Taipei as the exception,
 * https://docs.amazonaws.cn/en_us/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html). Region codes:
 * https://docs.aws.amazon.com/global-infrastructure/latest/regions/aws-region-billing-codes.html (ap-east-2 is
 * Asia Pacific (Taipei)).
 */
export function limitlessRegionRefusal(region: string): string | undefined {
  if (region === 'ap-east-2') return 'Aurora PostgreSQL Limitless Database is not available in Asia Pacific (Taipei)';
  if (region.startsWith('us-gov-')) return 'Aurora PostgreSQL Limitless Database is not available in the AWS GovCloud (US) Regions';
  return undefined;
}

/**
 * Availability Zones a Limitless cluster's subnet group must leave out: "If you create your Aurora PostgreSQL
 * Limitless Database DB cluster in US East (N. Virginia), don't include the us-east-1e Availability Zone (AZ)
 * in your DB subnet group ... Aurora Serverless v2 (and therefore Aurora PostgreSQL Limitless Database) isn't
 * supported in the us-east-1e AZ" (user guide, requirements).
 */
export const LIMITLESS_EXCLUDED_ZONES: readonly string[] = ['us-east-1e'];

/**
 * Settings Limitless Database requires of its DB cluster (user guide, requirements), which the database
 * construct must apply in mode "limitless": "supports only the Aurora I/O-Optimized DB cluster storage
 * configuration" (aurora-iopt1); "You must use Enhanced Monitoring and Performance Insights. The Performance
 * Insights retention time must be at least 1 month (31 days)"; "You must export the PostgreSQL log to Amazon
 * CloudWatch Logs"; "Your DB cluster can't have any writer or reader DB instances". The construct exports the
 * postgresql log in every mode (cloudwatchLogsExports), so only the retention and the monitoring interval are
 * keys the loader checks.
 */
export const LIMITLESS_CLUSTER = {
  storageType: 'aurora-iopt1',
  minPerformanceInsightsRetentionDays: 31,
  logExports: ['postgresql'],
} as const;

