import { existsSync, readdirSync, statSync } from 'fs';
import { join } from 'path';
import { bundleWorkload } from '../../workload/src/tools/api-process';
import { oncePerRun } from './once-per-run';

// The tests that run the API or the worker as the image does (its esbuild bundle in a child process) share one
// bundle per jest run, built with the workload's own bundleWorkload: six files used to build one each. A bundle
// older than any of its inputs (an edit while jest watches) is built again: a test never runs yesterday's code.
const WORKLOAD = join(__dirname, '..', '..', 'workload');
/** What the bundle is made of: the sources, the contracts (workload/contracts links to lib/contracts), the packages. */
const INPUT_DIRS = [join(WORKLOAD, 'src'), join(WORKLOAD, 'contracts')];
const INPUT_FILES = [join(WORKLOAD, 'package-lock.json'), join(WORKLOAD, 'node_modules', '.package-lock.json')];

/** The newest modification time among the bundle's inputs (ms). */
export function newestInput(): number {
  let newest = 0;
  const visit = (path: string) => {
    const s = statSync(path);
    if (s.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
    else newest = Math.max(newest, s.mtimeMs);
  };
  for (const d of INPUT_DIRS) visit(d);
  for (const f of INPUT_FILES) if (existsSync(f)) newest = Math.max(newest, statSync(f).mtimeMs);
  return newest;
}

/** The path of an up-to-date bundle of workload/src/main.ts (`node <path> api|worker`), built at most once per run. */
export function workloadBundle(): Promise<string> {
  return oncePerRun({
    name: 'workload-main.js',
    make: (path) => bundleWorkload(path),
    fresh: (path) => statSync(path).mtimeMs >= newestInput(),
  });
}
