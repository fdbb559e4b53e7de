import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
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
 * The alarms CloudWatch may publish for: those of this account in this region. The same conditions scope the
 * key policy (lib/constructs/encryption.ts, `allowCloudWatchAlarms`; test/constructs/alarm-topic.spec.ts
 * evaluates both), so that CloudWatch cannot be made to publish here on behalf of anyone else (the confused
 * deputy: https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html).
 */
function cloudWatchAlarmsOfThisAccount(): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
  };
}

/**
 * Where alarms go: an SNS topic encrypted with a customer-managed key whose policy lets CloudWatch use it
 * (a topic under the AWS-managed SNS key silently drops alarm notifications), refusing publishes without TLS.
 *
 * The topic policy names CloudWatch: `enforceSSL` gives the topic an AWS::SNS::TopicPolicy, and a topic
 * policy replaces SNS's default one (the statement that let the account's principals publish), so with the
 * TLS Deny alone nothing would allow CloudWatch's sns:Publish and no alarm e-mail would ever arrive
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-sns-topicpolicy.html;
 * the statement CloudWatch needs: https://docs.aws.amazon.com/sns/latest/dg/sns-access-policy-use-cases.html
 * and https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger). CloudWatch also needs
 * kms:Decrypt and kms:GenerateDataKey* on the topic's key
 * (https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services).
 */
export class AlarmTopic extends Construct {
  readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlarmTopicProps) {
    super(scope, id);
    const key = new EncryptionKey(this, 'Key', {
      description: 'Encrypts the alarm topic; CloudWatch may use it to publish alarms',
      removalPolicy: props.removalPolicy,
      allowCloudWatchAlarms: true,
      // Anyone of the account who may publish (an operator's test message) uses the key through SNS.
      usedThrough: ['sns'],
    }).key;
    this.topic = new sns.Topic(this, 'Topic', { masterKey: key, enforceSSL: true, displayName: 'scaling-blueprint alarms' });
    this.topic.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'AllowCloudWatchAlarmsOfThisAccount',
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [this.topic.topicArn],
      conditions: cloudWatchAlarmsOfThisAccount(),
    }));
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));
  }
}
