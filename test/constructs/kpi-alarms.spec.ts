import { Match, type Template } from 'aws-cdk-lib/assertions';
import { connectionBudget } from '../../lib/config/rules';
import type { BlueprintConfig, Thresholds } from '../../lib/config/schema';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

type Resource = { Properties: Record<string, any> };

/** The alarm whose logical id starts with `Kpi<id>`, and fails the test if there is none or several. */
function alarm(t: Template, id: string): Resource {
  const found = Object.entries(t.findResources('AWS::CloudWatch::Alarm')).filter(([logicalId]) => new RegExp(`^Kpi${id}[0-9A-F]{8}$`).test(logicalId));
  expect(found.map(([logicalId]) => logicalId)).toHaveLength(1);
  return found[0][1] as Resource;
}

function hasAlarm(t: Template, id: string): boolean {
  return Object.keys(t.findResources('AWS::CloudWatch::Alarm')).some((logicalId) => new RegExp(`^Kpi${id}[0-9A-F]{8}$`).test(logicalId));
}

/** The metric stats of an alarm (single metric or inside its math), by metric name. */
function stats(a: Resource): Array<{ name: string; stat: string; period: number; namespace: string }> {
  const p = a.Properties;
  if (p.MetricName) return [{ name: p.MetricName, stat: p.Statistic ?? p.ExtendedStatistic, period: p.Period, namespace: p.Namespace }];
  return (p.Metrics as Array<Record<string, any>>).filter((q) => q.MetricStat).map((q) => ({
    name: q.MetricStat.Metric.MetricName, stat: q.MetricStat.Stat, period: q.MetricStat.Period, namespace: q.MetricStat.Metric.Namespace,
  }));
}

const expression = (a: Resource) => (a.Properties.Metrics as Array<{ Expression?: string; ReturnData?: boolean }>).find((q) => q.ReturnData !== false)!.Expression;

/**
 * The expected alarms, written out independently of the alarm table (lib/config/alarm-kinds.ts) and the
 * KPI catalogue: config key, metric, statistic, comparison and unit conversion from the configured value.
 */
function expectedAlarms(cfg: BlueprintConfig) {
  const MiB = 1024 * 1024;
  const a = cfg.alarms;
  return [
    { id: 'LatencyP99', t: a.latencyP99Ms, metric: 'TargetResponseTime', stat: 'p99', op: 'GreaterThanThreshold', unit: (v: number) => v / 1000 },
    { id: 'Target5xxRate', t: a.http5xxPercent, metric: 'HTTPCode_Target_5XX_Count', stat: 'Sum', op: 'GreaterThanThreshold' },
    { id: 'Elb5xxRate', t: a.http5xxPercent, metric: 'HTTPCode_ELB_5XX_Count', stat: 'Sum', op: 'GreaterThanThreshold' },
    { id: 'UnhealthyHosts', t: a.unhealthyHosts, metric: 'UnHealthyHostCount', stat: 'Maximum', op: 'GreaterThanThreshold' },
    { id: 'ApiCpu', t: a.apiCpuPercent, metric: 'CPUUtilization', stat: 'Average', op: 'GreaterThanThreshold' },
    { id: 'ApiMemory', t: a.apiMemoryPercent, metric: 'MemoryUtilization', stat: 'Average', op: 'GreaterThanThreshold' },
    { id: 'QueueAge', t: a.queueAgeLatencyMultiple, metric: 'ApproximateAgeOfOldestMessage', stat: 'Maximum', op: 'GreaterThanThreshold', unit: (x: number) => x * cfg.worker.acceptableLatencySeconds },
    { id: 'DlqMessages', t: a.dlqMessages, metric: 'ApproximateNumberOfMessagesVisible', stat: 'Maximum', op: 'GreaterThanThreshold' },
    { id: 'WriterCpu', t: a.auroraCpuPercent, metric: 'CPUUtilization', stat: 'Average', op: 'GreaterThanThreshold' },
    { id: 'ReaderCpu', t: a.auroraCpuPercent, metric: 'CPUUtilization', stat: 'Average', op: 'GreaterThanThreshold' },
    { id: 'DbConnections', t: a.dbConnectionsPercentOfBudget, metric: 'DatabaseConnections', stat: 'Maximum', op: 'GreaterThanThreshold' },
    { id: 'ReplicaLag', t: a.replicaLagMs, metric: 'AuroraReplicaLag', stat: 'Maximum', op: 'GreaterThanThreshold' },
    { id: 'WriterFreeableMemory', t: a.freeableMemoryMiB, metric: 'FreeableMemory', stat: 'Minimum', op: 'LessThanThreshold', unit: (v: number) => v * MiB },
    { id: 'ReaderFreeableMemory', t: a.freeableMemoryMiB, metric: 'FreeableMemory', stat: 'Minimum', op: 'LessThanThreshold', unit: (v: number) => v * MiB },
    { id: 'CacheHitRate', t: a.cacheHitRatePercent, metric: 'CacheHitRate', stat: 'Average', op: 'LessThanThreshold' },
    { id: 'CacheMemory', t: a.cacheMemoryPercent, metric: 'DatabaseMemoryUsagePercentage', stat: 'Maximum', op: 'GreaterThanThreshold' },
    { id: 'CacheEvictions', t: a.cacheEvictions, metric: 'Evictions', stat: 'Sum', op: 'GreaterThanOrEqualToThreshold' },
  ] as Array<{ id: string; t: Thresholds; metric: string; stat: string; op: string; unit?: (v: number) => number }>;
}

