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
import { parseFlags } from '../common/args';
import { loadEnvironmentConfig, PROJECT_CDK_JSON } from '../common/cdk-json';
import { cannotRunExit, EXIT, noVerdict, UsageError } from '../common/errors';
import { FLAGS } from './cli';
import { readAssembly, type AppFacts } from './assembly';
import { CHECKS, runChecks, type AwsClients } from './checks';
import { callerIdentity, CredentialsError, type Identity } from './credentials';
import { runProcess, type ProcessRunner } from './process';
import { renderJson, renderText, verdictOf, VERDICTS, type CheckResult, type PreflightReport } from './report';
import { synthesize } from './synth';

const REGION_FROM = 'cdk.json `region`';


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

/** `npm run preflight` once ./cli.ts has answered --help and unknown flags; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s) => void process.stdout.write(s));
  const err = deps.stderr ?? ((s) => void process.stderr.write(s));
  const env = deps.env ?? process.env;
  try {
    const args = parse(argv);
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
    return cannotRunExit('preflight', e, err, noVerdict);
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
  return parseFlags(argv, FLAGS);
}
