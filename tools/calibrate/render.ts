import type { SlaConfig } from '../../lib/config/schema';
import { fmt } from '../kpi-report/evaluate';
import type { Derived } from './derive';
import type { RunCapacity, WindowVerdict } from './judge';
import { utilisationText, type ServerView } from './kpi-report-file';

/** Everything `npm run calibrate` found, as `--json` prints it. */
export interface Calibration extends Derived {
  readonly envName: string;
  readonly resultFile: string;
  readonly runId: string | null;
  readonly profile: string | null;
  readonly mode: string | null;
  readonly target: string;
  readonly tasks: { readonly count: number; readonly from: string };
  readonly sla: SlaConfig;
  readonly run: RunCapacity;
  readonly server: ServerView | null;
  /** The kpi-report command for the window of the capacity's step (its API CPU), when the run has steps. */
  readonly kpiReportCommand: string | null;
  readonly exitCode: 0 | 1;
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const verdict = (w: WindowVerdict) => (w.breaches.length === 0 ? 'held' : 'BROKE');

function capacityText(c: Calibration): string {
  const { run, tasks } = c;
  const per = `${tasks.count} task${tasks.count === 1 ? '' : 's'} (${tasks.from})`;
  if (run.kind === 'none') {
    return `No capacity: the SLA broke in the first window (${run.brokeAt}, ${fmt(run.brokeAtRps!)} req/s requested). Start the run lower (the first step of loadTest.profiles.stress, or --rate), or find what breaks the SLA at that rate.`;
  }
  const head = `${fmt(run.rps!)} req/s (${run.at}) ÷ ${per} = ${fmt(c.perTaskRps!)} req/s per task`;
  if (run.kind === 'bracketed') {
    return `Capacity at the SLA: ${head}. The SLA broke at ${fmt(run.brokeAtRps!)} req/s (${run.brokeAt}): the capacity lies between ${fmt(c.perTaskRps!)} and ${fmt(c.perTaskUpperRps!)} req/s per task; the figure below is the lower, measured one.`;
  }
  return `Capacity at the SLA: at least ${head}: a LOWER BOUND, the SLA never broke, so the real capacity is higher by an unknown amount.`;
}

/** The table, the capacity, the configuration it implies and the cdk.json snippet, for a terminal. */
export function renderText(c: Calibration): string {
  const s = c.sla;
  const lines = [
    `Calibration: ${c.envName}, run ${c.runId ?? c.resultFile}${c.profile ? `, ${c.profile}` : ''}${c.mode ? ` (${c.mode})` : ''}, target ${c.target}`,
    `SLA: p50 ≤ ${s.latencyP50Ms} ms, p90 ≤ ${s.latencyP90Ms} ms, p99 ≤ ${s.latencyP99Ms} ms, errors ≤ ${s.errorRatePercent} %, sent ≥ ${s.minAchievedRatePercent} % of scheduled`,
    '',
    ...table(
      ['window', 'requested/s', 'achieved/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors %', 'sent %', 'SLA'],
      c.run.windows.map((w) => [w.label, fmt(w.requestedRps), fmt(w.achievedRps), fmt(w.p50Ms), fmt(w.p90Ms), fmt(w.p99Ms), fmt(w.errorRatePercent), fmt(w.achievedPercent), verdict(w)]),
    ),
    ...c.run.windows.filter((w) => w.breaches.length > 0).map((w) => `${w.label} broke the SLA: ${w.breaches.join('; ')}`),
    '',
    capacityText(c),
  ];
  if (c.server) lines.push(`Utilisation: ${utilisationText(c.server, c.run.at, c.run.brokeAt)}`);
  if (c.values.length > 0) {
    lines.push('', ...table(['key', 'value', 'from'], c.values.map((v) => [v.key, fmt(v.value), v.from])));
  }
  if (c.snippet) {
    lines.push('', `cdk.json, under context."scaling-blueprint".environments (merge into ${c.envName}):`, JSON.stringify(c.snippet, null, 2));
  }
  if (c.kpiReportCommand) lines.push('', `API CPU at the capacity's step: ${c.kpiReportCommand}, then --report <its report.json>.`);
  if (c.notes.length > 0) lines.push('', ...c.notes.map((n) => `Note: ${n}`));
  return `${lines.join('\n')}\n`;
}

export function renderJson(c: Calibration): string {
  return `${JSON.stringify(c, null, 2)}\n`;
}
