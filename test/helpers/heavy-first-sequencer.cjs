// .cjs: jest loads it as is (no transform), and *.js is ignored as build output (.gitignore).
// jest runs the slowest files first only when its cache knows their times; without one (a fresh CI runner,
// a cleared cache) it orders by file size, and files that failed last time or have no time yet go first.
// The heaviest files here are small loaders (test/templates.test.ts runs every spec; the compliance test
// synthesizes every environment with its checks), so a cold run started them last and one worker ran them
// alone at the end. They start first, whatever the cache says; jest orders the rest. The two CPU-heaviest go
// first, one per core; then the long files that mostly wait (child processes, the fault tests' timeouts), which
// the third worker (jest.config.js) runs beside them; then preflight's CLI test, CPU-heavy too: started with
// the first two, three synths shared two cores and its end-to-end case took 90 s instead of 25.
const Sequencer = require('@jest/test-sequencer').default;
const { join } = require('path');

/** In start order (docs/development.md, "Test times"). */
const HEAVY = [
  'test/templates.test.ts',
  'test/stacks/compliance.test.ts',
  'test/workload/worker-faults.test.ts',
  'test/workload/jobs-outbox.test.ts',
  'test/tools/seed/seed.test.ts',
  'test/workload/worker.test.ts',
  'test/load-engine/engine.test.ts',
  'test/tools/preflight/cli.test.ts',
];

class HeavyFirstSequencer extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const rank = (test) => HEAVY.findIndex((file) => test.path === join(test.context.config.rootDir, file));
    const heavy = sorted.filter((test) => rank(test) >= 0).sort((a, b) => rank(a) - rank(b));
    return [...heavy, ...sorted.filter((test) => rank(test) < 0)];
  }
}

module.exports = HeavyFirstSequencer;
module.exports.HEAVY = HEAVY;
