import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { encryptedLogGroup, type EncryptedLogGroupProps, EncryptionKey, type EncryptionKeyProps, KEY_ADMIN_ACTIONS } from '../../lib/constructs/encryption';
import { GUARD_EXCEPTIONS_METADATA } from '../../lib/constructs/guard';
import { bareApp, ENVIRONMENTS, synth } from '../helpers/synth';

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
    // This stack's log groups only: the names CloudFormation generates start with the stack's name.
    expect(logs).toEqual([expect.objectContaining({
      Effect: 'Allow',
      Principal: { Service: { 'Fn::Join': ['', ['logs.', REGION, '.amazonaws.com']] } },
      Condition: { ArnLike: { 'kms:EncryptionContext:aws:logs:arn': [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':logs:', REGION, ':', { Ref: 'AWS::AccountId' }, ':log-group:', { Ref: 'AWS::StackName' }, '-*']] }] } },
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

describe('EncryptionKey policy: no kms:* for anyone', () => {
  test('the account keeps the administrative actions only; the stack\'s key-admin role is named for the same; using the key goes through the named services', () => {
    const { statements } = keyOf({ usedThrough: ['sqs'] });
    const admin = statements.find((s) => s.Sid === 'AllowAccountToAdministerKey')!;
    expect(admin).toMatchObject({ Effect: 'Allow', Principal: expect.anything(), Action: [...KEY_ADMIN_ACTIONS].sort() });
    expect(JSON.stringify(admin.Principal)).toContain(':root');
    expect(statements.find((s) => s.Sid === 'AllowKeyAdministrators')).toMatchObject({
      Principal: { AWS: { 'Fn::GetAtt': [expect.stringMatching(/^KeyAdmin/), 'Arn'] } }, Action: [...KEY_ADMIN_ACTIONS].sort(),
    });
    expect(statements.find((s) => s.Sid === 'AllowUseThroughServices')).toMatchObject({
      Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey*', 'kms:ListGrants', 'kms:ReEncrypt*'],
      Condition: { StringEquals: { 'kms:CallerAccount': { Ref: 'AWS::AccountId' }, 'kms:ViaService': [{ 'Fn::Join': ['', ['sqs.', REGION, '.amazonaws.com']] }] } },
    });
    for (const s of statements) expect([s.Action].flat()).not.toContain('kms:*');
    // No cryptographic action for administrators, and no kms:CreateGrant (it would let them grant themselves the use).
    expect(KEY_ADMIN_ACTIONS.filter((a) => /Encrypt|Decrypt|GenerateDataKey|CreateGrant|Create\*/.test(a))).toEqual([]);
  });

  test('without usedThrough (a log key), no principal of the account may use the key at all', () => {
    const { statements } = keyOf({ allowCloudWatchLogs: true });
    const allowedToAccount = statements.filter((s) => s.Effect === 'Allow' && JSON.stringify(s.Principal).includes(':root'));
    expect(allowedToAccount.map((s) => s.Sid)).toEqual(['AllowAccountToAdministerKey']);
  });

  test('one key-admin role per stack, trusted by the account, with no policy of its own', () => {
    const stack = new Stack(bareApp(), 'Keys');
    new EncryptionKey(stack, 'A', { description: 'a', removalPolicy: 'retain' });
    new EncryptionKey(stack, 'B', { description: 'b', removalPolicy: 'retain' });
    const roles = Template.fromStack(stack).findResources('AWS::IAM::Role');
    expect(Object.keys(roles)).toEqual([expect.stringMatching(/^KeyAdmin/)]);
    const [role] = Object.values(roles);
    expect(role.Properties.Policies).toBeUndefined();
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    expect(JSON.stringify(role.Properties.AssumeRolePolicyDocument)).toContain(':root');
  });
});

describe('encryptedLogGroup and the key\'s log groups', () => {
  test('a fixed name is added to the key\'s CloudWatch Logs condition; a group of another stack is refused', () => {
    const app = bareApp();
    const stack = new Stack(app, 'Logs');
    const { key } = new EncryptionKey(stack, 'Key', { description: 'logs', removalPolicy: 'retain', allowCloudWatchLogs: true });
    encryptedLogGroup(stack, 'Fixed', { encryptionKey: key, retentionDays: 365, removalPolicy: 'retain', logGroupName: '/aws/rds/cluster/probe/postgresql' });
    const [k] = Object.values(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    const logs = (k.Properties.KeyPolicy.Statement as Array<{ Sid?: string; Condition?: { ArnLike: Record<string, unknown[]> } }>)
      .find((s) => s.Sid === 'AllowCloudWatchLogsForThisStacksLogGroups')!;
    expect(JSON.stringify(logs.Condition!.ArnLike['kms:EncryptionContext:aws:logs:arn'][1])).toContain(':log-group:/aws/rds/cluster/probe/postgresql"');
    const other = new Stack(app, 'Other');
    expect(() => encryptedLogGroup(other, 'Group', { encryptionKey: key, retentionDays: 365, removalPolicy: 'retain' }))
      .toThrow('Other/Group: the log group is in Other but its key Logs/Key serves the log groups of Logs only; give the group a key of its own stack');
    const { key: noLogs } = new EncryptionKey(stack, 'NoLogs', { description: 'no logs', removalPolicy: 'retain' });
    expect(() => encryptedLogGroup(stack, 'Named', { encryptionKey: noLogs, retentionDays: 365, removalPolicy: 'retain', logGroupName: '/x' }))
      .toThrow('Logs/NoLogs: the key does not let CloudWatch Logs use it (allowCloudWatchLogs), so it cannot encrypt the log group /x');
  });
});

type Statement = { Sid?: string; Effect: string; Principal?: unknown; Action: string | string[]; Resource?: unknown; Condition?: Record<string, Record<string, unknown>> };

describe.each(ENVIRONMENTS)('keys and KMS grants of every stack (%s)', (env) => {
  const synthesized = synth(env);
  const templates = Object.entries({ network: synthesized.network, data: synthesized.data, compute: synthesized.compute, monitoring: synthesized.monitoring, loadTest: synthesized.loadTest })
    .filter((e): e is [string, Template] => e[1] !== undefined);

  test.each(templates)('%s: no key policy gives anyone kms:*, and the account uses a key only through named services', (_name, t) => {
    const keys = Object.values(t.findResources('AWS::KMS::Key'));
    expect(keys.length).toBeGreaterThan(0);
    for (const key of keys) {
      const statements = key.Properties.KeyPolicy.Statement as Statement[];
      expect(statements.filter((s) => [s.Action].flat().includes('kms:*'))).toEqual([]);
      expect(statements.map((s) => s.Sid)).toEqual(expect.arrayContaining(['AllowAccountToAdministerKey', 'AllowKeyAdministrators', 'DenyGrantsExceptForAwsServices']));
      // Every other Allow to an AWS principal (the account, a role) uses the key only through a service.
      const use = statements.filter((s) => s.Effect === 'Allow' && (s.Principal as { AWS?: unknown }).AWS && !['AllowAccountToAdministerKey', 'AllowKeyAdministrators'].includes(s.Sid ?? ''));
      for (const s of use) expect(s.Condition?.StringEquals?.['kms:ViaService']).toBeDefined();
    }
  });

  test.each(templates)('%s: every KMS permission in an IAM policy names the service and the resource it is for (kms:ViaService + encryption context)', (_name, t) => {
    const statements = [
      ...Object.values(t.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]),
      ...Object.values(t.findResources('AWS::IAM::Role')).flatMap((r) => ((r.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap((p) => p.PolicyDocument.Statement)),
    ].filter((s) => s.Effect === 'Allow' && [s.Action].flat().some((a) => a.startsWith('kms:')));
    for (const s of statements) {
      const keys = Object.keys(s.Condition?.StringEquals ?? {});
      expect({ action: s.Action, conditions: keys }).toEqual({ action: s.Action, conditions: expect.arrayContaining(['kms:ViaService', expect.stringMatching(/^kms:EncryptionContext:/)]) });
    }
  });

  test('data: DataKey still lets CloudWatch Logs read this stack\'s log groups (events written before LogKey), the postgresql log by name', () => {
    const [dataKey] = Object.entries(synthesized.data.findResources('AWS::KMS::Key')).filter(([id]) => id.startsWith('DataKey')).map(([, k]) => k);
    const logs = (dataKey.Properties.KeyPolicy.Statement as Statement[]).find((s) => s.Sid === 'AllowCloudWatchLogsForThisStacksLogGroups')!;
    const patterns = JSON.stringify(logs.Condition!.ArnLike['kms:EncryptionContext:aws:logs:arn']);
    expect(patterns).toContain('{"Ref":"AWS::StackName"},"-*"');
    expect(patterns).toContain(`:log-group:/aws/rds/cluster/scalingblueprint-${env}-data-aurora/postgresql"`);
  });

  test.each(templates)('%s: every encrypted log group is one its key lets CloudWatch Logs use (a generated name, or a fixed name the key lists)', (_name, t) => {
    const keys = t.findResources('AWS::KMS::Key');
    for (const group of Object.values(t.findResources('AWS::Logs::LogGroup'))) {
      const keyId = group.Properties.KmsKeyId?.['Fn::GetAtt']?.[0] as string | undefined;
      expect(keyId).toBeDefined();
      const logs = (keys[keyId!].Properties.KeyPolicy.Statement as Statement[]).find((s) => s.Sid === 'AllowCloudWatchLogsForThisStacksLogGroups')!;
      const patterns = JSON.stringify(logs.Condition!.ArnLike['kms:EncryptionContext:aws:logs:arn']);
      expect(patterns).toContain('{"Ref":"AWS::StackName"},"-*"');
      if (group.Properties.LogGroupName) expect(patterns).toContain(`:log-group:${group.Properties.LogGroupName}"`);
    }
  });
});
