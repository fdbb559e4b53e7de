import { z } from 'zod';
import type { BlueprintConfig } from '../../lib/config/schema';
import type { Phase } from '../../lib/contracts/loadtest';
import { fmt } from '../kpi-report/evaluate';
import { CONSTANTS, HIGH_RESOLUTION_PERIOD_SECONDS, LATENCY_QUANTILE, READER_START_SECONDS, SCALE_OUT_DATAPOINTS, STANDARD_PERIOD_SECONDS, TASK_READINESS_SOURCES } from './aws-behaviour';
import { ceilings, TIERS, type Simulation, type TickRecord, type Tier } from './simulate';

/**
 * What `npm run plan` says, as one plain object: the summary per tier, the verdict, the model and its
 * constants, the timeline. `planReportSchema` is the contract of `--json` (scripts parse it with it); the
 * text table and the chart are renderings of the same object.
 */

/** The queueing model, said once: the CLI prints it, docs/scaling.md explains it. */
export const QUEUEING_MODEL = [
  `API: each serving task is an M/M/c queue with c = its Node.js processes (processesForCpu) and μ = api.capacityPerTaskRps ÷ c per process; the load balancer gives each task its slow-start share of the arrivals. While ρ = λ ÷ (c·μ) < 1 the p${LATENCY_QUANTILE * 100} wait is Erlang C's: ln(C ÷ ${fmt(1 - LATENCY_QUANTILE)}) ÷ (cμ − λ), plus the p${LATENCY_QUANTILE * 100} of an exponential service time.`,
  'API at ρ ≥ 1: a fluid backlog grows by (λ − capacity) per second and drains at (capacity − λ); a new request waits backlog ÷ capacity.',
  'Worker: a fluid FIFO queue; jobs arrive at the API\'s served rate × the share of POST /jobs in loadTest.mix, running tasks finish worker.concurrency ÷ worker.avgProcessingSeconds each per second; the queue age is how long ago the oldest unfinished job arrived.',
].join(' ');

export const MODEL_LIMITS: readonly string[] = [
  'The latency is what capacity adds (queueing and an exponential service time at the measured capacity), not the workload\'s own: database and cache round trips are not in it. Compare with a load test (--result) to see the difference.',
  'Poisson arrivals and exponential service times (M/M/c): real traffic is burstier and real service times have longer tails, so the predicted p99 is optimistic near saturation.',
  'One queue per task: least_outstanding_requests routing does better than independent queues, so at high utilisation the prediction errs high there.',
  'Overload is a backlog that waits, not errors: in reality clients time out (loadTest.requestTimeoutMs) and the load balancer returns 5xx; either way the SLA breaks at the same time.',
  'CPU is taken to grow in proportion to the rate served, up to 100 % at api.capacityPerTaskRps; memory does not move with load.',
  'CloudWatch\'s publication delay is not modelled: AWS measured longer trigger times (see the constants) than the datapoint counts alone give.',
  'Writer CPU and the cache are not modelled; writer and reader connections are counted from the running tasks\' pools (every pool full), against capacity.ts\'s budget.',
  'Fargate Spot interruptions, deploys during the run and failures are not modelled.',
];

const tickSchema = z.object({
  t: z.number().describe('seconds from the start of the run (tick start)'),
  api: z.object({
    demandRps: z.number(), servedRps: z.number(), capacityRps: z.number(), targetRps: z.number(),
    desiredTasks: z.number(), runningTasks: z.number(), servingTasks: z.number(), minTasks: z.number(), maxTasks: z.number(),
    cpuPercent: z.number(), backlog: z.number(), p99Ms: z.number().nullable(), overSla: z.boolean(),
  }),
  worker: z.object({
    demandJobsPerSecond: z.number(), capacityJobsPerSecond: z.number(), desiredTasks: z.number(), runningTasks: z.number(),
    visible: z.number(), inFlight: z.number(), queueAgeSeconds: z.number(), overSla: z.boolean(),
  }),
  readers: z.object({
    count: z.number(), desired: z.number(), cpuPercent: z.number().nullable(), demandRps: z.number().nullable(), capacityRps: z.number().nullable(), overSla: z.boolean(),
  }),
  connections: z.object({
    writer: z.number(), writerBudget: z.number().nullable(), readers: z.number(), readerBudget: z.number().nullable(), writerOver: z.boolean(), readersOver: z.boolean(),
  }),
});

