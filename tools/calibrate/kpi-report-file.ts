import * as fs from 'fs';
import * as z from 'zod';
import { UsageError } from '../common/errors';
import { fmt } from '../kpi-report/evaluate';
import type { WindowVerdict } from './judge';

/**
 * The part of `kpi-reports/<run>/report.json` (written by `npm run kpi-report`, shape `Report` in
 * tools/kpi-report/render.ts) that calibration reads: the window, the KPI rows by id and the running-task
 * timeline. Unknown fields are ignored, so the report may grow; test/tools/calibrate checks that what the
 * KPI report writes parses with it.
 */
export const kpiReportFileSchema = z.object({
  envName: z.string(),
  runIds: z.array(z.string()),
  window: z.object({ start: z.iso.datetime(), end: z.iso.datetime() }),
  verdict: z.enum(['pass', 'fail', 'inconclusive']),
  kpis: z.array(z.object({
    id: z.string(),
    unit: z.string(),
    observed: z.number().nullable(),
    sla: z.number().nullable(),
    verdict: z.enum(['pass', 'fail', 'no data', 'info']),
  })),
  timeline: z.array(z.object({
    panel: z.string(),
    name: z.string(),
    points: z.array(z.tuple([z.iso.datetime(), z.number()])),
  })),
});
export type KpiReportFile = z.infer<typeof kpiReportFileSchema>;

/** Reads and validates a report.json; anything wrong with it is a UsageError naming the file (exit 2). */
export function readKpiReport(file: string): KpiReportFile {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`--report ${file}: ${(e as Error).message}. Fix: pass the report.json that npm run kpi-report wrote (kpi-reports/<run>/report.json).`);
  }
  const parsed = kpiReportFileSchema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 10).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new UsageError(`--report ${file} is not a KPI report (report.json of npm run kpi-report): ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** What the server side saw while the run went on. */
export interface ServerView {
  readonly file: string;
  readonly window: { readonly start: string; readonly end: string };
  /** Peak of the API's service-average CPU per period (%), null without data. */
  readonly apiCpuPeakPercent: number | null;
  readonly apiCpuSlaPercent: number | null;
  /** Server-side p99 (target response time) over the window (ms), null without data. */
  readonly serverP99Ms: number | null;
  /** Fewest and most API tasks running in the window, null without data. */
  readonly apiTasks: { readonly min: number; readonly max: number } | null;
  /** The run's windows that lie at least half inside the report's window. */
  readonly covers: readonly string[];
}

/** The API's CPU and task count from a KPI report, and which of the run's windows its own window covers. */
export function serverView(file: string, report: KpiReportFile, windows: readonly WindowVerdict[]): ServerView {
  const row = (id: string) => report.kpis.find((k) => k.id === id);
  const from = Date.parse(report.window.start);
  const to = Date.parse(report.window.end);
  const covers = windows.filter((w) => {
    const s = Date.parse(w.startedAt);
    const e = s + w.durationSeconds * 1000;
    const inside = Math.max(0, Math.min(e, to) - Math.max(s, from));
    return e > s ? inside >= (e - s) / 2 : s >= from && s <= to;
  }).map((w) => w.label);
  // The report puts the running-task series on its timeline (panel "Running tasks", series "API").
  const tasks = report.timeline.find((t) => t.panel === 'Running tasks' && t.name === 'API')?.points.map(([, v]) => v) ?? [];
  return {
    file,
    window: report.window,
    apiCpuPeakPercent: row('server.apiCpu')?.observed ?? null,
    apiCpuSlaPercent: row('server.apiCpu')?.sla ?? null,
    serverP99Ms: row('server.p99')?.observed ?? null,
    apiTasks: tasks.length > 0 ? { min: Math.min(...tasks), max: Math.max(...tasks) } : null,
    covers,
  };
}

/** One line on what the report says about utilisation at the SLA. */
export function utilisationText(view: ServerView, capacityAt: string | null, brokeAt: string | null): string {
  if (view.apiCpuPeakPercent === null) return `${view.file}: no API CPU data in its window (${view.window.start} → ${view.window.end}).`;
  const cpu = `API CPU peaked at ${fmt(view.apiCpuPeakPercent)} %${view.apiCpuSlaPercent === null ? '' : ` (sla.apiCpuPercent ${fmt(view.apiCpuSlaPercent)} %)`}`;
  const covered = view.covers.length > 0 ? view.covers.join(', ') : 'none of the run\'s windows';
  if (brokeAt !== null && view.covers.includes(brokeAt)) {
    return `${cpu} over ${view.window.start} → ${view.window.end}, which covers ${covered}, including ${brokeAt} where the SLA broke: the peak may be that step's, not the capacity's.`;
  }
  if (capacityAt !== null && view.covers.includes(capacityAt)) {
    return `${cpu} over ${view.window.start} → ${view.window.end} (covers ${covered}): the SLA held at that utilisation.`;
  }
  return `${cpu} over ${view.window.start} → ${view.window.end}, which covers ${covered}${capacityAt === null ? '' : `, not ${capacityAt} (the capacity's)`}.`;
}
