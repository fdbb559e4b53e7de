import type { Comparison, Delta } from './compare';
import type { DbWaits, LoadShare } from './db-waits';
import type { EndpointRow } from './endpoints';
import type { Evaluation, KpiRow } from './evaluate';
import { fmt } from './evaluate';
import type { SaturationRow } from './saturation';

/** Everything the report knows, as written to report.json. */
export interface Report extends Evaluation {
  readonly envName: string;
  readonly runIds: readonly string[];
  readonly window: { readonly start: string; readonly end: string; readonly periodSeconds: number; readonly from: string };
  readonly kpiSources: string;
  readonly generatedAt: string;
  /** The KPI dashboard at the report's window; null when the KpiSources do not name it. */
  readonly dashboardUrl?: string | null;
  /** `--baseline`: the run compared with. */
  readonly comparison?: Comparison | null;
  /** The writer's top waits and statements from Performance Insights, or why there are none. */
  readonly dbWaits?: DbWaits;
}

/** The console's link to a dashboard showing a time range (start and end as ISO times). */
export function dashboardUrl(region: string, dashboardName: string, start: string, end: string): string {
  return `https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${encodeURIComponent(dashboardName)}?start=${start}&end=${end}`;
}

const GATE_TEXT = { pass: 'PASS', fail: 'FAIL', inconclusive: 'INCONCLUSIVE' } as const;

/** `Verdict: FAIL (3 met, 1 breached, 2 no data)`: the counts, whatever the verdict. */
export function gateLine(report: Pick<Report, 'verdict' | 'counts'>): string {
  const c = report.counts;
  return `Verdict: ${GATE_TEXT[report.verdict]} (${c.met} met, ${c.breached} breached, ${c.noData} no data)`;
}

const ms = (v: number | null) => (v === null ? '—' : fmt(v));
const pct = (v: number | null) => (v === null ? '—' : `${fmt(v)} %`);

function table(header: string[], body: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)];
}

function mdTable(header: string[], body: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...body.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

const ENDPOINT_HEADER = ['side', 'run', 'endpoint', 'requests', 'req/s', 'errors', 'p50 ms', 'p90 ms', 'p99 ms', 'avg ms', 'max ms'];
const endpointCells = (e: EndpointRow) => [
  e.side, e.runId ?? '—', e.endpoint, e.requests === null ? '—' : fmt(e.requests), e.rps === null ? '—' : fmt(e.rps), pct(e.errorRatePercent),
  ms(e.p50Ms), ms(e.p90Ms), `${ms(e.p99Ms)}${e.overP99Sla ? ' (over SLA)' : ''}`, ms(e.meanMs), ms(e.maxMs),
];

const SATURATION_HEADER = ['resource', 'state', 'peak', 'limit', 'first crossed', 'keys'];
const satCells = (r: SaturationRow, unitOf: (r: SaturationRow) => string) => [
  `${r.resource}${r.symptom ? ' (symptom)' : ''}`, r.state, r.peak === null ? '—' : `${fmt(r.peak)}${unitOf(r)}`,
  r.limit === null ? '—' : `${r.breaches === 'below' ? '<' : r.breaches === 'atOrAbove' ? '≥' : '>'} ${fmt(r.limit)}${unitOf(r)}`,
  r.firstCrossedAt ?? '—', r.keys.map((k) => k.key).join(', ') || '—',
];
const UNIT_TEXT: Record<string, string> = { Percent: ' %', Count: '', Seconds: ' s', Milliseconds: ' ms', Microseconds: ' µs', Bytes: ' B', 'Bytes/Second': ' B/s', 'Count/Second': '/s' };
const unitText = (r: SaturationRow) => UNIT_TEXT[r.unit] ?? ` ${r.unit}`;

const WAIT_HEADER = ['wait event', 'type', 'avg active sessions', 'share of DB load'];
const STATEMENT_HEADER = ['statement', 'digest', 'avg active sessions', 'share of DB load'];
// A statement's text spans lines: one line in a table cell.
const oneLine = (s: string, max: number) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > max ? `${t.slice(0, max - 1)}…` : t;
};
const loadCells = (maxName: number) => (w: LoadShare) => [oneLine(w.name, maxName), w.detail, fmt(w.averageActiveSessions), pct(w.sharePercent)];