const tierSummarySchema = z.object({
  tier: z.enum(TIERS as [Tier, ...Tier[]]),
  label: z.string(),
  unit: z.string(),
  /** false: the tier is not simulated in this run (no reader CPU figure, no readers); the row says why. */
  modelled: z.boolean(),
  peakDemand: z.number(),
  /** What the tier carries at its maximum (maxTasks, maxReaders, the connection budget); null when unknown. */
  ceiling: z.number().nullable(),
  /** API only: the ceiling at the request target (maxTasks × requestsPerTarget ÷ 60), what the loader checks. */
  ceilingAtTarget: z.number().nullable(),
  headroomPercent: z.number().nullable(),
  /** Seconds from the start of the steepest ramp until the tier's capacity covers the ramp's top; null: never. */
  timeToEnoughSeconds: z.number().nullable(),
  timeToEnough: z.string(),
  minutesOverSla: z.number(),
  firstOverSlaAt: z.number().nullable(),
  /** First tick whose demand was above the tier's capacity. */
  saturatedAt: z.number().nullable(),
  /** The configuration key that moves this tier's limit, and why that one. */
  key: z.string(),
  why: z.string(),
});
export type TierSummary = z.infer<typeof tierSummarySchema>;

const rampSchema = z.object({ startSeconds: z.number(), endSeconds: z.number(), fromRps: z.number(), toRps: z.number() });
export type Ramp = z.infer<typeof rampSchema>;

const eventSchema = z.object({
  t: z.number(), service: z.enum(['api', 'worker', 'readers']), kind: z.enum(['scale-out', 'scale-in', 'range', 'serving']),
  from: z.number(), to: z.number(), reason: z.string(),
});

const optional = <T extends z.ZodType>(value: T) => z.union([
  z.object({ available: z.literal(true), value }),
  z.object({ available: z.literal(false), reason: z.string() }),
]);

/** The contract of `npm run plan -- --json`. */
export const planReportSchema = z.object({
  envName: z.string(),
  profile: z.object({
    name: z.string().nullable().describe('loadTest.profiles.<name>, or null for --rate/--duration'),
    description: z.string(),
    phases: z.array(z.object({ durationSeconds: z.number(), arrivalRate: z.number(), rampTo: z.number().optional() })),
    durationSeconds: z.number(),
    tailSeconds: z.number(),
    stopWhenSlaBreaks: z.boolean(),
  }),
  start: z.string().nullable().describe('ISO time of the run (--start), which places api.scheduledScaling; null: the configured range'),
  tickSeconds: z.number(),
  sla: z.object({ latencyP99Ms: z.number(), queueAgeSeconds: z.number() }).describe('the SLA figures the prediction is judged against (sla.* in cdk.json)'),
  model: z.object({ queueing: z.string(), limits: z.array(z.string()) }),
  constants: z.array(z.object({ name: z.string(), value: z.number(), unit: z.string(), meaning: z.string(), source: z.string(), note: z.string().optional() })),
  assumptions: z.array(z.object({ key: z.string(), value: z.number().nullable(), source: z.string() })),
  steepestRamp: rampSchema,
  tiers: z.array(tierSummarySchema),
  verdict: z.object({
    slaHolds: z.boolean(),
    tier: z.enum(TIERS as [Tier, ...Tier[]]).nullable(),
    key: z.string().nullable(),
    at: z.number().nullable(),
    message: z.string(),
  }),
  averages: z.object({ apiTasks: z.number(), workerTasks: z.number(), readers: z.number(), rps: z.number() }).describe('time-weighted means over the profile (desired counts), for the average monthly cost'),
  events: z.array(eventSchema),
  timeline: z.array(tickSchema),
  cost: optional(z.record(z.string(), z.unknown())).describe('monthlyCost at min, average and max (tools/plan/cost.ts CostReport), or why not'),
  compare: optional(z.record(z.string(), z.unknown())).nullable().describe('compareSizes (tools/plan/compare.ts CompareReport) with --compare, else null'),
  actual: z.record(z.string(), z.unknown()).nullable().describe('plan vs actual (tools/plan/actual.ts) with --result, else null'),
  chart: z.string().nullable(),
  notes: z.array(z.string()),
  exitCode: z.union([z.literal(0), z.literal(1)]),
});
export type PlanReport = z.infer<typeof planReportSchema>;

