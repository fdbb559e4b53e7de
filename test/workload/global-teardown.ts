import { execFileSync } from 'child_process';
import { join } from 'path';

/** Stops what global-setup started, unless SB_KEEP_SERVICES=1 (handy while iterating on tests). */
export default function teardown(): void {
  if (process.env.SB_KEEP_SERVICES === '1') return;
  execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'services.sh'), 'stop'], { stdio: 'inherit' });
}
