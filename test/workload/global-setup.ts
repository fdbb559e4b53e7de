import { execFileSync, spawnSync } from 'child_process';
import { join } from 'path';

const SERVICES = join(__dirname, '..', '..', 'scripts', 'services.sh');

/**
 * Starts PostgreSQL, Redis and moto_server on 127.0.0.1 for the integration tests. Servers that were
 * already up (another jest run, `npm run workload:dev`) are left to whoever started them: teardown stops
 * only what this run started.
 */
export default function setup(): void {
  const wasRunning = spawnSync('bash', [SERVICES, 'running'], { stdio: 'ignore' }).status === 0;
  execFileSync('bash', [SERVICES, 'start'], { stdio: 'inherit' });
  (globalThis as { sbStartedServices?: boolean }).sbStartedServices = !wasRunning;
}
