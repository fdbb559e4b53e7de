import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';
import { createLocalQueue, startLocalServices, stopLocalServices } from './local';

/**
 * `npm run workload:dev`: PostgreSQL, Redis and an SQS endpoint on 127.0.0.1, then the API on
 * http://127.0.0.1:8080 and one worker, until Ctrl-C (which stops all of it).
 */
async function main(): Promise<void> {
  const env = startLocalServices();
  const queueUrl = await createLocalQueue(env, 'jobs');
  const vars = { ...process.env, ...env, QUEUE_URL: queueUrl, PORT: '8080', HOST: '127.0.0.1', TS_NODE_SWC: 'true', TS_NODE_TRANSPILE_ONLY: 'true' };
  const run = (command: string): ChildProcess => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', join(__dirname, '..', 'main.ts'), command], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).map((l) => `[${command}] ${l}\n`).join('');
    child.stdout!.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
    child.stderr!.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
    return child;
  };
  const children = [run('api'), run('worker')];
  process.stdout.write([
    'API on http://127.0.0.1:8080 (Ctrl-C stops everything). Try:',
    "  curl -s -XPOST localhost:8080/items -H 'content-type: application/json' -d '{\"name\":\"widget\"}'",
    '  curl -si localhost:8080/items/1 | grep x-cache',
    "  curl -s -XPOST localhost:8080/jobs -H 'content-type: application/json' -d '{\"itemId\":1,\"ioMs\":500}'",
    '',
  ].join('\n'));
  const stop = async () => {
    await Promise.all(children.map((c) => new Promise((resolve) => { c.once('exit', resolve); c.kill('SIGTERM'); })));
    stopLocalServices();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
