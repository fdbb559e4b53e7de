import { CreateSecretCommand, DeleteSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { randomBytes } from 'crypto';
import { serviceEnv } from '../workload/harness';

// The part the migrations and shard directory handlers share (lambda/shared/database-custom-resource.ts): the
// custom resource's event handling, and the master user's connection read from its secret in moto_server's
// Secrets Manager (started by jest's global setup).

jest.setTimeout(15_000);

const env = serviceEnv();
const aws = { AWS_REGION: env.AWS_REGION, AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID: 'local', AWS_SECRET_ACCESS_KEY: 'local' };
const saved = Object.fromEntries(Object.keys(aws).map((k) => [k, process.env[k]]));
// The module's client reads the region, endpoint and credentials from the environment, as in Lambda.
Object.assign(process.env, aws);
const shared = require('../../lambda/shared/database-custom-resource') as typeof import('../../lambda/shared/database-custom-resource');

const client = new SecretsManagerClient({ region: env.AWS_REGION, endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
const created: string[] = [];

afterAll(async () => {
  await Promise.all(created.map((id) => client.send(new DeleteSecretCommand({ SecretId: id, ForceDeleteWithoutRecovery: true }))));
  for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
});

const event = (RequestType: 'Create' | 'Update' | 'Delete', props: Record<string, unknown>) =>
  ({ RequestType, ResourceProperties: { ServiceToken: 'arn', ...props } }) as unknown as CloudFormationCustomResourceEvent;

test('Delete answers the physical id and does no work; Create and Update run it on the properties and return its Data', async () => {
  const seen: string[] = [];
  const onEvent = shared.databaseCustomResource<{ Database: string; X: string }>('thing', async (p) => {
    seen.push(p.X);
    return { Out: `${p.X}!` };
  });
  await expect(onEvent(event('Delete', { Database: 'app', X: 'd' }))).resolves.toEqual({ PhysicalResourceId: 'thing-app' });
  await expect(onEvent(event('Create', { Database: 'app', X: 'c' }))).resolves.toEqual({ PhysicalResourceId: 'thing-app', Data: { Out: 'c!' } });
  await expect(onEvent(event('Update', { Database: 'app', X: 'u' }))).resolves.toEqual({ PhysicalResourceId: 'thing-app', Data: { Out: 'u!' } });
  expect(seen).toEqual(['c', 'u']);
});

test('masterConnection: the master secret\'s user and password, the endpoint given, TLS verified', async () => {
  const { ARN } = await client.send(new CreateSecretCommand({
    Name: `sb-test-${randomBytes(4).toString('hex')}`,
    SecretString: JSON.stringify({ username: 'postgres', password: 'p4ss', engine: 'postgres', host: 'ignored' }),
  }));
  created.push(ARN!);
  await expect(shared.masterConnection(ARN!, { host: 'writer.example', port: 5432, database: 'app' })).resolves.toEqual({
    host: 'writer.example', port: 5432, database: 'app', user: 'postgres', password: 'p4ss', ssl: { rejectUnauthorized: true },
  });
});
