import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { join } from 'path';
import type { LoadTestConfig, StatefulConfig } from '../config/schema';
import { EMPTY_STOP_BOARD, LOADTEST_NAMESPACE, loadGeneratorEnvironment } from '../contracts/loadtest';
import { encryptedLogGroup } from './encryption';
import { vpcFunctionRole } from './vpc-function';

export interface LoadGeneratorProps {
  readonly vpc: ec2.IVpc;
  /** Host name of the stack's API (the load balancer's DNS name): the only host the function will load. */
  readonly targetHost: string;
  readonly loadTest: LoadTestConfig;
  /** Encrypts the function's log group (the key must let CloudWatch Logs use it). */
  readonly encryptionKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Time a slice leaves the function after its last request: publishing the last minute of metrics. */
export const SLICE_MARGIN_SECONDS = 60;

/**
 * The load-generator Lambda (lambda/load-generator): one invocation runs one worker's slice of a load test
 * (`npm run loadtest` fans out) and publishes client-side metrics to CloudWatch under the project's
 * namespace. It is never in the request path: it runs only when a test invokes it.
 *
 * - No reserved concurrency unless `loadTest.reserveConcurrency`: Lambda keeps at least 100 of an account's
 *   concurrency unreserved and rejects a reservation that would leave less, so on an account still at the
 *   new-account limit (10) any reservation fails the deploy
 *   (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html). Without one, the fan-out
 *   is bounded by `npm run loadtest`: its plan refuses more than `loadTest.maxWorkers` workers
 *   (tools/loadtest/plan.ts), it invokes each worker of a slice once, synchronously and without retries,
 *   and waits for the slice before the next; beyond that, the account's unreserved concurrency is the
 *   ceiling (Lambda throttles the excess, and the CLI fails the slice). With the reservation, Lambda itself
 *   caps the function at `maxWorkers` and keeps that much for it, whatever invokes it.
 * - Only its own target, within the configured load: the handler (lambda/load-generator/worker.ts) refuses an
 *   event whose target is not `targetHost`, that sets a host header, or that asks for more than
 *   loadTest.maxRatePerWorker, maxConcurrencyPerWorker, sliceSeconds, requestTimeoutMs or other methods than
 *   loadTest.mix's; the stack sets them as the function's environment, so they hold whatever invokes it.
 * - In the application subnets (AWS Control Tower CT.LAMBDA.PR.3): it reaches the public load balancer
 *   through the NAT gateways, as a client on the internet would, on ports 80 and 443 only. The security group
 *   cannot narrow that to the load balancer: the internet-facing load balancer's DNS name resolves to public
 *   addresses that change, and a rule naming its security group matches only the private addresses of that
 *   group's members ("the private IP addresses of the resources associated with the referenced security
 *   group", https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html#security-group-referencing).
 *   443 also carries cloudwatch:PutMetricData to the public CloudWatch endpoint: the Network stack has no
 *   CloudWatch (monitoring) interface endpoint. The host check in the handler is therefore the fence.
 * - Only `invokerRole` is granted lambda:InvokeFunction here. The function's resource-based policy can only
 *   grant (AddPermission has no Effect, https://docs.aws.amazon.com/lambda/latest/api/API_AddPermission.html),
 *   so a principal of this account whose own IAM policy allows lambda:InvokeFunction on it can still invoke
 *   it: invocation is governed by the account's IAM policies, and this role is the one meant for it.
 * - cloudwatch:PutMetricData only into the load-test namespace (a condition key: the action has no resources).
 * - A stop flag, `stopBoard`: an SSM String parameter listing the runs asked to stop. The workers poll it every
 *   `loadTest.stopPollSeconds` (ssm:GetParameter on this one parameter) and end their slice early when their
 *   run is listed; `npm run loadtest -- stop --run <id>` and the CLI on Ctrl-C write it (the invoker role:
 *   ssm:GetParameter and ssm:PutParameter on this one parameter). Without it a Lambda slice runs to its end,
 *   up to 14 minutes, whatever happens to the CLI that invoked it: the Lambda API has no call that ends a
 *   running invocation, and a synchronous invocation's client may go away while it waits
 *   (https://docs.aws.amazon.com/lambda/latest/dg/invocation-sync.html).
 *   A standard parameter and GetParameter's default throughput (40/s per account,
 *   https://docs.aws.amazon.com/general/latest/gr/ssm.html#limits_ssm) bound the poll rate: the loader keeps
 *   maxWorkers ÷ stopPollSeconds ≤ 20/s (lib/config/rules/load-test.ts).
 */
export class LoadGenerator extends Construct {
  readonly function: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;
  /** The role an operator assumes to run `npm run loadtest` through this function; it may invoke it and nothing else. */
  readonly invokerRole: iam.Role;
  /** The runs asked to stop (lib/contracts/loadtest.ts StopBoard); the workers poll it. */
  readonly stopBoard: ssm.StringParameter;

