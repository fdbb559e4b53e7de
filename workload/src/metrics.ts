// Through the workload/contracts symlink, never ../../lib: the image's Docker build context is workload/.
import { WORKLOAD_BASE_DIMENSIONS, WORKLOAD_METRICS, WORKLOAD_METRICS_NAMESPACE, type WorkloadMetricName } from '../contracts/workload-metrics';

/** Where EMF lines go: stdout in the container (the awslogs driver ships each line as a log event). */
export type MetricsSink = (line: string) => void;

/**
 * CloudWatch EMF allows at most 100 values in one metric's array
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
 * a series is written out when it reaches that many, and every `flushMs` otherwise.
 */
const MAX_VALUES = 100;

interface Series {
  readonly name: WorkloadMetricName;
  readonly dims: Record<string, string>;
  values: number[];
}

/**
 * The workload's metrics, buffered per (metric, dimension values) and written as EMF: one JSON line per series
 * and flush, its values as an array, so 200 requests a second cost a few lines a second, not 200. Each line
 * declares two dimension sets: the base one (Environment, Service) and the base plus the metric's own, so the
 * dashboard can show the service as a whole and per route, pool or outcome.
 */
export class Metrics {
  private readonly series = new Map<string, Series>();
  private readonly timer?: NodeJS.Timeout;

  constructor(
    private readonly base: { readonly environment: string; readonly service: string },
    private readonly sink: MetricsSink = (line) => process.stdout.write(line),
    flushMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    if (flushMs > 0) {
      this.timer = setInterval(() => this.flush(), flushMs);
      this.timer.unref();
    }
  }

  /** Records one value; `dims` are the metric's own dimensions (WORKLOAD_METRICS[name].dimensions). */
  put(name: WorkloadMetricName, value: number, dims: Record<string, string> = {}): void {
    const own = WORKLOAD_METRICS[name].dimensions as readonly string[];
    const missing = own.filter((d) => dims[d] === undefined);
    if (missing.length > 0) throw new Error(`metric ${name} needs dimension(s) ${missing.join(', ')}`);
    const key = `${name}\u0000${own.map((d) => dims[d]).join('\u0000')}`;
    let s = this.series.get(key);
    if (!s) {
      s = { name, dims: Object.fromEntries(own.map((d) => [d, dims[d]])), values: [] };
      this.series.set(key, s);
    }
    s.values.push(value);
    if (s.values.length >= MAX_VALUES) this.write(s);
  }

  /** Writes every series that has values. */
  flush(): void {
    for (const s of this.series.values()) if (s.values.length > 0) this.write(s);
  }

  /** Flushes and stops the timer: call on shutdown, after the last request. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.flush();
  }

  private write(s: Series): void {
    const def = WORKLOAD_METRICS[s.name];
    const base = [...WORKLOAD_BASE_DIMENSIONS];
    const dimensionSets = def.dimensions.length > 0 ? [base, [...base, ...def.dimensions]] : [base];
    const line = {
      _aws: {
        Timestamp: this.now(),
        CloudWatchMetrics: [{ Namespace: WORKLOAD_METRICS_NAMESPACE, Dimensions: dimensionSets, Metrics: [{ Name: s.name, Unit: def.unit }] }],
      },
      Environment: this.base.environment,
      Service: this.base.service,
      ...s.dims,
      [s.name]: s.values,
    };
    s.values = [];
    this.sink(`${JSON.stringify(line)}\n`);
  }
}