/**
 * The steepest rise of the load: of the jumps (the start from idle, a phase starting above where the last
 * ended) and the ramps (a phase with rampTo above arrivalRate), the one that rises most; a tie goes to the
 * shorter, then the earlier.
 */
export function steepestRamp(phases: readonly Phase[]): Ramp {
  const candidates: Ramp[] = [];
  let t = 0;
  let prevEnd = 0;
  for (const p of phases) {
    const end = p.rampTo ?? p.arrivalRate;
    if (p.arrivalRate > prevEnd) candidates.push({ startSeconds: t, endSeconds: t, fromRps: prevEnd, toRps: p.arrivalRate });
    if (end > p.arrivalRate) candidates.push({ startSeconds: t, endSeconds: t + p.durationSeconds, fromRps: p.arrivalRate, toRps: end });
    t += p.durationSeconds;
    prevEnd = end;
  }
  const rise = (r: Ramp) => r.toRps - r.fromRps;
  return candidates.reduce((a, r) => (rise(r) > rise(a) || (rise(r) === rise(a) && r.endSeconds - r.startSeconds < a.endSeconds - a.startSeconds) ? r : a),
    candidates[0] ?? { startSeconds: 0, endSeconds: 0, fromRps: 0, toRps: 0 });
}

interface TierView {
  readonly label: string;
  readonly unit: string;
  readonly modelled: boolean;
  readonly demand: (r: TickRecord) => number;
  readonly capacity: (r: TickRecord) => number | null;
  readonly over: (r: TickRecord) => boolean;
  /** The ramp's top in this tier's unit; null: no ramp applies (a fixed budget). */
  readonly rampTop: number | null;
  /** At its maximum: every task (reader) the range allows is serving, so only a higher maximum adds capacity. */
  readonly pinned: (r: TickRecord) => boolean;
  readonly keys: { readonly pinned: string; readonly slow: string; readonly whyPinned: string; readonly whySlow: string; readonly whyOk: string };
}

