import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { encryptedLogGroup, type EncryptedLogGroupProps, EncryptionKey, type EncryptionKeyProps } from '../../lib/constructs/encryption';
import { GUARD_EXCEPTIONS_METADATA } from '../../lib/constructs/guard';
import { bareApp } from '../helpers/synth';

const REGION = { Ref: 'AWS::Region' };
const keyOf = (props: Partial<EncryptionKeyProps> = {}) => {
  const stack = new Stack(bareApp(), 'Keys');
  new EncryptionKey(stack, 'Data', { description: 'test key', removalPolicy: 'retain', ...props });
  const [key] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
  return { key, statements: key.Properties.KeyPolicy.Statement as Array<Record<string, unknown>> };
};

describe('EncryptionKey', () => {
  test('rotates yearly and is retained, with the 30-day pending window, unless the environment says destroy', () => {
    expect(keyOf({ removalPolicy: 'retain' }).key).toMatchObject({
      Properties: { EnableKeyRotation: true, PendingWindowInDays: 30 }, DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain',
    });
    expect(keyOf({ removalPolicy: 'snapshot' }).key).toMatchObject({ Properties: { PendingWindowInDays: 30 }, DeletionPolicy: 'Retain' });
    expect(keyOf({ removalPolicy: 'destroy' }).key).toMatchObject({ Properties: { PendingWindowInDays: 7 }, DeletionPolicy: 'Delete' });
  });

  test('deleteOnCreateRollback: retained on deletion and replacement, scheduled for deletion when its creation rolls back', () => {
    for (const removalPolicy of ['retain', 'snapshot'] as const) {
      expect(keyOf({ removalPolicy, deleteOnCreateRollback: true }).key).toMatchObject({ DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    }
    expect(keyOf({ removalPolicy: 'destroy', deleteOnCreateRollback: true }).key).toMatchObject({ DeletionPolicy: 'Delete' });
  });

  test('denies kms:CreateGrant to everyone but AWS services acting for a resource (CT.KMS.PR.3)', () => {
    expect(keyOf().statements).toContainEqual({
      Sid: 'DenyGrantsExceptForAwsServices',
      Effect: 'Deny',
      Principal: { AWS: '*' },
      Action: 'kms:CreateGrant',
      Resource: '*',
      Condition: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
    });
  });

  test('names no service principal unless asked; CloudWatch Logs only for log groups of this account and region', () => {
    const services = (statements: Array<Record<string, unknown>>) => statements.filter((s) => (s.Principal as { Service?: unknown }).Service);
    expect(services(keyOf().statements)).toEqual([]);

    const logs = services(keyOf({ allowCloudWatchLogs: true }).statements);
    expect(logs).toEqual([expect.objectContaining({
      Effect: 'Allow',
      Principal: { Service: { 'Fn::Join': ['', ['logs.', REGION, '.amazonaws.com']] } },
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', REGION, ':', { Ref: 'AWS::AccountId' }, ':log-group:*']] } } },
    })]);
    expect(logs[0].Action).not.toContain('kms:*');

    expect(services(keyOf({ allowCloudWatchAlarms: true }).statements)).toEqual([{
      Effect: 'Allow',
      Principal: { Service: 'cloudwatch.amazonaws.com' },
      Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
      Resource: '*',
      Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }, ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', REGION, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } } },
    }]);
  });
});

describe('encryptedLogGroup', () => {
  const groupOf = (retentionDays: number, retentionKey?: string, removalPolicy: 'retain' | 'destroy' = 'retain', more: Partial<EncryptedLogGroupProps> = {}) => {
    const stack = new Stack(bareApp(), 'Logs');
    const { key } = new EncryptionKey(stack, 'Key', { description: 'logs', removalPolicy: 'retain', allowCloudWatchLogs: true });
    encryptedLogGroup(stack, 'Group', { encryptionKey: key, retentionDays, retentionKey, removalPolicy, ...more });
    const [group] = Object.values(Template.fromStack(stack).findResources('AWS::Logs::LogGroup'));
    return group;
  };

  test('encrypted with the given key, with explicit retention and removal', () => {
    expect(groupOf(365)).toMatchObject({
      Properties: { KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^Key[0-9A-F]{8}$/), 'Arn'] }, RetentionInDays: 365 },
      DeletionPolicy: 'Retain',
    });
    expect(groupOf(365, undefined, 'destroy').DeletionPolicy).toBe('Delete');
  });

  test('a fixed name is deleted when its creation rolls back (a kept one fails the retry with "already exists"); a generated one is kept unless asked', () => {
    const fixed = groupOf(365, undefined, 'retain', { logGroupName: '/aws/rds/cluster/probe/postgresql' });
    expect(fixed).toMatchObject({ DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
    expect(groupOf(365, undefined, 'retain', { logGroupName: '/fixed', deleteOnCreateRollback: false }).DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(groupOf(365).DeletionPolicy).toBe('Retain');
    expect(groupOf(365, undefined, 'retain', { deleteOnCreateRollback: true }).DeletionPolicy).toBe('RetainExceptOnCreate');
    expect(groupOf(365, undefined, 'destroy', { logGroupName: '/fixed' }).DeletionPolicy).toBe('Delete');
  });

  test('under a year of retention it carries the CT.CLOUDWATCH.PR.2 exception, naming the config key; from a year on, none', () => {
    expect(groupOf(30, 'compute.logRetentionDays').Metadata[GUARD_EXCEPTIONS_METADATA]).toEqual([{
      rule: 'CT.CLOUDWATCH.PR.2',
      reason: expect.stringMatching(/^Retention is 30 days by this non-production environment's configuration \(compute\.logRetentionDays\); production keeps at least 365 days/),
    }]);
    expect(groupOf(30).Metadata[GUARD_EXCEPTIONS_METADATA][0].reason).not.toContain('(');
    expect(groupOf(365).Metadata?.[GUARD_EXCEPTIONS_METADATA]).toBeUndefined();
  });
});
