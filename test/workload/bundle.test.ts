import { readFileSync } from 'fs';
import { freePort } from '../../workload/src/tools/api-process';
import { createHarness, eventually, spawnCollecting, type Harness } from './harness';
import { workloadBundle } from './workload-bundle';

// The container runs the esbuild bundle (workload/Dockerfile), not the TypeScript: the run's shared bundle is built
// the same way (bundleWorkload: workload's `npm run build` options) and run here as the image would, against the
// local servers. "The same way" is: symlinks kept (workload/contracts -> ../lib/contracts resolves its packages
// from workload/node_modules, as in the image where contracts/ is a copy) and no tsconfig (the root one's `paths`
// would send every package to the root node_modules; the image's build context has none).
let h: Harness;
let bundle: string;
/** The modules in the bundle: esbuild heads each with a comment naming its path relative to workload/. */
let inputs: string[];
beforeAll(async () => {
  [h, bundle] = await Promise.all([createHarness(), workloadBundle()]);
  inputs = [...readFileSync(bundle, 'utf8').matchAll(/^\/\/ (\S+\.[cm]?[jt]s)$/gm)].map((m) => m[1]);
});
afterAll(async () => {
  await h.close();
});

test('the bundled API starts, migrates, answers /healthz and /readyz, and exits 0 on SIGTERM', async () => {
  const port = await freePort();
  const proc = spawnCollecting(process.execPath, [bundle, 'api'], { ...process.env, ...h.env, PORT: String(port), HOST: '127.0.0.1' });
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
  expect(inputs).toContain('src/main.ts');
  expect(inputs).toContain('contracts/container-env.ts');
  const zod = inputs.filter((i) => /(^|\/)node_modules\/zod\//.test(i));
  expect(zod.length).toBeGreaterThan(0);
  expect(zod.filter((i) => !i.startsWith('node_modules/zod/'))).toEqual([]);
  // Nothing from ../lib: the image's build context could not reach it.
  expect(inputs.filter((i) => i.startsWith('../lib/'))).toEqual([]);
});

test('an unknown command exits 2 with the usage', async () => {
  const proc = spawnCollecting(process.execPath, [bundle, 'serve'], process.env);
  expect(await proc.exited).toBe(2);
  expect(proc.output).toContain('usage: main.js api|worker');
});
