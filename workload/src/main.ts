import cluster from 'cluster';
import { buildApi } from './app';
import { connectCache } from './cache';
import { runPrimary, runWorker, SUPERVISOR_DEFAULTS, type Drainable } from './cluster';
import { connectDatabase, type DbTimeouts } from './db';
import { LIMITLESS_MIGRATIONS } from './limitless';
import { migrate, MIGRATIONS } from './migrations';
import { readSettings, type Settings } from './settings';
import { invalidateItem } from './item-cache';
import { jsonLog, type Log } from './log';
import { Metrics } from './metrics';
import { ShardRouter } from './router';
import { seedDirectory } from './shards';
import { boundedSqsClient, workerSqsBudget } from './sqs';
import { startJobKeepers } from './sweeper';
import { Worker } from './worker';

/**
 * One API process: its own database pools, cache connection and the relay's SQS client (processes share no connection, so
 * the connection budget counts processes × pools × DB_POOL_SIZE per task). `close()` stops accepting, finishes
 * the requests in flight, then closes the connections.
 */
async function startApi(settings: Settings): Promise<Drainable> {
  const metrics = new Metrics({ environment: settings.metrics.environment, service: settings.metrics.service || 'api' }, undefined, settings.metrics.flushMs);
  const db = connectDatabase(settings.db, settings.region, { timeouts: settings.db.timeouts, metrics });
  // Clusters mode: the shard directory is read before serving (a process that cannot read it does not start).
  const router = await ShardRouter.open(db, { sharding: settings.db.sharding, metrics, log: jsonLog(process.stdout, { service: 'api', pid: process.pid }) });
  const cache = connectCache(settings.cache);
  const app = buildApi({ db, router, cache, settings, metrics, logger: true });
  await app.listen({ port: settings.port, host: settings.host });
  // The outbox relays and the stuck-job sweepers (./sweeper.ts), one of each per cluster: jobs accepted here
  // reach SQS through them.
  const jobKeepers = startJobKeepers(db.clusters.map((c) => c.writer), settings, metrics);
  return {
    async close() {
      await app.close();
      await jobKeepers.stop();
      router.close();
      metrics.close();
      cache.disconnect();
      await db.close();
    },
  };
}

/**
 * The worker's statements may wait as long as its message stays invisible, no longer: past that SQS delivers the
 * message again anyway (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
 * A transaction left idle is bounded as the API's.
 */
const workerDbTimeouts = (settings: Settings): DbTimeouts => ({
  ...settings.db.timeouts,
  statementMs: settings.worker.visibilitySeconds * 1000,
  lockMs: settings.worker.visibilitySeconds * 1000,
});

/**
 * On SIGTERM or SIGINT: `drain` within `timeoutMs`, then exit 0; exit 1 if it fails or is still running at the
 * deadline (ECS's SIGKILL comes at the container's stop timeout, 30 s by default on Fargate:
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html, stopTimeout; the
 * deadline is set below it, so the process says what it left behind and ends on its own terms). SIGTERM and the
 * deadline are reproduced on real processes (test/workload/worker.test.ts, http-timeouts.test.ts:
 * shutdown_timeout); ECS's SIGKILL itself is not.
 */
function exitOnSignal(log: Log, timeoutMs: number, drain: () => Promise<void>): void {
  let started = false;
  const shutdown = (signal: string) => {
    if (started) return;
    started = true;
    log('draining', { signal, shutdownTimeoutMs: timeoutMs });
    const deadline = setTimeout(() => {
      log('shutdown_timeout', { shutdownTimeoutMs: timeoutMs });
      process.exit(1);
    }, timeoutMs);
    drain().then(() => {
      clearTimeout(deadline);
      process.exit(0);
    }, (err: unknown) => {
      log('shutdown_failed', { error: err instanceof Error ? err.message : String(err) });
      process.exit(1);
    });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/**
 * One image, two commands: `api` serves HTTP, `worker` consumes the jobs queue. Both migrate at start where
 * DB_MIGRATE_ON_START (locally; never in AWS, see lambda/db-migrate).
 * With WORKLOAD_PROCESSES > 1 the API is a node:cluster: the primary migrates once, then forks that many
 * processes on one port and supervises them (./cluster.ts). The worker command stays one process: its
 * jobs mostly wait on I/O, so WORKER_CONCURRENCY (jobs in flight) is its knob, not processes.
 */
async function main(command: string | undefined): Promise<void> {
  if (command !== 'api' && command !== 'worker') {
    process.stderr.write('usage: main.js api|worker\n');
    process.exit(2);
  }
  const settings = readSettings();
  const role = command === 'api' && settings.processes > 1 ? (cluster.isPrimary ? 'primary' : 'worker') : undefined;
  // Every line names its process: several share the task's log stream in cluster mode.
  const log = jsonLog(process.stdout, { service: command, ...(role && { role }), pid: process.pid });

  if (role === 'worker') {
    // Before any await: the primary may send its drain message as soon as the process exists.
    runWorker(() => startApi(settings), log);
    return;
  }
  if (settings.db.migrateOnStart) {
    // Local runs and tests only (DB_MIGRATE_ON_START): in AWS the Data stack's migration custom resource has
    // applied them before this deploys, and this task's database user may not run DDL. Migrations get a
    // connection of their own without statement or lock timeouts: a process waits on the advisory lock while
    // another migrates. It closes before serving starts.
    // Clusters mode: every cluster, each under its own advisory lock, then the first shard layout (once).
    const schema = connectDatabase(settings.db, settings.region);
    try {
      // Limitless: its own schema (sharded tables, ./limitless.ts), on its one endpoint; no directory to seed.
      const migrations = settings.db.sharding.mode === 'limitless' ? LIMITLESS_MIGRATIONS : MIGRATIONS;
      for (const { writer } of schema.clusters) await migrate(writer, migrations);
      if (settings.db.sharding.mode === 'clusters') {
        log('shard_directory', { seeding: await seedDirectory(schema.clusters.map((c) => c.writer), settings.db.sharding.logicalShards) });
      }
    } finally {
      await schema.close();
    }
  }

  if (role === 'primary') {
    // The primary serves nothing and holds no connection.
    process.exit(await runPrimary({ ...SUPERVISOR_DEFAULTS, drainTimeoutMs: settings.shutdownTimeoutMs, processes: settings.processes, log }));
  }

  if (command === 'api') {
    const api = await startApi(settings);
    exitOnSignal(log, settings.shutdownTimeoutMs, () => api.close());
    return;
  }

  // Every SQS call bounded (./sqs.ts); the cache only to drop the entry of an item a job changed.
  const sqs = boundedSqsClient(settings.region, workerSqsBudget(settings.worker.waitSeconds));
  const cache = connectCache(settings.cache);
  const metrics = new Metrics({ environment: settings.metrics.environment, service: settings.metrics.service || 'worker' }, undefined, settings.metrics.flushMs);
  const db = connectDatabase(settings.db, settings.region, { timeouts: workerDbTimeouts(settings), metrics });
  const router = await ShardRouter.open(db, { sharding: settings.db.sharding, metrics, log });
  const worker = new Worker({ sqs, writer: db.writer, router, settings, log, metrics, onItemChanged: (id, version) => invalidateItem(cache, settings.cache, id, version) });
  worker.start();
  log('started', { queueUrl: settings.queueUrl });
  exitOnSignal(log, settings.shutdownTimeoutMs, async () => {
    log('stopping');
    await worker.stop();
    router.close();
    metrics.close();
    cache.disconnect();
    await db.close();
    log('stopped', worker.counts);
  });
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
