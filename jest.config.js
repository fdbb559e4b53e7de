/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  testTimeout: 60000,
  // Tests of the workload import its dependencies, which live in workload/node_modules.
  moduleDirectories: ['node_modules', '<rootDir>/workload/node_modules'],
  // PostgreSQL, Redis and moto_server on 127.0.0.1 for the workload's integration tests (scripts/services.sh).
  globalSetup: '<rootDir>/test/workload/global-setup.ts',
  globalTeardown: '<rootDir>/test/workload/global-teardown.ts',
  // Three on the 2-core reference machine: synth is CPU-bound and keeps both cores busy, but the workload files
  // mostly wait (child processes, fault timeouts); a third worker runs while they wait (docs/development.md,
  // "Test times": jest's Time 243 s with 2, 194 s with 3, same tree and load).
  maxWorkers: 3,
  // The heaviest files start first, on both workers, even without jest's timing cache (see the file).
  testSequencer: '<rootDir>/test/helpers/heavy-first-sequencer.cjs',
};
