import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { execFileSync } from 'child_process';
import { join } from 'path';

const SERVICES = join(__dirname, '..', '..', '..', 'scripts', 'services.sh');

/** Starts the local servers (scripts/services.sh) and returns the variables that point the workload at them. */
export function startLocalServices(): Record<string, string> {
  execFileSync('bash', [SERVICES, 'start'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const text = execFileSync('bash', [SERVICES, 'env'], { encoding: 'utf8' });
  return Object.fromEntries([...text.matchAll(/(\w+)=(\S*)/g)].map((m) => [m[1], m[2]]));
}

export function stopLocalServices(): void {
  execFileSync('bash', [SERVICES, 'stop'], { stdio: 'inherit' });
}

/** The jobs queue and its DLQ on the local SQS endpoint, as the Data stack makes them (redrive after 5). */
export async function createLocalQueue(env: Record<string, string>, name: string): Promise<string> {
  const sqs = new SQSClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn;
  const queue = await sqs.send(new CreateQueueCommand({
    QueueName: name,
    Attributes: { VisibilityTimeout: '180', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: 5 }) },
  }));
  sqs.destroy();
  return queue.QueueUrl!;
}
