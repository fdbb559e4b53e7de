import { ACMClient } from '@aws-sdk/client-acm';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { ServiceQuotasClient } from '@aws-sdk/client-service-quotas';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { STSClient } from '@aws-sdk/client-sts';
import type { BlueprintConfig } from '../../lib/config/schema';
import { parseFlags, runCli } from '../common/args';
import { loadEnvironmentConfig, PROJECT_CDK_JSON } from '../common/cdk-json';
import { cannotRunExit, EXIT, noVerdict, UsageError } from '../common/errors';
import { readAssembly, type AppFacts } from './assembly';
import { ACTIONS, CHECKS, runChecks, type AwsClients } from './checks';
import { callerIdentity, CredentialsError, type Identity } from './credentials';
import { runProcess, type ProcessRunner } from './process';
import { renderJson, renderText, verdictOf, VERDICTS, type CheckResult, type PreflightReport } from './report';
import { synthesize } from './synth';

const REGION_FROM = 'cdk.json `region`';

export const USAGE = `Usage: npm run preflight -- --env <env> [options]

Read-only AWS calls, before \`cdk deploy\`, that report what would fail in this account and region:
one line per check, each with its fix.

  --env <name>                  environment in cdk.json (required)
  --json                        print the report as JSON (schema: tools/preflight/report.ts) instead of lines
  --assembly <dir>              read this cloud assembly (the cdk.out of \`npx cdk synth -c env=<env>\`)
                                instead of synthesizing the app (about 15 s)
  --toolkit-stack-name <name>   the CDK bootstrap stack (default CDKToolkit)
  --config <file>               cdk.json to read (default: the project's cdk.json)
  -h, --help                    this text

Checks: ${CHECKS.map((c) => c.id).join(', ')}.
  bootstrap           the bootstrap stack and /cdk-bootstrap/<qualifier>/version ≥ what the synthesizer requires
  aurora              engine version and instance class offered in the configured zones (Serverless v2 range)
  elasticache         engine version offered (major version for serverless); node type sold in the region
  lambda-concurrency  concurrency the templates reserve vs. the account's unreserved (≥ 100 must stay)
  certificate         alb.certificateArn exists in the account and is ISSUED (not the shipped example, not expired)
  alarm-emails        e-mail subscriptions of the deployed alarm topic still pending confirmation
  docker              when an image is built locally: Docker engine, buildx, the image's platform (or no
                      RUN step on it); CDK_DOCKER names another binary as for cdk deploy
  fargate-quota       Fargate On-Demand and Spot vCPU quotas vs. every service at maxTasks during a deploy
The configuration has no ALB LCU reservation, so no quota is checked for one.

Region: the configuration's \`region\` (the stacks are synthesized for it; AWS_REGION does not move them).
Credentials: the AWS SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, SSO, roles).
IAM actions: ${ACTIONS.join(', ')} (the ReadOnlyAccess policy has them).

Each line: <status> <check> <what was found> [Fix: <what to do>], status ok, warn, blocked, skipped, or
error (the check could not run). The last line:
verdict=<ready|blocked|no-verdict> ok=N warn=N blocked=N skipped=N error=N env=<env> region=<region> account=<id>
Exit status: 0 ready (nothing blocked), 1 blocked (cdk deploy or the first day after it would fail),
2 no verdict (no credentials, bad arguments or configuration, a check that could not run).`;

export interface CliDeps {
  /** @default process.stdout */
  readonly stdout?: (s: string) => void;
  /** @default process.stderr */
  readonly stderr?: (s: string) => void;
  /** @default - AWS SDK clients in the region, default credential chain */
  readonly clients?: (region: string) => AwsClients;
  /** @default - STSClient in the region */
  readonly sts?: (region: string) => Pick<STSClient, 'send'>;
  /** Runs docker and the app's synth. @default runProcess */
  readonly run?: ProcessRunner;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default Date.now */
  readonly now?: () => number;
}

