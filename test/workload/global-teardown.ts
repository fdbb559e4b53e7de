import { execFileSync } from 'child_process';
import { join } from 'path';

/** Stops what global-setup started (not servers that were already up), unless SB_KEEP_SERVICES=1. */
export default function teardown(): void {
  if (process.env.SB_KEEP_SERVICES === '1') return;
  if (!(globalThis as { sbStartedServices?: boolean }).sbStartedServices) return;
  execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'services.sh'), 'stop'], { stdio: 'inherit' });
}
