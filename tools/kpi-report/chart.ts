import * as fs from 'fs';
import * as path from 'path';
import { PANELS, type TimelineSeries } from './evaluate';

/**
 * vega 6 and vega-lite 6 ship as ES modules with top-level await, which neither `require` (this project
 * is CommonJS) nor jest without --experimental-vm-modules can load. Both also ship self-contained UMD
 * builds; those are evaluated here with a `require` that hands vega-lite the vega it expects.
 */
interface Logger {
  level(level?: number): number | Logger;
  error(...args: unknown[]): Logger;
  warn(...args: unknown[]): Logger;
  info(...args: unknown[]): Logger;
  debug(...args: unknown[]): Logger;
}
interface Vega {
  View: new (runtime: unknown, opts: { renderer: 'none'; logger: Logger }) => { toSVG(): Promise<string>; finalize(): void };
  parse(spec: unknown): unknown;
}
interface VegaLite {
  compile(spec: unknown): { spec: unknown };
}

let loaded: { vega: Vega; vegaLite: VegaLite } | undefined;

function loadUmd(file: string, deps: Record<string, unknown>): unknown {
  const module = { exports: {} as unknown };
  const req = (id: string) => {
    if (id in deps) return deps[id];
    throw new Error(`${path.basename(file)} requires ${id}`);
  };
  new Function('exports', 'require', 'module', fs.readFileSync(file, 'utf8'))(module.exports, req, module);
  return module.exports;
}

function vegaLibs(): { vega: Vega; vegaLite: VegaLite } {
  if (!loaded) {
    // require.resolve gives the packages' ESM entry points, in each package's build/ directory.
    const vega = loadUmd(path.join(path.dirname(require.resolve('vega')), 'vega.js'), {}) as Vega;
    const vegaLite = loadUmd(path.join(path.dirname(require.resolve('vega-lite')), 'vega-lite.min.js'), { vega }) as VegaLite;
    loaded = { vega, vegaLite };
  }
  return loaded;
}

/** The Vega-Lite spec of the timeline: one row per panel, shared time axis (UTC), SLA lines dashed. */
export function timelineSpec(series: readonly TimelineSeries[], title: string, startMs: number, endMs: number): Record<string, unknown> {
  // About ten ticks, on whole minutes: '%H:%M' labels would repeat on sub-minute ticks.
  const step = Math.max(1, Math.ceil((endMs - startMs) / 60_000 / 10)) * 60_000;
  const ticks: number[] = [];
  for (let t = Math.ceil(startMs / step) * step; t <= endMs; t += step) ticks.push(t);
  const values = series.flatMap((s) => s.points.map(([t, v]) => ({ time: t, value: v, panel: s.panel, series: s.name, kind: s.kind })));
  const panels = PANELS.filter((p) => series.some((s) => s.panel === p));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values },
    facet: { row: { field: 'panel', type: 'nominal', sort: panels, title: null, header: { labelAngle: 0, labelAlign: 'left', labelAnchor: 'start', labelOrient: 'top', labelFontWeight: 'bold' } } },
    resolve: { scale: { y: 'independent', color: 'independent' }, legend: { color: 'independent' } },
    spacing: 24,
    spec: {
      width: 720,
      height: 110,
      mark: { type: 'line', point: { size: 16 }, interpolate: 'monotone' },
      encoding: {
        x: {
          field: 'time', type: 'temporal', scale: { type: 'utc', domain: [startMs, endMs] },
          axis: { format: '%H:%M', title: 'UTC', values: ticks },
        },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: true } },
        color: { field: 'series', type: 'nominal', legend: { title: null, orient: 'right', labelLimit: 320 } },
        strokeDash: { field: 'kind', type: 'nominal', scale: { domain: ['observed', 'sla'], range: [[1, 0], [6, 4]] }, legend: null },
      },
    },
  };
}

/** Renders the timeline to SVG, headless (no canvas: text is measured by estimate). */
export function renderTimelineSvg(series: readonly TimelineSeries[], title: string, startMs: number, endMs: number): Promise<string> {
  return renderSvg(timelineSpec(series, title, startMs, endMs));
}

/** Any Vega-Lite spec to SVG. Vega logs dataflow errors and renders an empty chart anyway: they fail here. */
export async function renderSvg(vegaLiteSpec: Record<string, unknown>): Promise<string> {
  const { vega, vegaLite } = vegaLibs();
  const errors: string[] = [];
  const logger: Logger = {
    level: (level?: number) => (level === undefined ? 1 : logger),
    error: (...args: unknown[]) => (errors.push(args.map(String).join(' ')), logger),
    warn: () => logger,
    info: () => logger,
    debug: () => logger,
  };
  const view = new vega.View(vega.parse(vegaLite.compile(vegaLiteSpec).spec), { renderer: 'none', logger });
  try {
    const svg = await view.toSVG();
    if (errors.length > 0) throw new Error(`timeline chart: ${errors.join('; ')}`);
    return svg;
  } finally {
    view.finalize();
  }
}
