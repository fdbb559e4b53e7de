import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';

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