/** "Top waits": a heading line, then the tables (or "not available: <reason>"). */
function dbWaitsLines(report: Report, md: boolean): string[] {
  const w = report.dbWaits;
  if (!w) return [];
  const title = 'Top waits (Performance Insights, writer)';
  if (!w.available) return [md ? `## ${title}` : `${title}:`, ...(md ? [''] : []), `not available: ${w.reason}`];
  const tab = md ? mdTable : table;
  const head = `${w.instance}: DB load ${fmt(w.totalAverageActiveSessions)} average active sessions over the window (${w.periodSeconds} s periods)`;
  return [
    md ? `## ${title}` : `${title}:`,
    ...(md ? [''] : []),
    head,
    ...(md ? [''] : []),
    ...(w.waits.length > 0 ? tab(WAIT_HEADER, w.waits.map(loadCells(60))) : ['no wait events in the window']),
    ...(w.statements.length > 0 ? ['', ...(md ? ['Top statements:', ''] : ['Top statements:']), ...tab(STATEMENT_HEADER, w.statements.map(loadCells(md ? 200 : 60)))] : []),
  ];
}

const DELTA_HEADER = ['KPI', 'baseline', 'current', 'Δ', 'Δ %', 'change'];
const deltaCells = (d: Delta) => [
  d.kpi, d.baseline === null ? '—' : fmt(d.baseline), d.current === null ? '—' : fmt(d.current),
  d.absolute === null ? '—' : `${d.absolute > 0 ? '+' : ''}${fmt(d.absolute)}`, d.percent === null ? '—' : `${d.percent > 0 ? '+' : ''}${fmt(d.percent)} %`, d.change,
];

/** `, REGRESSED against <run> (n KPIs)` when the comparison found a regression: it fails the run as a breach does. */
function regressedText(report: Pick<Report, 'comparison'>): string {
  const c = report.comparison;
  return c && c.regressions > 0 ? `, REGRESSED against ${c.baseline.runId} (${c.regressions} KPI(s) beyond ${c.noisePercent} %)` : '';
}

/** The comparison alone (`--compare-only`). */
export function renderComparisonText(c: Comparison): string {
  return `${comparisonLines(c, false).join('\n')}\n`;
}

function bottleneckLines(report: Report): string[] {
  const b = report.saturation.bottleneck;
  if (b) {
    return [
      `Bottleneck: ${b.resource}. Change: ${b.keys.map((k) => `${k.key} (now ${JSON.stringify(k.value)})`).join(', ') || '(no config key: see the evidence)'}`,
      `Evidence: ${b.evidence}`,
      ...(b.then.length > 0 ? [`Then: ${b.then.join('; ')}`] : []),
    ];
  }
  if (report.saturation.rows.length === 0) return [];
  const c = report.saturation.closest;
  return [`Bottleneck: none: no resource crossed its limit${c ? ` (closest: ${c.resource} at ${fmt(c.percentOfLimit)} % of its limit)` : ''}.`];
}

function profileLines(report: Report): string[] {
  const p = report.profile;
  if (!p) return [];
  const figures = Object.entries(p.figures).filter(([k]) => k !== 'source').map(([k, v]) => `${k} ${v === null ? '—' : v}`).join(', ');
  return [`Profile ${p.profile}: ${p.verdict}`, ...(figures ? [`  ${figures} (from ${p.figures.source ?? '—'})`] : []), ...p.notes.map((n) => `  note: ${n}`)];
}

function comparisonLines(c: Comparison, md: boolean): string[] {
  const head = `Compared with ${c.baseline.runId} (noise threshold ${c.noisePercent} %): ${c.regressions} regressed, ${c.improvements} improved`;
  return [
    md ? `## ${head}` : head,
    ...(md ? [''] : []),
    ...(md ? mdTable(DELTA_HEADER, c.deltas.map(deltaCells)) : table(DELTA_HEADER, c.deltas.map(deltaCells))),
    ...(c.differences.length > 0 ? ['', md ? 'What differs between the runs:' : 'What differs between the runs:', ...c.differences.map((d) => `${md ? '- ' : '  '}${d}`)] : []),
  ];
}

const VERDICT_TEXT: Record<KpiRow['verdict'], string> = { pass: 'pass', fail: 'FAIL', 'no data': 'no data', info: '—' };

function slaText(r: KpiRow): string {
  if (r.sla === null) return '—';
  return `${r.bound === 'max' ? '≤' : '≥'} ${fmt(r.sla)} ${r.unit}`;
}

function heading(report: Report): string {
  const runs = report.runIds.length > 0 ? report.runIds.join(', ') : 'none';
  return `KPI report: ${report.envName}, run(s) ${runs}, ${report.window.start} → ${report.window.end} (period ${report.window.periodSeconds} s)`;
}

