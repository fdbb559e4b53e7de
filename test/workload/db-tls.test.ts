import { execFile, execFileSync } from 'child_process';
import { buildSync } from 'esbuild';
import { randomBytes } from 'crypto';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { databaseTrust } from '../../workload/src/db';
import { MIGRATIONS } from '../../workload/src/migrations';
import { spawnCollecting } from './harness';
import { copyDataDir } from './postgres';

// The workload talks to two kinds of endpoint with one trust configuration: RDS Proxy, whose ACM certificate
// chains to a public root that Node trusts by default, and Aurora itself, whose certificate chains to an RDS CA
// that only the RDS bundle (DB_TLS_CA_FILE) holds. Three local CAs stand in for them:
// - CA-PUBLIC plays a root of Node's default store: the child process trusts it through NODE_EXTRA_CA_CERTS,
//   which Node adds to its default roots exactly as it would a bundled one;
// - CA-RDS plays the RDS bundle, given as DB_TLS_CA_FILE;
// - CA-OTHER is trusted by nobody.
// One test-owned PostgreSQL per case (ssl=on, 127.0.0.1 only, under a temp dir) presents a certificate from one
// of them, and a child process runs the workload's connectDatabase + migrate against it, as a task would at start.

const WORKLOAD_SRC = join(__dirname, '..', '..', 'workload', 'src');
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[server_here]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1, DNS:localhost
authorityKeyIdentifier = keyid
[server_elsewhere]
basicConstraints = CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:db.elsewhere.internal
authorityKeyIdentifier = keyid
`;

// The newest server installation, as scripts/services.sh picks it (global setup has installed it).
const pgBin = join('/usr/lib/postgresql', readdirSync('/usr/lib/postgresql').sort((a, b) => Number(a) - Number(b)).pop()!, 'bin');
const execFileAsync = promisify(execFile);
// PostgreSQL refuses to run as root: run it as the postgres user then, as scripts/services.sh does.
const asServerUser = (cmd: string, args: string[]) => (process.getuid?.() === 0
  ? execFileAsync('runuser', ['-u', 'postgres', '--', cmd, ...args])
  : execFileAsync(cmd, args));

let dir: string;
const openssl = (...args: string[]) => execFileAsync('openssl', args, { cwd: dir });

async function makeCa(name: string) {
  await openssl('req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', 'openssl.cnf',
    '-extensions', 'ca', '-subj', `/CN=${name}`, '-days', '2', '-keyout', `${name}.key`, '-out', `${name}.pem`);
}

async function makeServerCert(name: string, ca: string, extensions: 'server_here' | 'server_elsewhere') {
  await openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-config', 'openssl.cnf',
    '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  await openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '2', '-extfile', 'openssl.cnf', '-extensions', extensions, '-out', `${name}.pem`);
  // PostgreSQL refuses a key that others can read.
  chmodSync(join(dir, `${name}.key`), 0o600);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * One server per certificate, each a copy of one initdb (so they start together instead of one after another).
 * pg_ctl -w returns once the server accepts connections.
 */
const servers = new Map<string, { dataDir: string; port: number; started: boolean }>();
async function serve(cert: string) {
  const server = { dataDir: join(dir, `pg-${cert}`), port: await freePort(), started: false };
  servers.set(cert, server);
  await execFileAsync('cp', ['-a', join(dir, 'pg'), server.dataDir]);
  const options = [`-h 127.0.0.1 -p ${server.port} -k ${dir} -c fsync=off -c max_connections=10 -c shared_buffers=16MB`,
    `-c ssl=on -c ssl_cert_file=${join(dir, `${cert}.pem`)} -c ssl_key_file=${join(dir, `${cert}.key`)}`].join(' ');
  const log = join(dir, `${cert}.log`);
  await asServerUser(join(pgBin, 'pg_ctl'), ['-D', server.dataDir, '-l', log, '-w', '-o', options, 'start']).catch((err: Error) => {
    throw new Error(`PostgreSQL (${cert}) did not start: ${err.message}\n${readFileSync(log, 'utf8')}`);
  });
  server.started = true;
}

interface Outcome { ok: boolean; applied?: number[]; tls?: boolean; code?: string; message?: string }

/** Runs connectDatabase + migrate in a child whose default roots include CA-PUBLIC, with CA-RDS as the bundle. */
async function connectAndMigrate(cert: string): Promise<Outcome> {
  const { port } = servers.get(cert)!;
  const db = {
    writerHost: '127.0.0.1', readerHost: '127.0.0.1', port, name: 'postgres', user: 'app', password: '', iamAuth: false,
    tls: true, caFile: join(dir, 'ca-rds.pem'), poolSize: 1,
  };
  const proc = spawnCollecting(process.execPath, [join(dir, 'probe.js'), JSON.stringify(db)], {
    NODE_EXTRA_CA_CERTS: join(dir, 'ca-public.pem'),
  });
  const code = await proc.exited;
  const line = proc.output.trim().split('\n').pop()!;
  if (code !== 0 || !line.startsWith('{')) throw new Error(`probe exited ${code}:\n${proc.output}`);
  return JSON.parse(line) as Outcome;
}

// Each case's server and probe run side by side: the cases share nothing but the CAs and the initdb they copy.
const outcomes = new Map<string, Outcome>();
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sb-db-tls-'));
  writeFileSync(join(dir, 'openssl.cnf'), OPENSSL_CONFIG);
  if (process.getuid?.() === 0) execFileSync('chown', ['postgres', dir]);
  // The run's initdb template (test/workload/postgres.ts): one initdb for every file that needs a server of its own.
  const initdb = copyDataDir(join(dir, 'pg'));
  const certificates = (async () => {
    await Promise.all(['ca-public', 'ca-rds', 'ca-other'].map(makeCa));
    await Promise.all([
      makeServerCert('proxy', 'ca-public', 'server_here'),
      makeServerCert('aurora', 'ca-rds', 'server_here'),
      makeServerCert('impostor', 'ca-other', 'server_here'),
      makeServerCert('aurora-elsewhere', 'ca-rds', 'server_elsewhere'),
    ]);
  })();
  buildSync({
    stdin: {
      contents: `
        import { connectDatabase } from './db';
        import { migrate } from './migrations';
        const db = connectDatabase(JSON.parse(process.argv[2]), 'us-east-1');
        migrate(db.writer)
          .then(async (applied) => {
            const { rows } = await db.writer.query('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
            console.log(JSON.stringify({ ok: true, applied, tls: rows[0].ssl }));
          })
          .catch((err) => console.log(JSON.stringify({ ok: false, code: err.code, message: err.message })))
          .finally(() => db.close());`,
      resolveDir: WORKLOAD_SRC, loader: 'ts', sourcefile: 'probe.ts',
    },
    bundle: true, platform: 'node', target: 'node20', outfile: join(dir, 'probe.js'), logLevel: 'error',
  });
  await Promise.all([initdb, certificates]);
  // The server's keys must belong to the user it runs as.
  if (process.getuid?.() === 0) execFileSync('chown', ['-R', 'postgres', dir]);
  await Promise.all(['proxy', 'aurora', 'impostor', 'aurora-elsewhere'].map(async (cert) => {
    await serve(cert);
    outcomes.set(cert, await connectAndMigrate(cert));
  }));
});

afterAll(async () => {
  await Promise.all([...servers.values()].filter((s) => s.started)
    .map((s) => asServerUser(join(pgBin, 'pg_ctl'), ['-D', s.dataDir, '-m', 'immediate', '-w', 'stop'])));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('through RDS Proxy (a certificate from a default root, not in the RDS bundle): connects over TLS and migrates', () => {
  const outcome = outcomes.get('proxy');
  expect(outcome).toEqual({ ok: true, applied: MIGRATIONS.map((m) => m.id), tls: true });
});

test('to Aurora directly (a certificate from the RDS bundle): connects over TLS and migrates', () => {
  const outcome = outcomes.get('aurora');
  expect(outcome).toEqual({ ok: true, applied: MIGRATIONS.map((m) => m.id), tls: true });
});

test('a certificate from a CA in neither store is refused: the chain is still verified', () => {
  const outcome = outcomes.get('impostor');
  expect(outcome).toMatchObject({ ok: false, code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
});

test('a trusted certificate for another host name is refused: the host name is still checked', () => {
  const outcome = outcomes.get('aurora-elsewhere');
  expect(outcome).toMatchObject({ ok: false, code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
});

test('a bundle file without a certificate (an empty or failed download) stops the start with its name', () => {
  writeFileSync(join(dir, 'empty.pem'), '');
  expect(() => databaseTrust(join(dir, 'empty.pem'))).toThrow(`DB_TLS_CA_FILE=${join(dir, 'empty.pem')} holds no PEM certificate`);
});