const topicRef = [{ Ref: Match.stringLikeRegexp('^AlarmsTopic') }];

describe.each(ENVIRONMENTS)('KPI alarms (%s)', (env) => {
  const cfg = configFor(env);
  const { monitoring: t } = synth(env);
  const cases = expectedAlarms(cfg).flatMap((e) => (['Warning', 'Critical'] as const).map((severity) => ({ ...e, severity })));

  test.each(cases)('$id $severity: metric, statistic, threshold, period, datapoints and actions from config', (e) => {
    const value = e.severity === 'Warning' ? e.t.warning : e.t.critical;
    if (value === null) {
      expect(hasAlarm(t, `${e.id}${e.severity}`)).toBe(false);
      return;
    }
    const a = alarm(t, `${e.id}${e.severity}`);
    expect(a.Properties).toMatchObject({
      Threshold: e.unit ? e.unit(value) : value,
      ComparisonOperator: e.op,
      EvaluationPeriods: cfg.monitoring.evaluationPeriods,
      DatapointsToAlarm: cfg.monitoring.datapointsToAlarm,
      TreatMissingData: 'notBreaching',
      AlarmDescription: expect.stringMatching(new RegExp(`^\\[${e.severity}\\] `)),
    });
    expect(JSON.stringify(a.Properties.AlarmActions)).toMatch(/"Ref":"AlarmsTopic/);
    expect(JSON.stringify(a.Properties.OKActions)).toMatch(/"Ref":"AlarmsTopic/);
    const found = stats(a).filter((s) => s.name === e.metric);
    expect(found.length).toBeGreaterThan(0);
    for (const s of found) expect(s).toMatchObject({ stat: e.stat, period: cfg.monitoring.periodSeconds });
  });

  test('5xx rates are 100 × FILL(errors, 0) ÷ requests, quiet below the low-traffic guard', () => {
    const guard = cfg.monitoring.minRequestsPerPeriod;
    for (const id of ['Target5xxRateCritical', 'Elb5xxRateCritical']) {
      expect(expression(alarm(t, id))).toMatch(new RegExp(`^IF\\(requests >= ${guard}, 100 \\* FILL\\(errors\\d+, 0\\) / requests, 0\\)$`));
    }
  });

  test('database connections as a share of the connection budget', () => {
    expect(expression(alarm(t, 'DbConnectionsWarning'))).toBe(`100 * connections / ${connectionBudget(cfg.database)}`);
  });

  test('cache hit rate only judged under traffic, over every node of the replication group', () => {
    const nodes = (1 + cfg.cache.replicas) * cfg.cache.shards;
    const ids = Array.from({ length: nodes }, (_, i) => `chr${i}`).join(', ');
    expect(expression(alarm(t, 'CacheHitRateWarning'))).toBe(`IF(requests >= ${cfg.monitoring.minRequestsPerPeriod}, AVG([${ids}]), 100)`);
  });

  test('API at max tasks: a warning at RunningTaskCount ≥ maxTasks', () => {
    const a = alarm(t, 'ApiAtMaxTasks');
    expect(a.Properties).toMatchObject({ Threshold: cfg.api.maxTasks, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    expect(stats(a)).toEqual([{ name: 'RunningTaskCount', namespace: 'ECS/ContainerInsights', stat: 'Average', period: cfg.monitoring.periodSeconds }]);
  });

  test('SLO burn rates: long and short window alarms per objective, joined by AND in a composite that notifies', () => {
    cfg.slo.burnRates.forEach((rate, i) => {
      for (const objective of ['Availability', 'Latency'] as const) {
        const budget = 100 - (objective === 'Availability' ? cfg.slo.availabilityPercent : cfg.slo.latencyPercent);
        for (const [label, minutes] of [['Long', rate.longWindowMinutes], ['Short', rate.shortWindowMinutes]] as const) {
          const a = alarm(t, `Slo${objective}Burn${i + 1}${label}`);
          expect(a.Properties).toMatchObject({ Threshold: rate.factor, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
          expect(a.Properties.AlarmActions).toBeUndefined();
          for (const s of stats(a)) expect(s.period).toBe(minutes * 60);
          const minRequests = Math.ceil((cfg.monitoring.minRequestsPerPeriod * minutes * 60) / cfg.monitoring.periodSeconds);
          expect(expression(a)).toBe(objective === 'Availability'
            ? `IF(requests >= ${minRequests}, (100 * (FILL(t5xx, 0) + FILL(e5xx, 0)) / requests) / ${Math.round(budget * 1e6) / 1e6}, 0)`
            : `IF(requests >= ${minRequests}, (100 - FILL(fast, 100)) / ${Math.round(budget * 1e6) / 1e6}, 0)`);
          if (objective === 'Latency') expect(stats(a).find((s) => s.name === 'TargetResponseTime')!.stat).toBe(`PR(:${cfg.slo.latencyThresholdMs / 1000})`);
        }
        const [composite] = Object.entries(t.findResources('AWS::CloudWatch::CompositeAlarm'))
          .filter(([logicalId]) => new RegExp(`^KpiSlo${objective}Burn${i + 1}[0-9A-F]{8}$`).test(logicalId)).map(([, r]) => r);
        const rule = JSON.stringify(composite.Properties.AlarmRule);
        expect(rule).toMatch(new RegExp(`KpiSlo${objective}Burn${i + 1}Long.*\\) AND ALARM\\(.*KpiSlo${objective}Burn${i + 1}Short`));
        expect(composite.Properties.AlarmActions).toEqual(topicRef.map(() => expect.objectContaining({ Ref: expect.stringMatching(/^AlarmsTopic/) })));
      }
    });
  });

  test('service health: a composite over every critical alarm and every burn-rate composite', () => {
    const [health] = Object.entries(t.findResources('AWS::CloudWatch::CompositeAlarm')).filter(([id]) => id.startsWith('KpiServiceHealth')).map(([, r]) => r);
    const rule = JSON.stringify(health.Properties.AlarmRule);
    const critical = Object.keys(t.findResources('AWS::CloudWatch::Alarm')).filter((id) => /^Kpi\w+Critical[0-9A-F]{8}$/.test(id));
    const burns = Object.keys(t.findResources('AWS::CloudWatch::CompositeAlarm')).filter((id) => /^KpiSlo\w+Burn\d[0-9A-F]{8}$/.test(id));
    expect(critical.length).toBeGreaterThan(10);
    for (const id of [...critical, ...burns]) expect(rule).toContain(`"${id}"`);
    expect((rule.match(/ALARM\(/g) ?? []).length).toBe(critical.length + burns.length);
    expect(rule).not.toMatch(/Warning/);
    expect(JSON.stringify(health.Properties.AlarmActions)).toMatch(/AlarmsTopic/);
    expect(JSON.stringify(health.Properties.OKActions)).toMatch(/AlarmsTopic/);
  });
});

// One synth with several independent changes serves the variant tests below (synth is the slow part).
const VARIANT = {
  alarms: { apiCpuPercent: { warning: 66, critical: null }, latencyP99Ms: { warning: 321, critical: 654 }, apiAtMaxTasks: false },
  monitoring: { evaluationPeriods: 10, datapointsToAlarm: 7, alarmEmails: ['oncall@example.com', 'team@example.com'] },
  slo: { availabilityPercent: 99.5, burnRates: [{ longWindowMinutes: 120, shortWindowMinutes: 10, factor: 10 }] },
  cache: { mode: 'serverless', serverlessMaxDataStorageGb: 20 },
};

describe('alarm configuration changes', () => {
  const { monitoring: t } = synth('staging', VARIANT);

  test('a threshold in cdk.json moves the alarm; null removes the level', () => {
    expect(alarm(t, 'ApiCpuWarning').Properties.Threshold).toBe(66);
    expect(hasAlarm(t, 'ApiCpuCritical')).toBe(false);
    expect(alarm(t, 'LatencyP99Warning').Properties.Threshold).toBe(0.321);
    expect(alarm(t, 'LatencyP99Critical').Properties.Threshold).toBe(0.654);
    expect(hasAlarm(t, 'ApiAtMaxTasks')).toBe(false);
  });

  test('evaluation periods and datapoints to alarm apply to every KPI alarm', () => {
    const a = alarm(t, 'DlqMessagesCritical');
    expect(a.Properties).toMatchObject({ EvaluationPeriods: 10, DatapointsToAlarm: 7 });
  });

  test('the SLO target and burn rates shape the burn alarms', () => {
    const a = alarm(t, 'SloAvailabilityBurn1Long');
    expect(a.Properties.Threshold).toBe(10);
    expect(expression(a)).toContain('/ 0.5, 0)');
    expect(hasAlarm(t, 'SloAvailabilityBurn2Long')).toBe(false);
  });
});

describe('alarm topic', () => {
  const { monitoring: t } = synth('staging', VARIANT);

  test('encrypted with a customer-managed key CloudWatch may use', () => {
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlarmsKey'), 'Arn'] } });
    t.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Principal: { Service: 'cloudwatch.amazonaws.com' },
          Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
        })]),
      },
    });
  });

  test('publishing requires TLS', () => {
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  test('email subscriptions from config, none by default', () => {
    t.resourceCountIs('AWS::SNS::Subscription', 2);
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    synth('staging').monitoring.resourceCountIs('AWS::SNS::Subscription', 0);
  });
});

describe('cache KPIs of a serverless cache', () => {
  const { monitoring: t } = synth('staging', VARIANT);

  test('hit rate, memory and evictions come from the cache-level serverless metrics', () => {
    expect(expression(alarm(t, 'CacheHitRateWarning'))).toBe(`IF(requests >= ${configFor('staging').monitoring.minRequestsPerPeriod}, hit, 100)`);
    expect(expression(alarm(t, 'CacheMemoryWarning'))).toBe(`100 * bytes / ${20 * 1e9}`);
    for (const id of ['CacheHitRateWarning', 'CacheMemoryWarning', 'CacheEvictionsWarning']) {
      const a = alarm(t, id);
      const dims = (a.Properties.Metrics as Array<Record<string, any>>).filter((q) => q.MetricStat?.Metric.Namespace === 'AWS/ElastiCache')
        .map((q) => q.MetricStat.Metric.Dimensions[0].Name);
      expect(dims).toEqual(['clusterId']);
    }
  });
});
