import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execFileSync } from 'child_process';
import { join } from 'path';

const SERVICES = join(__dirname, '..', '..', '..', 'scripts', 'services.sh');

/** The variables that point the workload at the local servers (scripts/services.sh env), as an object. */
export function localServiceEnv(): Record<string, string> {
  const text = execFileSync('bash', [SERVICES, 'env'], { encoding: 'utf8' });
  return Object.fromEntries([...text.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
}

/** Starts the local servers (scripts/services.sh) and returns the variables that point the workload at them. */
export function startLocalServices(): Record<string, string> {
  execFileSync('bash', [SERVICES, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  return localServiceEnv();
}

export function stopLocalServices(): void {
  execFileSync('bash', [SERVICES, 'stop'], { stdio: 'inherit' });
}

/** An SQS client for the local endpoint. */
export function localSqs(env: Record<string, string>): SQSClient {
  return new SQSClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
}

/** The jobs queue and its DLQ on the local SQS endpoint, as the Data stack makes them (redrive after `maxReceiveCount`). */
export async function createLocalQueues(sqs: SQSClient, name: string, maxReceiveCount = 5): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: { VisibilityTimeout: '180', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount }) },
  }));
  return { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
}

/** `createLocalQueues` with a client of its own; returns the jobs queue's URL. */
export async function createLocalQueue(env: Record<string, string>, name: string): Promise<string> {
  const sqs = localSqs(env);
  try {
    return (await createLocalQueues(sqs, name)).queueUrl;
  } finally {
    sqs.destroy();
  }
}