function views(config: BlueprintConfig, sim: Simulation, ramp: Ramp, readerCapacityRps: number | null): Record<Tier, TierView> {
  const d = sim.derived;
  const api = config.api;
  const cpuPeriod = api.metricResolutionSeconds === HIGH_RESOLUTION_PERIOD_SECONDS ? HIGH_RESOLUTION_PERIOD_SECONDS : STANDARD_PERIOD_SECONDS;
  const apiDelay = SCALE_OUT_DATAPOINTS * cpuPeriod + d.apiTaskReadySeconds;
  const readersOn = config.database.readers > 0;
  return {
    api: {
      label: 'API', unit: 'req/s', modelled: true,
      demand: (r) => r.api.demandRps, capacity: (r) => r.api.capacityRps, over: (r) => r.api.overSla, rampTop: ramp.toRps,
      pinned: (r) => r.api.servingTasks >= r.api.maxTasks,
      keys: {
        pinned: 'api.maxTasks', slow: 'api.minTasks',
        whyPinned: `the API is pinned at its maximum task count: maxTasks × ${fmt(d.capacityPerTaskRps)} req/s (api.capacityPerTaskRps) is below the demand; raise api.maxTasks (or the task size, api.cpu, which needs a new calibration)`,
        whySlow: `a scale-out takes at least ${apiDelay} s (${SCALE_OUT_DATAPOINTS} datapoints of ${cpuPeriod} s, then compute.taskStartSeconds + health checks ${d.apiTaskReadySeconds} s) and the tasks running when the ramp starts cannot carry it meanwhile; raise api.minTasks (or a scheduled minimum before the peak)${api.metricResolutionSeconds === 60 ? ', or set api.metricResolutionSeconds to 20 for faster scale-out' : ''}`,
        whyOk: 'api.maxTasks sets the ceiling (maxTasks × api.capacityPerTaskRps)',
      },
    },
    worker: {
      label: 'Worker', unit: 'jobs/s', modelled: d.jobsPerRequest > 0,
      demand: (r) => r.worker.demandJobsPerSecond, capacity: (r) => r.worker.capacityJobsPerSecond, over: (r) => r.worker.overSla,
      rampTop: ramp.toRps * d.jobsPerRequest,
      pinned: (r) => r.worker.runningTasks >= config.worker.maxTasks,
      keys: {
        pinned: 'worker.maxTasks', slow: config.worker.minTasks === 0 ? 'worker.minTasks' : 'worker.acceptableLatencySeconds',
        whyPinned: `the worker is pinned at worker.maxTasks: ${config.worker.maxTasks} × ${fmt(d.workerThroughputPerTask)} jobs/s is below the jobs arriving; raise worker.maxTasks (or worker.concurrency, if the jobs wait on I/O)`,
        whySlow: config.worker.minTasks === 0
          ? `with worker.minTasks 0 the first job waits for the scale-from-zero alarm (one minute) and a task start (compute.taskStartSeconds ${config.compute.taskStartSeconds} s); raise worker.minTasks to 1`
          : `the backlog policy waits for ${fmt(d.backlogTarget)} messages per task (worker.acceptableLatencySeconds × concurrency ÷ avgProcessingSeconds) for 3 minutes before it adds tasks; a lower worker.acceptableLatencySeconds scales out sooner`,
        whyOk: 'worker.maxTasks sets the ceiling (maxTasks × concurrency ÷ avgProcessingSeconds)',
      },
    },
    readers: {
      label: 'Readers (CPU)', unit: 'req/s', modelled: readersOn && readerCapacityRps !== null,
      demand: (r) => r.readers.demandRps ?? 0, capacity: (r) => r.readers.capacityRps, over: (r) => r.readers.overSla, rampTop: ramp.toRps,
      pinned: (r) => r.readers.count >= d.readerCeiling,
      keys: {
        pinned: d.readerAutoscaling ? 'database.readerAutoscaling.maxReaders' : 'database.readers',
        slow: 'database.readers',
        whyPinned: `every reader the configuration allows (${d.readerCeiling}) is at 100 % CPU at --reader-capacity-rps ${readerCapacityRps}; allow more readers, or a bigger class (database.instanceClass)`,
        whySlow: `a new reader takes ${READER_START_SECONDS / 60} minutes (Aurora instance creation) after 3 minutes of high CPU; more readers from the start (database.readers) carry the ramp`,
        whyOk: d.readerAutoscaling ? 'database.readerAutoscaling.maxReaders sets the ceiling' : 'database.readers sets the read capacity',
      },
    },
    'writer-connections': {
      label: 'Writer connections', unit: 'connections', modelled: d.writerBudget !== null,
      demand: (r) => r.connections.writer, capacity: (r) => r.connections.writerBudget, over: (r) => r.connections.writerOver, rampTop: null,
      pinned: () => true,
      keys: {
        pinned: 'database.instanceClass', slow: 'database.instanceClass',
        whyPinned: 'the running tasks\' pools can open more connections than the writer allows (capacity.ts instanceConnectionBudget); a bigger class, RDS Proxy, or smaller pools (api.dbPoolSize, worker.dbPoolSize)',
        whySlow: '', whyOk: 'database.instanceClass sets max_connections (and database.proxy.maxConnectionsPercent the proxy\'s share)',
      },
    },
    'reader-connections': {
      label: 'Reader connections', unit: 'connections', modelled: readersOn && d.readerBudget !== null,
      demand: (r) => r.connections.readers, capacity: (r) => r.connections.readerBudget, over: (r) => r.connections.readersOver, rampTop: null,
      pinned: () => true,
      keys: {
        pinned: 'database.instanceClass', slow: 'database.instanceClass',
        whyPinned: 'the API\'s reader pools can open more connections than one reader allows (they stay on the reader they opened on); a bigger class or a smaller api.dbPoolSize',
        whySlow: '', whyOk: 'database.instanceClass sets one reader\'s max_connections',
      },
    },
  };
}

