import {
  CreateDBClusterCommand,
  CreateDBInstanceCommand,
  DBClusterNotFoundFault,
  DBInstanceNotFoundFault,
  DeleteDBClusterCommand,
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  InvalidDBInstanceStateFault,
  RDSClient,
} from '@aws-sdk/client-rds';
import { AUTOSCALING_TAG } from '../../lib/contracts/aurora-autoscaling';
import {
  AUTOSCALED_PREFIX,
  isComplete,
  onEvent,
  physicalId,
  type CleanupEvent,
  type RdsClientLike,
  type RdsCommand,
} from '../../lambda/aurora-reader-cleanup/cleanup';

const CLUSTER = 'scalingblueprint-staging-data-aurora';
// What CloudFormation names the instances CDK declares (writer and readers): never the autoscaling prefix.
const WRITER = 'scalingblueprint-staging-data-databaseclusterwriterd43085c6-abc123';
const READER = 'scalingblueprint-staging-data-databaseclusterreader1d8b7610-def456';
const AUTO_1 = `${AUTOSCALED_PREFIX}61aabbcc-4e2f-4c65-b620-ab7421abc123`;
const AUTO_2 = `${AUTOSCALED_PREFIX}0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0`;

const meta = { $metadata: {} };
const notFoundInstance = (id: string) => new DBInstanceNotFoundFault({ ...meta, message: `DBInstance ${id} not found.` });

/**
 * An RDS stand-in: a cluster's members and each instance's status, with the service's answers (errors
 * included) and a log of every command sent. `finishDeletes()` is time passing: `deleting` instances go.
 */
class FakeRds implements RdsClientLike {
  readonly sent: Array<{ command: string; input: Record<string, unknown> }> = [];
  readonly instances = new Map<string, string>();
  /** Errors to throw once for a command name + instance id, before the fake's own answer (races). */
  readonly once = new Map<string, Error>();
  clusterExists = true;
  /** Instances with the prefix that Application Auto Scaling did not tag (created by hand). */
  readonly untagged = new Set<string>();

  constructor(instances: Record<string, string>) {
    for (const [id, status] of Object.entries(instances)) this.instances.set(id, status);
  }

  async send(command: RdsCommand): Promise<unknown> {
    const name = command.constructor.name;
    const input = command.input as Record<string, unknown>;
    this.sent.push({ command: name, input });
    const id = String(input.DBInstanceIdentifier ?? '');
    const scripted = this.once.get(`${name} ${id}`);
    if (scripted) {
      this.once.delete(`${name} ${id}`);
      throw scripted;
    }
    if (command instanceof DescribeDBClustersCommand) {
      if (!this.clusterExists) throw new DBClusterNotFoundFault({ ...meta, message: `DBCluster ${CLUSTER} not found.` });
      const members = [...this.instances.keys()].map((m) => ({ DBInstanceIdentifier: m, IsClusterWriter: m === WRITER }));
      return { DBClusters: [{ DBClusterIdentifier: input.DBClusterIdentifier, DBClusterMembers: members }] };
    }
    const status = this.instances.get(id);
    if (status === undefined) throw notFoundInstance(id);
    if (command instanceof DescribeDBInstancesCommand) {
      const TagList = id.startsWith(AUTOSCALED_PREFIX) && !this.untagged.has(id) ? [{ Key: AUTOSCALING_TAG, Value: `cluster:${CLUSTER}` }] : [];
      return { DBInstances: [{ DBInstanceIdentifier: id, DBClusterIdentifier: CLUSTER, DBInstanceStatus: status, TagList }] };
    }
    if (status !== 'available') {
      throw new InvalidDBInstanceStateFault({ ...meta, message: `Instance ${id} is in state ${status}.` });
    }
    this.instances.set(id, 'deleting');
    return { DBInstance: { DBInstanceIdentifier: id, DBInstanceStatus: 'deleting' } };
  }

  finishDeletes(): void {
    for (const [id, status] of this.instances) if (status === 'deleting') this.instances.delete(id);
  }

