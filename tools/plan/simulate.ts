import {
  apiCpuUtilisationPercent, backlogPerTask, backlogPerTaskTarget, connectionsPerTask, instanceConnectionBudget, jobsPerRequest,
  mmcWaitQuantileSeconds, poolsPerEndpoint, processesForCpu, READS_FROM_READER_POOL, requestsPerTargetPerMinute, scaleCeilingRps,
  serviceTimeQuantileSeconds, slowStartShare, sustainedCeilingRps, targetTrackingCapacity, WORKER_PROCESSES_PER_TASK, workerThroughputPerTask,
} from '../../lib/config/capacity';
import type { BlueprintConfig } from '../../lib/config/schema';
import type { Phase } from '../../lib/contracts/loadtest';
import { ArrivalSchedule } from '../../lib/load-engine/schedule';
import {
  HIGH_RESOLUTION_PERIOD_SECONDS, LATENCY_QUANTILE, READER_START_SECONDS, SCALE_FROM_ZERO_DATAPOINTS, SCALE_IN_DATAPOINTS,
  SCALE_IN_THRESHOLD_RATIO, SCALE_OUT_DATAPOINTS, STANDARD_PERIOD_SECONDS, TICK_SECONDS,
} from './aws-behaviour';
import { resolveSchedule, type RangeChange, type TaskRange } from './schedule';

/**
 * The step simulation of one environment under a load profile: the API, the worker and the database
 * readers, each scaled by the policies the blueprint deploys, as Application Auto Scaling runs them
 * (tools/plan/aws-behaviour.ts), every capacity from lib/config/capacity.ts.
 *
 * Each tick (TICK_SECONDS) takes the tick's arrivals from the profile, serves what the serving tasks can,
 * queues the rest, publishes the metrics the policies read and, at the end of each metric period, lets each
 * policy decide. A task launched by a scale-out runs after `compute.taskStartSeconds`; an API task then
 * serves after the target group's health checks, its share of requests ramping over `alb.slowStartSeconds`.
 */

export type Tier = 'api' | 'worker' | 'readers' | 'writer-connections' | 'reader-connections';
export const TIERS: readonly Tier[] = ['api', 'worker', 'readers', 'writer-connections', 'reader-connections'];

export interface SimulationInput {
  readonly config: BlueprintConfig;
  /** The load, as the load-test profiles write it. */
  readonly phases: readonly Phase[];
  /** Seconds simulated after the profile, at its last rate (to watch scale-in); not judged. */
  readonly tailSeconds: number;
  /** Epoch ms of the run's start, for api.scheduledScaling; null runs in api.minTasks-api.maxTasks. */
  readonly startMs: number | null;
  /**
   * API requests per second one reader carries at 100 % CPU (all the reads the API's mix sends it, cache
   * misses included): no configuration key measures it, so reader CPU, and reader autoscaling with it, are
   * simulated only when it is given.
   */
  readonly readerCapacityRps: number | null;
}

/** One tick: rates are means over [t, t + tick); counts are at t; backlog, age and latency at t + tick. */
export interface TickRecord {
  readonly t: number;
  readonly api: {
    readonly demandRps: number;
    readonly servedRps: number;
    /** capacityPerTaskRps × the serving tasks' shares (slow start). */
    readonly capacityRps: number;
    /** The rate the serving tasks carry at the request target. */
    readonly targetRps: number;
    readonly desiredTasks: number;
    readonly runningTasks: number;
    readonly servingTasks: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    readonly cpuPercent: number;
    /** Requests waiting beyond what the serving tasks serve. */
    readonly backlog: number;
    /** Predicted p99 latency added by capacity (queueing + service time), ms; null: unbounded (no task serves, or ρ = 1). */
    readonly p99Ms: number | null;
    readonly overSla: boolean;
  };
  readonly worker: {
    readonly demandJobsPerSecond: number;
    readonly capacityJobsPerSecond: number;
    readonly desiredTasks: number;
    readonly runningTasks: number;
    readonly visible: number;
    readonly inFlight: number;
    readonly queueAgeSeconds: number;
    readonly overSla: boolean;
  };
  readonly readers: {
    readonly count: number;
    readonly desired: number;
    /** Reader CPU (%), null when --reader-capacity-rps is not given. */
    readonly cpuPercent: number | null;
    readonly demandRps: number | null;
    readonly capacityRps: number | null;
    readonly overSla: boolean;
  };
  readonly connections: {
    readonly writer: number;
    readonly writerBudget: number | null;
    /** Reader pools' connections, all of which may sit on one reader (they stay where they opened). */
    readonly readers: number;
    readonly readerBudget: number | null;
    readonly writerOver: boolean;
    readonly readersOver: boolean;
  };
}

