import { ListMetricsCommand, type CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { SlaConfig } from '../../lib/config/schema';
import { WORKLOAD_SERVICE } from '../../lib/contracts/kpi-catalogue';
import { LOADTEST_DIMENSIONS, LOADTEST_METRICS, LOADTEST_NAMESPACE } from '../../lib/contracts/loadtest';
import { WORKLOAD_METRICS_NAMESPACE } from '../../lib/contracts/workload-metrics';
import type { RunInput } from './evaluate';
import type { FetchResult, MetricRequest, Series } from './fetch';

/** One request-mix entry (client side) or one route of the API (server side), over the window. */
export interface EndpointRow {
  readonly side: 'client' | 'server';
  /** The run (client side); null on the server side, which sees every run's traffic together. */
  readonly runId: string | null;
  /** Mix entry name (client), or the route as the workload names it (`GET /items/:id`). */
  readonly endpoint: string;
  readonly requests: number | null;
  readonly rps: number | null;
  /** Client: 5xx + errors + timeouts; server: 5xx; as % of requests. */
  readonly errorRatePercent: number | null;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  readonly meanMs: number | null;
  readonly maxMs: number | null;
  /** Whether its p99 is over sla.latencyP99Ms (the SLA is the run's; an endpoint is not judged on its own). */
  readonly overP99Sla: boolean | null;
  readonly source: string;
}

const STATS = ['p50', 'p90', 'p99', 'Average', 'Maximum', 'SampleCount'] as const;

/** Keys of one endpoint's client-side series. */
export function endpointKeys(runId: string, endpoint: string) {
  const k = (s: string) => `client.${runId}.endpoint.${endpoint}.${s}`;
  return { requests: k('requests'), errors: k('errors'), timeouts: k('timeouts'), http5xx: k('http5xx'), p50: k('p50'), p90: k('p90'), p99: k('p99'), mean: k('mean'), max: k('max') };
}

/**
 * One run's per-endpoint client metrics: the load generator publishes each metric a second time with the
 * Endpoint dimension (the mix entry's name; lib/contracts/loadtest.ts). Percentiles over one period spanning
 * the window.
 */
export function endpointRequests(envName: string, runId: string, endpoints: readonly string[], periodSeconds: number, windowSeconds: number): MetricRequest[] {
  return endpoints.flatMap((endpoint) => {
    const dims = { [LOADTEST_DIMENSIONS.environment]: envName, [LOADTEST_DIMENSIONS.runId]: runId, [LOADTEST_DIMENSIONS.endpoint]: endpoint };
    const k = endpointKeys(runId, endpoint);
    const m = (key: string, metricName: string, stat: string, period: number): MetricRequest => ({ key, spec: { namespace: LOADTEST_NAMESPACE, metricName, dimensions: dims, stat }, periodSeconds: period });
    const L = LOADTEST_METRICS;
    return [
      m(k.requests, L.requests, 'Sum', periodSeconds), m(k.errors, L.errors, 'Sum', periodSeconds), m(k.timeouts, L.timeouts, 'Sum', periodSeconds),
      m(k.http5xx, L.http5xx, 'Sum', periodSeconds),
      m(k.p50, L.latency, 'p50', windowSeconds), m(k.p90, L.latency, 'p90', windowSeconds), m(k.p99, L.latency, 'p99', windowSeconds),
      m(k.mean, L.latency, 'Average', windowSeconds), m(k.max, L.latency, 'Maximum', windowSeconds),
    ];
  });
}

/** Routes and status classes the API published RequestLatency and RequestCount for (ListMetrics). */
export async function listRoutes(client: CloudWatchClient, envName: string): Promise<{ routes: string[]; statusByRoute: Map<string, string[]> }> {
  const routes = new Set<string>();
  const statusByRoute = new Map<string, string[]>();
  for (const metricName of ['RequestLatency', 'RequestCount']) {
    let NextToken: string | undefined;
    do {
      const page = await client.send(new ListMetricsCommand({
        Namespace: WORKLOAD_METRICS_NAMESPACE, MetricName: metricName,
        Dimensions: [{ Name: 'Environment', Value: envName }, { Name: 'Service', Value: WORKLOAD_SERVICE.api }], NextToken,
      }));
      for (const m of page.Metrics ?? []) {
        const route = m.Dimensions?.find((d) => d.Name === 'Route')?.Value;
        const status = m.Dimensions?.find((d) => d.Name === 'StatusClass')?.Value;
        if (!route) continue;
        if (metricName === 'RequestLatency') routes.add(route);
        else if (status) statusByRoute.set(route, [...new Set([...(statusByRoute.get(route) ?? []), status])].sort());
      }
      NextToken = page.NextToken;
    } while (NextToken);
  }
  for (const r of statusByRoute.keys()) routes.add(r);
  return { routes: [...routes].sort(), statusByRoute };
}

/** Key of one route's server-side series. */
export const routeKey = (route: string, s: string) => `server.route.${route}.${s}`;

/** The workload's per-route metrics (lib/contracts/workload-metrics.ts): latency statistics and counts by status class. */
export function routeRequests(envName: string, routes: { routes: readonly string[]; statusByRoute: ReadonlyMap<string, readonly string[]> }, periodSeconds: number, windowSeconds: number): MetricRequest[] {
  return routes.routes.flatMap((route) => {
    const base = { Environment: envName, Service: WORKLOAD_SERVICE.api, Route: route };
    return [
      ...STATS.map((stat) => ({ key: routeKey(route, stat), spec: { namespace: WORKLOAD_METRICS_NAMESPACE, metricName: 'RequestLatency', dimensions: base, stat }, periodSeconds: windowSeconds })),
      ...(routes.statusByRoute.get(route) ?? []).map((status) => ({
        key: routeKey(route, `count.${status}`),
        spec: { namespace: WORKLOAD_METRICS_NAMESPACE, metricName: 'RequestCount', dimensions: { ...base, StatusClass: status }, stat: 'Sum' }, periodSeconds,
      })),
    ];
  });
}

const sumOf = (s: Series | undefined) => (s ? s.values.reduce((a, b) => a + b, 0) : null);
const worst = (s: Series | undefined) => (s && s.values.length > 0 ? Math.max(...s.values) : null);

/**
 * Per-endpoint rows: client side from CloudWatch's Endpoint dimension, else from the run's result file
 * (`endpoints`); server side per route from the workload's own metrics, when it publishes them.
 */
export function endpointRows(runs: readonly RunInput[], fetched: FetchResult, sla: SlaConfig, windowSeconds: number, routes: readonly string[] = []): EndpointRow[] {
  const get = (key: string) => {
    const s = fetched.series.get(key);
    return s && s.values.length > 0 ? s : undefined;
  };
  const over = (p99: number | null) => (p99 === null ? null : p99 > sla.latencyP99Ms);
  const rows: EndpointRow[] = [];
  for (const run of runs) {
    const file = run.result?.result.endpoints ?? [];
    const names = [...new Set([...file.map((e) => e.name), ...[...fetched.series.keys()].filter((k) => k.startsWith(`client.${run.runId}.endpoint.`)).map((k) => k.slice(`client.${run.runId}.endpoint.`.length).replace(/\.[^.]+$/, ''))])];
    for (const endpoint of names) {
      const k = endpointKeys(run.runId, endpoint);
      const requests = sumOf(get(k.requests));
      const fromFile = file.find((e) => e.name === endpoint);
      if (requests !== null && requests > 0) {
        const failures = (sumOf(get(k.http5xx)) ?? 0) + (sumOf(get(k.errors)) ?? 0) + (sumOf(get(k.timeouts)) ?? 0);
        // Percentiles: CloudWatch's when it computed them, else the result file's.
        const pct = (p: 'p50' | 'p90' | 'p99') => worst(get(k[p])) ?? fromFile?.latency[`${p}Ms`] ?? null;
        const p99 = pct('p99');
        rows.push({
          side: 'client', runId: run.runId, endpoint, requests, rps: requests / windowSeconds, errorRatePercent: (100 * failures) / requests,
          p50Ms: pct('p50'), p90Ms: pct('p90'), p99Ms: p99, meanMs: worst(get(k.mean)) ?? fromFile?.latency.meanMs ?? null, maxMs: worst(get(k.max)) ?? fromFile?.latency.maxMs ?? null,
          overP99Sla: over(p99), source: `CloudWatch ${LOADTEST_NAMESPACE} (${LOADTEST_DIMENSIONS.endpoint} ${endpoint})${get(k.p99) ? '' : fromFile ? `; percentiles from ${run.result!.file}` : ''}`,
        });
      } else if (fromFile) {
        const failures = fromFile.status['5xx'] + fromFile.errors + fromFile.timeouts;
        rows.push({
          side: 'client', runId: run.runId, endpoint, requests: fromFile.sent, rps: fromFile.achievedRps,
          errorRatePercent: fromFile.sent > 0 ? (100 * failures) / fromFile.sent : null,
          p50Ms: fromFile.latency.p50Ms, p90Ms: fromFile.latency.p90Ms, p99Ms: fromFile.latency.p99Ms, meanMs: fromFile.latency.meanMs, maxMs: fromFile.latency.maxMs,
          overP99Sla: over(fromFile.latency.p99Ms), source: `${run.result!.file} endpoints[${endpoint}]`,
        });
      }
    }
  }
  for (const route of routes) {
    const counts = [...fetched.series.keys()].filter((key) => key.startsWith(routeKey(route, 'count.')));
    const total = counts.reduce((a, key) => a + (sumOf(get(key)) ?? 0), 0);
    const errors = sumOf(get(routeKey(route, 'count.5xx'))) ?? 0;
    const n = worst(get(routeKey(route, 'SampleCount')));
    const requests = total > 0 ? total : n;
    const p99 = worst(get(routeKey(route, 'p99')));
    rows.push({
      side: 'server', runId: null, endpoint: route, requests, rps: requests === null ? null : requests / windowSeconds,
      errorRatePercent: total > 0 ? (100 * errors) / total : null,
      p50Ms: worst(get(routeKey(route, 'p50'))), p90Ms: worst(get(routeKey(route, 'p90'))), p99Ms: p99,
      meanMs: worst(get(routeKey(route, 'Average'))), maxMs: worst(get(routeKey(route, 'Maximum'))),
      overP99Sla: over(p99), source: `CloudWatch ${WORKLOAD_METRICS_NAMESPACE} RequestLatency, RequestCount (Route ${route})`,
    });
  }
  return rows;
}
