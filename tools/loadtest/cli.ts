import { STACK_OUTPUTS } from '../../lib/contracts/stacks';
import { cliEntry, FLAG, runCli } from '../common/args';
import type { CliDeps } from './command';

// The entry of `npm run loadtest`: light on purpose (see cliEntry); the run is in ./command.ts.

export type { CliDeps, SignalSource } from './command';

export const USAGE = `Usage: npm run loadtest -- --env <env> (--profile <name> | --rate N --duration S) [--target URL] [options]
       npm run loadtest -- stop --env <env> --run <id>

  -e, --env ENV      environment in cdk.json (its loadTest and sla settings)
  --profile NAME     a key of loadTest.profiles (every environment has load, stress,
                     soak, spike; any other name defined there)
  --target URL       base URL of the API under test (http:// or https://); required with --local,
                     else output ${STACK_OUTPUTS.apiUrl} of ScalingBlueprint-<Env>-Compute
  --local            run the engine in this process instead of the load-generator Lambda
  --rate N           one constant phase of N req/s instead of the profile's phases (with --duration;
                     --profile is then optional and only names the run)
  --duration S       ... lasting S seconds
  --run ID           CloudWatch RunId dimension and result file name (default: <env>-<profile|rate>-<UTC time>);
                     --run-id is the same flag
  --publish          with --local: publish the client metrics to CloudWatch (also when AWS_ENDPOINT_URL is set)
  --function NAME    load-generator function (default: output ${STACK_OUTPUTS.loadGeneratorFunctionName} of ScalingBlueprint-<Env>-LoadTest)
  --stop-parameter NAME
                     the load generator's stop flag (default: output ${STACK_OUTPUTS.loadGeneratorStopParameterName} of the LoadTest stack)
  -o, --out DIR      where the result JSON goes (default: loadtest-results); --results is the same flag
  --json             print the result file's JSON (and its path, resultFile) instead of the summary
  --progress MODE    auto (default: in place on a terminal, nothing otherwise), tty, plain (a line a
                     second, e.g. for a CI log) or none
  --config FILE      cdk.json to read (default: the project's cdk.json)
  -h, --help         this text

stop: asks the Lambda workers of run <id> to stop (they poll every loadTest.stopPollSeconds); the CLI
that runs it then prints its partial summary and writes its result file (state "aborted").

Header values in loadTest.mix may read environment variables, "\${env:NAME}": resolved when the run starts,
never printed or written.

Ctrl-C (SIGINT) or SIGTERM stops a run: no new requests (in Lambda mode the workers are told to stop), the
requests in flight finish or time out, then the partial summary is printed and the result file written
with "state": "aborted". A second Ctrl-C exits at once without a result.

The last line on stdout is: achieved_rps=... requested_rps=... p50_ms=... p90_ms=... p99_ms=... max_ms=...
sent=... errors=... timeouts=... dropped=... 2xx=... 3xx=... 4xx=... 5xx=... (stress adds breaking_rps=...;
a stopped run adds state=aborted).
Exit code 0 when the run completed, whatever the SLA says (npm run kpi-report judges it); 1 when it failed,
was stopped by "npm run loadtest -- stop", or --publish could not publish (the result file is written); 2 when it cannot run (bad usage or configuration, a stack or
output missing, no AWS credentials, an environment variable a header needs unset); 130 after Ctrl-C (SIGINT) and 143 after
SIGTERM, with the partial result written.`;

export const FLAGS = {
  env: FLAG.env,
  profile: FLAG.profile,
  target: FLAG.target,
  local: { type: 'boolean' },
  rate: { type: 'string' },
  duration: { type: 'string' },
  run: FLAG.run,
  publish: { type: 'boolean' },
  function: { type: 'string' },
  'stop-parameter': { type: 'string' },
  out: FLAG.out,
  json: FLAG.json,
  progress: FLAG.progress,
  config: FLAG.config,
  help: FLAG.help,
} as const;

/** `npm run loadtest -- stop`. */
export const STOP_FLAGS = {
  env: FLAG.env,
  run: FLAG.run,
  'stop-parameter': { type: 'string' },
  config: FLAG.config,
  help: FLAG.help,
} as const;

/** Spellings of the run's flags that mean the same: `--results` is where every other CLI reads result files. */
export const ALIASES = { results: 'out' } as const;

/** `npm run loadtest`; returns the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const stop = argv[0] === 'stop';
  return cliEntry('loadtest', USAGE, stop ? argv.slice(1) : argv, deps, stop ? STOP_FLAGS : FLAGS,
    () => (require('./command') as typeof import('./command')).main(argv, deps), stop ? {} : ALIASES);
}

if (require.main === module) runCli(main, 'loadtest');