export interface ScalingEvent {
  readonly t: number;
  readonly service: 'api' | 'worker' | 'readers';
  readonly kind: 'scale-out' | 'scale-in' | 'range' | 'serving';
  readonly from: number;
  readonly to: number;
  /** The policy or schedule that acted, and on what. */
  readonly reason: string;
}

export interface Simulation {
  readonly tickSeconds: number;
  /** Seconds of the profile (what is judged); the timeline runs tailSeconds beyond. */
  readonly profileSeconds: number;
  readonly timeline: readonly TickRecord[];
  readonly events: readonly ScalingEvent[];
  readonly apiRange: { readonly initial: TaskRange; readonly changes: readonly RangeChange[] };
  readonly derived: {
    readonly capacityPerTaskRps: number;
    readonly requestsPerTargetPerMinute: number;
    readonly processesPerTask: number;
    readonly jobsPerRequest: number;
    readonly workerThroughputPerTask: number;
    readonly backlogTarget: number;
    readonly apiTaskReadySeconds: number;
    readonly writerBudget: number | null;
    readonly readerBudget: number | null;
    readonly apiConnectionsPerTask: { readonly writer: number; readonly readers: number };
    readonly workerConnectionsPerTask: number;
    readonly readerFloor: number;
    readonly readerCeiling: number;
    readonly readerAutoscaling: boolean;
  };
  readonly notes: readonly string[];
}

/** Thrown for a configuration the model cannot run (the CLI turns it into exit 2). */
export class ModelError extends Error {}

interface Task {
  readonly launchedAt: number;
  readonly runningAt: number;
  /** When it serves (API: after the health checks; worker: when running). */
  readonly servingAt: number;
}

/** A target-tracking policy: its metric's datapoints and the state of its two alarms. */
class TrackingPolicy {
  private sum = 0;
  private weight = 0;
  private readonly datapoints: number[] = [];
  high = false;
  low = false;
  last: number | undefined;

  constructor(readonly name: string, readonly periodSeconds: number, readonly target: number, private readonly aggregate: 'average' | 'sum') {}

  /** Adds a tick's value (undefined: no datapoint, e.g. no task to divide by). */
  add(value: number | undefined, seconds: number): void {
    if (value === undefined) return;
    this.sum += this.aggregate === 'average' ? value * seconds : value;
    this.weight += seconds;
  }

  /** At the end of a period: the datapoint of the values added (if any), and whether the alarms fire. */
  close(): number | undefined {
    const dp = this.weight > 0 ? (this.aggregate === 'average' ? this.sum / this.weight : this.sum) : undefined;
    this.sum = 0;
    this.weight = 0;
    return this.publish(dp);
  }

  /** At the end of a period: a datapoint worked out elsewhere (metric math over several metrics). */
  publish(dp: number | undefined): number | undefined {
    if (dp === undefined) {
      // Missing data is not low utilisation: the alarms reset ("insufficient data" scales neither way).
      this.datapoints.length = 0;
      this.high = false;
      this.low = false;
      this.last = undefined;
      return undefined;
    }
    this.datapoints.push(dp);
    const recent = (n: number) => (this.datapoints.length >= n ? this.datapoints.slice(-n) : undefined);
    this.high = recent(SCALE_OUT_DATAPOINTS)?.every((v) => v > this.target) ?? false;
    this.low = recent(SCALE_IN_DATAPOINTS)?.every((v) => v < this.target * SCALE_IN_THRESHOLD_RATIO) ?? false;
    this.last = dp;
    return dp;
  }
}

