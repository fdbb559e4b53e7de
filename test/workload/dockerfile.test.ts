import { readFileSync } from 'fs';
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

test('the RDS CA bundle the image downloads is the file DB_TLS_CA_FILE names', () => {
  const env = Object.fromEntries(runtime.instructions.filter((i) => i.keyword === 'ENV')
    .flatMap((i) => i.args.split(/\s+/).map((pair) => pair.split('=', 2) as [string, string])));
  const add = runtime.instructions.find((i) => i.keyword === 'ADD' && i.args.includes('truststore.pki.rds.amazonaws.com'));
  const [url, destination] = add!.args.split(/\s+/).filter((w) => !w.startsWith('--'));
  expect(url).toBe('https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem');
  expect(env.DB_TLS_CA_FILE).toBe(destination);
});
