import { execFileSync, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

// No Docker engine here: the promises the image makes about platforms are checked on the Dockerfile itself.
// An arm64 image must build on an x86 host without QEMU, so every RUN happens in a stage that runs on the
// build machine's platform, and the target-platform stage only copies files in.

const WORKLOAD = join(__dirname, '..', '..', 'workload');

interface Instruction { readonly keyword: string; readonly args: string; readonly line: number }
interface Stage { readonly name?: string; readonly platform?: string; readonly image: string; readonly instructions: Instruction[] }

/** Logical instructions (continuations joined, comments dropped), grouped by FROM into stages. */
function parseDockerfile(text: string): Stage[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return; // Docker drops comment lines inside continuations too
    if (!pending) start = i + 1;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      return;
    }
    const [, keyword, args] = /^(\S+)\s*([\s\S]*)$/.exec(pending + line)!;
    instructions.push({ keyword: keyword.toUpperCase(), args: args.trim(), line: start });
    pending = '';
  });
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const [image, as, name] = words.filter((w) => !w.startsWith('--'));
      const platform = flags.find((f) => f.startsWith('--platform='))?.slice('--platform='.length);
      stages.push({ image, name: as?.toUpperCase() === 'AS' ? name : undefined, platform, instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      stages[stages.length - 1].instructions.push(ins);
    }
  }
  return stages;
}

const stages = parseDockerfile(readFileSync(join(WORKLOAD, 'Dockerfile'), 'utf8'));
const runtime = stages[stages.length - 1];
const build = stages.find((s) => s.name === 'build');

test('the build stage runs on the build platform ($BUILDPLATFORM), so npm ci is never emulated', () => {
  expect(build).toBeDefined();
  expect(build!.platform ?? '(no --platform)').toMatch(/^\$\{?BUILDPLATFORM\}?$/);
});

test('every stage that RUNs something runs on the build platform', () => {
  const emulated = stages.filter((s) => s.instructions.some((i) => i.keyword === 'RUN') && !/^\$\{?BUILDPLATFORM\}?$/.test(s.platform ?? ''));
  expect(emulated.map((s) => `${s.name ?? s.image}: ${s.instructions.filter((i) => i.keyword === 'RUN').map((i) => `line ${i.line}`).join(', ')}`)).toEqual([]);
});

test('the runtime stage is of the target platform and only copies files in', () => {
  // No --platform: the image is of the platform cdk asks for (compute.cpuArchitecture).
  expect(runtime.platform).toBeUndefined();
  expect(runtime.instructions.filter((i) => i.keyword === 'RUN')).toEqual([]);
});

test('the runtime stage takes only the bundle from the build stage, no node_modules of the build platform', () => {
  const fromBuild = runtime.instructions.filter((i) => i.keyword === 'COPY' && i.args.includes('--from=build'));
  expect(fromBuild.length).toBeGreaterThan(0);
  for (const copy of fromBuild) {
    const paths = copy.args.split(/\s+/).filter((w) => !w.startsWith('--'));
    expect(paths.slice(0, -1).filter((source) => !source.startsWith('/src/dist/') || source.includes('node_modules'))).toEqual([]);
  }
});

