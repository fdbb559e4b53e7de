import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { MIN_PRODUCTION_LOG_RETENTION_DAYS } from '../config/rules';
import type { StatefulConfig } from '../config/schema';
import { guardException } from './guard';
import { removalPolicyFor } from './removal-policy';

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
  /** Let CloudWatch Logs in this account and region encrypt log groups with the key. @default false */
  readonly allowCloudWatchLogs?: boolean;
  /**
   * Let CloudWatch alarms of this account publish to an SNS topic encrypted with the key. Without it the
   * alarms' notifications are dropped without an error. @default false
   */
  readonly allowCloudWatchAlarms?: boolean;
}

/** A customer-managed KMS key with yearly rotation and, optionally, a grant to CloudWatch Logs. */
export class EncryptionKey extends Construct {
  readonly key: kms.Key;

  constructor(scope: Construct, id: string, props: EncryptionKeyProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: props.description,
      enableKeyRotation: true,
      pendingWindow: Duration.days(props.removalPolicy === 'destroy' ? 7 : 30),
      removalPolicy: removalPolicyFor(props.removalPolicy, { deleteOnCreateRollback: props.deleteOnCreateRollback }),
    });
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
      // CloudWatch Logs is not an IAM principal of the account, so the key policy must name it; the
      // encryption-context condition keeps it to log groups of this account and region.
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal(`logs.${Aws.REGION}.amazonaws.com`)],
          actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
          resources: ['*'],
          conditions: {
            ArnLike: {
              'kms:EncryptionContext:aws:logs:arn': `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:*`,
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
