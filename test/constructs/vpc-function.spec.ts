import { Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import { vpcFunctionRole } from '../../lib/constructs/vpc-function';
import { bareApp } from '../helpers/synth';
import { actions, policyStatements } from '../helpers/template';

const ENI_ACTIONS = [
  'ec2:AssignPrivateIpAddresses', 'ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface',
  'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:UnassignPrivateIpAddresses',
];

function roleOf(statements?: iam.PolicyStatement[], wildcardReason?: string) {
  const stack = new Stack(bareApp(), 'Functions');
  const group = new logs.LogGroup(stack, 'FunctionLogs');
  const role = vpcFunctionRole(stack, 'FunctionRole', group, statements, wildcardReason);
  const t = Template.fromStack(stack);
  // As aws-cdk-lib records them for cdk-nag: { 'Annotation::<rule id>': reason }.
  const acknowledged = Object.assign({}, ...role.node.metadata
    .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
    .map((m) => m.data as Record<string, string>)) as Record<string, string>;
  return { t, statements: policyStatements(t, 'FunctionRole'), acknowledged };
}

describe('vpcFunctionRole', () => {
  test('assumable by Lambda only, with no managed policy', () => {
    const { t } = roleOf();
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }] },
    });
    const [role] = Object.values(t.findResources('AWS::IAM::Role'));
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('may manage its network interfaces and write to its own log group, nothing more', () => {
    const { statements } = roleOf();
    expect(actions(statements)).toEqual([...ENI_ACTIONS, 'logs:CreateLogStream', 'logs:PutLogEvents'].sort());
    const wildcard = statements.filter((s) => s.Resource === '*');
    expect(actions(wildcard)).toEqual(ENI_ACTIONS);
    const write = statements.find((s) => [s.Action].flat().includes('logs:PutLogEvents'))!;
    expect(write.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^FunctionLogs/), 'Arn'] });
  });

  test("adds the caller's statements, and the one Resource::* acknowledgement carries the extra reason", () => {
    const extra = new iam.PolicyStatement({ actions: ['rds:DescribeDBClusters'], resources: ['*'] });
    const { statements, acknowledged } = roleOf([extra], 'rds:DescribeDBClusters has no resource-level permissions.');
    expect(actions(statements)).toContain('rds:DescribeDBClusters');
    expect(acknowledged).toEqual({
      'Annotation::AwsSolutions-IAM5[Resource::*]':
        expect.stringMatching(/^VPC network interfaces of a function in a VPC: .*\(the same statement as AWSLambdaVPCAccessExecutionRole, inline instead of managed\)\. rds:DescribeDBClusters has no resource-level permissions\.$/),
    });
    expect(roleOf().acknowledged).toEqual({
      'Annotation::AwsSolutions-IAM5[Resource::*]': expect.stringMatching(/\(the same statement as AWSLambdaVPCAccessExecutionRole, inline instead of managed\)\.$/),
    });
  });
});
