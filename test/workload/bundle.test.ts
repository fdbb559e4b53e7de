import { buildSync, type Metafile } from 'esbuild';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';

// The container runs the esbuild bundle (workload/Dockerfile), not the TypeScript: build it the same way
// and run it as the image would, against the local servers. "The same way" is workload's `npm run build`:
// symlinks kept (workload/contracts -> ../lib/contracts resolves its packages from workload/node_modules, as
// in the image where contracts/ is a copy) and no tsconfig (the root one's `paths` would send every package
// to the root node_modules; the image's build context has none).
const workload = join(__dirname, '..', '..', 'workload');
let h: Harness;
let dir: string;
let metafile: Metafile;
beforeAll(async () => {
  h = await createHarness();
  dir = mkdtempSync(join(tmpdir(), 'sb-bundle-'));
  metafile = buildSync({
    entryPoints: [join(workload, 'src', 'main.ts')], bundle: true, platform: 'node', target: 'node20', outfile: join(dir, 'main.js'),
    preserveSymlinks: true, tsconfigRaw: {}, absWorkingDir: workload, metafile: true, logLevel: 'error',
  }).metafile;
});
afterAll(async () => {
  await h.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the bundled API starts, migrates, answers /healthz and /readyz, and exits 0 on SIGTERM', async () => {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const proc = spawnCollecting(process.execPath, [join(dir, 'main.js'), 'api'], { ...process.env, ...h.env, PORT: String(port), HOST: '127.0.0.1' });
  try {
    const health = await eventually(() => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status).catch(() => undefined), 15_000, `API up\n${proc.output}`);
    expect(health).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/readyz`)).status).toBe(200);
    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
  } finally {
    proc.child.kill('SIGKILL');
  }
});

test('the container-env contract comes in through workload/contracts, with zod from workload/node_modules', () => {
  const inputs = Object.keys(metafile.inputs);
  expect(inputs).toContain('contracts/container-env.ts');
  const zod = inputs.filter((i) => /(^|\/)node_modules\/zod\//.test(i));
  expect(zod.length).toBeGreaterThan(0);
  expect(zod.filter((i) => !i.startsWith('node_modules/zod/'))).toEqual([]);
  // Nothing from ../lib: the image's build context could not reach it.
  expect(inputs.filter((i) => i.startsWith('../lib/'))).toEqual([]);
});

test('an unknown command exits 2 with the usage', async () => {
  const proc = spawnCollecting(process.execPath, [join(dir, 'main.js'), 'serve'], process.env);
  expect(await proc.exited).toBe(2);
  expect(proc.output).toContain('usage: main.js api|worker');
});
