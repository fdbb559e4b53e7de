import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import type { StatefulConfig } from '../config/schema';
import { EncryptionKey } from './encryption';

export interface AlarmTopicProps {
  /** Addresses subscribed by email (each confirms once). */
  readonly emails: readonly string[];
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/**
 * Where alarms go: an SNS topic encrypted with a customer-managed key whose policy lets CloudWatch use it
 * (a topic under the AWS-managed SNS key silently drops alarm notifications), refusing publishes without TLS.
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const key = new EncryptionKey(this, 'Key', {
      description: 'Encrypts the alarm topic; CloudWatch may use it to publish alarms',
      removalPolicy: props.removalPolicy,
      allowCloudWatchAlarms: true,
    }).key;
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'scaling-blueprint alarms' });
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
}
