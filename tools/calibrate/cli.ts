import { cliEntry, FLAG, runCli, type CliIo } from '../common/args';

// The entry of `npm run calibrate`: light on purpose (see cliEntry); the calibration is in ./command.ts.

export const USAGE = `Usage: npm run calibrate -- --result <loadtest-results/<run>.json> --tasks <N> [options]

Measures the API's capacity per task at the SLA from a load-test run, and prints the configuration it
implies (api.capacityPerTaskRps, the request-count target, the maxTasks the environment's load-test peak
needs) as a cdk.json snippet for environments.<env>.

  --result <file>    the run's result file, written by npm run loadtest (required)
  --tasks <N>        API tasks that served the run (one for npm run workload:dev); required unless
                     --report shows a steady task count. Pin api.minTasks = api.maxTasks while calibrating
  --report <file>    report.json of npm run kpi-report for the run: the API CPU at which the SLA held, and
                     the running tasks
  -e, --env <name>   environment in cdk.json whose SLAs judge the run and whose config the snippet is for
                     (default: the environment the run was a test of)
  --config <file>    cdk.json to read (default: the project's cdk.json)
  --json             print the calibration as JSON instead of the table and snippet
  -h, --help         this text

Capacity at the SLA: the highest achieved rate of the run's windows (a stress run's steps, else the whole
run) before the first window that broke an SLA (latency p50/p90/p99, error rate, achieved share of the
requested rate), divided by the tasks. A run that never broke the SLA gives a lower bound.

Exit status: 0 a capacity (or a lower bound of it) was measured; 1 the run gives no capacity (the SLA broke
in its first window); 2 no answer (bad arguments, an unreadable or invalid file, bad configuration).`;

export const FLAGS = {
  result: { type: 'string' },
  tasks: { type: 'string' },
  report: { type: 'string' },
  env: FLAG.env,
  config: FLAG.config,
  json: FLAG.json,
  help: FLAG.help,
} as const;

export type CliDeps = CliIo;

/** `npm run calibrate`; returns the exit code. */
export function main(argv: readonly string[], deps: CliDeps = {}): number {
  return cliEntry('calibrate', USAGE, argv, deps, FLAGS, () => (require('./command') as typeof import('./command')).main(argv, deps));
}

if (require.main === module) runCli(main, 'calibrate');
