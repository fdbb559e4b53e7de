import { Match, type Template } from 'aws-cdk-lib/assertions';
import { reshardEnvSchema } from '../../lambda/reshard/index';
import { containerEnvSchema } from '../../lib/contracts/container-env';
import { policyStatements, type Statement } from '../helpers/template';
import { synth } from '../helpers/synth';

// `database.sharding.mode: clusters` with three clusters: the Data stack's clusters, directory and shard mover,
// and what the Compute stack's tasks are given. dev: no proxy (tasks read their user's secret on each cluster);
// staging: RDS Proxy, reader autoscaling and deletion protection on every cluster.

jest.setTimeout(60_000);

const SHARDED = { database: { sharding: { mode: 'clusters', clusters: 3, logicalShards: 256 } } };
const dev = synth('dev', SHARDED);
const staging = synth('staging', SHARDED);

const ids = (t: Template, type: string) => Object.keys(t.findResources(type)).sort();
const clusterPrefix = (i: number) => (i === 0 ? 'Database' : `DatabaseShard${i}`);
/** The logical ids of one cluster's resources of `type`: cluster 0's are those under Database but not DatabaseShard. */
const ofCluster = (t: Template, type: string, i: number) =>
  ids(t, type).filter((id) => id.startsWith(clusterPrefix(i)) && (i !== 0 || !id.startsWith('DatabaseShard')));

/**
 * An Fn::Join of literal strings and CloudFormation values as the string it becomes, each value replaced by
 * `<n>`, and the values by number: the JSON of DB_SHARDS can then be parsed and each value checked.
 */
