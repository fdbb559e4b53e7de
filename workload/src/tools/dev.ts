import { spawn, type ChildProcess } from 'child_process';
import { join } from 'path';
import { createLocalQueue, startLocalServices, stopLocalServices } from './local';
// A development tool run from the project root: it shares the operator CLIs' argument rules.
import { helpRequested, parseFlags } from '../../../tools/common/args';
import { UsageError, usageErrorText } from '../../../tools/common/errors';

export const USAGE = `Usage: npm run workload:dev [-- --port 8080]

Starts PostgreSQL, Redis and an SQS endpoint on 127.0.0.1 (scripts/services.sh), then the reference API and
one worker, until Ctrl-C, which stops all of it (the servers too).

  --port N      the API's port (default 8080; PORT)
  -h, --help    this text

Exit status: 0 after Ctrl-C; 1 the API or the worker exited on its own, or the start failed; 2 bad arguments.`;

/** The API's port from --port, else PORT, else 8080; a bad value is a UsageError. */
function port(argv: readonly string[]): string {
  const v = parseFlags(argv, { port: { type: 'string' }, help: { type: 'boolean', short: 'h' } });
  const value = v.port ?? process.env.PORT ?? '8080';
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new UsageError(`--port = "${value}": must be a port number (1-65535)`, true);
  return String(n);
}

/** How long the API and the worker get to drain after Ctrl-C before they are killed (the worker may be in a 20 s long poll). */
const CHILD_STOP_MS = 8_000;

/**
 * `npm run workload:dev`: PostgreSQL, Redis and an SQS endpoint on 127.0.0.1, then the API on
 * http://127.0.0.1:8080 (PORT to change it) and one worker, until Ctrl-C, which stops all of it: the servers
 * are stopped on every way out (Ctrl-C, a second Ctrl-C, SIGTERM or SIGHUP, the API or the worker dying, a
 * failed start), never left running in the background.
 */
async function main(apiPort: string): Promise<void> {
  const children: ChildProcess[] = [];
  let stopping: Promise<void> | undefined;
  let servicesStarted = false;

  const stopAll = (code: number, reason: string) => {
    stopping ??= (async () => {
      process.stderr.write(`[dev] ${reason}: stopping the API, the worker and the local servers\n`);
      await Promise.all(children.map((c) => new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) return resolve();
        const kill = setTimeout(() => c.kill('SIGKILL'), CHILD_STOP_MS);
        c.once('exit', () => {
          clearTimeout(kill);
          resolve();
        });
        c.kill('SIGTERM');
      })));
      if (servicesStarted) stopLocalServices();
      process.exit(code);
    })();
    return stopping;
  };
  // A second Ctrl-C (the user does not want to wait for the drain) kills the children now, and still stops the servers.
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      for (const c of children) c.kill('SIGKILL');
      return;
    }
    void stopAll(0, signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  try {
    servicesStarted = true; // set before: a start that fails half-way leaves some servers up
    const env = startLocalServices();
    const queueUrl = await createLocalQueue(env, 'jobs');
    const vars = { ...process.env, ...env, QUEUE_URL: queueUrl, PORT: apiPort, HOST: '127.0.0.1', TS_NODE_SWC: 'true', TS_NODE_TRANSPILE_ONLY: 'true' };
    const run = (command: string): ChildProcess => {
      const child = spawn(process.execPath, ['-r', 'ts-node/register', join(__dirname, '..', 'main.ts'), command], { env: vars, stdio: ['ignore', 'pipe', 'pipe'] });
      const prefix = (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).map((l) => `[${command}] ${l}\n`).join('');
      child.stdout!.on('data', (c: Buffer) => process.stdout.write(prefix(c)));
      child.stderr!.on('data', (c: Buffer) => process.stderr.write(prefix(c)));
      // One of them dying on its own (a port in use, a crash) ends the session rather than leave half of it up.
      child.once('exit', (code, signal) => {
        if (!stopping) void stopAll(1, `the ${command} exited (${signal ?? code})`);
      });
      children.push(child);
      return child;
    };
    run('api');
    run('worker');
    process.stdout.write([
      `API on http://127.0.0.1:${vars.PORT} (Ctrl-C stops everything). Try:`,
      `  curl -s -XPOST localhost:${vars.PORT}/items -H 'content-type: application/json' -d '{"name":"widget"}'`,
      `  curl -si localhost:${vars.PORT}/items/1 | grep x-cache`,
      `  curl -s -XPOST localhost:${vars.PORT}/jobs -H 'content-type: application/json' -d '{"itemId":1}'`,
      '',
    ].join('\n'));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    await stopAll(1, 'start failed');
  }
}

// --help and bad arguments answer before any server starts.
if (helpRequested(process.argv.slice(2))) {
  process.stdout.write(`${USAGE}\n`);
} else {
  let apiPort: string | undefined;
  try {
    apiPort = port(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(usageErrorText('workload:dev', e));
    process.exitCode = 2;
  }
  if (apiPort !== undefined) void main(apiPort);
}
