import { statSync, readdirSync } from 'fs';
import { join } from 'path';

// test/helpers/heavy-first-sequencer.cjs: the heaviest files start first, on both workers, even on a cold
// cache (no timings), where jest orders by file size.
const ROOT = join(__dirname, '..');
const Sequencer = require('./helpers/heavy-first-sequencer.cjs');
const Base = require('@jest/test-sequencer').default;
const HEAVY: string[] = Sequencer.HEAVY;

/** Every test file, as jest hands them to the sequencer, with no timing cache (a fresh CI runner). */
function coldTests() {
  const context = { config: { rootDir: ROOT, cache: false }, hasteFS: { getSize: (path: string) => statSync(path).size } };
  return (readdirSync(join(ROOT, 'test'), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => ({ path: join(ROOT, 'test', f), context }));
}
const order = (sequencer: { sort: (tests: unknown[]) => Array<{ path: string }> }) => sequencer.sort(coldTests()).map((t) => t.path.slice(ROOT.length + 1));

test('every file named heavy exists (a rename would silently drop it from the front)', () => {
  for (const file of HEAVY) expect(statSync(join(ROOT, file)).isFile()).toBe(true);
});

test('cold cache: the heavy files go first, in the listed order; the rest keep jest order', () => {
  const sorted = order(new Sequencer({}));
  expect(sorted.slice(0, HEAVY.length)).toEqual(HEAVY);
  const base = order(new Base({}));
  expect(sorted.slice(HEAVY.length)).toEqual(base.filter((f) => !HEAVY.includes(f)));
  // Why the sequencer exists: by size, jest would not start the two heaviest files first.
  expect(base.slice(0, 2)).not.toEqual(HEAVY.slice(0, 2));
});
