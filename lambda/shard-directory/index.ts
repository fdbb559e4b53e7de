import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { seedShards } from './seed';

/** The custom resource's properties (lib/constructs/shard-directory.ts writes them). */
interface Properties {
  /** Index = cluster number: each cluster's writer endpoint and master secret. */
  readonly Clusters: ReadonlyArray<{ readonly Host: string; readonly MasterSecretArn: string }>;
  readonly Port: string;
  readonly Database: string;
  readonly LogicalShards: string;
  /** Changes with the seeding code, so an update runs it again. */
  readonly Hash: string;
}

const secrets = new SecretsManagerClient({});

async function secretJson(arn: string): Promise<{ username?: string; password?: string }> {
  const value = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
  return JSON.parse(value.SecretString ?? '{}') as { username?: string; password?: string };
}

const log = (message: string, fields: Record<string, unknown> = {}) => console.log(JSON.stringify({ message, ...fields }));

/**
 * Handler of the ShardDirectory custom resource (CDK Provider framework, onEvent only). Create and Update seed
 * the first layout of the logical shards over the clusters (./seed.ts) as each cluster's master user, after
 * every cluster's migrations; a layout that exists is kept, and a changed logical shard count is refused
 * (the update fails and rolls back). Delete does nothing: the directory lives in the clusters, with the data.
 */
export async function onEvent(event: CloudFormationCustomResourceEvent): Promise<{ PhysicalResourceId: string; Data?: Record<string, string> }> {
  const p = event.ResourceProperties as unknown as Properties;
  const PhysicalResourceId = `shard-directory-${p.Database}`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId };
  const clusters = await Promise.all(p.Clusters.map(async (c) => {
    const master = await secretJson(c.MasterSecretArn);
    return {
      host: c.Host, port: Number(p.Port), database: p.Database, user: master.username!, password: master.password,
      // Aurora's certificate chains to an RDS CA (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html),
      // which the runtime trusts through NODE_EXTRA_CA_CERTS (set on the function).
      ssl: { rejectUnauthorized: true },
    };
  }));
  const result = await seedShards(clusters, Number(p.LogicalShards));
  log('shard directory', { result, clusters: clusters.length, logicalShards: Number(p.LogicalShards), hash: p.Hash });
  return { PhysicalResourceId, Data: { Result: result } };
}
