import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import type { MasterConnection } from './master-connection';

const secrets = new SecretsManagerClient({});

/** A secret's JSON value (an RDS secret: username, password and more). */
export async function secretJson(arn: string): Promise<{ username?: string; password?: string }> {
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  return JSON.parse(value.SecretString ?? '{}') as { username?: string; password?: string };
}

/** The master user's connection to a cluster, with the credentials of its master secret `secretArn`. */
export async function masterConnection(secretArn: string, at: Pick<MasterConnection, 'host' | 'port' | 'database'>): Promise<MasterConnection> {
  const master = await secretJson(secretArn);
  return {
    ...at, user: master.username!, password: master.password,
    // Aurora's certificate chains to an RDS CA (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html),
    // which the runtime trusts through NODE_EXTRA_CA_CERTS (set on the function).
    ssl: { rejectUnauthorized: true },
  };
}

export const log = (message: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ message, ...fields }));

export type DatabaseCustomResourceResponse = { PhysicalResourceId: string; Data?: Record<string, string> };

/**
 * The onEvent handler (CDK Provider framework) of a custom resource that works on a database, physical id
 * `<name>-<Database>`: Create and Update run `work` on the resource's properties and return its Data; Delete does
 * nothing, as what it made stays with the data.
 */
export function databaseCustomResource<P extends { readonly Database: string }>(
  name: string,
  work: (properties: P) => Promise<Record<string, string>>,
): (event: CloudFormationCustomResourceEvent) => Promise<DatabaseCustomResourceResponse> {
  return async (event) => {
    const p = event.ResourceProperties as unknown as P;
    const PhysicalResourceId = `${name}-${p.Database}`;
    if (event.RequestType === 'Delete') return { PhysicalResourceId };
    return { PhysicalResourceId, Data: await work(p) };
  };
}
