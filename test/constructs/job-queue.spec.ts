import { Match } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

const DAY = 24 * 3600;

describe.each(ENVIRONMENTS)('jobs queue and DLQ (%s)', (env) => {
  const cfg = configFor(env);
  const q = cfg.queue;
  const { data: t } = synth(env);

  test('jobs queue: visibility, retention, long polling and redrive from config', () => {
    t.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: q.visibilityTimeoutSeconds,
      MessageRetentionPeriod: q.retentionDays * DAY,
      ReceiveMessageWaitTimeSeconds: q.receiveWaitTimeSeconds,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^JobsDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: q.maxReceiveCount,
      },
    });
  });

  test('the DLQ keeps messages for the SQS maximum of 14 days', () => {
    t.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * DAY,
      RedrivePolicy: Match.absent(),
    });
  });

  test('both queues are encrypted with the queue key, which the account may use through SQS only', () => {
    const queues = Object.values(t.findResources('AWS::SQS::Queue'));
    expect(queues).toHaveLength(2);
    for (const queue of queues) {
      expect(queue.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^QueueKey/), 'Arn'] });
    }
    t.hasResourceProperties('AWS::KMS::Key', {
      Description: 'Encrypts the jobs queue and its dead-letter queue',
      KeyPolicy: { Statement: Match.arrayWith([Match.objectLike({
        Sid: 'AllowUseThroughServices',
        Condition: { StringEquals: { 'kms:CallerAccount': { Ref: 'AWS::AccountId' }, 'kms:ViaService': [{ 'Fn::Join': ['', ['sqs.', { Ref: 'AWS::Region' }, '.amazonaws.com']] }] } },
      })]) },
    });
  });

  test('both queues refuse requests without TLS', () => {
    const policies = Object.values(t.findResources('AWS::SQS::QueuePolicy'));
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({
        Effect: 'Deny',
        Action: 'sqs:*',
        Principal: { AWS: '*' },
        Condition: { Bool: { 'aws:SecureTransport': 'false' } },
      }));
    }
  });

  test('removal: retained unless the environment says destroy, but deleted if the deploy that created them rolls back', () => {
    const queues = Object.values(t.findResources('AWS::SQS::Queue'));
    for (const queue of queues) expect(queue.DeletionPolicy).toBe(cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'RetainExceptOnCreate');
  });
});

test('a config change moves the visibility timeout and the redrive count', () => {
  const { data: t } = synth('staging', { queue: { visibilityTimeoutSeconds: 900, maxReceiveCount: 9 } });
  t.hasResourceProperties('AWS::SQS::Queue', {
    VisibilityTimeout: 900,
    RedrivePolicy: Match.objectLike({ maxReceiveCount: 9 }),
  });
});
