import { SQSClient } from '@aws-sdk/client-sqs';
import cluster from 'cluster';
import { buildApi } from './app';
import { connectCache } from './cache';
import { runPrimary, runWorker, SUPERVISOR_DEFAULTS, type Drainable, type Log } from './cluster';
import { connectDatabase } from './db';
import { migrate } from './migrations';
import { readSettings, type Settings } from './settings';
import { Worker } from './worker';

/**
 * One API process: its own database pools, cache connection and SQS client (processes share no connection, so
 * the connection budget counts processes × pools × DB_POOL_SIZE per task). `close()` stops accepting, finishes
 * the requests in flight, then closes the connections.
 */
async function startApi(settings: Settings): Promise<Drainable> {
  const db = connectDatabase(settings.db, settings.region);
  const cache = connectCache(settings.cache);
  const app = buildApi({ db, cache, sqs: new SQSClient({ region: settings.region }), settings, logger: true });
  await app.listen({ port: settings.port, host: settings.host });
  return {
    async close() {
      await app.close();
      cache.disconnect();
      await db.close();
    },
  };
}

/**
 * One image, two commands: `api` serves HTTP, `worker` consumes the jobs queue. Both migrate at start.
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
  const log: Log = (event, fields = {}) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: command, ...(role && { role }), pid: process.pid, event, ...fields })}\n`);

  if (role === 'worker') {
    // Before any await: the primary may send its drain message as soon as the process exists.
    runWorker(() => startApi(settings), log);
    return;
  }
  const db = connectDatabase(settings.db, settings.region);
  await migrate(db.writer);

  if (role === 'primary') {
    // The primary serves nothing: its connection goes before the workers open theirs.
    await db.close();
    process.exit(await runPrimary({ ...SUPERVISOR_DEFAULTS, processes: settings.processes, log }));
  }

  if (command === 'api') {
    await db.close();
    const api = await startApi(settings);
    const shutdown = async () => {
      await api.close();
      process.exit(0);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    return;
  }

  const sqs = new SQSClient({ region: settings.region });
  const worker = new Worker({ sqs, writer: db.writer, settings, log });
  worker.start();
  log('started', { queueUrl: settings.queueUrl });
  const shutdown = async () => {
    log('stopping');
    await worker.stop();
    await db.close();
    log('stopped', { processed: worker.processed.length });
    process.exit(0);
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main(process.argv[2]).catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
