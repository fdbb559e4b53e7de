import { cliEntry, FLAG, runCli } from '../common/args';
import type { CliDeps } from './command';

// The entry of `npm run preflight`: light on purpose (see cliEntry); the checks are in ./command.ts. The
// checks and IAM actions are written out below (loading them loads the AWS SDK); a test keeps them in step.

export type { CliDeps } from './command';

export const USAGE = `Usage: npm run preflight -- --env <env> [options]

Read-only AWS calls, before \`cdk deploy\`, that report what would fail in this account and region:
one line per check, each with its fix.

  -e, --env <name>              environment in cdk.json (required)
  --json                        print the report as JSON (schema: tools/preflight/report.ts) instead of lines
  --assembly <dir>              read this cloud assembly (the cdk.out of \`npx cdk synth -c env=<env>\`)
                                instead of synthesizing the app (about 15 s)
  --toolkit-stack-name <name>   the CDK bootstrap stack (default CDKToolkit)
  --config <file>               cdk.json to read (default: the project's cdk.json)
  -h, --help                    this text

Checks (tools/preflight/checks.ts CHECKS):
  bootstrap           the bootstrap stack and /cdk-bootstrap/<qualifier>/version ≥ what the synthesizer requires
  aurora              engine version and instance class offered in the configured zones (Serverless v2 range)
  elasticache         engine version offered (major version for serverless); node type sold in the region
  lambda-concurrency  concurrency the templates reserve vs. the account's unreserved (≥ 100 must stay)
  certificate         alb.certificateArn exists in the account and is ISSUED (not the shipped example, not expired)
  alarm-emails        e-mail subscriptions of the deployed alarm topic still pending confirmation
  docker              when an image is built locally: Docker engine, buildx, the image's platform (or no
                      RUN step on it); CDK_DOCKER names another binary as for cdk deploy
  fargate-quota       Fargate On-Demand and Spot vCPU quotas vs. every service at maxTasks during a deploy
  lcu-reservation     alb.minimumCapacityUnits vs. the "Reserved ALB LCU per Region" quota (0 by default)
                      and the per-load-balancer one; skipped when the ALB reserves none

Region: the configuration's \`region\` (the stacks are synthesized for it; AWS_REGION does not move them).
Credentials: the AWS SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, roles).
IAM actions: sts:GetCallerIdentity, cloudformation:DescribeStacks, ssm:GetParameter,
rds:DescribeOrderableDBInstanceOptions, rds:DescribeDBEngineVersions, elasticache:DescribeCacheEngineVersions,
elasticache:DescribeReservedCacheNodesOfferings, lambda:GetAccountSettings, lambda:GetFunctionConcurrency,
cloudformation:DescribeStackResource, acm:DescribeCertificate, cloudformation:ListStackResources,
sns:ListSubscriptionsByTopic, servicequotas:GetServiceQuota, servicequotas:GetAWSDefaultServiceQuota
(the ReadOnlyAccess policy has them).

Each line: <status> <check> <what was found> [Fix: <what to do>], status ok, warn, blocked, skipped, or
error (the check could not run). The last line:
verdict=<ready|blocked|no-verdict> ok=N warn=N blocked=N skipped=N error=N env=<env> region=<region> account=<id>
Exit status: 0 ready (nothing blocked), 1 blocked (cdk deploy or the first day after it would fail),
2 no verdict (no credentials, bad arguments or configuration, a check that could not run).`;

export const FLAGS = {
  env: FLAG.env,
  json: FLAG.json,
  assembly: { type: 'string' },
  'toolkit-stack-name': { type: 'string' },
  config: FLAG.config,
  help: FLAG.help,
} as const;

/** `npm run preflight`; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  return cliEntry('preflight', USAGE, argv, deps, FLAGS, () => (require('./command') as typeof import('./command')).main(argv, deps));
}

if (require.main === module) runCli(main, 'preflight');