  /** The instances a command was sent for, in order. */
  targets(command: string): string[] {
    return this.sent.filter((s) => s.command === command).map((s) => String(s.input.DBInstanceIdentifier));
  }
}

const event = (RequestType: CleanupEvent['RequestType'], extra: Partial<CleanupEvent> = {}): CleanupEvent => ({
  RequestType,
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:us-east-1:111111111111:function:framework-onEvent', ClusterIdentifier: CLUSTER },
  ...(RequestType !== 'Create' && { PhysicalResourceId: physicalId(CLUSTER) }),
  ...extra,
});

describe('Create and Update change nothing', () => {
  test.each(['Create', 'Update'] as const)('%s: a stable physical id per cluster, no RDS call, complete at once', async (type) => {
    const rds = new FakeRds({ [WRITER]: 'available', [AUTO_1]: 'available' });
    await expect(onEvent(event(type), rds)).resolves.toEqual({ PhysicalResourceId: `aurora-reader-cleanup:${CLUSTER}` });
    await expect(isComplete(event(type), rds)).resolves.toEqual({ IsComplete: true });
    expect(rds.sent).toEqual([]);
  });

  test('a new cluster identifier gives a new physical id, so CloudFormation cleans up the old cluster with a Delete', async () => {
    const rds = new FakeRds({});
    const update = event('Update', { ResourceProperties: { ClusterIdentifier: 'other-cluster' } });
    expect((await onEvent(update, rds)).PhysicalResourceId).toBe('aurora-reader-cleanup:other-cluster');
  });

  test('a resource without ClusterIdentifier fails with what is missing', async () => {
    const rds = new FakeRds({});
    await expect(onEvent(event('Create', { ResourceProperties: {} }), rds)).rejects.toThrow(/ClusterIdentifier is missing/);
    await expect(isComplete(event('Delete', { ResourceProperties: {} }), rds)).rejects.toThrow(/ClusterIdentifier is missing/);
  });
});

test('index.ts exports the handlers the functions name (index.onEvent, index.isComplete)', async () => {
  const index = await import('../../lambda/aurora-reader-cleanup/index');
  // Create and Update make no AWS call, so the module's real client is never used here.
  await expect(index.onEvent(event('Create'))).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
  await expect(index.isComplete(event('Update'))).resolves.toEqual({ IsComplete: true });
});

