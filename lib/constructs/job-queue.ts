import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueConfig, StatefulConfig } from '../config/schema';
import { removalPolicyFor } from './removal-policy';
import { queueKeyStatement } from './encryption';
import { guardException } from './guard';

export interface JobQueueProps {
  readonly config: QueueConfig;
  readonly encryptionKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** SQS keeps a message at most 14 days; the DLQ keeps its messages that long. */
const MAX_RETENTION = Duration.days(14);

/**
 * The jobs queue and its dead-letter queue, both encrypted with the queue key and refusing non-TLS requests.
 * Long polling cuts empty receives; after `maxReceiveCount` failed receives a message moves to the DLQ.
 *
 * The DLQ keeps messages for the SQS maximum: a standard queue keeps a message's original enqueue time when
 * it is moved, so a DLQ with the same retention as the source would drop messages almost as soon as they arrive.
 */
export class JobQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The queue's visibility timeout (s), for consumers that extend it. */
  readonly visibilityTimeoutSeconds: number;

  private readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: JobQueueProps) {
    super(scope, id);
    this.encryptionKey = props.encryptionKey;
    const { config } = props;
    this.visibilityTimeoutSeconds = config.visibilityTimeoutSeconds;
    const common = {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.encryptionKey,
      // Reuse a data key for 5 minutes: fewer KMS calls (and cost) at high message rates.
      dataKeyReuse: Duration.minutes(5),
      enforceSSL: true,
      // Deleted if the deploy that created them rolls back: no producer can have sent a message yet (the
      // services that do are in a stack deployed after this one), and a kept queue would only be litter.
      removalPolicy: removalPolicyFor(props.removalPolicy, { deleteOnCreateRollback: true }),
    };
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...common,
      retentionPeriod: MAX_RETENTION,
    });
    guardException(this.deadLetterQueue, 'CT.SQS.PR.1',
      'This is the dead-letter queue: messages end here to be inspected and redriven, and a dead-letter queue of its own would only hide them further.');
    this.queue = new sqs.Queue(this, 'Queue', {
      ...common,
      visibilityTimeout: Duration.seconds(config.visibilityTimeoutSeconds),
      retentionPeriod: Duration.days(config.retentionDays),
      receiveMessageWaitTime: Duration.seconds(config.receiveWaitTimeSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: config.maxReceiveCount },
    });
  }

  /**
   * Lets `grantee` send jobs. `queue.grantSendMessages()` would also grant kms:Encrypt, kms:ReEncrypt* and
   * kms:GenerateDataKey* on any use of the key; sending to an SSE-KMS queue needs only GenerateDataKey and
   * Decrypt (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html),
   * here only through SQS and for this queue.
   */
  grantSend(grantee: iam.IGrantable): void {
    this.queue.grant(grantee, 'sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl');
    grantee.grantPrincipal.addToPrincipalPolicy(queueKeyStatement(this.encryptionKey, ['kms:GenerateDataKey', 'kms:Decrypt'], [this.queue.queueArn]));
  }

  /**
   * Lets `grantee` receive, extend and delete jobs: the actions of `queue.grantConsumeMessages()`, whose
   * kms:Decrypt would have no condition; here only through SQS and for this queue.
   */
  grantConsume(grantee: iam.IGrantable): void {
    this.queue.grant(grantee, 'sqs:ReceiveMessage', 'sqs:ChangeMessageVisibility', 'sqs:GetQueueUrl', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes');
    grantee.grantPrincipal.addToPrincipalPolicy(queueKeyStatement(this.encryptionKey, ['kms:Decrypt'], [this.queue.queueArn]));
  }
}
