import { PRICING_PAGE as P, SEEN_IN as S, seen, unverified, valkeyNodes } from './sources';
import type { Price, RegionPrices } from './types';

const BEST_KNOWN = 'best-known eu-west-1 list price; no stored copy of the page had it';
const hourly = (usd: number, source: string): Price => unverified(usd, 'hour', source, BEST_KNOWN);

const redisNodes = {
  'cache.t4g.micro': hourly(0.018, P.elasticache),
  'cache.t4g.small': hourly(0.036, P.elasticache),
  'cache.t4g.medium': hourly(0.072, P.elasticache),
  'cache.m7g.large': hourly(0.176, P.elasticache),
  'cache.r6g.large': hourly(0.229, P.elasticache),
  'cache.r6g.xlarge': hourly(0.458, P.elasticache),
  'cache.r7g.large': hourly(0.243, P.elasticache),
  'cache.r7g.xlarge': hourly(0.486, P.elasticache),
};

/** Europe (Ireland). */
export const EU_WEST_1: RegionPrices = {
  region: 'eu-west-1',
  date: '2026-12-05',
  fargate: {
    onDemand: {
      x86_64: { vcpuHour: seen(0.04048, 'vCPU-hour', P.fargate, S.fgcalc), gbHour: seen(0.004445, 'GB-hour', P.fargate, S.fgcalc) },
      arm64: {
        vcpuHour: unverified(0.03238, 'vCPU-hour', P.fargate, 'x86 equals us-east-1 here, so arm64 is taken equal to us-east-1\'s arm64 (20 % below x86)'),
        gbHour: unverified(0.00356, 'GB-hour', P.fargate, 'x86 equals us-east-1 here, so arm64 is taken equal to us-east-1\'s arm64 (20 % below x86)'),
      },
    },
    spot: {
      x86_64: {
        vcpuHour: seen(0.01257825, 'vCPU-hour', P.fargate, S.fgcalc, 'Spot price snapshot; it moves with spare capacity'),
        gbHour: seen(0.00138118, 'GB-hour', P.fargate, S.fgcalc, 'Spot price snapshot; it moves with spare capacity'),
      },
      arm64: {
        vcpuHour: unverified(0.0100626, 'vCPU-hour', P.fargate, 'x86 Spot snapshot × 0.8 (the on-demand arm64/x86 ratio)'),
        gbHour: unverified(0.00110494, 'GB-hour', P.fargate, 'x86 Spot snapshot × 0.8 (the on-demand arm64/x86 ratio)'),
      },
    },
  },
  alb: { hour: unverified(0.0252, 'hour', P.elb, BEST_KNOWN), lcuHour: unverified(0.008, 'LCU-hour', P.elb, BEST_KNOWN) },
  natGateway: { hour: unverified(0.048, 'hour', P.vpc, BEST_KNOWN), gbProcessed: unverified(0.048, 'GB', P.vpc, BEST_KNOWN) },
  publicIpv4Hour: unverified(0.005, 'IP-hour', P.vpc, 'the same $0.005 AWS charges in us-east-1; not seen for this region'),
  aurora: {
    instanceHour: {
      'db.t4g.medium': hourly(0.08, P.aurora),
      'db.t4g.large': hourly(0.16, P.aurora),
      'db.r6g.large': hourly(0.283, P.aurora),
      'db.r6g.xlarge': hourly(0.566, P.aurora),
      'db.r6g.2xlarge': hourly(1.132, P.aurora),
      'db.r6g.4xlarge': hourly(2.264, P.aurora),
      'db.r7g.large': hourly(0.301, P.aurora),
      'db.r7g.xlarge': hourly(0.602, P.aurora),
      'db.r7g.2xlarge': hourly(1.204, P.aurora),
      'db.r7g.4xlarge': hourly(2.408, P.aurora),
    },
    serverlessV2AcuHour: unverified(0.13, 'ACU-hour', P.aurora, BEST_KNOWN),
    storageGbMonth: unverified(0.11, 'GB-month', P.aurora, BEST_KNOWN),
    ioPerMillion: unverified(0.22, 'million I/O requests', P.aurora, BEST_KNOWN),
  },
  rdsProxy: {
    vcpuHour: unverified(0.0165, 'vCPU-hour', P.rdsProxy, BEST_KNOWN),
    acuHour: unverified(0.0165, 'ACU-hour', P.rdsProxy, BEST_KNOWN),
  },
  elasticache: {
    redis: {
      nodeHour: redisNodes,
      serverlessGbHour: unverified(0.138, 'GB-hour', P.elasticache, BEST_KNOWN),
      serverlessEcpuPerMillion: unverified(0.0037, 'million ECPUs', P.elasticache, BEST_KNOWN),
    },
    valkey: {
      nodeHour: valkeyNodes(redisNodes),
      serverlessGbHour: unverified(0.092, 'GB-hour', P.elasticache, BEST_KNOWN),
      serverlessEcpuPerMillion: unverified(0.0025, 'million ECPUs', P.elasticache, BEST_KNOWN),
    },
  },
  sqs: { standardPerMillion: unverified(0.4, 'million requests', P.sqs, BEST_KNOWN) },
  cloudwatch: {
    metricMonth: unverified(0.3, 'metric-month', P.cloudwatch, BEST_KNOWN),
    alarmMetricMonth: unverified(0.1, 'alarm metric-month', P.cloudwatch, `${BEST_KNOWN} (standard resolution)`),
    highResAlarmMetricMonth: unverified(0.3, 'alarm metric-month', P.cloudwatch, `${BEST_KNOWN} (high resolution)`),
    compositeAlarmMonth: unverified(0.5, 'alarm-month', P.cloudwatch, BEST_KNOWN),
    dashboardMonth: unverified(3, 'dashboard-month', P.cloudwatch, BEST_KNOWN),
    logsIngestedGb: unverified(0.57, 'GB', P.cloudwatch, BEST_KNOWN),
    logsStoredGbMonth: unverified(0.03, 'GB-month', P.cloudwatch, BEST_KNOWN),
  },
  lambda: {
    arm64GbSecond: unverified(0.0000133334, 'GB-second', P.lambda, `${BEST_KNOWN} (the us-east-1 rate)`),
    x86GbSecond: unverified(0.0000166667, 'GB-second', P.lambda, `${BEST_KNOWN} (the us-east-1 rate)`),
    requestsPerMillion: unverified(0.2, 'million requests', P.lambda, BEST_KNOWN),
  },
};
