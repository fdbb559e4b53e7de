import { ALARM_KINDS, type ThresholdKey } from '../../lib/config/alarm-kinds';
import {
  convertUnit, describeMetric, dimensionsOf, fillParams, isMetricKey, KPI_DERIVED, KPI_METRIC, KPI_METRICS, kpiDimensionValues, kpiUnit, sourcesOf, unitScaling,
} from '../../lib/contracts/kpi-catalogue';
import { kpiSourcesSchema, pickKpiSources, type KpiSources } from '../../lib/contracts/kpi-sources';
import { WORKLOAD_BASE_DIMENSIONS, WORKLOAD_METRICS, WORKLOAD_METRICS_NAMESPACE } from '../../lib/contracts/workload-metrics';
import { serverRequests, SERVER_SERIES } from '../../tools/kpi-report/fetch';
import { evaluateMath } from '../../tools/kpi-report/series';

const SOURCES: KpiSources = {
  loadBalancerFullName: 'app/lb/1', targetGroupFullName: 'targetgroup/tg/1', clusterName: 'cluster', apiServiceName: 'api',
  workerServiceName: 'worker', queueName: 'jobs', deadLetterQueueName: 'jobs-dlq', dbClusterIdentifier: 'db',
};

describe('KPI catalogue', () => {
  test('keys are unique across metric and derived rows', () => {
    const keys = [...KPI_METRICS, ...KPI_DERIVED].map((r) => r.key);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
  });

  test('the report reads only rows whose dimensions the KpiSources output holds', () => {
    const output = new Set(Object.keys(kpiSourcesSchema.shape));
    // The environment is the report's --env; everything else comes from the output.
    const unreadable = Object.entries(SERVER_SERIES).flatMap(([name, s]) => sourcesOf(KPI_METRIC[s.kpi]).filter((src) => !output.has(src) && src !== 'environment').map((src) => `${name}: ${src}`));
    expect(unreadable).toEqual([]);
    expect(() => serverRequests(SOURCES, 60, 300, 'dev')).not.toThrow();
    // Rows of a resource the output does not name (no proxy) are not queried.
    const keys = serverRequests(SOURCES, 60, 300, 'dev').map((q) => q.key);
    expect(keys).not.toContain('server.proxyDatabaseConnections');
    expect(serverRequests({ ...SOURCES, proxyName: 'p' }, 60, 300, 'dev').map((q) => q.key)).toContain('server.proxyDatabaseConnections');
  });

  test('dimensions: fixed values and sources, in the row\'s order; a missing source is named', () => {
    expect(dimensionsOf(KPI_METRIC.dbWriterCpu, SOURCES)).toEqual({ DBClusterIdentifier: 'db', Role: 'WRITER' });
    expect(Object.keys(dimensionsOf(KPI_METRIC.healthyHosts, SOURCES))).toEqual(['LoadBalancer', 'TargetGroup']);
    expect(() => dimensionsOf(KPI_METRIC.proxyClientConnections, SOURCES)).toThrow('KPI proxyClientConnections: dimension ProxyName needs proxyName, which is not given');
  });

  test('a report names a row by namespace, metric, statistic and fixed dimensions', () => {
    expect(describeMetric(KPI_METRIC.dbWriterCpu)).toBe('AWS/RDS CPUUtilization Average (Role WRITER)');
    expect(describeMetric(KPI_METRIC.latencyP99)).toBe('AWS/ApplicationELB TargetResponseTime p99');
  });

  test('units convert within their kind, exactly, as values and as metric math', () => {
    expect(convertUnit(250, 'Milliseconds', 'Seconds')).toBe(0.25);
    expect(convertUnit(0.321, 'Seconds', 'Milliseconds')).toBe(321);
    expect(convertUnit(512, 'Mebibytes', 'Bytes')).toBe(512 * 1024 * 1024);
    expect(convertUnit(7, 'Percent', 'Percent')).toBe(7);
    expect(convertUnit(2500, 'Microseconds', 'Milliseconds')).toBe(2.5);
    expect(unitScaling('Microseconds', 'Milliseconds')).toBe('/ 1000');
    expect(unitScaling('Seconds', 'Milliseconds')).toBe('* 1000');
    expect(unitScaling('Bytes', 'Mebibytes')).toBe('/ 1048576');
    expect(() => convertUnit(1, 'Seconds', 'Bytes')).toThrow('cannot convert Seconds to Bytes');
    expect(() => convertUnit(1, 'Percent', 'Count')).toThrow('cannot convert Percent to Count');
  });

  test('parameters fill {name} placeholders; a missing one is an error, not "undefined" in a template', () => {
    expect(fillParams('100 * connections / {connectionBudget}', { connectionBudget: 450 })).toBe('100 * connections / 450');
    expect(() => fillParams('100 * bytes / {cacheMaxDataStorageBytes}', { connectionBudget: 450 })).toThrow('no value for {cacheMaxDataStorageBytes}');
  });

  test('the KpiSources output takes exactly its schema\'s fields, in order, from the stack\'s larger set', () => {
    const stack = { ...SOURCES, proxyName: 'proxy', dbShardGroupIdentifier: 'sg', cacheId: 'cache', cacheNodeIds: ['n1', 'n2'], cacheServerless: false, backlogQueries: [], cacheMaxDataStorageGb: 10 };
    const picked = pickKpiSources(stack as KpiSources);
    expect(Object.keys(picked)).toEqual(Object.keys(kpiSourcesSchema.shape).filter((k) => k !== 'dashboardName'));
    expect(kpiSourcesSchema.parse(picked)).toEqual({ ...SOURCES, proxyName: 'proxy', dbShardGroupIdentifier: 'sg', cacheId: 'cache', cacheNodeIds: ['n1', 'n2'], cacheServerless: false });
    // An older output without the optional fields still parses: the report says "no data" for those rows.
    expect(kpiSourcesSchema.parse(SOURCES)).toEqual(SOURCES);
  });

  test('dimension values: the string fields of KpiSources and the environment; lists and flags are not dimensions', () => {
    expect(kpiDimensionValues({ ...SOURCES, cacheNodeIds: ['n1'], cacheServerless: true, cacheId: 'c' }, 'dev')).toEqual({ ...SOURCES, cacheId: 'c', environment: 'dev' });
    expect(dimensionsOf(KPI_METRIC.apiPoolUtilization, kpiDimensionValues(SOURCES, 'staging'))).toEqual({ Environment: 'staging', Service: 'api' });
    expect(() => dimensionsOf(KPI_METRIC.jobProcessingAverage, kpiDimensionValues(SOURCES))).toThrow('needs environment');
  });

  test('the workload\'s rows use its contract: namespace, metric names, and a dimension set it emits (the base set, or all of the metric\'s)', () => {
    const rows = KPI_METRICS.filter((r) => r.namespace === WORKLOAD_METRICS_NAMESPACE);
    expect(rows.length).toBeGreaterThan(4);
    for (const r of rows) {
      expect(Object.keys(WORKLOAD_METRICS)).toContain(r.metricName);
      const own = WORKLOAD_METRICS[r.metricName as keyof typeof WORKLOAD_METRICS].dimensions;
      const names = Object.keys(r.dimensions);
      expect([[...WORKLOAD_BASE_DIMENSIONS], [...WORKLOAD_BASE_DIMENSIONS, ...own].sort()]).toContainEqual(names.length === WORKLOAD_BASE_DIMENSIONS.length ? names : [...names].sort());
      expect(r.unit).toBe(WORKLOAD_METRICS[r.metricName as keyof typeof WORKLOAD_METRICS].unit);
    }
  });

  test('the report computes the serverless cache math as CloudWatch would', () => {
    expect(evaluateMath('100 * ecpu / PERIOD(ecpu) / 1000', { ecpu: 30000 }, 60)).toBe(50);
    expect(evaluateMath('100 * bytes / 10000000000', { bytes: 2.5e9 }, 60)).toBe(25);
    expect(evaluateMath('(a + b) * 2 - -1', { a: 1, b: 2 }, 60)).toBe(7);
    expect(() => evaluateMath('MAX([a])', { a: 1 }, 60)).toThrow('metric math "MAX([a])": no value for MAX');
    expect(() => evaluateMath('a +', { a: 1 }, 60)).toThrow('ends early');
    // Every serverless cache expression of the catalogue evaluates (a new one the report cannot compute fails here).
    for (const row of KPI_DERIVED) {
      if (!('byCacheMode' in row)) continue;
      const m = row.byCacheMode.serverless;
      const filled = fillParams(m.expression, { cacheMaxEcpuPerSecond: 1000, cacheMaxDataStorageBytes: 1e10, connectionBudget: 100 });
      expect(Number.isFinite(evaluateMath(filled, Object.fromEntries(Object.keys(m.using).map((id) => [id, 5])), 60))).toBe(true);
    }
  });
});

