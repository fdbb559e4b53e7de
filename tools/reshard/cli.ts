import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { cliEntry, FLAG, runCli } from '../common/args';

// The entry of `npm run reshard`: light on purpose (see cliEntry); the work is in ./command.ts.

export const ACTIONS = ['status', 'plan', 'move'] as const;
export type Action = (typeof ACTIONS)[number];

export const USAGE = `Usage: npm run reshard -- status|plan --env <env> [options]
       npm run reshard -- move --env <env> --shard <N> --to <C> [options]

Moves logical shards between the Aurora clusters of database.sharding.mode "clusters" (docs/sharding.md,
"Re-sharding"), through the re-shard function in the VPC (the Data stack's ReshardFunctionName output).

  status    the directory (logical shard → cluster), rows per cluster and the biggest logical shards
  plan      which logical shards to move so every cluster holds its share (after adding a cluster);
            a dry run: it prints the moves (and their commands) and changes nothing
  move      moves logical shard N to cluster C while traffic goes on: freeze, copy, verify (count and
            checksum per table), switch, and after a grace period delete the old copy. Safe to run again:
            a move stopped at any step is finished by the next run

  -e, --env <name>        environment in cdk.json (required unless --local): its region and stacks
  --shard <N>             move: the logical shard (0 … logicalShards-1; see status)
  --to <C>                move: the cluster to move it to (0 … shards-1, DB_SHARDS order)
  --function <name>       the re-shard function instead of the stack's output
  --local <url,url,...>   run the mover here instead, on these PostgreSQL URLs (cluster 0 first), e.g.
                          postgres://app@127.0.0.1:5432/db0,postgres://app@127.0.0.1:5432/db1
  --grace-seconds <s>     with --local: how long the old copy stays for readers (default 60; the
                          function's is its RESHARD_GRACE_SECONDS)
  --json                  print the result as JSON
  --config <file>         cdk.json to read (default: the project's cdk.json)
  -h, --help              this text

IAM actions: cloudformation:DescribeStacks, lambda:InvokeFunction.
Exit status: 0 done (a move that had nothing left to do included), 1 status found a frozen shard or a
broken directory, or a move failed (it says whether the shard is writable again), 2 no result (bad
arguments, a refused move: unknown shard or cluster, layout not seeded, freeze timed out; the stack or
function missing).`;

export const FLAGS = {
  env: FLAG.env,
  shard: { type: 'string' },
  to: { type: 'string' },
  function: { type: 'string' },
  local: { type: 'string' },
  'grace-seconds': { type: 'string' },
  json: FLAG.json,
  config: FLAG.config,
  help: FLAG.help,
} as const;

export interface CliDeps {
  readonly cloudFormation?: CloudFormationClient;
  readonly lambda?: LambdaClient;
  readonly stdout?: (s: string) => void;
  readonly stderr?: (s: string) => void;
}

/** `npm run reshard`; resolves to the exit code. The action comes first: `npm run reshard -- move --shard 3 --to 1`. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  // The first word is the action (./command.ts refuses one it does not know, with the nearest).
  const flags = argv[0] !== undefined && !argv[0].startsWith('-') ? argv.slice(1) : argv;
  return cliEntry('reshard', USAGE, flags, deps, FLAGS, () => (require('./command') as typeof import('./command')).main(argv, deps));
}

if (require.main === module) runCli(main, 'reshard');