/**
 * A scalable target with its policies and cooldowns, as Application Auto Scaling runs it: a scale-out when
 * any policy's high alarm fires (the largest proposal wins), a scale-in only when every policy's low alarm
 * does (the largest proposal, the most cautious, wins). While a scale-out cooldown runs, "the capacity added
 * by the initiating scale-out activity is calculated as part of the desired capacity for the next": a
 * proposal is taken from the capacity before that scale-out and acts only when larger. Scale-in waits out
 * its cooldown, which a scale-out ends.
 * https://docs.aws.amazon.com/autoscaling/application/APIReference/API_TargetTrackingScalingPolicyConfiguration.html
 * https://docs.aws.amazon.com/autoscaling/application/userguide/application-auto-scaling-target-tracking.html
 */
class Scaler {
  private outCooldownUntil = -Infinity;
  private inCooldownUntil = -Infinity;
  private baseBeforeOut = 0;

  constructor(readonly service: ScalingEvent['service'], readonly policies: TrackingPolicy[], private readonly scaleOutCooldown: number, private readonly scaleInCooldown: number) {}

  /** The desired capacity after the policies closed at `t` (those in `closed`) have spoken. */
  decide(t: number, desired: number, range: { min: number; max: number }, closed: readonly TrackingPolicy[], events: ScalingEvent[]): number {
    const inOutCooldown = t < this.outCooldownUntil;
    const base = inOutCooldown ? this.baseBeforeOut : desired;
    const outs = closed.filter((p) => p.high && p.last !== undefined)
      .map((p) => ({ p, want: targetTrackingCapacity(base, p.last!, p.target) }));
    const out = outs.reduce<{ p: TrackingPolicy; want: number } | undefined>((a, o) => (a === undefined || o.want > a.want ? o : a), undefined);
    if (out && Math.min(range.max, out.want) > desired) {
      const to = Math.min(range.max, out.want);
      events.push({ t, service: this.service, kind: 'scale-out', from: desired, to, reason: `${out.p.name} ${fmtNum(out.p.last!)} > target ${fmtNum(out.p.target)} for ${SCALE_OUT_DATAPOINTS} datapoints: ⌈${base} × ${fmtNum(out.p.last!)} ÷ ${fmtNum(out.p.target)}⌉ = ${out.want}${out.want > range.max ? `, capped at max ${range.max}` : ''}${inOutCooldown ? ' (in cooldown: counted from the capacity before the last scale-out)' : ''}` });
      this.baseBeforeOut = desired;
      this.outCooldownUntil = t + this.scaleOutCooldown;
      this.inCooldownUntil = -Infinity;
      return to;
    }
    if (closed.length > 0 && this.policies.every((p) => p.low && p.last !== undefined) && t >= this.inCooldownUntil) {
      const want = Math.max(...this.policies.map((p) => targetTrackingCapacity(desired, p.last!, p.target)));
      const to = Math.max(range.min, want);
      if (to < desired) {
        events.push({ t, service: this.service, kind: 'scale-in', from: desired, to, reason: `every policy below ${SCALE_IN_THRESHOLD_RATIO} × its target for ${SCALE_IN_DATAPOINTS} datapoints (${this.policies.map((p) => `${p.name} ${fmtNum(p.last!)}`).join(', ')})` });
        this.inCooldownUntil = t + this.scaleInCooldown;
        return to;
      }
    }
    return desired;
  }
}

function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(v < 10 ? 2 : 1);
}

/** A fleet of tasks behind a desired count. */
class Fleet {
  tasks: Task[] = [];

  constructor(initial: number, private readonly startSeconds: number, private readonly readySeconds: number) {
    for (let i = 0; i < initial; i++) this.tasks.push({ launchedAt: -Infinity, runningAt: -Infinity, servingAt: -Infinity });
  }

  get desired(): number {
    return this.tasks.length;
  }

