import { Aws, Duration, Lazy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MIN_PRODUCTION_LOG_RETENTION_DAYS } from '../config/rules';
import type { StatefulConfig } from '../config/schema';
import { guardException } from './guard';
import { removalPolicyFor } from './removal-policy';

/**
 * AWS services through which the account's principals may use a key, by the service's endpoint prefix
 * (`kms:ViaService` = `<prefix>.<region>.amazonaws.com`).
 */
export type KeyUsingService = 'rds' | 'elasticache' | 'secretsmanager' | 'sqs' | 'sns';

export interface EncryptionKeyProps {
  /** What the key protects (shown in the console). */
  readonly description: string;
  /** `stateful.removalPolicy`: a deleted key makes everything it encrypted unreadable, so only `destroy` deletes it. */
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /**
   * Schedule the key for deletion when the stack operation that created it rolls back, even where it would
   * be retained (RetainExceptOnCreate): right when everything it encrypts is created by the same stack and
   * goes with that rollback too. @default false
   */
  readonly deleteOnCreateRollback?: boolean;
  /**
   * The services that use the key for the resources it encrypts. The account's principals (through their
   * IAM policies) may use it only through these, as AWS-managed keys allow (`kms:ViaService` and
   * `kms:CallerAccount`); nobody may call Encrypt or Decrypt on it directly. @default - none: only the
   * service principals named by `allowCloudWatchLogs` / `allowCloudWatchAlarms` use it
   */
  readonly usedThrough?: readonly KeyUsingService[];
  /**
   * Let CloudWatch Logs encrypt this stack's log groups with the key: those CloudFormation names
   * (`<stack name>-<logical id>-<suffix>`) and those given a fixed name through `encryptedLogGroup`.
   * @default false
   */
  readonly allowCloudWatchLogs?: boolean;
  /**
   * Let CloudWatch alarms of this account publish to an SNS topic encrypted with the key. Without it the
   * alarms' notifications are dropped without an error. @default false
   */
  readonly allowCloudWatchAlarms?: boolean;
}

/**
 * What the key policy lets administrators do: AWS's "Allow access for Key Administrators" statement of the
 * default key policy (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators),
 * with `kms:Create*` narrowed to kms:CreateAlias: the other action it covers on a key, kms:CreateGrant,
 * would let an administrator grant itself the use of the key (and the key denies it anyway, below).
 * No cryptographic operation: administering a key is not reading what it protects.
 */
export const KEY_ADMIN_ACTIONS = [
  'kms:CreateAlias', 'kms:Describe*', 'kms:Enable*', 'kms:List*', 'kms:Put*', 'kms:Update*', 'kms:Revoke*',
  'kms:Disable*', 'kms:Get*', 'kms:Delete*', 'kms:TagResource', 'kms:UntagResource', 'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion', 'kms:RotateKeyOnDemand',
] as const;

/**
 * What an AWS service needs of a customer managed key for the resources it encrypts, as the AWS-managed keys
 * (aws/rds, aws/secretsmanager, aws/sqs ...) allow it to the principals of their account.
 */
const SERVICE_USE_ACTIONS = ['kms:Encrypt', 'kms:Decrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:CreateGrant', 'kms:ListGrants', 'kms:DescribeKey'];

/** The key-admin role of `scope`'s stack: one per stack, shared by its keys. */
function keyAdminRole(scope: Construct): iam.Role {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild('KeyAdmin');
  if (existing) return existing as iam.Role;
  // Trusted by the account: whoever the account's IAM policies allow sts:AssumeRole on it. It holds no IAM
  // policy: the key policies of its stack name it for the administrative actions, and that is enough in the
  // key's own account (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
  return new iam.Role(stack, 'KeyAdmin', {
    assumedBy: new iam.AccountRootPrincipal(),
    description: `Administers the KMS keys of ${stack.stackName} (policy, rotation, deletion); cannot encrypt or decrypt with them`,
  });
}

