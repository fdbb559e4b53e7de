import { execFileSync } from 'child_process';
import { join } from 'path';

/** Starts PostgreSQL, Redis and moto_server on 127.0.0.1 for the workload's integration tests. */
export default function setup(): void {
  execFileSync('bash', [join(__dirname, '..', '..', 'scripts', 'services.sh'), 'start'], { stdio: 'inherit' });
}