  /** Launches or stops tasks to reach `to`; stops the ones that serve least first (starting, then youngest). */
  setDesired(to: number, t: number): void {
    while (this.tasks.length < to) this.tasks.push({ launchedAt: t, runningAt: t + this.startSeconds, servingAt: t + this.startSeconds + this.readySeconds });
    if (this.tasks.length > to) {
      this.tasks.sort((a, b) => a.servingAt - b.servingAt);
      this.tasks.length = to;
    }
  }

  running(t: number): number {
    return this.tasks.filter((k) => k.runningAt <= t).length;
  }

  serving(t: number): Task[] {
    return this.tasks.filter((k) => k.servingAt <= t);
  }
}

/** Runs the simulation. */
export function simulate(input: SimulationInput): Simulation {
  const { config } = input;
  const { api, worker, database, alb } = config;
  const notes: string[] = [];
  if (api.capacityPerTaskRps === null) {
    throw new ModelError(`api.capacityPerTaskRps is null in environment "${config.envName}": the planner needs the capacity of one API task. Fix: measure it (npm run loadtest, then npm run calibrate) and set api.capacityPerTaskRps.`);
  }
  const cap = api.capacityPerTaskRps;
  const dt = TICK_SECONDS;
  const schedule = new ArrivalSchedule(input.phases);
  const profileSeconds = schedule.durationSeconds;
  const lastRate = schedule.rateAt(profileSeconds);
  const totalSeconds = Math.ceil((profileSeconds + input.tailSeconds) / dt) * dt;
  const arrivalsBy = (s: number) => (s <= profileSeconds ? schedule.arrivalsBy(s) : schedule.arrivalsBy(profileSeconds) + lastRate * (s - profileSeconds));

  // --- API
  const processes = processesForCpu(api.cpu);
  const healthSeconds = alb.healthCheck.healthyThresholdCount * alb.healthCheck.intervalSeconds;
  const startSeconds = config.compute.taskStartSeconds;
  const rangeRes = resolveSchedule(api.scheduledScaling, { minTasks: api.minTasks, maxTasks: api.maxTasks, from: 'api.minTasks/api.maxTasks' }, 'api.scheduledScaling', input.startMs, totalSeconds);
  notes.push(...rangeRes.notes);
  let apiRange = { min: rangeRes.initial.minTasks, max: rangeRes.initial.maxTasks, from: rangeRes.initial.from };
  const apiFleet = new Fleet(apiRange.min, startSeconds, healthSeconds);
  const cpuPeriod = api.metricResolutionSeconds === HIGH_RESOLUTION_PERIOD_SECONDS ? HIGH_RESOLUTION_PERIOD_SECONDS : STANDARD_PERIOD_SECONDS;
  const cpuPolicy = new TrackingPolicy(`CPU (${cpuPeriod}-s)`, cpuPeriod, api.targetCpuUtilizationPercent, 'average');
  const requestPolicy = new TrackingPolicy('ALBRequestCountPerTarget', STANDARD_PERIOD_SECONDS, api.requestsPerTarget, 'sum');
  const apiScaler = new Scaler('api', [cpuPolicy, requestPolicy], api.scaleOutCooldownSeconds, api.scaleInCooldownSeconds);
  notes.push(`memory is not modelled as load-dependent: the memory policy (target ${api.targetMemoryUtilizationPercent} %) is taken as always below its target, so it neither scales out nor holds back a scale-in.`);
  if (api.predictiveScaling !== 'off') notes.push(`api.predictiveScaling "${api.predictiveScaling}" is not simulated: a forecast needs the service's history; target tracking alone is.`);
  if (api.scaleOutCooldownSeconds < startSeconds + healthSeconds) {
    notes.push(`api.scaleOutCooldownSeconds (${api.scaleOutCooldownSeconds} s) is shorter than a new task takes to serve (compute.taskStartSeconds ${startSeconds} + health checks ${healthSeconds} s): after the cooldown, a policy that still sees the old tasks busy scales out again on top of tasks that are on their way.`);
  }
  let apiBacklog = 0;

  // --- Worker
  const throughput = workerThroughputPerTask(worker.concurrency, worker.avgProcessingSeconds);
  const backlogTarget = backlogPerTaskTarget(config);
  const jobShare = jobsPerRequest(config.loadTest.mix);
  const workerFleet = new Fleet(worker.minTasks, startSeconds, 0);
  const backlogPolicy = new TrackingPolicy('backlog per task', STANDARD_PERIOD_SECONDS, backlogTarget, 'average');
  const workerScaler = new Scaler('worker', [backlogPolicy], worker.scaleOutCooldownSeconds, worker.scaleInCooldownSeconds);
  let fromZeroCooldownUntil = -Infinity;
  let fromZeroSum = 0;
  let visible = 0;
  let inFlight = 0;
  let workerRunningSum = 0;
  let queueSum = 0;
  // Cumulative jobs enqueued at each tick boundary, to find when the oldest message still queued arrived.
  const jobsIn: number[] = [0];
  let jobsDone = 0;

  // --- Readers
  const autoscaled = database.readerAutoscaling.enabled && database.readers > 0;
  const readerFloor = autoscaled ? Math.max(database.readers, database.readerAutoscaling.minReaders) : database.readers;
  const readerCeiling = autoscaled ? Math.max(readerFloor, database.readerAutoscaling.maxReaders) : database.readers;
  const readerFleet = new Fleet(readerFloor, READER_START_SECONDS, 0);
  const readerCpuModelled = input.readerCapacityRps !== null && database.readers > 0;
  const readerPolicy = new TrackingPolicy('RDSReaderAverageCPUUtilization', STANDARD_PERIOD_SECONDS, database.readerAutoscaling.targetCpuUtilizationPercent, 'average');
  const readerScaler = new Scaler('readers', [readerPolicy], database.readerAutoscaling.scaleOutCooldownSeconds, database.readerAutoscaling.scaleInCooldownSeconds);
  if (database.readers === 0) notes.push('database.readers is 0: the API reads from the writer; no reader tier.');
  else if (input.readerCapacityRps === null) notes.push('reader CPU is not simulated (no configuration key says what one reader carries): readers stay at their floor. Pass --reader-capacity-rps N (API req/s one reader carries at 100 % CPU, from a load test\'s reader CPU) to simulate reader autoscaling.');
  else if (!autoscaled) notes.push('database.readerAutoscaling is off: readers stay at database.readers.');
  else if (database.readerAutoscaling.scaleOutCooldownSeconds < READER_START_SECONDS) {
    notes.push(`database.readerAutoscaling.scaleOutCooldownSeconds (${database.readerAutoscaling.scaleOutCooldownSeconds} s) is shorter than a new reader takes (${READER_START_SECONDS} s): while one is being created, the policy still sees the old readers busy and adds another.`);
  }

  // --- Connections (capacity.ts: processes × pools × pool size, per endpoint)
  const apiPools = poolsPerEndpoint(READS_FROM_READER_POOL.api, database);
  const workerPools = poolsPerEndpoint(READS_FROM_READER_POOL.worker, database);
  const apiConn = {
    writer: connectionsPerTask({ processesPerTask: processes, poolsPerProcess: apiPools.writer, poolSize: api.dbPoolSize }),
    readers: connectionsPerTask({ processesPerTask: processes, poolsPerProcess: apiPools.readers, poolSize: api.dbPoolSize }),
  };
  const workerConn = connectionsPerTask({ processesPerTask: WORKER_PROCESSES_PER_TASK, poolsPerProcess: workerPools.writer, poolSize: worker.dbPoolSize });
  const budget = instanceConnectionBudget(database) ?? null;
  if (budget === null) notes.push(`database.instanceClass "${database.instanceClass}" is not in the max_connections table: connections are counted without a budget.`);

  const events: ScalingEvent[] = [];
  const timeline: TickRecord[] = [];
  const rangeChanges = [...rangeRes.changes];
  const marked = new Set<Task>();

  for (let t = 0; t < totalSeconds; t += dt) {
    // Scheduled range changes that fall in this tick act at its start.
    while (rangeChanges.length > 0 && rangeChanges[0].atSeconds < t + dt) {
      const c = rangeChanges.shift()!;
      apiRange = { min: c.minTasks, max: c.maxTasks, from: c.from };
      const to = Math.min(c.maxTasks, Math.max(c.minTasks, apiFleet.desired));
      events.push({ t, service: 'api', kind: 'range', from: apiFleet.desired, to, reason: `${c.from}: range ${c.minTasks}-${c.maxTasks}` });
      apiFleet.setDesired(to, t);
    }
    for (const [fleet, service] of [[apiFleet, 'api'], [workerFleet, 'worker'], [readerFleet, 'readers']] as const) {
      const arrived = fleet.tasks.filter((k) => k.launchedAt !== -Infinity && k.servingAt <= t && !marked.has(k));
      if (arrived.length === 0) continue;
      for (const k of arrived) marked.add(k);
      const now = fleet.serving(t).length;
      const launched = [...new Set(arrived.map((k) => k.launchedAt))].join(', ');
      events.push({ t, service, kind: 'serving', from: now - arrived.length, to: now, reason: `${arrived.length} launched at ${launched} s ${service === 'api' ? `serve${arrived.length === 1 ? 's' : ''}: start ${startSeconds} s + health checks ${healthSeconds} s${alb.slowStartSeconds > 0 ? `, then ${alb.slowStartSeconds} s of slow start to a full share` : ''}` : service === 'worker' ? `run${arrived.length === 1 ? 's' : ''} after ${startSeconds} s (compute.taskStartSeconds)` : `available after ${READER_START_SECONDS} s`}` });
    }

    // --- API: what the serving tasks can take this tick
    const demandRps = (arrivalsBy(t + dt) - arrivalsBy(t)) / dt;
    const serving = apiFleet.serving(t);
    const shares = serving.reduce((s, k) => s + slowStartShare(t - k.servingAt, alb.slowStartSeconds), 0);
    const capacityRps = cap * shares;
    const before = apiBacklog;
    apiBacklog = Math.max(0, apiBacklog + (demandRps - capacityRps) * dt);
    const servedRps = (before + demandRps * dt - apiBacklog) / dt;
    const running = apiFleet.running(t);
    const cpu = apiCpuUtilisationPercent(servedRps, running, cap);
    let p99Seconds: number | null;
    if (shares <= 0) {
      p99Seconds = demandRps > 0 || apiBacklog > 0 ? null : 0;
    } else if (apiBacklog > 0) {
      // Overloaded, or working off what queued while it was: a new request waits for the backlog ahead of it.
      p99Seconds = apiBacklog / capacityRps + serviceTimeQuantileSeconds(cap / processes, LATENCY_QUANTILE);
    } else if (demandRps >= capacityRps) {
      // ρ = 1 exactly: no fluid backlog, but no steady state either: random arrivals queue without bound.
      p99Seconds = demandRps > 0 ? null : 0;
    } else {
      const perTask = demandRps / shares;
      p99Seconds = mmcWaitQuantileSeconds({ servers: processes, serviceRatePerServer: cap / processes, arrivalRate: perTask }, LATENCY_QUANTILE)
        + serviceTimeQuantileSeconds(cap / processes, LATENCY_QUANTILE);
    }
    const p99Ms = p99Seconds === null ? null : p99Seconds * 1000;
    cpuPolicy.add(running > 0 ? cpu : undefined, dt);
    requestPolicy.add(serving.length > 0 ? requestsPerTargetPerMinute(demandRps, serving.length) * (dt / 60) : undefined, dt);

    // --- Worker: jobs the API enqueued, worked off by the running workers
    const arrivals = jobShare * servedRps * dt;
    const workersRunning = workerFleet.running(t);
    const capacityJobs = workersRunning * throughput;
    // Fluid: the running tasks take what waits, up to their throughput; the rest stays visible.
    const done = Math.min(visible + arrivals, capacityJobs * dt);
    visible = visible + arrivals - done;
    // Little's law: jobs received and not yet deleted = completion rate × time each takes, at most every slot.
    inFlight = Math.min(workersRunning * worker.concurrency, (done / dt) * worker.avgProcessingSeconds);
    jobsIn.push(jobsIn[jobsIn.length - 1] + arrivals);
    jobsDone += done;
    // ApproximateAgeOfOldestMessage: the oldest job still waiting; with none waiting, one in progress.
    const queueAge = visible > 1e-9 ? t + dt - arrivalTime(jobsIn, jobsDone, dt) : inFlight > 1e-9 ? worker.avgProcessingSeconds : 0;
    workerRunningSum += workersRunning * dt;
    queueSum += (visible + (worker.scaleOnInFlightMessages ? inFlight : 0)) * dt;
    fromZeroSum += workersRunning === 0 ? visible + (worker.scaleOnInFlightMessages ? inFlight : 0) : 0;

    // --- Readers
    const readersAvailable = readerFleet.running(t);
    const readerCapacity = readerCpuModelled ? readersAvailable * input.readerCapacityRps! : null;
    const readerCpu = readerCapacity === null ? null : readerCapacity > 0 ? Math.min(100, (100 * servedRps) / readerCapacity) : 100;
    if (readerCpu !== null) readerPolicy.add(readerCpu, dt);

    // --- Connections
    const writerConnections = running * apiConn.writer + workersRunning * workerConn;
    const readerConnections = database.readers > 0 ? running * apiConn.readers : 0;

    const inProfile = t < profileSeconds;
    timeline.push({
      t,
      api: {
        demandRps, servedRps, capacityRps, targetRps: (shares * api.requestsPerTarget) / 60, desiredTasks: apiFleet.desired, runningTasks: running,
        servingTasks: serving.length, minTasks: apiRange.min, maxTasks: apiRange.max, cpuPercent: cpu, backlog: apiBacklog, p99Ms,
        overSla: inProfile && (p99Ms === null || p99Ms > config.sla.latencyP99Ms),
      },
      worker: {
        demandJobsPerSecond: arrivals / dt, capacityJobsPerSecond: capacityJobs, desiredTasks: workerFleet.desired, runningTasks: workersRunning,
        visible, inFlight, queueAgeSeconds: queueAge, overSla: inProfile && queueAge > config.sla.queueAgeSeconds,
      },
      readers: {
        count: readersAvailable, desired: readerFleet.desired, cpuPercent: readerCpu, demandRps: readerCpuModelled ? servedRps : null, capacityRps: readerCapacity,
        overSla: inProfile && readerCapacity !== null && servedRps > readerCapacity + 1e-9,
      },
      connections: {
        writer: writerConnections, writerBudget: budget, readers: readerConnections, readerBudget: database.readers > 0 ? budget : null,
        writerOver: inProfile && budget !== null && writerConnections > budget,
        readersOver: inProfile && budget !== null && database.readers > 0 && readerConnections > budget,
      },
    });

    // --- End of the tick: periods that close now publish a datapoint, and the policies act on it.
    const end = t + dt;
    const apiClosed = [cpuPolicy, requestPolicy].filter((p) => end % p.periodSeconds === 0);
    for (const p of apiClosed) p.close();
    if (apiClosed.length > 0) {
      const to = apiScaler.decide(end, apiFleet.desired, apiRange, apiClosed, events);
      apiFleet.setDesired(to, end);
    }
    if (end % STANDARD_PERIOD_SECONDS === 0) {
      const runningAvg = workerRunningSum / STANDARD_PERIOD_SECONDS;
      const queueAvg = queueSum / STANDARD_PERIOD_SECONDS;
      const fromZeroAvg = fromZeroSum / (STANDARD_PERIOD_SECONDS / dt);
      workerRunningSum = 0;
      queueSum = 0;
      fromZeroSum = 0;
      // Backlog per task for the minute, as the policy's metric math has it: the queue metric's average ÷
      // RunningTaskCount's average; no datapoint while no task runs (a division by zero).
      backlogPolicy.publish(backlogPerTask(queueAvg, 0, runningAvg, false));
      const to = workerScaler.decide(end, workerFleet.desired, { min: worker.minTasks, max: worker.maxTasks }, [backlogPolicy], events);
      workerFleet.setDesired(to, end);
      // Scale from zero: IF(FILL(running, 0) == 0, backlog, 0) > 0 for 1 of 1 datapoints → +1 task (step policy).
      if (SCALE_FROM_ZERO_DATAPOINTS === 1 && runningAvg === 0 && fromZeroAvg > 0 && workerFleet.desired < worker.maxTasks) {
        const inCooldown = end < fromZeroCooldownUntil;
        if (!inCooldown || workerFleet.desired === 0) {
          events.push({ t: end, service: 'worker', kind: 'scale-out', from: workerFleet.desired, to: workerFleet.desired + 1, reason: `scale-from-zero alarm: ${fmtNum(fromZeroAvg)} messages waiting and no worker running for 1 datapoint → step +1` });
          workerFleet.setDesired(workerFleet.desired + 1, end);
          fromZeroCooldownUntil = end + worker.scaleOutCooldownSeconds;
        }
      }
      if (readerCpuModelled) {
        readerPolicy.close();
        if (autoscaled) readerFleet.setDesired(readerScaler.decide(end, readerFleet.desired, { min: readerFloor, max: readerCeiling }, [readerPolicy], events), end);
      }
    }
  }

  return {
    tickSeconds: dt,
    profileSeconds,
    timeline,
    events: events.sort((a, b) => a.t - b.t),
    apiRange: { initial: rangeRes.initial, changes: rangeRes.changes },
    derived: {
      capacityPerTaskRps: cap,
      requestsPerTargetPerMinute: api.requestsPerTarget,
      processesPerTask: processes,
      jobsPerRequest: jobShare,
      workerThroughputPerTask: throughput,
      backlogTarget,
      apiTaskReadySeconds: startSeconds + healthSeconds,
      writerBudget: budget,
      readerBudget: database.readers > 0 ? budget : null,
      apiConnectionsPerTask: apiConn,
      workerConnectionsPerTask: workerConn,
      readerFloor,
      readerCeiling,
      readerAutoscaling: autoscaled && readerCpuModelled,
    },
    notes,
  };
}