/** The summary of one tier over the profile (the tail is not judged). */
function summarise(tier: Tier, v: TierView, sim: Simulation, ramp: Ramp, ceiling: { full: number | null; atTarget: number | null }): TierSummary {
  const judged = sim.timeline.filter((r) => r.t < sim.profileSeconds);
  const dt = sim.tickSeconds;
  if (!v.modelled) {
    return {
      tier, label: v.label, unit: v.unit, modelled: false, peakDemand: 0, ceiling: ceiling.full, ceilingAtTarget: ceiling.atTarget, headroomPercent: null,
      timeToEnoughSeconds: null, timeToEnough: 'not modelled', minutesOverSla: 0, firstOverSlaAt: null, saturatedAt: null, key: v.keys.pinned, why: v.keys.whyOk,
    };
  }
  const peak = Math.max(0, ...judged.map(v.demand));
  const over = judged.filter(v.over);
  const saturated = judged.find((r) => { const c = v.capacity(r); return c !== null && v.demand(r) > c + 1e-9; });
  const first = over[0];
  let timeToEnoughSeconds: number | null = 0;
  let timeToEnough: string;
  if (v.rampTop === null) {
    timeToEnoughSeconds = null;
    timeToEnough = 'n/a (a fixed budget)';
  } else {
    const covered = sim.timeline.find((r) => r.t >= ramp.startSeconds && (v.capacity(r) ?? 0) >= v.rampTop! - 1e-9);
    timeToEnoughSeconds = covered ? covered.t - ramp.startSeconds : null;
    timeToEnough = covered
      ? `${fmt(timeToEnoughSeconds!)} s`
      : ceiling.full !== null && ceiling.full < v.rampTop - 1e-9
        ? `never: the ceiling ${fmt(ceiling.full)} ${v.unit} is below the ramp's ${fmt(v.rampTop)}`
        : 'never within the run';
  }
  let key = v.keys.pinned;
  let why = v.keys.whyOk;
  if (first) {
    // Demand above what the maximum carries is fixed only by a higher maximum; a break while the tier was
    // still scaling towards it, by more capacity at the start (or faster scaling).
    const pinnedOver = over.find((r) => {
      const c = v.capacity(r);
      return v.pinned(r) && c !== null && ceiling.full !== null && c >= ceiling.full - 1e-9 && v.demand(r) > c + 1e-9;
    });
    const pinned = (ceiling.full !== null && peak > ceiling.full + 1e-9) || pinnedOver !== undefined;
    key = pinned ? (tier === 'api' ? pinnedApiKey(pinnedOver ?? first, sim) : v.keys.pinned) : v.keys.slow;
    why = pinned ? v.keys.whyPinned : v.keys.whySlow;
  }
  return {
    tier, label: v.label, unit: v.unit, modelled: true, peakDemand: peak, ceiling: ceiling.full, ceilingAtTarget: ceiling.atTarget,
    headroomPercent: ceiling.full !== null && peak > 0 ? (100 * (ceiling.full - peak)) / peak : null,
    timeToEnoughSeconds, timeToEnough,
    minutesOverSla: (over.length * dt) / 60, firstOverSlaAt: first?.t ?? null, saturatedAt: saturated?.t ?? null, key, why,
  };
}

/** The key of the maximum in effect: api.maxTasks, or the scheduled entry's. */
function pinnedApiKey(r: TickRecord, sim: Simulation): string {
  const range = [sim.apiRange.initial, ...sim.apiRange.changes.filter((c) => c.atSeconds <= r.t)].pop()!;
  return range.from.startsWith('api.scheduledScaling') ? `${range.from.split(' ')[0]}.maxTasks` : 'api.maxTasks';
}

