import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { SlaConfig } from '../../../lib/config/schema';
import { kpiReportFileSchema, readKpiReport, serverView, utilisationText } from '../../../tools/calibrate/kpi-report-file';
import { runCapacity } from '../../../tools/calibrate/judge';
import { UsageError } from '../../../tools/common/errors';
import { evaluate } from '../../../tools/kpi-report/evaluate';
import { SERVER, type Series } from '../../../tools/kpi-report/fetch';
import { renderJson, type Report } from '../../../tools/kpi-report/render';
import { at, stressRun, writeJson } from './fixture';

const SLA: SlaConfig = { latencyP50Ms: 100, latencyP90Ms: 300, latencyP99Ms: 1000, errorRatePercent: 0.1, minAchievedRatePercent: 95, queueAgeSeconds: 300, apiCpuPercent: 85 };
const MINUTE = 60_000;

/**
 * What `npm run kpi-report` writes for a window, from its own evaluate() and renderJson(): the API's CPU
 * per minute and its running tasks as given.
 */
function kpiReportJson(startMs: number, cpu: number[], tasks: number[]): string {
  const series = (values: number[]): Series => ({ timestamps: values.map((_, i) => startMs + i * MINUTE), values });
  const fetched = { series: new Map([[SERVER.apiCpu, series(cpu)], [SERVER.apiRunning, series(tasks)]]), failed: new Map<string, string>() };
  const endMs = startMs + cpu.length * MINUTE;
  const evaluation = evaluate({ envName: 'staging', runs: [], startMs, endMs, periodSeconds: 60, sla: SLA, fetched, requireAll: false });
  const report: Report = {
    envName: 'staging', runIds: [],
    window: { start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), periodSeconds: 60, from: '--since' },
    kpiSources: 'test', generatedAt: new Date(endMs).toISOString(), ...evaluation,
  };
  return renderJson(report);
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calibrate-report-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('report.json of npm run kpi-report', () => {
  test('what the KPI report writes parses with the schema calibrate reads it with: CPU peak, SLA and running tasks', () => {
    // GIVEN a report over the four minutes of the stress run (steps 1-4), CPU rising to 91 %, two tasks throughout
    const file = writeJson(dir, 'whole.json', kpiReportJson(Date.parse(at(0)), [30, 55, 78, 91], [2, 2, 2, 2]));
    // WHEN
    const report = readKpiReport(file);
    const view = serverView(file, report, runCapacity(stressRun(), SLA).windows);
    // THEN
    expect(view).toMatchObject({ apiCpuPeakPercent: 91, apiCpuSlaPercent: 85, apiTasks: { min: 2, max: 2 }, covers: ['step 1', 'step 2', 'step 3', 'step 4'] });
    expect(utilisationText(view, 'step 3', 'step 4')).toBe(
      `API CPU peaked at 91 % (sla.apiCpuPercent 85 %) over ${at(0)} → ${at(240)}, which covers step 1, step 2, step 3, step 4, including step 4 where the SLA broke: the peak may be that step's, not the capacity's.`,
    );
  });

  test('a report over the capacity\'s step alone names the utilisation at which the SLA held', () => {
    // GIVEN kpi-report --since/--until around step 3 (minute-aligned: 10:02 → 10:03)
    const file = writeJson(dir, 'step3.json', kpiReportJson(Date.parse(at(120)), [78], [2]));
    const view = serverView(file, readKpiReport(file), runCapacity(stressRun(), SLA).windows);
    expect(view.covers).toEqual(['step 3']);
    expect(utilisationText(view, 'step 3', 'step 4')).toBe(`API CPU peaked at 78 % (sla.apiCpuPercent 85 %) over ${at(120)} → ${at(180)} (covers step 3): the SLA held at that utilisation.`);
  });

  test('a file that is not a KPI report is a UsageError naming the file and what is wrong', () => {
    const file = writeJson(dir, 'result.json', stressRun());
    expect(() => readKpiReport(file)).toThrow(UsageError);
    expect(() => readKpiReport(file)).toThrow(
      `--report ${file} is not a KPI report (report.json of npm run kpi-report): runIds: Invalid input: expected array, received undefined; ` +
        'window: Invalid input: expected object, received undefined; verdict: Invalid option: expected one of "pass"|"fail"|"inconclusive"; ' +
        'kpis: Invalid input: expected array, received undefined; timeline: Invalid input: expected array, received undefined',
    );
    const missing = path.join(dir, 'missing.json');
    expect(() => readKpiReport(missing)).toThrow(`--report ${missing}: ENOENT: no such file or directory, open '${missing}'. Fix: pass the report.json that npm run kpi-report wrote (kpi-reports/<run>/report.json).`);
  });

  test('the schema ignores fields it does not read (the report may grow)', () => {
    const report = JSON.parse(kpiReportJson(Date.parse(at(0)), [50], [1]));
    expect(kpiReportFileSchema.safeParse({ ...report, somethingNew: { a: 1 } }).success).toBe(true);
  });
});
