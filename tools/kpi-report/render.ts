import type { Evaluation, KpiRow } from './evaluate';
import { fmt } from './evaluate';

/** Everything the report knows, as written to report.json. */
export interface Report extends Evaluation {
  readonly envName: string;
  readonly runIds: readonly string[];
  readonly window: { readonly start: string; readonly end: string; readonly periodSeconds: number; readonly from: string };
  readonly kpiSources: string;
  readonly generatedAt: string;
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
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [
    heading(report),
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `Verdict: ${report.verdict.toUpperCase()}`,
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
    `**Verdict: ${report.verdict.toUpperCase()}** (${report.kpis.filter((r) => r.verdict === 'fail').length} breached, ` +
      `${report.kpis.filter((r) => r.verdict === 'no data').length} without data)`,
    '',
    `Window from ${report.window.from}. KPI sources: ${report.kpiSources}.`,
    '',
    '| side | KPI | observed | SLA | verdict | source |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    '![timeline](timeline.svg)',
    '',
    ...(report.notes.length > 0 ? ['## Notes', '', ...report.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
}

export function renderJson(report: Report): string {
  return `${JSON.stringify({
    ...report,
    timeline: report.timeline.map((s) => ({ ...s, points: s.points.map(([t, v]) => [new Date(t).toISOString(), v]) })),
  }, null, 2)}\n`;
}