export interface BuildInput {
  readonly config: BlueprintConfig;
  readonly sim: Simulation;
  readonly profile: PlanReport['profile'];
  readonly start: string | null;
  readonly readerCapacityRps: number | null;
}

/** The report without what the CLI adds (cost, compare, actual, chart). */
export function buildReport(input: BuildInput): Omit<PlanReport, 'cost' | 'compare' | 'actual' | 'chart'> {
  const { config, sim, profile } = input;
  const ramp = steepestRamp(profile.phases);
  const tierViews = views(config, sim, ramp, input.readerCapacityRps);
  const caps = ceilings(config, sim, input.readerCapacityRps);
  const tiers = TIERS.map((t) => summarise(t, tierViews[t], sim, ramp, caps[t]));
  const broken = tiers.filter((t) => t.firstOverSlaAt !== null)
    .sort((a, b) => a.firstOverSlaAt! - b.firstOverSlaAt! || TIERS.indexOf(a.tier) - TIERS.indexOf(b.tier));
  const first = broken[0];
  const judged = sim.timeline.filter((r) => r.t < sim.profileSeconds);
  const mean = (f: (r: TickRecord) => number) => (judged.length > 0 ? judged.reduce((s, r) => s + f(r), 0) / judged.length : 0);
  const verdict = first
    ? {
      slaHolds: false, tier: first.tier, key: first.key, at: first.firstOverSlaAt,
      message: `SLA predicted to break: ${first.label} first, at ${fmt(first.firstOverSlaAt!)} s (${overWhat(first.tier, config)}), ${fmt(first.minutesOverSla)} min over in all. ${first.key}: ${first.why}.`,
    }
    : { slaHolds: true, tier: null, key: null, at: null, message: `SLA holds for the whole profile (${tiers.filter((t) => t.modelled).map((t) => t.label).join(', ')}).` };
  const notes = [...sim.notes];
  if (profile.stopWhenSlaBreaks) notes.push('this is a stress profile: it is meant to go past the ceiling and break the SLA; the first break is its predicted breaking point.');
  return {
    envName: config.envName,
    profile,
    start: input.start,
    tickSeconds: sim.tickSeconds,
    sla: { latencyP99Ms: config.sla.latencyP99Ms, queueAgeSeconds: config.sla.queueAgeSeconds },
    model: { queueing: QUEUEING_MODEL, limits: [...MODEL_LIMITS] },
    constants: CONSTANTS.map((c) => ({ ...c })),
    assumptions: [
      { key: 'compute.taskStartSeconds', value: config.compute.taskStartSeconds, source: TASK_READINESS_SOURCES.startSeconds },
      { key: 'health checks (s)', value: sim.derived.apiTaskReadySeconds - config.compute.taskStartSeconds, source: TASK_READINESS_SOURCES.healthCheckSeconds },
      { key: 'alb.slowStartSeconds', value: config.alb.slowStartSeconds, source: TASK_READINESS_SOURCES.slowStartSeconds },
      { key: 'api.capacityPerTaskRps', value: sim.derived.capacityPerTaskRps, source: 'measured by npm run calibrate, or the derated bench figure (docs/scaling.md)' },
      { key: 'jobs per request', value: sim.derived.jobsPerRequest, source: 'capacity.ts jobsPerRequest(loadTest.mix): the share of POST /jobs' },
      { key: '--reader-capacity-rps', value: input.readerCapacityRps, source: 'API req/s one reader carries at 100 % CPU; no configuration key measures it (null: reader CPU not simulated)' },
    ],
    steepestRamp: ramp,
    tiers,
    verdict,
    averages: {
      apiTasks: mean((r) => r.api.desiredTasks), workerTasks: mean((r) => r.worker.desiredTasks), readers: mean((r) => r.readers.desired), rps: mean((r) => r.api.demandRps),
    },
    events: [...sim.events],
    timeline: [...sim.timeline],
    notes,
    exitCode: first ? 1 : 0,
  };
}