describe('Delete', () => {
  test('no autoscaled reader: the CloudFormation-managed instances are not touched, complete at once', async () => {
    const rds = new FakeRds({ [WRITER]: 'available', [READER]: 'available' });
    await expect(onEvent(event('Delete'), rds)).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
    await expect(isComplete(event('Delete'), rds)).resolves.toMatchObject({ IsComplete: true });
    expect(rds.sent.map((s) => s.command)).toEqual(['DescribeDBClustersCommand', 'DescribeDBClustersCommand']);
    expect(rds.sent[0].input).toEqual({ DBClusterIdentifier: CLUSTER });
  });

  test('cluster already gone: nothing to do', async () => {
    const rds = new FakeRds({});
    rds.clusterExists = false;
    await onEvent(event('Delete'), rds);
    await expect(isComplete(event('Delete'), rds)).resolves.toMatchObject({ IsComplete: true });
    expect(rds.targets('DeleteDBInstanceCommand')).toEqual([]);
  });

  test('several autoscaled readers: only those are deleted, and the resource waits until they are gone', async () => {
    const rds = new FakeRds({ [WRITER]: 'available', [AUTO_1]: 'available', [READER]: 'available', [AUTO_2]: 'available' });
    await onEvent(event('Delete'), rds);
    expect(rds.targets('DeleteDBInstanceCommand')).toEqual([AUTO_1, AUTO_2]);
    // Only the identifier: Aurora instances have no final snapshot of their own.
    expect(rds.sent.find((s) => s.command === 'DeleteDBInstanceCommand')!.input).toEqual({ DBInstanceIdentifier: AUTO_1 });
    expect(rds.targets('DescribeDBInstancesCommand')).not.toContain(WRITER);

    await expect(isComplete(event('Delete'), rds)).resolves.toEqual({ IsComplete: false });
    rds.finishDeletes();
    await expect(isComplete(event('Delete'), rds)).resolves.toEqual({ IsComplete: true, Data: { RemovedFrom: CLUSTER } });

    const touched = new Set([...rds.targets('DescribeDBInstancesCommand'), ...rds.targets('DeleteDBInstanceCommand')]);
    expect([...touched].sort()).toEqual([AUTO_1, AUTO_2].sort());
    expect([...rds.instances.keys()]).toEqual([WRITER, READER]);
  });

  test('readers already deleting are waited for, never deleted again', async () => {
    const rds = new FakeRds({ [WRITER]: 'available', [AUTO_1]: 'deleting', [AUTO_2]: 'available' });
    await onEvent(event('Delete'), rds);
    await expect(isComplete(event('Delete'), rds)).resolves.toEqual({ IsComplete: false });
    await expect(isComplete(event('Delete'), rds)).resolves.toEqual({ IsComplete: false });
    expect(rds.targets('DeleteDBInstanceCommand')).toEqual([AUTO_2]);
    rds.finishDeletes();
    await expect(isComplete(event('Delete'), rds)).resolves.toMatchObject({ IsComplete: true });
  });

  test('a reader autoscaling was still creating is deleted on a later poll, once RDS allows it', async () => {
    const rds = new FakeRds({ [WRITER]: 'available', [AUTO_1]: 'creating' });
    await onEvent(event('Delete'), rds); // InvalidDBInstanceState: not an error, retried
    await expect(isComplete(event('Delete'), rds)).resolves.toEqual({ IsComplete: false });
    expect(rds.instances.get(AUTO_1)).toBe('creating');
    rds.instances.set(AUTO_1, 'available');
    await expect(isComplete(event('Delete'), rds)).resolves.toEqual({ IsComplete: false });
    expect(rds.instances.get(AUTO_1)).toBe('deleting');
    rds.finishDeletes();
    await expect(isComplete(event('Delete'), rds)).resolves.toMatchObject({ IsComplete: true });
  });

  test('NotFound races count as gone: listed by the cluster but gone when described, or gone when deleted', async () => {
    const rds = new FakeRds({ [WRITER]: 'available', [AUTO_1]: 'available', [AUTO_2]: 'available' });
    rds.once.set(`DescribeDBInstancesCommand ${AUTO_1}`, notFoundInstance(AUTO_1));
    rds.once.set(`DeleteDBInstanceCommand ${AUTO_2}`, notFoundInstance(AUTO_2));
    await onEvent(event('Delete'), rds);
    expect(rds.targets('DeleteDBInstanceCommand')).toEqual([AUTO_2]);
    // The fake still lists both (the errors were the race); once RDS agrees they are gone, the wait ends.
    rds.instances.delete(AUTO_1);
    rds.instances.delete(AUTO_2);
    await expect(isComplete(event('Delete'), rds)).resolves.toMatchObject({ IsComplete: true });
  });

  test('any other error fails the resource with the service message (CloudFormation shows it)', async () => {
    const rds = new FakeRds({ [AUTO_1]: 'available' });
    const denied = Object.assign(new Error('User is not authorized to perform: rds:DeleteDBInstance'), { name: 'AccessDenied' });
    rds.once.set(`DeleteDBInstanceCommand ${AUTO_1}`, denied);
    await expect(onEvent(event('Delete'), rds)).rejects.toThrow(/not authorized/);
  });

  test('a member named like an autoscaled reader but without the cluster\'s tag is refused by name, after the tagged ones are deleted', async () => {
    // The role may delete only instances tagged for this cluster (lib/constructs/reader-cleanup.ts): say which
    // instance and what to do, instead of failing on an AccessDenied.
    const rds = new FakeRds({ [WRITER]: 'available', [AUTO_1]: 'available', [AUTO_2]: 'available' });
    rds.untagged.add(AUTO_2);
    await expect(onEvent(event('Delete'), rds)).rejects.toThrow(
      `${AUTO_2}: named like the readers Application Auto Scaling adds to ${CLUSTER}, but not tagged application-autoscaling:resourceId=cluster:${CLUSTER}; this function may delete only the readers tagged so. Delete it yourself (aws rds delete-db-instance --db-instance-identifier <id>), then retry.`,
    );
    expect(rds.targets('DeleteDBInstanceCommand')).toEqual([AUTO_1]);
  });

  test('the physical id of the resource being deleted is returned unchanged', async () => {
    const rds = new FakeRds({});
    await expect(onEvent(event('Delete', { PhysicalResourceId: 'aurora-reader-cleanup:old-cluster' }), rds)).resolves.toEqual({
      PhysicalResourceId: 'aurora-reader-cleanup:old-cluster',
    });
  });

  test('each poll logs what it does and what is left', async () => {
    const rds = new FakeRds({ [AUTO_1]: 'available' });
    const lines: Array<[string, Record<string, unknown> | undefined]> = [];
    await onEvent(event('Delete'), rds, (message, fields) => lines.push([message, fields]));
    await isComplete(event('Delete'), rds, (message, fields) => lines.push([message, fields]));
    expect(lines).toEqual([
      ['deleting autoscaled reader', { cluster: CLUSTER, instance: AUTO_1, was: 'available' }],
      ['delete requested', { cluster: CLUSTER, remaining: [AUTO_1] }],
      ['waiting for autoscaled readers to go', { cluster: CLUSTER, remaining: [`${AUTO_1} (deleting)`] }],
    ]);
  });
});