function joined(value: unknown): { text: string; refs: unknown[] } {
  const join = (value as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  expect(join?.[0]).toBe('');
  const refs: unknown[] = [];
  const text = join[1].map((part) => (typeof part === 'string' ? part : `<${refs.push(part) - 1}>`)).join('');
  return { text, refs };
}

/** The container environment of the task definition whose logical id starts with `prefix` (WebApi, Worker). */
function containerEnv(t: Template, prefix: string): Record<string, unknown> {
  const defs = Object.entries(t.findResources('AWS::ECS::TaskDefinition')).filter(([id]) => id.startsWith(`${prefix}TaskDefinition`));
  expect(defs).toHaveLength(1);
  const env = defs[0][1].Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>;
  return Object.fromEntries(env.map((e) => [e.Name, e.Value]));
}

describe('Data stack', () => {
  test('cluster 0 keeps every logical id of the unsharded stack: turning sharding on replaces nothing', () => {
    const plain = synth('staging');
    type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    const before = plain.data.toJSON().Resources as Resources;
    const after = staging.data.toJSON().Resources as Resources;
    for (const [id, r] of Object.entries(before)) expect({ id, type: after[id]?.Type }).toEqual({ id, type: r.Type });
    // The same physical name too (the cluster identifier is fixed: a new one would replace the cluster).
    const clusterId = ofCluster(plain.data, 'AWS::RDS::DBCluster', 0)[0];
    expect(after[clusterId].Properties!.DBClusterIdentifier).toBe(before[clusterId].Properties!.DBClusterIdentifier);
  });

  test.each([['dev', dev], ['staging', staging]])('%s: three clusters, encrypted with the data key, each named apart', (_, s) => {
    const clusters = Object.values(s.data.findResources('AWS::RDS::DBCluster'));
    expect(clusters).toHaveLength(3);
    for (const c of clusters) {
      expect(c.Properties).toMatchObject({
        StorageEncrypted: true,
        KmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] },
        PerformanceInsightsKmsKeyId: { 'Fn::GetAtt': [expect.stringMatching(/^DataKey/), 'Arn'] },
        EnableIAMDatabaseAuthentication: true,
      });
    }
    const names = clusters.map((c) => c.Properties.DBClusterIdentifier as string);
    expect(new Set(names).size).toBe(3);
    expect(names.slice(1)).toEqual([expect.stringMatching(/-aurora-shard1$/), expect.stringMatching(/-aurora-shard2$/)]);
    // Each postgresql log group is the one RDS writes to for its cluster, and the data key lets Logs use it for them.
    for (const name of names) {
      s.data.hasResourceProperties('AWS::Logs::LogGroup', { LogGroupName: `/aws/rds/cluster/${name}/postgresql` });
    }
  });

  test('staging: every cluster has its writer and reader, reader autoscaling, a proxy with a read-only endpoint of its own, deletion protection and migrations', () => {
    const t = staging.data;
    for (let i = 0; i < 3; i++) {
      expect(ofCluster(t, 'AWS::RDS::DBInstance', i)).toHaveLength(2);
      expect(ofCluster(t, 'AWS::ApplicationAutoScaling::ScalableTarget', i)).toHaveLength(1);
      expect(ofCluster(t, 'AWS::RDS::DBProxy', i)).toHaveLength(1);
      expect(ofCluster(t, 'AWS::RDS::DBProxyEndpoint', i)).toHaveLength(1);
      expect(ofCluster(t, 'Custom::AuroraDeletionProtection', i)).toHaveLength(1);
      expect(ofCluster(t, 'Custom::DatabaseMigrations', i)).toHaveLength(1);
    }
    const endpoints = Object.values(t.findResources('AWS::RDS::DBProxyEndpoint')).map((e) => e.Properties.DBProxyEndpointName as string);
    expect(new Set(endpoints).size).toBe(3);
  });

  test('the deletion protections each wait for everything else, but not for one another (no dependency cycle)', () => {
    const resources = staging.data.toJSON().Resources as Record<string, { DependsOn?: string[] }>;
    const protections = ids(staging.data, 'Custom::AuroraDeletionProtection');
    expect(protections).toHaveLength(3);
    for (const p of protections) {
      const deps = resources[p].DependsOn ?? [];
      expect(deps.filter((d) => protections.includes(d))).toEqual([]);
      // It still waits for the other clusters themselves.
      expect(deps).toEqual(expect.arrayContaining(ids(staging.data, 'AWS::RDS::DBCluster')));
    }
  });

  test('the directory is seeded after every cluster\'s migrations, against every cluster with its master secret', () => {
    const t = dev.data;
    const [directory] = Object.values(t.findResources('Custom::ShardDirectory'));
    expect(directory.DependsOn).toEqual(expect.arrayContaining(ids(t, 'Custom::DatabaseMigrations')));
    expect(ids(t, 'Custom::DatabaseMigrations')).toHaveLength(3);
    const clusterIds = ids(t, 'AWS::RDS::DBCluster');
    expect(directory.Properties).toMatchObject({
      LogicalShards: '256',
      Port: '5432',
      Clusters: [0, 1, 2].map((i) => ({
        Host: { 'Fn::GetAtt': [ofCluster(t, 'AWS::RDS::DBCluster', i)[0], 'Endpoint.Address'] },
        MasterSecretArn: { Ref: expect.stringMatching(new RegExp(`^${clusterPrefix(i)}MasterSecretAttachment`)) },
      })),
    });
    expect(clusterIds).toHaveLength(3);
  });

  test.each([
    ['shard directory', 'ShardDirectoryHandlerRole'],
    ['shard mover', 'ShardMoverRole'],
  ])('the %s reads the three master secrets and nothing else, decrypting through Secrets Manager only', (_, role) => {
    const t = dev.data;
    const statements = policyStatements(t, role);
    const reads = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(reads).toHaveLength(1);
    const masters = [0, 1, 2].map((i) => ({ Ref: expect.stringMatching(new RegExp(`^${clusterPrefix(i)}MasterSecretAttachment[0-9A-F]{8}$`)) }));
    expect(reads[0].Resource).toEqual(masters);
    const decrypt = statements.filter((s) => [s.Action].flat().includes('kms:Decrypt')) as Statement[];
    expect(decrypt).toHaveLength(1);
    expect(JSON.stringify(decrypt[0].Condition)).toContain('"kms:ViaService":{"Fn::Join":["",["secretsmanager.",');
    expect(statements.flatMap((s) => [s.Action].flat()).filter((a) => !/^(ec2|logs):/.test(a)).sort())
      .toEqual(['kms:Decrypt', 'secretsmanager:GetSecretValue']);
  });

  test.each([
    ['shard directory', 'ShardDirectorySecurityGroup'],
    ['shard mover', 'ShardMoverSecurityGroup'],
  ])('the %s reaches every cluster on 5432 (the writer directly, not the proxy)', (_, group) => {
    const t = staging.data;
    for (let i = 0; i < 3; i++) {
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432,
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${clusterPrefix(i)}SecurityGroup[0-9A-F]{8}$`), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp(`^${group}`), 'GroupId'] },
      });
    }
  });

  test('the shard mover runs in the VPC with the clusters and the logical shard count, and its name is an output for npm run reshard', () => {
    const t = dev.data;
    const fn = Object.entries(t.findResources('AWS::Lambda::Function')).find(([id]) => id.startsWith('ShardMoverFunction'))!;
    expect(fn).toBeDefined();
    const props = fn[1].Properties;
    expect(props.VpcConfig.SubnetIds.length).toBeGreaterThan(0);
    const { text, refs } = joined(props.Environment.Variables.RESHARD_CLUSTERS);
    const clusters = JSON.parse(text) as Array<{ host: string; port: number; secretArn: string }>;
    expect(clusters).toHaveLength(3);
    clusters.forEach((c, i) => {
      expect(c.port).toBe(5432);
      expect(refs[Number(/^<(\d+)>$/.exec(c.host)![1])]).toEqual({ 'Fn::GetAtt': [ofCluster(t, 'AWS::RDS::DBCluster', i)[0], 'Endpoint.Address'] });
      expect(JSON.stringify(refs[Number(/^<(\d+)>$/.exec(c.secretArn)![1])])).toMatch(new RegExp(`"${clusterPrefix(i)}MasterSecret`));
    });
    // What the handler parses (its contract): the values CloudFormation fills in, as deployed.
    const deployed = text.replace(/<(\d+)>/g, (_, n) => (JSON.stringify(refs[Number(n)]).includes('MasterSecret')
      ? `arn:aws:secretsmanager:us-east-1:111111111111:secret:master-${n}` : `cluster-${n}.cluster-abc.us-east-1.rds.amazonaws.com`));
    const parsed = reshardEnvSchema.parse({ ...props.Environment.Variables, RESHARD_CLUSTERS: deployed });
    expect(parsed.RESHARD_CLUSTERS).toHaveLength(3);
    expect(parsed.RESHARD_DATABASE).toBe(props.Environment.Variables.RESHARD_DATABASE);
    expect(props.Handler).toBe('index.handler');
    t.hasOutput('ReshardFunctionName', { Value: { Ref: fn[0] } });
  });

  test('mode none has neither directory nor shard mover', () => {
    // The unsharded staging of the first test (synth memoises it): one synth fewer.
    const plain = synth('staging').data;
    plain.resourceCountIs('Custom::ShardDirectory', 0);
    expect(Object.keys(plain.findOutputs('ReshardFunctionName'))).toEqual([]);
  });
});