describe('alarm table (lib/config/alarm-kinds.ts) against the catalogue', () => {
  const rows = (Object.keys(ALARM_KINDS) as ThresholdKey[]).flatMap((key) => ALARM_KINDS[key].alarms.map((row) => ({ key, row, kind: ALARM_KINDS[key] })));

  test('alarm ids are unique (they name the alarms\' logical ids)', () => {
    const ids = rows.map((r) => r.row.id);
    expect(ids.filter((id, i) => ids.indexOf(id) !== i)).toEqual([]);
  });

  test('each threshold converts from the unit its key names to its KPI\'s unit', () => {
    const problems = rows.flatMap(({ key, row, kind }) => {
      try {
        convertUnit(1, kind.unit, kpiUnit(row.kpi));
        return [];
      } catch (e) {
        return [`alarms.${key} → ${row.kpi}: ${(e as Error).message}`];
      }
    });
    expect(problems).toEqual([]);
  });

  test('only derived KPIs are judged under traffic, and one that breaches below has a ceiling to be quiet at', () => {
    for (const { row, kind } of rows.filter((r) => r.row.underTraffic)) {
      expect(isMetricKey(row.kpi)).toBe(false);
      if (kind.breaches === 'below') expect(kind.ceiling).toBeDefined();
    }
  });
});
