import { Aspects, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { GUARD_EXCEPTIONS_METADATA, guardException, LambdaVpcExceptions, type GuardException } from '../../lib/constructs/guard';
import { bareApp } from '../helpers/synth';

/** The guard exceptions of every resource of `type` that has any, by logical id. */
function exceptions(t: Template, type: string): Record<string, GuardException[]> {
  return Object.fromEntries(Object.entries(t.findResources(type))
    .filter(([, r]) => r.Metadata?.[GUARD_EXCEPTIONS_METADATA])
    .map(([id, r]) => [id, r.Metadata[GUARD_EXCEPTIONS_METADATA] as GuardException[]]));
}

describe('guardException', () => {
  test('records the rule and its reason on the CloudFormation resource, once per rule', () => {
    const stack = new Stack(bareApp(), 'Guarded');
    const group = new logs.LogGroup(stack, 'Logs', { retention: logs.RetentionDays.ONE_WEEK });
    guardException(group, 'CT.CLOUDWATCH.PR.2', 'Short retention by this environment\'s configuration.');
    guardException(group, 'CT.CLOUDWATCH.PR.2', 'A second reason for the same rule is not recorded.');
    guardException(group.node.defaultChild as logs.CfnLogGroup, 'CT.CLOUDWATCH.PR.1', 'Recorded on the L1 directly.');
    expect(Object.values(exceptions(Template.fromStack(stack), 'AWS::Logs::LogGroup'))).toEqual([[
      { rule: 'CT.CLOUDWATCH.PR.2', reason: 'Short retention by this environment\'s configuration.' },
      { rule: 'CT.CLOUDWATCH.PR.1', reason: 'Recorded on the L1 directly.' },
    ]]);
  });

  test('refuses an exception without a reason or a rule, and a scope that is not a resource', () => {
    const stack = new Stack(bareApp(), 'Guarded');
    const group = new logs.LogGroup(stack, 'Logs');
    expect(() => guardException(group, 'CT.CLOUDWATCH.PR.2', '')).toThrow(/Guarded\/Logs: a rule id and a reason are both required/);
    expect(() => guardException(group, 'CT.CLOUDWATCH.PR.2', '   ')).toThrow(/a reason/);
    expect(() => guardException(group, '', 'A reason without a rule.')).toThrow(/a rule id/);
    expect(() => guardException(new Construct(stack, 'Plain'), 'CT.S3.PR.1', 'Not a resource.')).toThrow('guardException: Guarded/Plain is not a CloudFormation resource');
    expect(group.node.defaultChild!.node.metadata.filter((m) => m.type === GUARD_EXCEPTIONS_METADATA)).toEqual([]);
  });
});

describe('LambdaVpcExceptions (CT.LAMBDA.PR.3: functions in a VPC)', () => {
  const code = lambda.Code.fromInline('exports.handler = async () => {};');
  const fn = (scope: Construct, id: string, vpc?: ec2.IVpc) => new lambda.Function(scope, id, { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code, vpc });
  const app = bareApp();
  const network = new Stack(app, 'Network');
  const vpc = new ec2.Vpc(network, 'Vpc', { maxAzs: 2, natGateways: 1 });
  const stack = new Stack(app, 'Functions');
  fn(stack, 'ImportedSubnets', vpc);
  fn(stack, 'NoVpc');
  fn(network, 'SameStackSubnets', vpc);
  // aws-cdk-lib's own handler (a CustomResourceProvider), which offers no VPC settings.
  new s3.Bucket(stack, 'Bucket', { removalPolicy: RemovalPolicy.DESTROY, autoDeleteObjects: true });
  Aspects.of(app).add(new LambdaVpcExceptions());
  const functions = Template.fromStack(stack);
  const networkFunctions = Template.fromStack(network);

  test('excepts a function whose subnets are imported from another stack, which the static rule cannot resolve', () => {
    const found = exceptions(functions, 'AWS::Lambda::Function');
    const [id] = Object.keys(functions.findResources('AWS::Lambda::Function', { Properties: { VpcConfig: {} } }));
    expect(found[id]).toEqual([{ rule: 'CT.LAMBDA.PR.3', reason: expect.stringContaining('imported from the Network stack') }]);
  });

  test("excepts aws-cdk-lib's built-in handlers, naming them", () => {
    const id = Object.keys(functions.findResources('AWS::Lambda::Function')).find((i) => i.startsWith('CustomS3AutoDeleteObjectsCustomResourceProvider'))!;
    expect(exceptions(functions, 'AWS::Lambda::Function')[id]).toEqual([{ rule: 'CT.LAMBDA.PR.3', reason: expect.stringContaining("aws-cdk-lib's built-in S3AutoDeleteObjects handler") }]);
  });

  test('leaves a function outside any VPC, and one in a VPC of its own stack, for the rule to judge', () => {
    const found = exceptions(functions, 'AWS::Lambda::Function');
    expect(Object.keys(found).filter((id) => id.startsWith('NoVpc'))).toEqual([]);
    expect(Object.keys(found)).toHaveLength(2);
    const [sameStack] = Object.keys(networkFunctions.findResources('AWS::Lambda::Function')).filter((id) => id.startsWith('SameStackSubnets'));
    expect(sameStack).toBeDefined();
    expect(exceptions(networkFunctions, 'AWS::Lambda::Function')[sameStack]).toBeUndefined();
  });
});
