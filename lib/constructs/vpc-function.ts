import { type CfnElement, type Duration, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as cr from 'aws-cdk-lib/custom-resources';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { join } from 'path';

/** What a construct of Lambda functions in the VPC, logging to encrypted groups, needs (the Aurora custom resources). */
export interface VpcFunctionsProps {
  readonly vpc: ec2.IVpc;
  /** Encrypts the functions' log groups (the key must let CloudWatch Logs use it). */
  readonly encryptionKey: kms.IKey;
  readonly logRetentionDays: number;
  /** The config key that set `logRetentionDays`, named when a Control Tower exception explains it. @default - none named */
  readonly logRetentionKey?: string;
}

/**
 * The execution role of a Lambda function that runs in a VPC, with inline permissions only: write to its
 * own log group, manage the function's network interfaces (what the AWS-managed
 * AWSLambdaVPCAccessExecutionRole grants, without a managed policy), and `statements`.
 */
export function vpcFunctionRole(
  scope: Construct, id: string, logGroup: logs.ILogGroup, statements: iam.PolicyStatement[] = [],
  /** Why any of `statements` also needs `Resource: *`, added to the one acknowledgement. @default - none does */
  wildcardReason?: string,
): iam.Role {
  const role = new iam.Role(scope, id, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    inlinePolicies: {
      Run: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            actions: [
              'ec2:CreateNetworkInterface',
              'ec2:DescribeNetworkInterfaces',
              'ec2:DescribeSubnets',
              'ec2:DeleteNetworkInterface',
              'ec2:AssignPrivateIpAddresses',
              'ec2:UnassignPrivateIpAddresses',
            ],
            resources: ['*'],
          }),
          ...statements,
        ],
      }),
    },
  });
  logGroup.grantWrite(role);
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `VPC network interfaces of a function in a VPC: Lambda manages them with the execution role, and the ec2:Describe* actions have no resource-level permissions (the same statement as AWSLambdaVPCAccessExecutionRole, inline instead of managed).${wildcardReason ? ` ${wildcardReason}` : ''}`,
  });
  return role;
}

/** Where the custom resources' functions run: the application subnets. */
export const VPC_FUNCTION_SUBNETS: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };

export interface VpcNodejsFunctionProps {
  /** The folder under lambda/ whose index.ts holds the handler. */
  readonly lambdaDir: string;
  /** The exported function of index.ts. */
  readonly handler: string;
  readonly description: string;
  readonly timeout: Duration;
  readonly role: iam.IRole;
  readonly vpc: ec2.IVpc;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly logGroup: logs.ILogGroup;
  /** Variables besides NODE_OPTIONS (source maps). @default - none */
  readonly environment?: Record<string, string>;
  /** Modules left out of the bundle (the runtime's AWS SDK v3, at least). */
  readonly externalModules: string[];
}

/** A custom resource's Node.js handler: ARM, 256 MB, in the application subnets, bundled locally with source maps. */
export function vpcNodejsFunction(scope: Construct, id: string, props: VpcNodejsFunctionProps): NodejsFunction {
  return new NodejsFunction(scope, id, {
    entry: join(__dirname, '..', '..', 'lambda', props.lambdaDir, 'index.ts'),
    handler: props.handler,
    description: props.description,
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: props.timeout,
    role: props.role,
    vpc: props.vpc,
    vpcSubnets: VPC_FUNCTION_SUBNETS,
    securityGroups: [props.securityGroup],
    logGroup: props.logGroup,
    environment: { NODE_OPTIONS: '--enable-source-maps', ...props.environment },
    bundling: {
      minify: true,
      sourceMap: true,
      // esbuild from devDependencies, never a Docker image: synth works offline and without a daemon.
      forceDockerBundling: false,
      externalModules: props.externalModules,
    },
  });
}

/**
 * The CDK Provider framework for one onEvent handler, its function in the same subnets, security group and log
 * group (Control Tower's "Lambda inside a VPC" check covers the framework's function too), with a role of its own.
 */
export function vpcProvider(scope: Construct, onEventHandler: NodejsFunction, props: Pick<VpcNodejsFunctionProps, 'vpc' | 'securityGroup' | 'logGroup'>): cr.Provider {
  const frameworkRole = vpcFunctionRole(scope, 'FrameworkRole', props.logGroup);
  const provider = new cr.Provider(scope, 'Provider', {
    onEventHandler,
    vpc: props.vpc,
    vpcSubnets: VPC_FUNCTION_SUBNETS,
    securityGroups: [props.securityGroup],
    logGroup: props.logGroup,
    frameworkOnEventRole: frameworkRole,
  });
  Validations.of(frameworkRole).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(scope).getLogicalId(onEventHandler.node.defaultChild as CfnElement)}.Arn>:*]`,
    reason: 'The CDK Provider framework grants lambda:InvokeFunction on the function and on `<arn>:*` (versions, aliases); it only invokes the unqualified function, and it has no versions.',
  });
  return provider;
}