describe('Compute stack', () => {
  test.each([
    ['API', 'WebApi', 'Api'],
    ['worker', 'Worker', 'Worker'],
  ])('dev (no proxy): the %s task gets the mode, the logical shards and DB_SHARDS: each cluster\'s endpoints and its own user\'s secret there', (_, task, user) => {
    const env = containerEnv(dev.compute, task);
    expect(env).toMatchObject({ DB_SHARDING_MODE: 'clusters', DB_LOGICAL_SHARDS: '256', DB_IAM_AUTH: 'false' });
    const { text, refs } = joined(env.DB_SHARDS);
    const shards = JSON.parse(text) as Array<Record<string, string>>;
    expect(shards).toHaveLength(3);
    const ref = (placeholder: string) => JSON.stringify(refs[Number(/^<(\d+)>$/.exec(placeholder)![1])]);
    shards.forEach((s, i) => {
      expect(Object.keys(s).sort()).toEqual(['readerHost', 'secretArn', 'writerHost']);
      // Weak cross-stack references (Fn::GetStackOutput) name the Data stack's outputs after the logical ids.
      expect(ref(s.writerHost)).toMatch(new RegExp(`${clusterPrefix(i)}Cluster[0-9A-F]{8}EndpointAddress`));
      expect(ref(s.readerHost)).toMatch(new RegExp(`${clusterPrefix(i)}Cluster[0-9A-F]{8}ReadEndpointAddress`));
      expect(ref(s.secretArn)).toMatch(new RegExp(`${clusterPrefix(i)}Roles${user}Secret`));
    });
    // What the workload parses at start (lib/contracts/container-env.ts), with the values CloudFormation fills in.
    const deployed = text.replace(/<(\d+)>/g, (_, n) => (JSON.stringify(refs[Number(n)]).includes('Secret')
      ? `arn:aws:secretsmanager:us-east-1:111111111111:secret:user-${n}` : `host-${n}.us-east-1.rds.amazonaws.com`));
    const parsed = containerEnvSchema.safeParse({
      DB_WRITER_HOST: 'w', DB_READER_HOST: 'r', DB_NAME: 'app', DB_USERNAME: 'app', CACHE_HOST: 'c', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
      DB_SHARDING_MODE: env.DB_SHARDING_MODE, DB_LOGICAL_SHARDS: env.DB_LOGICAL_SHARDS, DB_SHARDS: deployed,
    });
    expect(parsed.error?.issues).toBeUndefined();
  });

  test('staging (proxy): DB_SHARDS names each cluster\'s proxy endpoints and no secret (IAM tokens)', () => {
    const env = containerEnv(staging.compute, 'WebApi');
    expect(env).toMatchObject({ DB_SHARDING_MODE: 'clusters', DB_IAM_AUTH: 'true' });
    const { text, refs } = joined(env.DB_SHARDS);
    const shards = JSON.parse(text) as Array<Record<string, string>>;
    shards.forEach((s, i) => {
      expect(Object.keys(s).sort()).toEqual(['readerHost', 'writerHost']);
      expect(JSON.stringify(refs[Number(/^<(\d+)>$/.exec(s.writerHost)![1])])).toMatch(new RegExp(`${clusterPrefix(i)}ClusterProxy`));
      expect(JSON.stringify(refs[Number(/^<(\d+)>$/.exec(s.readerHost)![1])])).toMatch(new RegExp(`${clusterPrefix(i)}ProxyReadOnlyEndpoint`));
    });
  });

  test('dev: the API task role reads its own user\'s secret on each of the three clusters, and no other secret', () => {
    const statements = policyStatements(dev.compute, 'WebApiTaskDefinitionTaskRole');
    const read = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    const resources = JSON.stringify(read.map((s) => s.Resource));
    for (let i = 0; i < 3; i++) expect(resources).toMatch(new RegExp(`${clusterPrefix(i)}RolesApiSecret`));
    expect(resources).not.toMatch(/MasterSecret|WorkerSecret/);
    expect(read.flatMap((s) => [s.Resource].flat())).toHaveLength(3);
  });

  test('staging: the API task role may connect as its user to each cluster\'s proxy', () => {
    const statements = policyStatements(staging.compute, 'WebApiTaskDefinitionTaskRole');
    const connect = statements.filter((s) => [s.Action].flat().includes('rds-db:connect'));
    const resources = JSON.stringify(connect.map((s) => s.Resource));
    for (let i = 0; i < 3; i++) expect(resources).toMatch(new RegExp(`${clusterPrefix(i)}ClusterProxy`));
    expect(connect.flatMap((s) => [s.Resource].flat())).toHaveLength(3);
  });

  test.each([['dev', 'SecurityGroup', dev], ['staging', 'ProxySecurityGroup', staging]] as const)(
    '%s: API and worker reach every cluster (its %s) on 5432', (_, target, s) => {
      const ingress = Object.values(s.compute.findResources('AWS::EC2::SecurityGroupIngress'))
        .filter((r) => r.Properties.FromPort === 5432);
      for (let i = 0; i < 3; i++) {
        const to = ingress.filter((r) => new RegExp(`${clusterPrefix(i)}${target}[0-9A-F]{8}GroupId`).test(JSON.stringify(r.Properties.GroupId))
          && (i !== 0 || !/DatabaseShard/.test(JSON.stringify(r.Properties.GroupId))));
        const from = to.map((r) => JSON.stringify(r.Properties.SourceSecurityGroupId));
        expect(from.some((f) => /Worker/.test(f))).toBe(true);
        expect(from.some((f) => /Web/.test(f))).toBe(true);
      }
    });
});

describe('Monitoring stack', () => {
  test('is given every cluster (and its proxy) for the per-shard rows and the hot-shard alarm; mode none gives none', () => {
    const monitoring = JSON.stringify(staging.monitoring.toJSON());
    for (let i = 0; i < 3; i++) {
      expect(monitoring).toMatch(new RegExp(`PublishOutputRef${clusterPrefix(i)}Cluster[0-9A-F]{8}`));
      expect(monitoring).toMatch(new RegExp(`PublishOutputRef${clusterPrefix(i)}ClusterProxy`));
    }
    expect(JSON.stringify(synth('staging').monitoring.toJSON())).not.toMatch(/DatabaseShard/);
  });
});
