import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { PIClient } from '@aws-sdk/client-pi';
import type { RDSClient } from '@aws-sdk/client-rds';
import { cliEntry, FLAG, runCli } from '../common/args';
import { DEFAULT_NOISE_PERCENT } from './compare';

// The entry of `npm run kpi-report`: light on purpose (see cliEntry); the report is in ./command.ts.

export const USAGE = `Usage: npm run kpi-report -- --env <env> (--run <id> | --since <30m|ISO time>) [options]

Judges a load test (or any window) against the SLAs of the environment (sla.* in cdk.json), names the first
resource to saturate and the config keys that move it, lists the writer's top waits (Performance Insights),
and compares with a baseline run.

  -e, --env <name>      environment in cdk.json (required)
  --run <id>            load-test run (repeatable; --run-id is the same flag); its window comes from loadtest-results/<id>.json,
                        else from the run's first and last client datapoints in CloudWatch
  --since <t>           window start: a duration before now (90s, 30m, 2h, 1d) or an ISO time;
                        without --run, the client metrics of every run of the environment with data
                        in the window are included (found with ListMetrics)
  --until <t>           window end (default now); same forms as --since
  --period <s>          timeline period, a multiple of 60 (default 60)
  --sources <file>      KpiSources JSON instead of the Monitoring stack's KpiSources output
  -o, --out <dir>       where report.md, report.json and timeline.svg go
                        (default kpi-reports/<run id>, or kpi-reports/<env>-<start time>)
  --allow-no-data       an SLA KPI without data is left out of the verdict (default: the report is
                        inconclusive, exit 3)
  --require-all         an SLA KPI without data fails the report (exit 1)
  --profile <name>      analyse as this profile (stress: knee and breaking rps; spike: recovery; soak:
                        drift); default: the profile the run's result file names
  --baseline <run|file> compare with another run's result file (a run id in --results, or a path):
                        per-KPI deltas; a regression beyond --noise exits 1
  --noise <percent>     change below which a KPI is unchanged (default ${DEFAULT_NOISE_PERCENT})
  --compare-only        with --run and --baseline: compare the two result files only (no AWS calls)
  --json                print report.json instead of the table
  --step-summary <file> append a Markdown summary (e.g. "$GITHUB_STEP_SUMMARY")
  --config <file>       cdk.json to read (default: the project's cdk.json)
  --results <dir>       where the load-test CLI writes run results (default loadtest-results)
  -h, --help            this text

Exit status: 0 every SLA met (and no regression), 1 an SLA breached or a regression beyond the noise
(or, with --require-all, an SLA without data), 2 no verdict (bad arguments or configuration, missing stack
or sources, AWS errors), 3 inconclusive (nothing breached, but an SLA had no data).`;

export const FLAGS = {
  env: FLAG.env,
  run: { ...FLAG.run, multiple: true },
  since: { type: 'string' },
  until: { type: 'string' },
  period: { type: 'string' },
  sources: { type: 'string' },
  out: FLAG.out,
  'require-all': { type: 'boolean' },
  'allow-no-data': { type: 'boolean' },
  profile: FLAG.profile,
  baseline: { type: 'string' },
  noise: { type: 'string' },
  'compare-only': { type: 'boolean' },
  json: FLAG.json,
  'step-summary': { type: 'string' },
  config: FLAG.config,
  results: FLAG.results,
  help: FLAG.help,
} as const;

export interface CliDeps {
  readonly cloudWatch?: CloudWatchClient;
  readonly cloudFormation?: CloudFormationClient;
  /** The writer's DbiResourceId for Performance Insights (db-waits.ts). */
  readonly rds?: Pick<RDSClient, 'send'>;
  readonly pi?: Pick<PIClient, 'send'>;
  readonly stdout?: (s: string) => void;
  readonly stderr?: (s: string) => void;
  readonly now?: () => number;
}

/** `npm run kpi-report`; resolves to the exit code (0 met, 1 breached or regressed, 2 no verdict, 3 inconclusive). */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  return cliEntry('kpi-report', USAGE, argv, deps, FLAGS, () => (require('./command') as typeof import('./command')).main(argv, deps));
}

if (require.main === module) runCli(main, 'kpi-report');