/**
 * When job number `k` (cumulative, fractional) was enqueued: the inverse of the cumulative arrivals, linear
 * within a tick (the fluid model spreads a tick's jobs evenly). FIFO is an approximation: a standard SQS
 * queue delivers roughly in order.
 */
function arrivalTime(cumulative: readonly number[], k: number, dt: number): number {
  let lo = 0;
  let hi = cumulative.length - 1;
  if (k >= cumulative[hi]) return hi * dt;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid] <= k) lo = mid;
    else hi = mid;
  }
  const span = cumulative[hi] - cumulative[lo];
  return (lo + (span > 0 ? (k - cumulative[lo]) / span : 0)) * dt;
}

/** The scale ceilings of each tier: what maxTasks (or maxReaders) carries. */
export function ceilings(config: BlueprintConfig, sim: Simulation, readerCapacityRps: number | null): Record<Tier, { full: number | null; atTarget: number | null }> {
  const d = sim.derived;
  const maxApi = Math.max(sim.apiRange.initial.maxTasks, ...sim.apiRange.changes.map((c) => c.maxTasks));
  return {
    api: { full: scaleCeilingRps(maxApi, d.capacityPerTaskRps), atTarget: sustainedCeilingRps(maxApi, d.requestsPerTargetPerMinute) },
    worker: { full: config.worker.maxTasks * d.workerThroughputPerTask, atTarget: null },
    readers: { full: readerCapacityRps !== null && config.database.readers > 0 ? d.readerCeiling * readerCapacityRps : null, atTarget: null },
    'writer-connections': { full: d.writerBudget, atTarget: null },
    'reader-connections': { full: d.readerBudget, atTarget: null },
  };
}
