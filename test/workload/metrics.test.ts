import { WORKLOAD_METRICS, WORKLOAD_METRICS_NAMESPACE } from '../../lib/contracts/workload-metrics';
import { Metrics } from '../../workload/src/metrics';

/** What CloudWatch requires of an EMF line (Embedded Metric Format specification, "Top-level members"). */
function assertEmf(line: string): Record<string, unknown> {
  expect(line.endsWith('\n')).toBe(true);
  const doc = JSON.parse(line) as Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> } };
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toBe(WORKLOAD_METRICS_NAMESPACE);
    for (const set of directive.Dimensions) {
      expect(set.length).toBeLessThanOrEqual(30);
      for (const d of set) expect(typeof doc[d]).toBe('string');
    }
    for (const m of directive.Metrics) {
      const values = doc[m.Name];
      expect(Array.isArray(values) ? values : [values]).toEqual(expect.arrayContaining([expect.any(Number)]));
      if (Array.isArray(values)) expect(values.length).toBeLessThanOrEqual(100);
      expect(m.Unit).toBe(WORKLOAD_METRICS[m.Name as keyof typeof WORKLOAD_METRICS].unit);
    }
  }
  return doc;
}

describe('workload metrics (EMF)', () => {
  test('buffers per series and writes valid EMF with the base and the metric\'s own dimension sets', () => {
    const lines: string[] = [];
    const m = new Metrics({ environment: 'dev', service: 'api' }, (l) => lines.push(l), 0, () => 1_700_000_000_000);
    m.put('RequestLatency', 12.5, { Route: 'GET /items/:id' });
    m.put('RequestLatency', 3, { Route: 'GET /items/:id' });
    m.put('RequestLatency', 7, { Route: 'POST /items' });
    m.put('LoadShed', 1);
    expect(lines).toHaveLength(0);
    m.flush();
    expect(lines).toHaveLength(3);
    const docs = lines.map(assertEmf);
    expect(docs[0]).toMatchObject({ Environment: 'dev', Service: 'api', Route: 'GET /items/:id', RequestLatency: [12.5, 3] });
    expect((docs[0]._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0].Dimensions)
      .toEqual([['Environment', 'Service'], ['Environment', 'Service', 'Route']]);
    expect((docs[2]._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> }).CloudWatchMetrics[0].Dimensions).toEqual([['Environment', 'Service']]);
    m.flush();
    expect(lines).toHaveLength(3);
  });

  test('a series is written when it holds 100 values, never more in one line', () => {
    const lines: string[] = [];
    const m = new Metrics({ environment: 'prod', service: 'worker' }, (l) => lines.push(l), 0);
    for (let i = 0; i < 250; i++) m.put('JobProcessingTime', i, { Outcome: 'done' });
    expect(lines).toHaveLength(2);
    m.close();
    expect(lines.map((l) => (assertEmf(l).JobProcessingTime as number[]).length)).toEqual([100, 100, 50]);
  });

  test('a metric without its own dimension is refused, naming it', () => {
    const m = new Metrics({ environment: 'dev', service: 'api' }, () => undefined, 0);
    expect(() => m.put('PoolInUse', 1)).toThrow('metric PoolInUse needs dimension(s) Pool');
  });
});
