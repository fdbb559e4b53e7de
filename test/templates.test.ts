// Every template spec (test/**/*.spec.ts: the constructs, the stacks' pinned ids and snapshots, cfn-lint)
// runs in this one jest module registry: aws-cdk-lib is loaded once and each environment is synthesized once
// for all of them (test/helpers/synth.ts memoises per registry). As separate test files they cost ~3 s of
// CPU each. The specs are found, not listed, so a new one cannot be forgotten; the guard below fails when a
// spec would not run here, or would also run on its own.
//
// One spec, or one group: npx jest test/templates.test.ts -t 'ALB and API service' (a describe or test title;
// jest skips the rest). Every spec is still loaded, so every environment is still synthesized: about a
// third of the full run's CPU. Loading only some specs instead would leave the stack snapshots unchecked,
// which jest reports as obsolete and fails the run.
import { readdirSync, readFileSync } from 'fs';
import { globsToMatcher } from 'jest-util';
import { join, relative, sep } from 'path';

const TEST_ROOT = __dirname;
const REPO_ROOT = join(TEST_ROOT, '..');
const SPEC_SUFFIX = '.spec.ts';

const toPosix = (path: string) => path.split(sep).join('/');

function findSpecs(): string[] {
  return (readdirSync(TEST_ROOT, { recursive: true }) as string[])
    .filter((f) => f.endsWith(SPEC_SUFFIX))
    .map((f) => join(TEST_ROOT, f))
    .sort();
}

const loaded = findSpecs();
// require, not import(): the specs must join this module registry, and register their tests synchronously
// while jest collects this file.
for (const spec of loaded) require(spec);

/** Files that look like specs anywhere in the repository, found apart from the loader above. */
function specLikeFiles(dir = REPO_ROOT): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      return ['node_modules', 'cdk.out', 'dist', 'coverage'].includes(entry.name) || entry.name.startsWith('.') ? [] : specLikeFiles(path);
    }
    return /\.specs?\.[cm]?[jt]sx?$/.test(entry.name) ? [path] : [];
  });
}

describe('template specs are found, not listed', () => {
  test('every spec-like file in the repository is a test/**/*.spec.ts loaded into this registry', () => {
    // Not loaded means never run: name it test/<folder>/<name>.spec.ts.
    const missing = specLikeFiles().filter((file) => !loaded.includes(file)).map((file) => toPosix(relative(REPO_ROOT, file)));
    expect(missing).toEqual([]);
    expect(loaded.length).toBeGreaterThan(0);
  });

  test("jest's own test match does not also run a spec on its own (in a second registry, with a second synth)", () => {
    const config = require(join(REPO_ROOT, 'jest.config.js')) as { testMatch?: string[]; testRegex?: string | string[] };
    const byMatch = globsToMatcher(config.testMatch ?? []);
    const byRegex = [config.testRegex ?? []].flat().map((r) => new RegExp(r));
    const runAlone = findSpecs().filter((file) => byMatch(file) || byRegex.some((r) => r.test(file)));
    expect(runAlone.map((file) => toPosix(relative(REPO_ROOT, file)))).toEqual([]);
  });

  test('no other test file imports a spec (it would run twice, the second time in another registry)', () => {
    const importers = (readdirSync(TEST_ROOT, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.test.ts') && join(TEST_ROOT, f) !== __filename)
      .filter((f) => /\b(from|import|require)\s*\(?\s*['"][^'"]*\.spec(\.ts)?['"]/.test(readFileSync(join(TEST_ROOT, f), 'utf8')));
    expect(importers.map(toPosix)).toEqual([]);
  });
});