test('no production dependency of the workload ships native code (the bundle is built on another platform)', () => {
  const lock = JSON.parse(readFileSync(join(WORKLOAD, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; hasInstallScript?: boolean; os?: string[]; cpu?: string[]; gypfile?: boolean }>;
  };
  const native = Object.entries(lock.packages)
    .filter(([path, p]) => path !== '' && !p.dev && (p.hasInstallScript || p.os || p.cpu || p.gypfile))
    .map(([path]) => path);
  expect(native).toEqual([]);
});

test('every FROM is pinned by digest (the tag kept next to it for the reader), and both stages use the same image', () => {
  // A tag can be moved to other content; a digest cannot. The digest is the multi-arch index's, so it serves
  // the build platform and the target platform alike (docs/security.md: how to update it).
  for (const stage of stages) expect(stage.image).toMatch(/^[a-z0-9./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/);
  expect(new Set(stages.map((s) => s.image)).size).toBe(1);
});

test('the RDS CA bundle is downloaded and checked in the build stage; the image gets only the checked file, at DB_TLS_CA_FILE', () => {
  const env = Object.fromEntries(runtime.instructions.filter((i) => i.keyword === 'ENV')
    .flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string])));
  const words = (i: Instruction) => i.args.split(/\s+/).filter((w) => !w.startsWith('--'));
  // Nothing is fetched from the network by the runtime stage.
  expect(runtime.instructions.filter((i) => i.keyword === 'ADD')).toEqual([]);
  const addAt = build!.instructions.findIndex((i) => i.keyword === 'ADD' && i.args.includes('truststore.pki.rds.amazonaws.com'));
  const [url, downloaded] = words(build!.instructions[addAt]);
  expect(url).toBe('https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem');
  const check = build!.instructions.findIndex((i, n) => n > addAt && i.keyword === 'RUN' && i.args.startsWith('node scripts/check-rds-ca-bundle.mjs'));
  expect(build!.instructions[check].args).toBe(`node scripts/check-rds-ca-bundle.mjs ${downloaded} "$RDS_CA_BUNDLE_SHA256"`);
  const copy = runtime.instructions.find((i) => i.keyword === 'COPY' && i.args.includes('--from=build') && i.args.includes(downloaded))!;
  expect(words(copy)).toEqual([downloaded, env.DB_TLS_CA_FILE]);
});

describe('check-rds-ca-bundle.mjs (run by the image build on the downloaded bundle)', () => {
  const script = join(WORKLOAD, 'scripts', 'check-rds-ca-bundle.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'rds-ca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // CA certificates shaped like AWS's (EC keys: fast to make; the check reads names, CA flags and signatures).
  const ca = (name: string, subject: string): string => {
    const out = join(dir, `${name}.pem`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${name}.key`),
      '-out', out, '-days', '2', '-subj', subject, '-addext', 'basicConstraints=critical,CA:TRUE'], { stdio: 'ignore', timeout: 10_000 });
    return readFileSync(out, 'utf8');
  };
  const rds = (cn: string) => `/C=US/O=Amazon Web Services, Inc./OU=Amazon RDS/ST=WA/L=Seattle/CN=${cn}`;
  const root = ca('root', rds('Amazon RDS us-east-1 Root CA RSA2048 G1'));
  const ecc = ca('ecc', rds('Amazon RDS us-east-1 Root CA ECC384 G1'));
  const stranger = ca('stranger', '/C=US/O=Someone Else/CN=Not an RDS CA');
  const run = (content: string, sha = '') => {
    const file = join(dir, 'bundle.pem');
    writeFileSync(file, content);
    const result = spawnSync(process.execPath, [script, file, sha], { encoding: 'utf8', timeout: 10_000 });
    return { status: result.status, out: result.stdout, err: result.stderr };
  };

  test('accepts a bundle of Amazon RDS CAs with the rsa2048-g1 root, and prints its sha256 for a pin', () => {
    const bundle = root + ecc;
    const result = run(bundle);
    const sha = createHash('sha256').update(bundle).digest('hex');
    expect(result).toMatchObject({ status: 0, out: expect.stringContaining(`2 Amazon RDS CA certificates, sha256 ${sha}`) });
    expect(run(bundle, sha).status).toBe(0);
  });

  test('refuses a CA of anyone else in the bundle, naming it', () => {
    expect(run(root + stranger)).toMatchObject({ status: 1, err: expect.stringContaining('CN=Not an RDS CA is not an Amazon RDS CA') });
  });

  test('refuses an error page, an empty file and a bundle without the rsa2048-g1 root', () => {
    expect(run('<html>503 Service Unavailable</html>')).toMatchObject({ status: 1, err: expect.stringContaining('no PEM certificate in the file') });
    expect(run('')).toMatchObject({ status: 1 });
    expect(run(ecc)).toMatchObject({ status: 1, err: expect.stringContaining('no self-signed "Root CA RSA2048 G1"') });
  });

  test('with RDS_CA_BUNDLE_SHA256 set, refuses any other file', () => {
    expect(run(root, '0'.repeat(64))).toMatchObject({ status: 1, err: expect.stringContaining(`the build expects ${'0'.repeat(64)} (RDS_CA_BUNDLE_SHA256)`) });
  });
});