/** The table for a terminal: aligned columns, then the verdict and the notes. */
export function renderText(report: Report): string {
  const header = ['side', 'KPI', 'observed', 'SLA', 'verdict'];
  const body = report.kpis.map((r) => [r.side, r.kpi, r.display, slaText(r), VERDICT_TEXT[r.verdict]]);
  const sat = report.saturation.rows.filter((r) => r.state !== 'n/a');
  return [
    heading(report),
    '',
    ...table(header, body),
    ...(report.endpoints.length > 0 ? ['', 'Per endpoint:', ...table(ENDPOINT_HEADER, report.endpoints.map(endpointCells))] : []),
    ...(sat.length > 0 ? ['', 'Saturation:', ...table(SATURATION_HEADER, sat.map((r) => satCells(r, unitText)))] : []),
    ...(report.dbWaits ? ['', ...dbWaitsLines(report, false)] : []),
    '',
    ...bottleneckLines(report),
    ...profileLines(report),
    ...(report.comparison ? ['', ...comparisonLines(report.comparison, false)] : []),
    ...(report.dashboardUrl ? ['', `Dashboard: ${report.dashboardUrl}`] : []),
    '',
    `${gateLine(report)}${regressedText(report)}`,
    ...report.notes.map((n) => `Note: ${n}`),
    '',
  ].join('\n');
}

const cell = (s: string) => s.replace(/\|/g, '\\|');

export function renderMarkdown(report: Report): string {
  const rows = report.kpis.map((r) => `| ${r.side} | ${cell(r.kpi)} | ${cell(r.display)} | ${cell(slaText(r))} | ${r.verdict === 'fail' ? '**FAIL**' : VERDICT_TEXT[r.verdict]} | ${cell(r.source)}${r.detail ? `<br>${cell(r.detail)}` : ''} |`);
  return [
    `# ${heading(report)}`,
    '',
    `**${gateLine(report)}${regressedText(report)}**`,
    '',
    `Window from ${report.window.from}. KPI sources: ${report.kpiSources}.${report.dashboardUrl ? ` [Dashboard for this window](${report.dashboardUrl}).` : ''}`,
    '',
    ...bottleneckLines(report).map((l) => `${l}  `),
    ...profileLines(report).map((l) => `${l}  `),
    '',
    '| side | KPI | observed | SLA | verdict | source |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(report.endpoints.length > 0 ? ['## Per endpoint', '', ...mdTable(ENDPOINT_HEADER, report.endpoints.map(endpointCells)), ''] : []),
    ...(report.saturation.rows.length > 0 ? [
      '## Saturation', '',
      ...mdTable([...SATURATION_HEADER, 'series (limit from)'], report.saturation.rows.map((r) => [...satCells(r, unitText), `${r.series} (${r.limitFrom})`])), '',
    ] : []),
    ...(report.dbWaits ? [...dbWaitsLines(report, true), ''] : []),
    ...(report.comparison ? [...comparisonLines(report.comparison, true), ''] : []),
    '![timeline](timeline.svg)',
    '',
    ...(report.notes.length > 0 ? ['## Notes', '', ...report.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}

/**
 * A short Markdown summary for a CI step summary (`--step-summary "$GITHUB_STEP_SUMMARY"`): the gate with
 * its counts, the rows that breached or had no data, the bottleneck, the comparison's regressions, the link.
 */
export function renderSummary(report: Report): string {
  const notMet = report.kpis.filter((r) => r.verdict === 'fail' || r.verdict === 'no data');
  const regressions = report.comparison?.deltas.filter((d) => d.change === 'regressed') ?? [];
  return [
    `### KPI report ${report.envName} ${report.runIds.join(', ') || ''}: ${GATE_TEXT[report.verdict]}${regressedText(report)}`,
    '',
    `${report.counts.met} met, ${report.counts.breached} breached, ${report.counts.noData} no data · ${report.window.start} → ${report.window.end}`,
    '',
    ...(notMet.length > 0 ? [...mdTable(['side', 'KPI', 'observed', 'SLA', 'verdict'], notMet.map((r) => [r.side, r.kpi, r.display, slaText(r), r.verdict === 'fail' ? '**FAIL**' : 'no data'])), ''] : []),
    ...bottleneckLines(report).map((l) => `${l}  `),
    ...profileLines(report).slice(0, 1),
    ...(report.comparison ? ['', `Compared with ${report.comparison.baseline.runId}: ${report.comparison.regressions} regressed, ${report.comparison.improvements} improved (noise ${report.comparison.noisePercent} %)`,
      ...(regressions.length > 0 ? ['', ...mdTable(DELTA_HEADER, regressions.map(deltaCells))] : [])] : []),
    ...(report.dashboardUrl ? ['', `[Dashboard for this window](${report.dashboardUrl})`] : []),
    '',
  ].join('\n');
}

export function renderJson(report: Report): string {
  return `${JSON.stringify({
    ...report,
    timeline: report.timeline.map((s) => ({ ...s, points: s.points.map(([t, v]) => [new Date(t).toISOString(), v]) })),
  }, null, 2)}\n`;
}
