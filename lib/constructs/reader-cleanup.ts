import { Aws, type CfnElement, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import { AUTOSCALED_PREFIX, AUTOSCALING_TAG, autoscalingTagValue } from '../contracts/aurora-autoscaling';
import type { StatefulConfig } from '../config/schema';
import { encryptedLogGroup } from './encryption';
import { guardException } from './guard';
import { VPC_FUNCTION_SUBNETS, vpcFunctionRole, vpcNodejsFunction, type VpcFunctionsProps } from './vpc-function';

export interface AuroraReaderCleanupProps extends VpcFunctionsProps {
  /** The cluster whose autoscaled readers are removed before CloudFormation deletes it. */
  readonly cluster: rds.IDatabaseCluster;
  /**
   * `stateful.removalPolicy`: with `retain` the cluster outlives the stack, and so do its autoscaled readers
   * (CloudFormation never calls the cleanup on stack deletion, only when the deploy that created them rolls
   * back); otherwise they are deleted with the stack.
   */
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Polls while readers are deleting (an Aurora replica takes 5 to 15 minutes to go). */
const QUERY_INTERVAL = Duration.seconds(30);
/**
 * Gives up before CloudFormation does: a custom resource's own timeout is one hour from the request, so the
 * provider's failure (which names the readers still there) reaches CloudFormation first.
 */
const TOTAL_TIMEOUT = Duration.minutes(50);

/**
 * Readers that Application Auto Scaling adds to an Aurora cluster are created by the service, not by
 * CloudFormation, and RDS refuses to delete a cluster that still has instances: without help, deleting the
 * stack fails at the cluster. This custom resource deletes those readers when it is itself deleted, and
 * waits until they are gone.
 *
 * Order on stack deletion, set up by the caller (the scalable target depends on this resource, this resource
 * on every instance of the template): the scalable target goes first (no new readers), then this resource
 * (autoscaled readers deleted), then the instances CloudFormation owns, then the cluster.
 *
 * The handlers (lambda/aurora-reader-cleanup) run under the CDK Provider framework: `onEvent` starts the
 * deletion and `isComplete` is polled every 30 s by the framework's Step Functions waiter, so the wait is not
 * bound to one Lambda invocation's 15 minutes. All five functions (two handlers, three framework functions)
 * run in the application subnets with a security group that allows only HTTPS out, log to encrypted groups
 * with a retention, and use roles of their own with inline policies (no AWS-managed policy).
 */
export class AuroraReaderCleanup extends Construct {
  readonly resource: CustomResource;
  readonly provider: cr.Provider;
  readonly securityGroup: ec2.SecurityGroup;
  readonly onEventHandler: NodejsFunction;
  readonly isCompleteHandler: NodejsFunction;

  constructor(scope: Construct, id: string, props: AuroraReaderCleanupProps) {
    super(scope, id);
    const { vpc, cluster, encryptionKey } = props;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Aurora reader cleanup functions: HTTPS out to AWS APIs only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the RDS, Lambda and Step Functions APIs (through NAT)');

    const logGroup = (logId: string) => encryptedLogGroup(this, logId, {
      encryptionKey,
      retentionDays: props.logRetentionDays,
      retentionKey: props.logRetentionKey,
      removalPolicy: props.removalPolicy,
      // Like the cluster's: nothing to keep from a deploy that rolls back its creation.
      deleteOnCreateRollback: true,
    });
    const handlerLogs = logGroup('HandlerLogs');
    const providerLogs = logGroup('ProviderLogs');

    // The instances Application Auto Scaling names; their ARNs are only known by this prefix, which every
    // cluster's autoscaled readers share (another stack's too, in the same account and region). Deleting is
    // limited further to this cluster's: Application Auto Scaling tags each reader it adds with
    // `application-autoscaling:resourceId` = `cluster:<cluster id>` ("DB instance IDs and tagging":
    // https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Integrating.AutoScaling.html), and
    // rds:DeleteDBInstance supports aws:ResourceTag/${TagKey} on its `db` resource (Service Authorization
    // Reference, Amazon RDS: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html;
    // AWS's own example scopes DeleteDBInstance by an instance tag:
    // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_examples_rds_tag-owner.html).
    // Describe stays on the prefix: it reads, and the handler needs it to see the tag.
    const autoscaledInstances = `arn:${Aws.PARTITION}:rds:${Aws.REGION}:${Aws.ACCOUNT_ID}:db:${AUTOSCALED_PREFIX}*`;
    const handlerRole = vpcFunctionRole(this, 'HandlerRole', handlerLogs, [
      new iam.PolicyStatement({ actions: ['rds:DescribeDBClusters'], resources: [cluster.clusterArn] }),
      new iam.PolicyStatement({ actions: ['rds:DescribeDBInstances'], resources: [autoscaledInstances] }),
      new iam.PolicyStatement({
        actions: ['rds:DeleteDBInstance'],
        resources: [autoscaledInstances],
        conditions: { StringEquals: { [`aws:ResourceTag/${AUTOSCALING_TAG}`]: autoscalingTagValue(cluster.clusterIdentifier) } },
      }),
    ]);
    Validations.of(handlerRole).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:db:application-autoscaling-*]',
      reason: 'Application Auto Scaling names the readers it adds application-autoscaling-<uuid> at run time; the grant covers only that prefix (and the cluster ARN exactly), and deleting only the readers tagged for this cluster.',
    });

    const handler = (fnId: string, name: 'onEvent' | 'isComplete', timeout: Duration) => vpcNodejsFunction(this, fnId, {
      lambdaDir: 'aurora-reader-cleanup',
      handler: name,
      description: `Deletes the readers Application Auto Scaling added to the Aurora cluster (${name})`,
      timeout,
      role: handlerRole,
      vpc,
      securityGroup: this.securityGroup,
      logGroup: handlerLogs,
      // No reserved concurrency: Lambda refuses any reservation on an account still at the new-account
      // limit (it keeps at least 100 unreserved: https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
      // None is needed either: one custom resource per stack, CloudFormation sends it one request at a time,
      // and the Provider framework runs onEvent once per request and isComplete once per 30 s poll, one
      // after the other, from a single Step Functions execution with a bounded number of attempts.
      // The runtime's AWS SDK v3 (three RDS calls of the 2014-10-31 API, stable for a decade): the bundle
      // stays 3 kB and bundling ~30 ms. Bundling the SDK would cost ~1 s on every synth of every test.
      externalModules: ['@aws-sdk/*'],
    });
    this.onEventHandler = handler('OnEventHandler', 'onEvent', Duration.minutes(2));
    this.isCompleteHandler = handler('IsCompleteHandler', 'isComplete', Duration.minutes(2));

    const frameworkRoles = [vpcFunctionRole(this, 'FrameworkOnEventRole', providerLogs), vpcFunctionRole(this, 'FrameworkCompleteRole', providerLogs)];
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventHandler,
      isCompleteHandler: this.isCompleteHandler,
      queryInterval: QUERY_INTERVAL,
      totalTimeout: TOTAL_TIMEOUT,
      // Control Tower's "Lambda inside a VPC" check covers the framework's functions too.
      vpc,
      vpcSubnets: VPC_FUNCTION_SUBNETS,
      securityGroups: [this.securityGroup],
      logGroup: providerLogs,
      // Two roles: one shared by all three functions would depend on the waiter it starts (a cycle).
      frameworkOnEventRole: frameworkRoles[0],
      frameworkCompleteAndTimeoutRole: frameworkRoles[1],
    });
    this.acknowledgeProviderFramework(frameworkRoles);

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::AuroraReaderCleanup',
      properties: { ClusterIdentifier: cluster.clusterIdentifier },
      // Kept with a kept cluster (whose readers stay); but like the cluster, deleted (and so run) when the
      // deploy that created them rolls back.
      removalPolicy: props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
  }


  /** What the CDK Provider framework creates and exposes no option for. */
  private acknowledgeProviderFramework(frameworkRoles: iam.Role[]): void {
    const waiter = this.provider.node.findChild('waiter-state-machine');
    const noLogging = 'The waiter only calls isComplete every 30 s, and that handler logs every poll to its own encrypted group. Logging the waiter would make the framework grant its role logs:CreateLogDelivery, logs:PutResourcePolicy and more on "*".';
    const noTracing = 'The Provider framework has no tracing option for its waiter, and a 30 s polling loop has no latency worth tracing.';
    Validations.of(waiter).acknowledge({ id: 'AwsSolutions-SF1', reason: noLogging }, { id: 'AwsSolutions-SF2', reason: noTracing });
    guardException(waiter, 'CT.STEPFUNCTIONS.PR.1', noLogging);
    guardException(waiter, 'CT.STEPFUNCTIONS.PR.2', noTracing);
    // The framework's grantInvoke() covers each function and `<arn>:*` (its versions and aliases): the
    // framework roles get it for both handlers, the waiter's role for the framework's isComplete and onTimeout.
    const invoked: Array<[IConstruct, lambda.IFunction[]]> = [
      ...frameworkRoles.map((role): [IConstruct, lambda.IFunction[]] => [role, [this.onEventHandler, this.isCompleteHandler]]),
      [waiter, ['framework-isComplete', 'framework-onTimeout'].map((fnId) => this.provider.node.findChild(fnId) as lambda.IFunction)],
    ];
    for (const [scope, functions] of invoked) {
      Validations.of(scope).acknowledge(...functions.map((fn) => ({
        id: `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(fn)}.Arn>:*]`,
        reason: 'The CDK Provider framework grants lambda:InvokeFunction on the function and on `<arn>:*` (versions, aliases); it only invokes the unqualified function, and none has versions.',
      })));
    }
  }

  private logicalIdOf(fn: lambda.IFunction): string {
    return Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement);
  }
}