export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s) => void process.stderr.write(s));
  const env = deps.env ?? process.env;
  try {
    const args = parse(argv);
    if (args.help) {
      out(`${USAGE}\n`);
      return EXIT.ok;
    }
    if (!args.env) throw new UsageError('--env is required (an environment of cdk.json, e.g. --env dev).', true);
    const envName = args.env;
    const cdkJson = args.config ?? PROJECT_CDK_JSON;
    const config = loadEnvironmentConfig(envName, cdkJson);
    const region = config.region;
    const generatedAt = new Date((deps.now ?? Date.now)()).toISOString();
    const report = (account: string | null, checks: CheckResult[], reason?: string): PreflightReport => {
      const verdict = reason ? 'no-verdict' : verdictOf(checks);
      return { tool: 'preflight', envName, region, regionFrom: REGION_FROM, account, verdict, exitCode: VERDICTS[verdict], ...(reason && { reason }), checks, generatedAt };
    };
    if (env.AWS_REGION && env.AWS_REGION !== region) err(`preflight: AWS_REGION=${env.AWS_REGION} does not apply: ${envName} deploys to ${region} (${REGION_FROM}).\n`);

    let identity: Identity;
    try {
      identity = await callerIdentity((deps.sts ?? ((r) => new STSClient({ region: r })))(region), region);
    } catch (e) {
      if (!(e instanceof CredentialsError)) throw e;
      err(`preflight: ${e.message}\n`);
      if (args.json) out(renderJson(report(null, [], e.message)));
      return EXIT.cannotRun;
    }
    err(`preflight ${envName}: account ${identity.account} (${identity.arn}), region ${region} from ${REGION_FROM}\n`);

    let facts: AppFacts;
    if (args.assembly) {
      facts = readAssembly(args.assembly, envName, region);
    } else {
      err(`preflight ${envName}: synthesizing with cdk.json's app (--assembly <cdk.out> reuses a synth)\n`);
      facts = await synthesize(envName, region, cdkJson, deps.run ?? runProcess);
    }
    err(`preflight ${envName}: ${facts.stacks.length} stacks (${facts.stacks.join(', ')}); running ${CHECKS.length + 1} checks\n`);

    const checks = [
      accountCheck(identity, config, region),
      ...(await runChecks({
        envName, config, region, account: identity.account, facts, env,
        clients: (deps.clients ?? defaultClients)(region),
        run: deps.run ?? runProcess,
        toolkitStackName: args['toolkit-stack-name'] ?? 'CDKToolkit',
      })),
    ];
    const r = report(identity.account, checks);
    out(args.json ? renderJson(r) : renderText(r));
    return r.exitCode;
  } catch (e) {
    return cannotRunExit('preflight', USAGE, e, err, noVerdict);
  }
}

/** `cdk deploy` refuses stacks synthesized for another account than the credentials'. */
function accountCheck(identity: Identity, config: BlueprintConfig, region: string): CheckResult {
  const base = { id: 'account', title: 'AWS account', details: { account: identity.account, arn: identity.arn, configuredAccount: config.account || null, region, regionFrom: REGION_FROM } };
  if (config.account && config.account !== identity.account) {
    return { ...base, status: 'blocked', found: `the stacks are synthesized for account ${config.account} (cdk.json \`account\`), the credentials are of ${identity.account} (${identity.arn}).`, fix: `use credentials of ${config.account} (e.g. AWS_PROFILE), or change \`account\`.` };
  }
  return { ...base, status: 'ok', found: `${identity.account} (${identity.arn}), region ${region} from ${REGION_FROM}${config.account ? '' : '; the templates are account-agnostic'}.` };
}

function defaultClients(region: string): AwsClients {
  return {
    cloudFormation: new CloudFormationClient({ region }),
    ssm: new SSMClient({ region }),
    rds: new RDSClient({ region }),
    elastiCache: new ElastiCacheClient({ region }),
    lambda: new LambdaClient({ region }),
    sns: new SNSClient({ region }),
    serviceQuotas: new ServiceQuotasClient({ region }),
    acm: new ACMClient({ region }),
  };
}

function parse(argv: readonly string[]) {
  return parseFlags(argv, {
    env: { type: 'string' },
    json: { type: 'boolean' },
    assembly: { type: 'string' },
    'toolkit-stack-name': { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
}

if (require.main === module) runCli(main);
