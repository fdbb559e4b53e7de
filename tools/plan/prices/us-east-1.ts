import { PRICING_PAGE as P, SEEN_IN as S, seen, unverified, valkeyNodes } from './sources';
import type { Price, RegionPrices } from './types';

const BEST_KNOWN = 'best-known us-east-1 list price; no stored copy of the page had it';
const hourly = (usd: number, source: string, note = BEST_KNOWN): Price => unverified(usd, 'hour', source, note);

const redisNodes = {
  'cache.t4g.micro': hourly(0.016, P.elasticache),
  'cache.t4g.small': hourly(0.032, P.elasticache),
  'cache.t4g.medium': hourly(0.065, P.elasticache),
  'cache.m7g.large': hourly(0.158, P.elasticache),
  'cache.r6g.large': hourly(0.206, P.elasticache),
  'cache.r6g.xlarge': hourly(0.411, P.elasticache),
  'cache.r7g.large': hourly(0.219, P.elasticache),
  'cache.r7g.xlarge': hourly(0.437, P.elasticache),
};

/** US East (N. Virginia). */
export const US_EAST_1: RegionPrices = {
  region: 'us-east-1',
  date: '2026-12-05',
  fargate: {
    onDemand: {
      x86_64: { vcpuHour: seen(0.04048, 'vCPU-hour', P.fargate, S.fgcalc), gbHour: seen(0.004445, 'GB-hour', P.fargate, S.fgcalc) },
      arm64: { vcpuHour: seen(0.03238, 'vCPU-hour', P.fargate, S.vantageFargate), gbHour: seen(0.00356, 'GB-hour', P.fargate, S.vantageFargate) },
    },
    spot: {
      x86_64: {
        vcpuHour: seen(0.01264355, 'vCPU-hour', P.fargate, S.fgcalc, 'Spot price snapshot; it moves with spare capacity'),
        gbHour: seen(0.00138835, 'GB-hour', P.fargate, S.fgcalc, 'Spot price snapshot; it moves with spare capacity'),
      },
      arm64: {
        vcpuHour: unverified(0.01011484, 'vCPU-hour', P.fargate, 'x86 Spot snapshot × 0.8 (the on-demand arm64/x86 ratio); no stored copy had arm64 Spot (supported since Sep 2024)'),
        gbHour: unverified(0.00111068, 'GB-hour', P.fargate, 'x86 Spot snapshot × 0.8 (the on-demand arm64/x86 ratio); no stored copy had arm64 Spot'),
      },
    },
  },
  alb: { hour: seen(0.0225, 'hour', P.elb, S.albBlog), lcuHour: seen(0.008, 'LCU-hour', P.elb, S.albBlog) },
  natGateway: { hour: seen(0.045, 'hour', P.vpc, S.natBlog), gbProcessed: seen(0.045, 'GB', P.vpc, S.natBlog) },
  publicIpv4Hour: seen(0.005, 'IP-hour', P.vpc, S.natIpv4Blog),
  aurora: {
    instanceHour: {
      'db.t4g.medium': hourly(0.073, P.aurora),
      'db.t4g.large': hourly(0.146, P.aurora),
      'db.r6g.large': hourly(0.26, P.aurora),
      'db.r6g.xlarge': hourly(0.519, P.aurora),
      'db.r6g.2xlarge': hourly(1.038, P.aurora),
      'db.r6g.4xlarge': hourly(2.076, P.aurora),
      'db.r7g.large': hourly(0.276, P.aurora),
      'db.r7g.xlarge': hourly(0.552, P.aurora),
      'db.r7g.2xlarge': hourly(1.104, P.aurora),
      'db.r7g.4xlarge': hourly(2.208, P.aurora),
    },
    serverlessV2AcuHour: seen(0.12, 'ACU-hour', P.aurora, S.auroraAcuBlog),
    storageGbMonth: seen(0.1, 'GB-month', P.aurora, S.auroraStorageBlog),
    ioPerMillion: seen(0.2, 'million I/O requests', P.aurora, S.auroraIoBlog),
  },
  rdsProxy: {
    vcpuHour: unverified(0.015, 'vCPU-hour', P.rdsProxy, BEST_KNOWN),
    acuHour: unverified(0.015, 'ACU-hour', P.rdsProxy, BEST_KNOWN),
  },
  elasticache: {
    redis: {
      nodeHour: redisNodes,
      serverlessGbHour: seen(0.125, 'GB-hour', P.elasticache, S.elasticacheServerless),
      serverlessEcpuPerMillion: seen(0.0034, 'million ECPUs', P.elasticache, S.elasticacheServerless),
    },
    valkey: {
      nodeHour: valkeyNodes(redisNodes),
      serverlessGbHour: seen(0.084, 'GB-hour', P.elasticache, S.elasticacheServerless),
      serverlessEcpuPerMillion: seen(0.0023, 'million ECPUs', P.elasticache, S.elasticacheServerless),
    },
  },
  sqs: { standardPerMillion: seen(0.4, 'million requests', P.sqs, S.sqsBlog) },
  cloudwatch: {
    metricMonth: seen(0.3, 'metric-month', P.cloudwatch, S.cloudwatchMetrics),
    alarmMetricMonth: unverified(0.1, 'alarm metric-month', P.cloudwatch, `${BEST_KNOWN} (standard resolution)`),
    highResAlarmMetricMonth: unverified(0.3, 'alarm metric-month', P.cloudwatch, `${BEST_KNOWN} (high resolution)`),
    compositeAlarmMonth: unverified(0.5, 'alarm-month', P.cloudwatch, BEST_KNOWN),
    dashboardMonth: seen(3, 'dashboard-month', P.cloudwatch, S.cloudwatchBlog),
    logsIngestedGb: seen(0.5, 'GB', P.cloudwatch, S.cloudwatchBlog),
    logsStoredGbMonth: unverified(0.03, 'GB-month', P.cloudwatch, BEST_KNOWN),
  },
  lambda: {
    arm64GbSecond: seen(0.0000133334, 'GB-second', P.lambda, S.lambdaBlog),
    x86GbSecond: seen(0.0000166667, 'GB-second', P.lambda, S.lambdaBlog),
    requestsPerMillion: seen(0.2, 'million requests', P.lambda, S.lambdaNotes),
  },
};