/**
 * A customer-managed KMS key with yearly rotation and a key policy without `kms:*` for anyone:
 *
 * - `AllowAccountToAdministerKey`: the account (root) keeps the administrative actions. AWS's default key
 *   policy gives the account `kms:*` so that the key can never become unmanageable (a key whose policy lets
 *   nobody change it can only be recovered through AWS Support) and so that IAM policies can grant access
 *   (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam).
 *   This keeps the first reason (and satisfies KMS's lockout check: the caller of CreateKey/PutKeyPolicy,
 *   CloudFormation's role, must be allowed PutKeyPolicy) without letting an IAM policy grant Decrypt alone.
 * - `AllowKeyAdministrators`: the stack's key-admin role (`KeyAdmin`), the same actions, named.
 * - `AllowUseThroughServices` (with `usedThrough`): the account's principals may use the key, as their IAM
 *   policies allow, only through those services and only from this account: the statement AWS-managed keys
 *   carry. Roles that read a secret or a queue are granted Decrypt on their side, with the service and the
 *   resource's encryption context as conditions.
 * - CloudWatch Logs and CloudWatch alarms as service principals when asked, each limited to this account's
 *   log groups of this stack, or alarms.
 */
export class EncryptionKey extends Construct {
  readonly key: kms.Key;
  private readonly logGroupNames: string[] = [];
  private readonly allowsLogs: boolean;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    this.allowsLogs = props.allowCloudWatchLogs ?? false;
    const account = new iam.AccountRootPrincipal();
    const admin = keyAdminRole(this);
    const policy = new iam.PolicyDocument({
      statements: [
        new iam.PolicyStatement({ sid: 'AllowAccountToAdministerKey', principals: [account], actions: [...KEY_ADMIN_ACTIONS], resources: ['*'] }),
        new iam.PolicyStatement({ sid: 'AllowKeyAdministrators', principals: [admin], actions: [...KEY_ADMIN_ACTIONS], resources: ['*'] }),
      ],
    });
    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      enableKeyRotation: true,
      pendingWindow: Duration.days(props.removalPolicy === 'destroy' ? 7 : 30),
      removalPolicy: removalPolicyFor(props.removalPolicy, { deleteOnCreateRollback: props.deleteOnCreateRollback }),
      policy,
    });
    // The key policy names the role: the role must exist first ("The principals in the key policy must exist
    // and be visible to KMS", CreateKey's Policy parameter: https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateKey.html).
    this.key.node.addDependency(admin);
    if (props.usedThrough && props.usedThrough.length > 0) {
      // kms:ViaService is `<service>.<region>.amazonaws.com` when a service calls KMS for a principal, and
      // kms:CallerAccount is that principal's account (https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html).
      this.key.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'AllowUseThroughServices',
        principals: [account],
        actions: SERVICE_USE_ACTIONS,
        resources: ['*'],
        conditions: {
          StringEquals: {
            'kms:CallerAccount': Aws.ACCOUNT_ID,
            'kms:ViaService': props.usedThrough.map((service) => `${service}.${Aws.REGION}.amazonaws.com`),
          },
        },
      }));
    }
    // Grants are how AWS services (RDS, Secrets Manager, ElastiCache, SQS) use the key for their own
    // resources; nobody else needs to create one, and a grant outlives the IAM policy that allowed it
    // (AWS Control Tower CT.KMS.PR.3).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'DenyGrantsExceptForAwsServices',
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ['kms:CreateGrant'],
        resources: ['*'],
        conditions: { BoolIfExists: { 'kms:GrantIsForAWSResource': 'false', 'aws:PrincipalIsAWSService': 'false' } },
      }),
    );
    if (props.allowCloudWatchLogs) {
      // CloudWatch Logs is not an IAM principal of the account, so the key policy must name it. It sends the
      // log group's ARN as encryption context (kms:EncryptionContext:aws:logs:arn:
      // https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html), so the key
      // serves only this stack's log groups: those CloudFormation names after the stack, and the fixed names
      // registered by encryptedLogGroup. A group's own ARN cannot be named here: the group refers to the key.
      const groupArn = (name: string) => `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:${name}`;
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowCloudWatchLogsForThisStacksLogGroups',
          principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
          actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          resources: ['*'],
          conditions: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': Lazy.list({
                produce: () => [groupArn(`${Aws.STACK_NAME}-*`), ...this.logGroupNames.map(groupArn)],
              }),
            },
          },
        }),
      );
    }
    if (props.allowCloudWatchAlarms) {
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
          conditions: { StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID }, ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` } },
        }),
      );
    }
  }

  /** Lets CloudWatch Logs use the key for the log group of this fixed name too. */
  allowLogGroupName(name: string): void {
    if (!this.allowsLogs) throw new Error(`${this.node.path}: the key does not let CloudWatch Logs use it (allowCloudWatchLogs), so it cannot encrypt the log group ${name}`);
    if (!this.logGroupNames.includes(name)) this.logGroupNames.push(name);
  }

  /** The EncryptionKey whose key `key` is, if it is one. */
  static of(key: kms.IKey): EncryptionKey | undefined {
    const scope = key.node.scope;
    return scope instanceof EncryptionKey ? scope : undefined;
  }
}

/**
 * kms:Decrypt on `key` only as Secrets Manager uses it to read `secretArns`: through Secrets Manager
 * (kms:ViaService) and for those secrets (Secrets Manager sends the secret's ARN as encryption context,
 * `SecretARN`: https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html#security-encryption-encryption-context;
 * GetSecretValue on a secret under a customer managed key needs kms:Decrypt on it:
 * https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html).
 */
export function decryptSecretsStatement(key: kms.IKey, secretArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['kms:Decrypt'],
    resources: [key.keyArn],
    conditions: {
      StringEquals: {
        'kms:ViaService': `secretsmanager.${Aws.REGION}.amazonaws.com`,
        'kms:EncryptionContext:SecretARN': [...secretArns],
      },
    },
  });
}

/**
 * `actions` on `key` only as SQS uses it for `queueArns`: through SQS (kms:ViaService) and for those queues
 * (SQS sends the queue's ARN as encryption context, `aws:sqs:arn`:
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html).
 */
export function queueKeyStatement(key: kms.IKey, actions: readonly string[], queueArns: readonly string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: [...actions],
    resources: [key.keyArn],
    conditions: {
      StringEquals: {
        'kms:ViaService': `sqs.${Aws.REGION}.amazonaws.com`,
        'kms:EncryptionContext:aws:sqs:arn': [...queueArns],
      },
    },
  });
}

export interface EncryptedLogGroupProps {
  readonly encryptionKey: kms.IKey;
  /** A fixed name, for log groups a service writes to by name (RDS log exports). @default generated */
  readonly logGroupName?: string;
  readonly retentionDays: number;
  /** The config key that set `retentionDays`, named in the guard exception when it is under a year. @default - none named */
  readonly retentionKey?: string;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /**
   * Delete the group when the stack operation that created it rolls back, even where it would be retained
   * (RetainExceptOnCreate). Always so for a group with a fixed `logGroupName`: kept after a failed first
   * deploy, it would make the retry fail with "already exists". For a generated name it is the caller's
   * choice: the logs of a failed deploy can be what explains it.
   * @default - true with a `logGroupName`, false without
   */
  readonly deleteOnCreateRollback?: boolean;
}

/** A log group encrypted with a customer-managed key, with explicit retention and removal. */
export function encryptedLogGroup(scope: Construct, id: string, props: EncryptedLogGroupProps): logs.LogGroup {
  const deleteOnCreateRollback = props.logGroupName !== undefined || (props.deleteOnCreateRollback ?? false);
  // The key lets CloudWatch Logs use it for its own stack's log groups only (EncryptionKey): a group
  // elsewhere, or with a name CloudFormation does not generate, would fail to deploy with an access error.
  const owner = EncryptionKey.of(props.encryptionKey);
  if (owner) {
    if (Stack.of(owner) !== Stack.of(scope)) {
      throw new Error(`${scope.node.path}/${id}: the log group is in ${Stack.of(scope).stackName} but its key ${owner.node.path} serves the log groups of ${Stack.of(owner).stackName} only; give the group a key of its own stack`);
    }
    if (props.logGroupName !== undefined) owner.allowLogGroupName(props.logGroupName);
  }
  const group = new logs.LogGroup(scope, id, {
    logGroupName: props.logGroupName,
    encryptionKey: props.encryptionKey,
    retention: props.retentionDays as logs.RetentionDays,
    removalPolicy: removalPolicyFor(props.removalPolicy, { deleteOnCreateRollback }),
  });
  if (props.retentionDays < MIN_PRODUCTION_LOG_RETENTION_DAYS) {
    // Production environments cannot get here: the config loader rejects shorter retention there.
    guardException(group, 'CT.CLOUDWATCH.PR.2',
      `Retention is ${props.retentionDays} days by this non-production environment's configuration${props.retentionKey ? ` (${props.retentionKey})` : ''}; production keeps at least ${MIN_PRODUCTION_LOG_RETENTION_DAYS} days, enforced by the config loader.`);
  }
  return group;
}
