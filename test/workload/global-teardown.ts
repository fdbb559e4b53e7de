import { execFileSync } from 'child_process';
import { existsSync, rmSync } from 'fs';
import { join } from 'path';
import { liveJestRuns, servicesDir } from './services-users';

/**
 * The last jest run out stops the servers if a jest run started them (not those `npm run workload:dev` runs),
 * unless SB_KEEP_SERVICES=1.
 */
export default function teardown(): void {
  const runDir = (globalThis as { sbRunDir?: string }).sbRunDir;
  if (runDir) rmSync(runDir, { recursive: true, force: true });
  rmSync(join(servicesDir(), 'jest-runs', String(process.pid)), { force: true });
  if (process.env.SB_KEEP_SERVICES === '1') return;
  const marker = join(servicesDir(), 'started-by-jest');
  if (!existsSync(marker) || liveJestRuns().length > 0) return;
  rmSync(marker, { force: true });
  execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'services.sh'), 'stop'], { stdio: 'inherit' });
}