// The same code against moto_server's RDS (started by the jest global setup): real SDK serialisation, real
// service errors. moto deletes instances at once, so the waiting itself is covered by the fake above.
describe('against a local RDS endpoint (moto)', () => {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${process.env.SB_SQS_PORT ?? 54566}`;
  const rds = new RDSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const cluster = `cleanup-test-${process.pid}-${Date.now()}`;
  const cfnManaged = [`${cluster}-writer`, `${cluster}-reader`];
  const autoscaled = [`${AUTOSCALED_PREFIX}${process.pid}a`, `${AUTOSCALED_PREFIX}${process.pid}b`];

  beforeAll(async () => {
    await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: cluster, Engine: 'aurora-postgresql', MasterUsername: 'app_admin', MasterUserPassword: 'not-a-secret-1' }));
    for (const id of [...cfnManaged, ...autoscaled]) {
      // Tagged as Application Auto Scaling tags the readers it adds (the handler deletes only those).
      const Tags = autoscaled.includes(id) ? [{ Key: AUTOSCALING_TAG, Value: `cluster:${cluster}` }] : undefined;
      await rds.send(new CreateDBInstanceCommand({ DBInstanceIdentifier: id, DBClusterIdentifier: cluster, Engine: 'aurora-postgresql', DBInstanceClass: 'db.r6g.large', Tags }));
    }
  });

  afterAll(async () => {
    for (const id of [...cfnManaged, ...autoscaled]) await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: id })).catch(() => undefined);
    await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: cluster, SkipFinalSnapshot: true })).catch(() => undefined);
    rds.destroy();
  });

  test('Delete removes the autoscaled readers and leaves the others; a second run and a missing cluster are no-ops', async () => {
    const del: CleanupEvent = { RequestType: 'Delete', PhysicalResourceId: physicalId(cluster), ResourceProperties: { ClusterIdentifier: cluster } };
    await onEvent(del, rds);
    await expect(isComplete(del, rds)).resolves.toMatchObject({ IsComplete: true });
    const { DBClusters } = await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: cluster }));
    expect(DBClusters![0].DBClusterMembers!.map((m) => m.DBInstanceIdentifier).sort()).toEqual([...cfnManaged].sort());
    await expect(onEvent(del, rds)).resolves.toEqual({ PhysicalResourceId: physicalId(cluster) });
    const gone: CleanupEvent = { ...del, ResourceProperties: { ClusterIdentifier: `${cluster}-missing` } };
    await expect(isComplete(gone, rds)).resolves.toMatchObject({ IsComplete: true });
  });
});
