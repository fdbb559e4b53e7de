import cluster, { type Worker as ClusterWorker } from 'cluster';
import type { Log } from './log';

/** Something that serves until told to stop: `close()` stops accepting and resolves once in-flight work is done. */
export interface Drainable {
  close(): Promise<void>;
}

export interface SupervisorOptions {
  /** Worker processes to keep running: one per vCPU of the task. */
  readonly processes: number;
  /** After SIGTERM, how long the workers get to finish their in-flight requests before they are killed (ms). */
  readonly drainTimeoutMs: number;
  /** Wait before replacing a worker that died: `first`, doubling with each recent death, at most `max` (ms). */
  readonly restartDelayMs: { readonly first: number; readonly max: number };
  /** More than `deaths` unexpected exits within `windowMs` is a crash loop: drain the rest and exit 1. */
  readonly crashLoop: { readonly deaths: number; readonly windowMs: number };
  readonly log: Log;
}

export const SUPERVISOR_DEFAULTS = {
  // ECS sends SIGKILL `stopTimeout` after SIGTERM, 30 s on Fargate when the container sets none (the API's does
  // not): https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html (stopTimeout).
  // 25 s leaves the primary time to kill what is left, say so and exit 1 itself instead of being killed mid-log.
  // By SIGTERM the load balancer has already drained the target (ECS waits for the deregistration delay first:
  // https://docs.aws.amazon.com/AmazonECS/latest/developerguide/load-balancer-connection-draining.html), so what
  // is left to finish is the requests already in flight.
  drainTimeoutMs: 25_000,
  restartDelayMs: { first: 100, max: 5_000 },
  // A worker that cannot start dies within its first second: six deaths take ~3 s of backoff, then the task
  // exits and ECS replaces it (and the deployment circuit breaker counts the failure) instead of the task
  // spinning while the target group keeps sending it traffic.
  crashLoop: { deaths: 5, windowMs: 60_000 },
} as const;

/** The primary's only message to its workers. */
const DRAIN = 'scaling-blueprint:drain';

/**
 * The primary of a node:cluster task: forks `processes` workers that share the listening port (Node's primary
 * accepts and hands connections out round-robin: https://nodejs.org/api/cluster.html#how-it-works), replaces
 * one that dies with backoff, and on SIGTERM or SIGINT tells every worker to drain. Resolves with the exit
 * code: 0 when every worker drained and exited 0; 1 when one had to be killed at the deadline, failed its
 * drain, or the workers were crash-looping. The primary serves nothing and holds no database connection.
 */
export function runPrimary(opts: SupervisorOptions): Promise<number> {
  const { log } = opts;
  const live = new Set<ClusterWorker>();
  const deaths: number[] = [];
  const restarts = new Set<NodeJS.Timeout>();
  let stopping = false;
  let failed = false;
  let deadline: NodeJS.Timeout | undefined;
  let finish: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => (finish = resolve));
  const pid = (w: ClusterWorker) => w.process.pid;

  const fork = () => {
    const worker = cluster.fork();
    live.add(worker);
    log('worker_started', { workerPid: pid(worker) });
  };
  const finishIfDrained = () => {
    if (live.size > 0) return;
    clearTimeout(deadline);
    log('stopped', { exitCode: failed ? 1 : 0 });
    finish(failed ? 1 : 0);
  };
  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    for (const t of restarts) clearTimeout(t);
    log('draining', { reason, workerPids: [...live].map(pid), drainTimeoutMs: opts.drainTimeoutMs });
    // A worker that has just died cannot be told; its exit is counted below. The callback keeps the failed send
    // from becoming an 'error' event that would take the primary down.
    for (const w of live) if (w.isConnected()) w.send({ cmd: DRAIN }, undefined, () => undefined);
    deadline = setTimeout(() => {
      failed = true;
      log('drain_timeout', { killedPids: [...live].map(pid) });
      for (const w of live) w.process.kill('SIGKILL');
    }, opts.drainTimeoutMs);
    finishIfDrained();
  };

  cluster.on('listening', (w, address) => log('worker_listening', { workerPid: pid(w), port: address.port }));
  cluster.on('exit', (worker, code, signal) => {
    live.delete(worker);
    const fields = { workerPid: pid(worker), code, signal };
    if (stopping) {
      if (code !== 0) failed = true;
      log('worker_stopped', fields);
      finishIfDrained();
      return;
    }
    const now = Date.now();
    deaths.push(now);
    while (deaths[0] <= now - opts.crashLoop.windowMs) deaths.shift();
    if (deaths.length > opts.crashLoop.deaths) {
      failed = true;
      log('crash_loop', { ...fields, deaths: deaths.length, windowMs: opts.crashLoop.windowMs });
      stop('crash loop');
      return;
    }
    const restartInMs = Math.min(opts.restartDelayMs.first * 2 ** (deaths.length - 1), opts.restartDelayMs.max);
    log('worker_died', { ...fields, restartInMs });
    const timer = setTimeout(() => {
      restarts.delete(timer);
      fork();
    }, restartInMs);
    restarts.add(timer);
  });

  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  log('cluster_started', { processes: opts.processes });
  for (let i = 0; i < opts.processes; i++) fork();
  return done;
}

/**
 * A worker of the cluster: starts serving, and drains when the primary says so (or on its own SIGTERM),
 * then exits 0; exits 1 if it cannot start or cannot drain. Call it before any `await`: a message the
 * primary sends before a listener is attached would be lost.
 */
export function runWorker(start: () => Promise<Drainable>, log: Log): void {
  // Ctrl-C signals the whole process group; the primary decides, and tells each worker to drain.
  process.on('SIGINT', () => undefined);
  const started = start();
  let draining = false;
  const drain = () => {
    if (draining) return;
    draining = true;
    started
      .then((server) => server.close())
      .then(() => process.exit(0), (err: unknown) => {
        log('drain_failed', { error: String(err) });
        process.exit(1);
      });
  };
  process.on('message', (message: { cmd?: unknown } | null) => {
    if (message?.cmd === DRAIN) drain();
  });
  process.once('SIGTERM', drain);
  started.catch((err: unknown) => {
    log('start_failed', { error: err instanceof Error ? err.stack : String(err) });
    process.exit(1);
  });
}
