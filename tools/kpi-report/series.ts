import { fillParams, KPI_DERIVED_ROW, type KpiParams } from '../../lib/contracts/kpi-catalogue';
import type { KpiSources } from '../../lib/contracts/kpi-sources';
import { CACHE_SERIES, cacheKey, SERVER, type CacheSeries, type FetchResult, type Series, type ServerSeries } from './fetch';

/** A server-side KPI by the report's name for it: a catalogue row, or a cache KPI combined across nodes. */
export type SeriesName = ServerSeries | CacheSeries | 'apiTaskStart';

/** The server-side series of a fetch, by name; undefined when a series has no datapoints. */
export type SeriesLookup = (name: SeriesName) => Series | undefined;

/**
 * The fetched series by name. Cache KPIs are computed here as the catalogue's derived rows say: across the
 * nodes of a replication group (AVG, MAX or SUM per timestamp), or by the serverless math (limits from
 * `params`), so the report reads the same figure the dashboard graphs.
 */
export function seriesLookup(fetched: FetchResult, src: Pick<KpiSources, 'cacheServerless' | 'cacheNodeIds'>, params: Partial<KpiParams>, periodSeconds: number): SeriesLookup {
  const raw = (key: string): Series | undefined => {
    const s = fetched.series.get(key);
    return s && s.values.length > 0 ? s : undefined;
  };
  const cache = new Map<CacheSeries, Series | undefined>();
  return (name) => {
    if (name === 'apiTaskStart') return pendingSeconds(raw(SERVER.apiDesired), raw(SERVER.apiRunning));
    if (!(name in CACHE_SERIES)) return raw(SERVER[name as ServerSeries]);
    const c = name as CacheSeries;
    if (!cache.has(c)) cache.set(c, cacheSeries(c, raw, src, params, periodSeconds));
    return cache.get(c);
  };
}

/**
 * How long the oldest task the service asked for has been waiting to run, at each period: within a stretch
 * where the desired count exceeds the running count (both per-period averages), the time since the first
 * period whose desired count is above what runs now. A ramp that keeps asking for one more task each minute
 * while each starts within the minute stays at 0; a task still not running two periods after it was asked for
 * shows 120 s, to compare with compute.taskStartSeconds.
 */
export function pendingSeconds(desired: Series | undefined, running: Series | undefined): Series | undefined {
  if (!desired || !running) return undefined;
  const run = new Map(running.timestamps.map((t, i) => [t, running.values[i]]));
  const points = desired.timestamps.flatMap((t, i) => (run.has(t) ? [{ t, want: desired.values[i], have: run.get(t)! }] : []));
  let streakStart = -1;
  const values = points.map((p, i) => {
    if (p.want - p.have < 0.5) {
      streakStart = -1;
      return 0;
    }
    if (streakStart < 0) streakStart = i;
    let first = i;
    for (let j = streakStart; j <= i; j++) {
      if (points[j].want - p.have >= 0.5) {
        first = j;
        break;
      }
    }
    return ((p.t - points[first].t) / 1000);
  });
  return points.length > 0 ? { timestamps: points.map((p) => p.t), values } : undefined;
}

function cacheSeries(name: CacheSeries, raw: (key: string) => Series | undefined, src: Pick<KpiSources, 'cacheServerless' | 'cacheNodeIds'>, params: Partial<KpiParams>, periodSeconds: number): Series | undefined {
  const row = KPI_DERIVED_ROW[CACHE_SERIES[name]];
  if (!('byCacheMode' in row)) return undefined;
  if (src.cacheServerless) {
    const math = row.byCacheMode.serverless;
    const inputs = Object.keys(math.using).map((id) => [id, raw(cacheKey(name, id))] as const);
    if (inputs.some(([, s]) => !s)) return undefined;
    const expression = fillParams(math.expression, params);
    const times = inputs[0][1]!.timestamps.filter((t) => inputs.every(([, s]) => s!.timestamps.includes(t)));
    const values = times.map((t) => evaluateMath(expression, Object.fromEntries(inputs.map(([id, s]) => [id, s!.values[s!.timestamps.indexOf(t)]])), periodSeconds));
    return times.length > 0 ? { timestamps: times, values } : undefined;
  }
  const nodes = (src.cacheNodeIds ?? []).map((_, i) => raw(cacheKey(name, `#${i}`))).filter((s): s is Series => s !== undefined);
  if (nodes.length === 0) return undefined;
  const byTime = new Map<number, number[]>();
  for (const s of nodes) s.timestamps.forEach((t, i) => byTime.set(t, [...(byTime.get(t) ?? []), s.values[i]]));
  const combine = { AVG: (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length, MAX: (xs: number[]) => Math.max(...xs), SUM: (xs: number[]) => xs.reduce((a, b) => a + b, 0) }[row.byCacheMode.nodes.across];
  const timestamps = [...byTime.keys()].sort((a, b) => a - b);
  return { timestamps, values: timestamps.map((t) => combine(byTime.get(t)!)) };
}

/**
 * Evaluates the arithmetic subset of CloudWatch metric math the catalogue's expressions use: numbers, ids,
 * + - * / and parentheses, and PERIOD(id) (the period in seconds). Anything else is an error, so a new
 * catalogue expression the report cannot compute fails its test instead of reporting a wrong figure.
 */
export function evaluateMath(expression: string, values: Readonly<Record<string, number>>, periodSeconds: number): number {
  const tokens = expression.match(/\d+(?:\.\d+)?(?:e[+-]?\d+)?|[A-Za-z_]\w*|[-+*/()]|\S/g) ?? [];
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const fail = (why: string): never => {
    throw new Error(`metric math "${expression}": ${why}`);
  };
  const primary = (): number => {
    const t = next();
    if (t === undefined) return fail('ends early');
    if (t === '(') {
      const v = sum();
      if (next() !== ')') fail('a ")" is missing');
      return v;
    }
    if (t === '-') return -primary();
    if (/^\d/.test(t)) return Number(t);
    if (t === 'PERIOD') {
      if (next() !== '(' || !/^[A-Za-z_]\w*$/.test(next() ?? '') || next() !== ')') fail('PERIOD takes one id');
      return periodSeconds;
    }
    if (/^[A-Za-z_]\w*$/.test(t)) {
      if (!(t in values)) fail(`no value for ${t}`);
      return values[t];
    }
    return fail(`unexpected "${t}"`);
  };
  const product = (): number => {
    let v = primary();
    while (peek() === '*' || peek() === '/') v = next() === '*' ? v * primary() : v / primary();
    return v;
  };
  const sum = (): number => {
    let v = product();
    while (peek() === '+' || peek() === '-') v = next() === '+' ? v + product() : v - product();
    return v;
  };
  const v = sum();
  if (i < tokens.length) fail(`unexpected "${tokens[i]}"`);
  return v;
}
