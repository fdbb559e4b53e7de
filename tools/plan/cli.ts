import { cliEntry, FLAG, runCli, type CliIo } from '../common/args';

// The entry of `npm run plan`: light on purpose (see cliEntry); the simulation is in ./command.ts.

export const USAGE = `Usage: npm run plan -- --env <env> [--profile <name> | --rate <N> --duration <S>] [options]

Predicts, from the configuration alone, what an environment does under a load profile: the API, the worker,
the readers and the database connections, tick by tick through the scaling policies the blueprint deploys
(target tracking as Application Auto Scaling runs it, cooldowns, scheduled ranges, min/max, task start and
health checks, the worker's scale from zero, reader autoscaling); the predicted latency and queue age
against the SLA; the monthly cost.

  -e, --env <name>           environment in cdk.json (required, or taken from --result)
  --profile <name>           any key of the environment's loadTest.profiles (every environment has load,
                             stress, soak, spike; default: load)
  --rate <N> --duration <S>  a constant N req/s for S seconds instead of a profile
  --tail <S>                 simulate S seconds more at the profile's last rate, to see scale-in (not judged)
  --start <ISO time>         when the run starts, to apply api.scheduledScaling (default: none, the range
                             is api.minTasks-api.maxTasks)
  --reader-capacity-rps <N>  API req/s one reader carries at 100 % CPU: simulates reader CPU and autoscaling
  --compare                  also print the Fargate task sizes and database shapes side by side at the peak
  --result <file>            a load-test result (loadtest-results/<run>.json): plan vs actual for that run
                             (its profile, unless --profile or --rate is given)
  --report <file>            with --result: the run's KPI report.json, for the observed running tasks
  --run <id>                 (or --run-id) a deployed run: its running tasks, request rate and p99 from CloudWatch, next to
                             the plan (uses loadtest-results/<id>.json as --result when it is there)
  --sources <file>           with --run: KpiSources JSON instead of the Monitoring stack's output
  --results <dir>            with --run: where the run's result file is (default loadtest-results)
  -o, --out <dir>            where plan.svg and plan.json go (default plan-reports/<env>-<profile>)
  --config <file>            cdk.json to read (default: the project's cdk.json)
  --json                     print the plan as JSON (tools/plan/report.ts planReportSchema)
  -h, --help                 this text

Exit status: 0 the SLA holds for the whole profile; 1 the SLA is predicted to break (the output names the
tier and the configuration key that moves it); 2 no answer (bad arguments or configuration).`;

export const FLAGS = {
  env: FLAG.env,
  profile: FLAG.profile,
  rate: { type: 'string' },
  duration: { type: 'string' },
  tail: { type: 'string' },
  start: { type: 'string' },
  'reader-capacity-rps': { type: 'string' },
  compare: { type: 'boolean' },
  result: { type: 'string' },
  report: { type: 'string' },
  run: FLAG.run,
  sources: { type: 'string' },
  results: FLAG.results,
  out: FLAG.out,
  config: FLAG.config,
  json: FLAG.json,
  help: FLAG.help,
} as const;

export type CliDeps = CliIo;

/** `npm run plan`; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  return cliEntry('plan', USAGE, argv, deps, FLAGS, () => (require('./command') as typeof import('./command')).main(argv, deps));
}

if (require.main === module) runCli(main, 'plan');
