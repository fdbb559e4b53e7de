import { z } from 'zod';
import { albSchema, apiSchema, computeSchema, servicesSchema, workerSchema, type ApiConfig, type HttpServiceConfig } from './compute';
import { cacheSchema, databaseSchema, queueSchema } from './data';
import { loadTestSchema, slaSchema } from './load-test';
import { alarmsSchema, monitoringSchema, sloSchema } from './monitoring';
import { networkSchema } from './network';
import { nlbSchema } from './nlb';
import { statefulSchema } from './stateful';

/**
 * The shape of one environment's configuration, after `defaults` and `environments.<env>` are merged, by
 * domain: network, stateful, compute (compute, alb, api, worker), data (queue, database, cache), monitoring
 * (monitoring, alarms, slo) and load test (loadTest, sla).
 *
 * Every key carries its unit in its name and its meaning in `.describe()`, from which `npm run docs` writes
 * docs/configuration.md and docs/config.schema.json. Nothing here has a default: the defaults live in
 * cdk.json (`scaling-blueprint.defaults`), so there is one place to read them. Objects are strict: an unknown
 * key is an error (with the closest valid key suggested by the loader).
 */
export const blueprintConfigSchema = z.strictObject({
  production: z.boolean()
    .describe('Production guard rails: at least one reader, no `destroy` removal, termination protection, a cache replica (or a serverless cache), api.minHealthyPercent 100, api.minTasks ≥ 2, logs kept a year; also deletion protection on Aurora and the load balancer.'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'a region such as us-east-1')
    .describe('AWS region the stacks are synthesized for (no lookup is made).'),
  account: z.string().regex(/^(\d{12})?$/, 'a 12-digit account id, or "" for any account')
    .describe('AWS account id (12 digits); "" means environment-agnostic templates, deployed to the account of your credentials.'),
  network: networkSchema,
  stateful: statefulSchema,
  compute: computeSchema,
  alb: albSchema,
  nlb: nlbSchema,
  api: apiSchema,
  services: servicesSchema,
  worker: workerSchema,
  queue: queueSchema,
  database: databaseSchema,
  cache: cacheSchema,
  monitoring: monitoringSchema,
  alarms: alarmsSchema,
  slo: sloSchema,
  loadTest: loadTestSchema,
  sla: slaSchema,
});

/** One environment's configuration as written (merged and validated), before the loader resolves derived values. */
export type ConfigInput = z.infer<typeof blueprintConfigSchema>;

/**
 * One environment's configuration: validated, merged, derived values resolved (`api.requestsPerTarget` is
 * always a number) and frozen.
 */
export type BlueprintConfig = Readonly<Omit<ConfigInput, 'api' | 'services'> & { readonly api: ApiConfig; readonly services: readonly HttpServiceConfig[]; readonly envName: string }>;

export { FARGATE_CPU_UNITS } from '../capacity';
export { LOG_RETENTION_DAYS } from './common';
export { albSchema, apiSchema, computeSchema, httpServiceSchema, imageSchema, servicesSchema, targetGroupSchema, workerSchema } from './compute';
export type { AlbConfig, ApiConfig, ApiConfigInput, ComputeConfig, HttpServiceConfig, HttpServiceConfigInput, ImageConfig, TargetGroupConfig, WorkerConfig } from './compute';
export type { RouteAction, RouteConfig } from './routes';
export { cacheSchema, databaseSchema, queueSchema } from './data';
export type { CacheConfig, DatabaseConfig, QueueConfig } from './data';
export { loadTestSchema, slaSchema } from './load-test';
export type { LoadProfile, LoadTestConfig, SlaConfig } from './load-test';
export { alarmsSchema, monitoringSchema, sloSchema } from './monitoring';
export type { AlarmsConfig, MonitoringConfig, SloConfig, Thresholds } from './monitoring';
export { networkSchema } from './network';
export type { NetworkConfig } from './network';
export { MIN_ALB_LCU_RESERVATION, nlbSchema } from './nlb';
export type { NlbConfig } from './nlb';
export { statefulSchema } from './stateful';
export type { StatefulConfig } from './stateful';
