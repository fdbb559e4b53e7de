import { spawn } from 'child_process';
import { chmodSync, mkdtempSync, rmSync } from 'fs';
import { connect, createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { copyDataDir, freePort } from './postgres';

// `npm run workload:dev` must not leave PostgreSQL, Redis or moto running when it ends, however it ends: every
// way out (Ctrl-C once or twice, SIGTERM, SIGHUP, a child dying, a failed start) goes through one stop that
// ends with scripts/services.sh stop. The failed start is the way out that is quick to reproduce: it runs here on
// a private set of servers (its own directory and ports through SB_SERVICES_DIR / SB_*_PORT), never the shared
// ones.
const ROOT = join(__dirname, '..', '..');

const accepts = (port: number) => new Promise<boolean>((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.once('connect', () => { s.destroy(); resolve(true); }).once('error', () => resolve(false));
});

test('a start that fails half-way (the SQS endpoint is not SQS) exits 1 and stops the servers it had started', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sb-dev-'));
  chmodSync(dir, 0o755); // PostgreSQL runs as the postgres user and must reach its data directory inside
  // The data directory services.sh would initdb (a copy of the run's template, as on a machine that ran it before):
  // what is tested is the stop after a failed start, and initdb is most of the CPU of the start.
  await copyDataDir(join(dir, 'pg'));
  // Something that accepts connections on the SQS port and answers nothing SQS would: services.sh sees the port
  // taken and starts no moto; creating the queue then fails, after PostgreSQL and Redis are up.
  // The SDK may reset a connection it gave up on: without a listener that error would end the test file.
  const notSqs = createServer((socket) => socket.on('error', () => undefined).end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
  await new Promise<void>((resolve) => notSqs.listen(0, '127.0.0.1', resolve));
  const sqs = (notSqs.address() as { port: number }).port;
  const [pg, redis, api] = [await freePort(), await freePort(), await freePort()];
  const env = { ...process.env, SB_SERVICES_DIR: dir, SB_PG_PORT: String(pg), SB_REDIS_PORT: String(redis), SB_SQS_PORT: String(sqs) };
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(ROOT, 'workload', 'src', 'tools', 'dev.ts')], {
    cwd: ROOT, env: { ...env, PORT: String(api), TS_NODE_SWC: 'true', AWS_MAX_ATTEMPTS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d));
  child.stderr!.on('data', (d: Buffer) => (output += d));
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect([await accepts(pg), await accepts(redis)]).toEqual([false, false]);
    expect(output).toContain('[dev] start failed: stopping');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    notSqs.close();
    // Whatever the outcome, leave nothing behind: the script's own stop, on the private set.
    await new Promise((resolve) => spawn('bash', [join(ROOT, 'scripts', 'services.sh'), 'stop'], { env, stdio: 'ignore' }).once('exit', resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}, 90_000);
