import { z } from 'zod';
import { int, num } from './common';

/**
 * Thresholds of one alarm by severity, in the unit its key names; `null` turns a level off. Which direction
 * breaches (above or below) is part of the alarm's definition in lib/config/alarm-kinds.ts.
 */
const thresholds = (min: number, max: number) => z.strictObject({
  warning: z.number().min(min).max(max).nullable()
    .describe('Warning threshold; null turns the level off.'),
  critical: z.number().min(min).max(max).nullable()
    .describe('Critical threshold; null turns the level off.'),
});

export const monitoringSchema = z.strictObject({
  alarmEmails: z.array(z.string().regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'an email address')).max(20)
    .describe('Email addresses subscribed to the alarm topic (each must confirm); [] subscribes none.'),
  periodSeconds: z.literal([60, 300])
    .describe('Period of the alarms\' metrics (s).'),
  evaluationPeriods: int(1, 60)
    .describe('Periods an alarm looks back over (the N of "M of N").'),
  datapointsToAlarm: int(1, 60)
    .describe('Breaching periods among them before the alarm fires (the M of "M of N", against flapping).'),
  minRequestsPerPeriod: int(1, 1_000_000)
    .describe('Percentage alarms stay quiet below this many requests per period (no alarm on 1 error out of 2 requests).'),
}).describe('How every alarm evaluates, and who it notifies.');

export const alarmsSchema = z.strictObject({
  latencyP99Ms: thresholds(1, 600_000)
    .describe('p99 TargetResponseTime above (ms).'),
  http5xxPercent: thresholds(0, 100)
    .describe('5xx responses, target or load balancer, as a share of requests above (%).'),
  unhealthyHosts: thresholds(0, 1000)
    .describe('Unhealthy targets above (count).'),
  apiCpuPercent: thresholds(1, 100)
    .describe('API CPU utilisation, service average, above (%).'),
  apiMemoryPercent: thresholds(1, 100)
    .describe('API memory utilisation, service average, above (%).'),
  apiAtMaxTasks: z.boolean()
    .describe('Warn while the API runs at its maxTasks: autoscaling has nothing left to give.'),
  queueAgeLatencyMultiple: thresholds(0.1, 100)
    .describe('Age of the oldest job above this multiple of worker.acceptableLatencySeconds.'),
  dlqMessages: thresholds(0, 1_000_000)
    .describe('Messages in the dead-letter queue above (count).'),
  auroraCpuPercent: thresholds(1, 100)
    .describe('Aurora CPU, writer or reader average, above (%).'),
  dbConnectionsPercentOfBudget: thresholds(1, 1000)
    .describe('Writer DatabaseConnections above this share of the connection budget (%).'),
  replicaLagMs: thresholds(1, 3_600_000)
    .describe('AuroraReplicaLag above (ms).'),
  freeableMemoryMiB: thresholds(1, 1_048_576)
    .describe('FreeableMemory of any instance below (MiB).'),
  cacheHitRatePercent: thresholds(0, 100)
    .describe('Cache hit rate below (%), under traffic.'),
  cacheMemoryPercent: thresholds(1, 100)
    .describe('Cache memory used above (%).'),
  cacheEvictions: thresholds(1, 100_000_000)
    .describe('Cache evictions per period at or above (count).'),
}).describe('Warning and Critical thresholds of the KPI alarms, `{ "warning", "critical" }` in the unit the key names; `null` turns a level off.');

export const sloSchema = z.strictObject({
  availabilityPercent: num(50, 99.999)
    .describe('Availability objective: share of requests without a 5xx (%).'),
  latencyThresholdMs: int(1, 600_000)
    .describe('A request slower than this is "slow" for the latency objective (ms).'),
  latencyPercent: num(50, 99.999)
    .describe('Latency objective: share of requests faster than latencyThresholdMs (%).'),
  burnRates: z.array(z.strictObject({
    longWindowMinutes: int(5, 1440)
      .describe('Long window (min).'),
    shortWindowMinutes: int(1, 1440)
      .describe('Short window (min), shorter than the long one (about 1/12 of it).'),
    factor: num(1, 1000)
      .describe('Burn rate: how many times faster than the objective allows the error budget is spent.'),
  })).min(1).max(4)
    .describe('Multi-window, multi-burn-rate alerts (Google SRE workbook): fire when the error budget burns `factor` times too fast over both the long and the short window.'),
}).describe('Service-level objectives, alerted on by burn rate.');

export type MonitoringConfig = z.infer<typeof monitoringSchema>;
export type AlarmsConfig = z.infer<typeof alarmsSchema>;
export type Thresholds = AlarmsConfig[keyof Omit<AlarmsConfig, 'apiAtMaxTasks'>];
export type SloConfig = z.infer<typeof sloSchema>;
