import { execFile, execFileSync } from 'child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { basename, dirname, join } from 'path';
import { promisify } from 'util';
import { oncePerRun } from './once-per-run';

const execFileAsync = promisify(execFile);

/** The newest server installation, as scripts/services.sh picks it (global setup has installed it). */
export const pgBin = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop()!, 'bin');

/** PostgreSQL refuses to run as root: run it as the postgres user then, as scripts/services.sh does. */
export const asServerUser = (cmd: string, args: string[]) => (process.getuid?.() === 0
  ? execFileAsync('runuser', ['-u', 'postgres', '--', cmd, ...args])
  : execFileAsync(cmd, args));

/**
 * A data directory as `initdb -U app --auth=trust` makes it (what scripts/services.sh makes), made once per jest
 * run: initdb costs ~1.5 s of CPU, a copy (copyDataDir) a few ms.
 */
export function initdbTemplate(): Promise<string> {
  return oncePerRun({
    name: 'pg-template',
    async make(path) {
      mkdirSync(path, { mode: 0o700 });
      if (process.getuid?.() === 0) execFileSync('chown', ['postgres', path]);
      await asServerUser(join(pgBin, 'initdb'), ['-D', path, '-U', 'app', '--auth=trust', '--no-sync']);
    },
    // A run directory kept across runs (SB_TEST_RUN_DIR) may hold one from an older server.
    fresh: (path) => readFileSync(join(path, 'PG_VERSION'), 'utf8').trim() === basename(dirname(pgBin)),
  });
}

/** A new data directory at `dataDir` (which must not exist), copied from the run's initdb template, owner kept. */
export async function copyDataDir(dataDir: string): Promise<void> {
  await execFileAsync('cp', ['-a', await initdbTemplate(), dataDir]);
}

/** A TCP port nothing listens on right now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PasswordPostgres {
  readonly port: number;
  /** The superuser's name and password (it can ALTER ROLE and pg_terminate_backend). */
  readonly admin: { readonly user: string; readonly password: string };
  stop(): Promise<void>;
}

/**
 * A PostgreSQL of the test's own under `dir` (127.0.0.1 only) that checks passwords (SCRAM, as Aurora
 * PostgreSQL does by default): the shared server of scripts/services.sh trusts every local connection, so a
 * changed password would go unnoticed there.
 */
export async function startPasswordPostgres(dir: string, adminPassword: string): Promise<PasswordPostgres> {
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  const pwfile = join(dir, 'admin-password');
  writeFileSync(pwfile, `${adminPassword}\n`, { mode: 0o600 });
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', pwfile]);
  const dataDir = join(dir, 'pg');
  await asServerUser(join(pgBin, 'initdb'), ['-D', dataDir, '-U', 'admin', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '--no-sync']);
  const port = await freePort();
  const log = join(dir, 'server.log');
  await asServerUser(join(pgBin, 'pg_ctl'), ['-D', dataDir, '-l', log, '-w', '-o',
    `-h 127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c max_connections=20 -c shared_buffers=16MB`, 'start'])
    .catch((err: Error) => {
      throw new Error(`PostgreSQL did not start: ${err.message}\n${readFileSync(log, 'utf8')}`);
    });
  return {
    port,
    admin: { user: 'admin', password: adminPassword },
    async stop() {
      await asServerUser(join(pgBin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
    },
  };
}