function overWhat(tier: Tier, config: BlueprintConfig): string {
  switch (tier) {
    case 'api': return `predicted p99 above sla.latencyP99Ms ${config.sla.latencyP99Ms} ms`;
    case 'worker': return `queue age above sla.queueAgeSeconds ${config.sla.queueAgeSeconds} s`;
    case 'readers': return 'reader CPU at 100 %: reads queue';
    case 'writer-connections': return 'more connections than the writer\'s budget: connection errors';
    case 'reader-connections': return 'more connections than one reader\'s budget: connection errors';
  }
}

function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

const num = (v: number | null, unit = '') => (v === null ? '—' : `${fmt(Math.round(v * 10) / 10)}${unit}`);

/** The table and what follows it, for a terminal. */
export function renderText(r: PlanReport): string {
  const p = r.profile;
  const lines = [
    `Plan: ${r.envName}, ${p.name ? `profile ${p.name} (${p.description})` : p.description}, ${fmt(p.durationSeconds)} s${p.tailSeconds > 0 ? ` + ${fmt(p.tailSeconds)} s tail` : ''}${r.start ? `, starting ${r.start}` : ''}`,
    `Steepest ramp: ${fmt(r.steepestRamp.fromRps)} → ${fmt(r.steepestRamp.toRps)} req/s at ${fmt(r.steepestRamp.startSeconds)}-${fmt(r.steepestRamp.endSeconds)} s`,
    '',
    ...table(
      ['tier', 'peak demand', 'ceiling', 'headroom', 'time to enough', 'min over SLA', 'saturates at', 'key'],
      r.tiers.map((t) => [
        t.label,
        t.modelled ? `${num(t.peakDemand)} ${t.unit}` : 'not modelled',
        t.ceiling === null ? '—' : `${num(t.ceiling)}${t.ceilingAtTarget !== null ? ` (${num(t.ceilingAtTarget)} at target)` : ''}`,
        t.headroomPercent === null ? '—' : `${num(t.headroomPercent)} %`,
        t.timeToEnough,
        t.modelled ? num(t.minutesOverSla) : '—',
        t.saturatedAt === null ? '—' : `${fmt(t.saturatedAt)} s`,
        t.key,
      ]),
    ),
    '',
    r.verdict.message,
  ];
  const scaling = r.events;
  if (scaling.length > 0) {
    lines.push('', 'Scaling:');
    for (const e of scaling.slice(0, 40)) lines.push(`  ${String(fmt(e.t)).padStart(6)} s  ${e.service.padEnd(7)} ${e.kind.padEnd(9)} ${e.from} → ${e.to}: ${e.reason}`);
    if (scaling.length > 40) lines.push(`  … ${scaling.length - 40} more (--json has them all)`);
  }
  lines.push('', `Cost: ${r.cost.available ? costLine(r.cost.value) : `not available: ${r.cost.reason}`}`);
  if (r.compare) lines.push(`Compare: ${r.compare.available ? 'see below' : `not available: ${r.compare.reason}`}`);
  if (r.actual) lines.push('', String(r.actual.text ?? ''));
  if (r.chart) lines.push('', `Chart: ${r.chart}`);
  lines.push('', `Model: ${r.model.queueing}`, 'Limits:', ...r.model.limits.map((l) => `  - ${l}`));
  if (r.notes.length > 0) lines.push('', ...r.notes.map((n) => `Note: ${n}`));
  return `${lines.join('\n')}\n`;
}

function costLine(value: Record<string, unknown>): string {
  const levels = ['min', 'average', 'max'] as const;
  const parts: string[] = [];
  let table: string | undefined;
  for (const l of levels) {
    const c = value[l] as { totalMonthlyUsd?: number; priceTable?: { date: string; region: string } } | undefined;
    if (!c || typeof c.totalMonthlyUsd !== 'number') continue;
    parts.push(`${l} $${fmt(Math.round(c.totalMonthlyUsd))}/month`);
    table ??= c.priceTable ? `price table ${c.priceTable.date}, ${c.priceTable.region}` : undefined;
  }
  return `${parts.join(', ')}${table ? ` (${table})` : ''}`;
}

export function renderJson(r: PlanReport): string {
  return `${JSON.stringify(planReportSchema.parse(r), null, 2)}\n`;
}
