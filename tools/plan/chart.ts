import { renderSvg } from '../kpi-report/chart';
import type { PlanReport } from './report';

/**
 * The plan's chart: demand against capacity, and the task counts, over the run, a rate panel and a count
 * panel per tier (their units differ), SLA and budget lines dashed. Rendered to SVG by the same headless
 * Vega-Lite path as the KPI report's timeline (tools/kpi-report/chart.ts).
 */

interface Point {
  readonly minute: number;
  readonly value: number;
  readonly panel: string;
  readonly series: string;
  readonly kind: 'line' | 'limit';
}

/** The chart draws at most this many points per series: longer runs (a soak) are thinned evenly. */
const MAX_POINTS = 720;

/** The Vega-Lite spec of the plan: one row per panel, a shared axis in minutes from the start. */
export function planChartSpec(r: PlanReport): Record<string, unknown> {
  const stride = Math.max(1, Math.ceil(r.timeline.length / MAX_POINTS));
  const ticks = r.timeline.filter((_, i) => i % stride === 0);
  const p99Cap = 3 * r.sla.latencyP99Ms;
  const values: Point[] = [];
  const add = (panel: string, series: string, kind: Point['kind'], f: (x: PlanReport['timeline'][number]) => number | null) => {
    for (const x of ticks) {
      const v = f(x);
      if (v !== null && Number.isFinite(v)) values.push({ minute: x.t / 60, value: v, panel, series, kind });
    }
  };
  const panels: string[] = [];
  const panel = (name: string, draw: () => void) => {
    panels.push(name);
    draw();
  };
  panel('API req/s', () => {
    add('API req/s', 'demand', 'line', (x) => x.api.demandRps);
    add('API req/s', 'capacity (serving tasks)', 'line', (x) => x.api.capacityRps);
    add('API req/s', 'at the request target', 'limit', (x) => x.api.targetRps);
  });
  panel('API tasks', () => {
    add('API tasks', 'desired', 'line', (x) => x.api.desiredTasks);
    add('API tasks', 'serving', 'line', (x) => x.api.servingTasks);
    add('API tasks', 'max', 'limit', (x) => x.api.maxTasks);
  });
  panel(`API p99 ms (capped at ${p99Cap})`, () => {
    add(`API p99 ms (capped at ${p99Cap})`, 'predicted p99', 'line', (x) => (x.api.p99Ms === null ? p99Cap : Math.min(p99Cap, x.api.p99Ms)));
    add(`API p99 ms (capped at ${p99Cap})`, 'sla.latencyP99Ms', 'limit', () => r.sla.latencyP99Ms);
  });
  const worker = r.tiers.find((t) => t.tier === 'worker');
  if (worker?.modelled) {
    panel('Worker jobs/s', () => {
      add('Worker jobs/s', 'jobs arriving', 'line', (x) => x.worker.demandJobsPerSecond);
      add('Worker jobs/s', 'capacity (running tasks)', 'line', (x) => x.worker.capacityJobsPerSecond);
    });
    panel('Worker tasks', () => {
      add('Worker tasks', 'desired', 'line', (x) => x.worker.desiredTasks);
      add('Worker tasks', 'running', 'line', (x) => x.worker.runningTasks);
    });
    panel('Queue age s', () => {
      add('Queue age s', 'oldest job', 'line', (x) => x.worker.queueAgeSeconds);
      add('Queue age s', 'sla.queueAgeSeconds', 'limit', () => r.sla.queueAgeSeconds);
    });
  }
  const readers = r.tiers.find((t) => t.tier === 'readers');
  if (readers?.modelled) {
    panel('Reader load req/s', () => {
      add('Reader load req/s', 'API reads', 'line', (x) => x.readers.demandRps);
      add('Reader load req/s', 'readers at 100 % CPU', 'line', (x) => x.readers.capacityRps);
    });
    panel('Readers', () => {
      add('Readers', 'desired', 'line', (x) => x.readers.desired);
      add('Readers', 'available', 'line', (x) => x.readers.count);
    });
  }
  if (r.tiers.find((t) => t.tier === 'writer-connections')?.modelled) {
    panel('Writer connections', () => {
      add('Writer connections', 'pools of the running tasks', 'line', (x) => x.connections.writer);
      add('Writer connections', 'budget', 'limit', (x) => x.connections.writerBudget);
    });
  }
  if (r.tiers.find((t) => t.tier === 'reader-connections')?.modelled) {
    panel('Reader connections', () => {
      add('Reader connections', 'API reader pools', 'line', (x) => x.connections.readers);
      add('Reader connections', 'one reader\'s budget', 'limit', (x) => x.connections.readerBudget);
    });
  }
  const endMinute = r.timeline.length > 0 ? (r.timeline[r.timeline.length - 1].t + r.tickSeconds) / 60 : 1;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `npm run plan: ${r.envName}, ${r.profile.name ?? r.profile.description} (${r.verdict.slaHolds ? 'SLA holds' : `SLA breaks: ${r.verdict.tier}, ${r.verdict.key}`})`,
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontWeight: 'bold' } } },
    resolve: { scale: { y: 'independent', color: 'independent' }, legend: { color: 'independent' } },
    spacing: 20,
    spec: {
      width: 720,
      height: 100,
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'minute', type: 'quantitative', scale: { domain: [0, endMinute] }, axis: { title: 'minutes from the start' } },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } },
        color: { field: 'series', type: 'nominal', legend: { title: null, orient: 'right', labelLimit: 320 } },
        strokeDash: { field: 'kind', type: 'nominal', scale: { domain: ['line', 'limit'], range: [[1, 0], [6, 4]] }, legend: null },
      },
    },
  };
}

/** Renders the plan's chart to SVG. */
export function renderPlanSvg(r: PlanReport): Promise<string> {
  return renderSvg(planChartSpec(r));
}
