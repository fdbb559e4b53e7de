import type { Template } from 'aws-cdk-lib/assertions';
import { KPI_METRICS, type KpiMetricRow } from '../../lib/contracts/kpi-catalogue';
import { kpiSourcesSchema, type KpiSources } from '../../lib/contracts/kpi-sources';
import { STACK_OUTPUTS } from '../../lib/contracts/stacks';
import { serverRequests, type MetricSpec } from '../../tools/kpi-report/fetch';
import { ENVIRONMENTS, synth } from '../helpers/synth';

/**
 * The dashboard, the alarms and the KPI report map over one catalogue. These tests compare what each side
 * ends up with, not the code: the report's GetMetricData queries (filled from the stack's KpiSources output,
 * as the report fills them) against the metrics the synthesized dashboard graphs, and every metric of the
 * dashboard and the alarms against the catalogue. Editing one side only fails here.
 */

/** A CloudFormation value as text: cross-stack references become `output:<stack>.<output>`. */
function render(part: unknown): string {
  if (typeof part === 'string') return part;
  const p = part as Record<string, unknown>;
  if ('Fn::GetStackOutput' in p) {
    const { StackName, OutputName } = p['Fn::GetStackOutput'] as { StackName: string; OutputName: string };
    return `output:${StackName}.${OutputName}`;
  }
  if ('Fn::Select' in p) {
    const [index, list] = p['Fn::Select'] as [number, unknown[]];
    return render(list[index]);
  }
  if ('Ref' in p) return `ref:${p.Ref as string}`;
  if ('Fn::Join' in p) return joined(p);
  throw new Error(`unexpected intrinsic ${JSON.stringify(part)}`);
}

function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  return ((value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1]).map(render).join('');
}

/** The KpiSources JSON the stack outputs, as the report would read it (references as placeholders). */
function outputSources(t: Template): KpiSources {
  const [output] = Object.values(t.findOutputs(STACK_OUTPUTS.kpiSources));
  return kpiSourcesSchema.parse(JSON.parse(joined(output.Value)));
}

/** Every plain metric the dashboard graphs, with the title of its widget. */
function dashboardMetrics(t: Template): Array<MetricSpec & { widget: string }> {
  const [dashboard] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const widgets = JSON.parse(joined(dashboard.Properties.DashboardBody)).widgets as Array<{ properties: { title?: string; metrics?: unknown[][] } }>;
  return widgets.flatMap((w) => (w.properties.metrics ?? []).filter((m) => typeof m[0] === 'string').map((m) => {
    const opts = m[m.length - 1] as { stat?: string };
    const pairs = m.slice(2, -1) as string[];
    const dimensions = Object.fromEntries(pairs.flatMap((_, i) => (i % 2 === 0 ? [[pairs[i], pairs[i + 1]]] : [])));
    // A dashboard leaves out the default statistic, Average.
    return { widget: w.properties.title ?? '', namespace: m[0] as string, metricName: m[1] as string, dimensions, stat: opts.stat ?? 'Average' };
  }));
}

/** Every metric of every alarm (single metric or inside its math), with the alarm's logical id. */
function alarmMetrics(t: Template): Array<MetricSpec & { alarm: string }> {
  type Dims = Array<{ Name: string; Value: unknown }>;
  const dims = (d: Dims = []) => Object.fromEntries(d.map((x) => [x.Name, render(x.Value)]));
  return Object.entries(t.findResources('AWS::CloudWatch::Alarm')).flatMap(([alarm, r]) => {
    const p = r.Properties;
    if (p.MetricName) {
      return [{ alarm, namespace: p.Namespace, metricName: p.MetricName, dimensions: dims(p.Dimensions), stat: p.Statistic ?? p.ExtendedStatistic }];
    }
    return (p.Metrics as Array<{ MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: Dims }; Stat: string } }>)
      .filter((q) => q.MetricStat)
      .map(({ MetricStat: s }) => ({ alarm, namespace: s!.Metric.Namespace, metricName: s!.Metric.MetricName, dimensions: dims(s!.Metric.Dimensions), stat: s!.Stat }));
  });
}

const OUTPUT_FIELDS = new Set(Object.keys(kpiSourcesSchema.shape));

/**
 * Whether a metric is this row: namespace, name, statistic, the same dimension names in the same order,
 * fixed values equal, values from KpiSources equal to the output's. (Values only the stack knows, such as
 * cache node ids, are not in the output: any value matches them.)
 */
function isRow(row: KpiMetricRow, m: MetricSpec, sources: KpiSources, ignoreStat = false): boolean {
  if (row.namespace !== m.namespace || row.metricName !== m.metricName || (!ignoreStat && row.statistic !== m.stat)) return false;
  if (Object.keys(row.dimensions).join() !== Object.keys(m.dimensions).join()) return false;
  return Object.entries(row.dimensions).every(([name, v]) => {
    if (typeof v === 'string') return m.dimensions[name] === v;
    return !OUTPUT_FIELDS.has(v.from) || m.dimensions[name] === sources[v.from as keyof KpiSources];
  });
}

const describeSpec = (m: MetricSpec) => `${m.namespace} ${m.metricName} ${m.stat} ${JSON.stringify(m.dimensions)}`;

describe.each(ENVIRONMENTS)('one KPI catalogue for the dashboard, the alarms and the report (%s)', (env) => {
  const { monitoring: t } = synth(env);
  const sources = outputSources(t);
  const graphed = dashboardMetrics(t);

  test('the KPI report queries exactly what the dashboard graphs, dimensions filled from the KpiSources output', () => {
    const queries = serverRequests(sources, 60, 300, env);
    expect(queries.length).toBeGreaterThan(10);
    const notGraphed = queries.filter((q) => !graphed.some((g) => describeSpec(g) === describeSpec(q.spec))).map((q) => `${q.key}: ${describeSpec(q.spec)}`);
    expect(notGraphed).toEqual([]);
  });

  test('every metric the dashboard graphs is a catalogue row (backlog per task: the scaling policy\'s own queries)', () => {
    const strays = graphed
      .filter((g) => g.widget !== 'Backlog per task (the scaling metric)')
      .filter((g) => !KPI_METRICS.some((row) => isRow(row, g, sources)))
      .map((g) => `${g.widget}: ${describeSpec(g)}`);
    expect(strays).toEqual([]);
  });

  test('every metric of every alarm is a catalogue row (burn rates may ask a row for its percentile rank)', () => {
    const metrics = alarmMetrics(t);
    expect(metrics.length).toBeGreaterThan(20);
    const strays = metrics
      .filter((m) => !KPI_METRICS.some((row) => isRow(row, m, sources, m.stat.startsWith('PR('))))
      .map((m) => `${m.alarm}: ${describeSpec(m)}`);
    expect(strays).toEqual([]);
  });
});
