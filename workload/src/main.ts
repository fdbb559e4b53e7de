import { SQSClient } from '@aws-sdk/client-sqs';
import { buildApi } from './app';
import { connectCache } from './cache';
import { connectDatabase } from './db';
import { migrate } from './migrations';
import { readSettings } from './settings';
import { Worker } from './worker';

/** One image, two commands: `api` serves HTTP, `worker` consumes the jobs queue. Both migrate at start. */
async function main(command: string | undefined): Promise<void> {
  if (command !== 'api' && command !== 'worker') {
    process.stderr.write('usage: main.js api|worker\n');
    process.exit(2);
  }
  const settings = readSettings();
  const db = connectDatabase(settings.db, settings.region);
  await migrate(db.writer);
  const sqs = new SQSClient({ region: settings.region });
  const log = (event: string, fields: Record<string, unknown> = {}) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), service: command, event, ...fields })}\n`);

  if (command === 'api') {
    const cache = connectCache(settings.cache);
    const app = buildApi({ db, cache, sqs, settings, logger: true });
    await app.listen({ port: settings.port, host: settings.host });
    const shutdown = async () => {
      await app.close(); // stops accepting, finishes in-flight requests
      cache.disconnect();
      await db.close();
      process.exit(0);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
    return;
  }

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
