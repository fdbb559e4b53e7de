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
  // Synth is CPU-bound: use both cores of the 2-core reference machine (jest's default leaves one idle).
  maxWorkers: 2,
  // The heaviest files start first, on both workers, even without jest's timing cache (see the file).
  testSequencer: '<rootDir>/test/helpers/heavy-first-sequencer.cjs',
};
