import { execFileSync, spawnSync } from 'child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { servicesDir } from './services-users';

const SERVICES = join(__dirname, '..', '..', 'scripts', 'services.sh');

/**
 * Starts PostgreSQL, Redis and moto_server on 127.0.0.1 for the integration tests. Servers that were already
 * up and not started by a jest run (`npm run workload:dev`) are left to whoever started them. Each run signs in
 * under the servers' directory: the last jest run out stops what a jest run started (global-teardown.ts), so
 * two runs at once do not pull the servers from under each other.
 */
export default function setup(): void {
  const wasRunning = spawnSync('bash', [SERVICES, 'running'], { stdio: 'ignore' }).status === 0;
  execFileSync('bash', [SERVICES, 'start'], { stdio: 'inherit' });
  const users = join(servicesDir(), 'jest-runs');
  mkdirSync(users, { recursive: true });
  writeFileSync(join(users, String(process.pid)), '');
  if (!wasRunning) writeFileSync(join(servicesDir(), 'started-by-jest'), '');
  // What this run's test files make once and share (test/workload/once-per-run.ts: the workload bundle, an
  // initdb template); jest's workers inherit the variable. A directory given beforehand is kept after the run.
  if (!process.env.SB_TEST_RUN_DIR) {
    const dir = mkdtempSync(join(tmpdir(), 'sb-test-run-'));
    (globalThis as { sbRunDir?: string }).sbRunDir = dir;
    process.env.SB_TEST_RUN_DIR = dir;
  }
}
