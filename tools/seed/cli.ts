import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { cliEntry, FLAG, runCli } from '../common/args';
import { MAX_ITEMS } from './seed';

// The entry of `npm run seed`: light on purpose (see cliEntry); the seeding is in ./command.ts.

export const USAGE = `Usage: npm run seed -- --env <env> [--target URL] [--items N] [options]

Creates the items the load test reads (GET /items/{{rand:N}} hits ids 1…N), through the API's
PUT /items/{id} (If-None-Match: *), so a load test measures cache hits and misses, not 404s, in every
sharding mode. Idempotent: ids that already exist are left as they are; a run stopped half-way goes on from
where it stopped.

  -e, --env <name>      environment in cdk.json (required): its API (the Compute stack's ApiUrl output)
                        and its request mix
  --target <URL>        the API instead of the stack's, e.g. http://127.0.0.1:8080 for npm run workload:dev
  --items <N>           ids 1…N must exist (default: the largest N of the mix's GET /items/{{rand:N}};
                        at most ${MAX_ITEMS})
  --concurrency <n>     requests in flight (default 8, at most 64)
  --timeout-ms <ms>     per request (default 10000)
  --verify <n>          ids of 1…N read back at the end (default 100)
  --json                print the result as JSON
  --config <file>       cdk.json to read (default: the project's cdk.json)
  -h, --help            this text

Exit status: 0 seeded and every sampled id answers, 1 some sampled ids do not answer,
2 no result (bad arguments, the API unreachable or failing, the stack or its output missing).`;

export const FLAGS = {
  env: FLAG.env,
  target: FLAG.target,
  items: { type: 'string' },
  concurrency: { type: 'string' },
  'timeout-ms': { type: 'string' },
  verify: { type: 'string' },
  json: FLAG.json,
  config: FLAG.config,
  help: FLAG.help,
} as const;

export interface CliDeps {
  readonly cloudFormation?: CloudFormationClient;
  readonly stdout?: (s: string) => void;
  readonly stderr?: (s: string) => void;
}

/** `npm run seed`; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  return cliEntry('seed', USAGE, argv, deps, FLAGS, () => (require('./command') as typeof import('./command')).main(argv, deps));
}

if (require.main === module) runCli(main, 'seed');
