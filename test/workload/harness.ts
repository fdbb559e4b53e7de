import { DeleteQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { spawn, type ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { connectCache, type CacheClient } from '../../workload/src/cache';
import { connectDatabase, type Database } from '../../workload/src/db';
import { migrate } from '../../workload/src/migrations';
import { readSettings, type Settings } from '../../workload/src/settings';
import { createLocalQueues, localServiceEnv, localSqs } from '../../workload/src/tools/local';

/** The variables scripts/services.sh prints for its local servers, as an object. */
export const serviceEnv = localServiceEnv;

export interface Harness {
  readonly env: Record<string, string>;
  readonly settings: Settings;
  readonly db: Database;
  readonly cache: CacheClient;
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  queueDepth(url?: string): Promise<{ visible: number; inFlight: number }>;
  close(): Promise<void>;
}

/**
 * A fresh database, queue pair (redrive after `maxReceiveCount`) and cache key prefix for one test file,
 * on the local servers: tests never share state.
 */
export async function createHarness(opts: { maxReceiveCount?: number; env?: Record<string, string> } = {}): Promise<Harness> {
  const base = serviceEnv();
  const suffix = randomBytes(4).toString('hex');
  const admin = new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: 'postgres' });
  const dbName = `sb_test_${suffix}`;
  // template0 takes no connections, so files creating databases at the same time do not collide.
  await admin.query(`CREATE DATABASE ${dbName} TEMPLATE template0`);
  await admin.end();

  const sqs = localSqs(base);
  const { queueUrl, dlqUrl } = await createLocalQueues(sqs, `jobs-${suffix}`, opts.maxReceiveCount ?? 3);

  const env = {
    ...base, DB_NAME: dbName, QUEUE_URL: queueUrl, CACHE_KEY_PREFIX: `t${suffix}:`,
    WORKER_WAIT_SECONDS: '1', WORKER_VISIBILITY_SECONDS: '30', JOB_CPU_MS: '5', JOB_IO_MS: '5', ...opts.env,
  };
  const settings = readSettings(env);
  const db = connectDatabase(settings.db, settings.region);
  await migrate(db.writer);
  const cache = connectCache(settings.cache);

  const queueDepth = async (url = queueUrl) => {
    const a = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }))).Attributes!;
    return { visible: Number(a.ApproximateNumberOfMessages), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible) };
  };
  return {
    env, settings, db, cache, sqs, queueUrl, dlqUrl, queueDepth,
    async close() {
      cache.disconnect();
      await db.close();
      await sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
      await sqs.send(new DeleteQueueCommand({ QueueUrl: dlqUrl }));
      const drop = new Pool({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), user: base.DB_USERNAME, database: 'postgres' });
      await drop.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await drop.end();
    },
  };
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A child process whose stdout and stderr are collected, and a promise of its exit code. */
export function spawnCollecting(command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  const child: ChildProcess = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const state = { output: '' };
  child.stdout!.on('data', (d) => (state.output += d));
  child.stderr!.on('data', (d) => (state.output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, get output() { return state.output; } };
}