  constructor(scope: Construct, id: string, props: LoadGeneratorProps) {
    super(scope, id);
    const { loadTest } = props;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Load generator: HTTP and HTTPS out to its stack API (host checked by the handler) and the CloudWatch API',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the load balancer and the CloudWatch API (through NAT; public addresses, so no group reference)');
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(80), 'HTTP to a load balancer without a certificate (through NAT)');

    const logGroup = encryptedLogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
      retentionKey: 'compute.logRetentionDays',
      removalPolicy: props.removalPolicy,
    });
    const role = vpcFunctionRole(this, 'Role', logGroup, [
      new iam.PolicyStatement({
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': LOADTEST_NAMESPACE } },
      }),
    ], `cloudwatch:PutMetricData has no resource-level permissions either; the cloudwatch:namespace condition keeps it to ${LOADTEST_NAMESPACE}.`);

    this.stopBoard = new ssm.StringParameter(this, 'StopBoard', {
      description: 'Load-test runs asked to stop (npm run loadtest -- stop); the load generator polls it',
      stringValue: JSON.stringify(EMPTY_STOP_BOARD),
      tier: ssm.ParameterTier.STANDARD,
    });
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [this.stopBoard.parameterArn] }));

    this.function = new NodejsFunction(this, 'Function', {
      entry: join(__dirname, '..', '..', 'lambda', 'load-generator', 'index.ts'),
      handler: 'handler',
      description: 'Runs one slice of a load test against the API and publishes client-side metrics (npm run loadtest)',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: loadTest.lambdaMemoryMiB,
      timeout: Duration.seconds(loadTest.sliceSeconds + SLICE_MARGIN_SECONDS),
      reservedConcurrentExecutions: loadTest.reserveConcurrency ? loadTest.maxWorkers : undefined,
      role,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      logGroup,
      // A retried slice would run the load twice: the CLI invokes synchronously and retries nothing either.
      retryAttempts: 0,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        ...loadGeneratorEnvironment(props.targetHost, loadTest, { parameterName: this.stopBoard.parameterName, pollSeconds: loadTest.stopPollSeconds }),
      },
      bundling: {
        minify: true,
        sourceMap: true,
        // esbuild from devDependencies, never a Docker image: synth works offline and without a daemon.
        forceDockerBundling: false,
        // ES modules first: tsconfig's `paths` send bare imports to node_modules/<pkg>, which esbuild then
        // resolves by main field; zod's CommonJS build would bring every locale along (700 kB instead of 250).
        mainFields: ['module', 'main'],
        // @aws-sdk/* stays external (NodejsFunction's default on Node.js 18+): the runtime's SDK v3, so
        // synth does not bundle megabytes of SDK for every environment.
      },
    });

    // Trusts this account: whoever the account's own IAM policies allow sts:AssumeRole on it (an AWS role's
    // trust in the account root delegates the decision to those policies,
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts).
    this.invokerRole = new iam.Role(this, 'InvokerRole', {
      assumedBy: new iam.AccountRootPrincipal(),
      description: 'Assumed by the operator to run npm run loadtest: may invoke the load generator and write its stop flag, nothing else',
      maxSessionDuration: Duration.hours(12),
    });
    // The unqualified function only (grantInvoke would add `<arn>:*`, every version and alias): the CLI
    // invokes it by name, and it publishes no versions.
    this.invokerRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.function.functionArn] }));
    // Read-modify-write of the stop board (npm run loadtest -- stop): this parameter only.
    this.invokerRole.addToPolicy(new iam.PolicyStatement({ actions: ['ssm:GetParameter', 'ssm:PutParameter'], resources: [this.stopBoard.parameterArn] }));
  }
}
