import { existsSync, readdirSync, rmSync } from 'fs';
import { join } from 'path';

/** scripts/services.sh's directory (SB_SERVICES_DIR or its default). */
export const servicesDir = () => process.env.SB_SERVICES_DIR ?? '/tmp/scaling-blueprint-services';

/** The jest runs signed in under the servers' directory that are still alive (a killed run's entry is dropped). */
export function liveJestRuns(): number[] {
  const users = join(servicesDir(), 'jest-runs');
  if (!existsSync(users)) return [];
  return readdirSync(users).map(Number).filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      rmSync(join(users, String(pid)), { force: true });
      return false;
    }
  });
}
