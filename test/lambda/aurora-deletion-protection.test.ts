import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  CreateDBClusterCommand,
  DBClusterNotFoundFault,
  DeleteDBClusterCommand,
  DescribeDBClustersCommand,
  InvalidDBClusterStateFault,
  ModifyDBClusterCommand,
  RDSClient,
} from '@aws-sdk/client-rds';
import {
  CREATE_ROLLBACK,
  onEvent,
  physicalId,
  RETRY,
  STACK_DELETION,
  type CloudFormationClientLike,
  type ProtectionEvent,
  type RdsClientLike,
  type RdsCommand,
} from '../../lambda/aurora-deletion-protection/protection';

const CLUSTER = 'scalingblueprint-staging-data-aurora';
const STACK_ID = 'arn:aws:cloudformation:eu-west-1:123456789012:stack/ScalingBlueprint-Staging-Data/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0';
const meta = { $metadata: {} };

/** An RDS stand-in for one cluster: whether it exists and is protected, errors to throw first, every command sent. */
class FakeRds implements RdsClientLike {
  readonly sent: Array<{ command: string; input: Record<string, unknown> }> = [];
  exists = true;
  deletionProtection = false;
  /** Errors thrown by the next ModifyDBCluster calls, in order (a busy cluster). */
  readonly modifyErrors: Error[] = [];
  /** What ModifyDBCluster answers for DeletionProtection, if not what was asked (a misbehaving service). */
  answerOverride?: boolean;

  async send(command: RdsCommand): Promise<unknown> {
    const input = command.input as Record<string, unknown>;
    this.sent.push({ command: command.constructor.name, input });
    if (!this.exists) throw new DBClusterNotFoundFault({ ...meta, message: `DBCluster ${CLUSTER} not found.` });
    if (command instanceof ModifyDBClusterCommand) {
      const error = this.modifyErrors.shift();
      if (error) throw error;
      this.deletionProtection = input.DeletionProtection as boolean;
      return { DBCluster: { DBClusterIdentifier: CLUSTER, DeletionProtection: this.answerOverride ?? this.deletionProtection } };
    }
    return { DBClusters: [{ DBClusterIdentifier: CLUSTER, DeletionProtection: this.deletionProtection }] };
  }
}

/** CloudFormation answering DescribeStacks with one status. */
const stackIn = (status: string) => {
  const asked: string[] = [];
  const client: CloudFormationClientLike = {
    async send(command: DescribeStacksCommand) {
      asked.push(String(command.input.StackName));
      return { Stacks: [{ StackName: 'ScalingBlueprint-Staging-Data', StackStatus: status }] };
    },
  };
  return { client, asked };
};

const event = (RequestType: ProtectionEvent['RequestType'], ClusterIdentifier: string | undefined = CLUSTER): ProtectionEvent => ({
  RequestType,
  StackId: STACK_ID,
  ...(RequestType !== 'Create' && { PhysicalResourceId: physicalId(CLUSTER) }),
  ResourceProperties: { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', ...(ClusterIdentifier && { ClusterIdentifier }) },
});
const noSleep = async () => undefined;

describe('Create and Update: protection on, once the rest of the stack exists', () => {
  test('sends DeletionProtection=true and nothing else (no ApplyImmediately: pending changes stay pending)', async () => {
    const rds = new FakeRds();
    await expect(onEvent(event('Create'), { rds, cloudFormation: stackIn('CREATE_IN_PROGRESS').client })).resolves.toEqual({
      PhysicalResourceId: `aurora-deletion-protection:${CLUSTER}`,
      Data: { ClusterIdentifier: CLUSTER },
    });
    expect(rds.sent).toEqual([{ command: 'ModifyDBClusterCommand', input: { DBClusterIdentifier: CLUSTER, DeletionProtection: true } }]);
    expect(rds.deletionProtection).toBe(true);
  });

  test('Update of a replaced cluster protects the new one, under a new physical id (CloudFormation then deletes the old resource)', async () => {
    const rds = new FakeRds();
    const replaced = { ...event('Update', 'scalingblueprint-staging-data-aurora-2') };
    await expect(onEvent(replaced, { rds, cloudFormation: stackIn('UPDATE_IN_PROGRESS').client })).resolves.toMatchObject({
      PhysicalResourceId: 'aurora-deletion-protection:scalingblueprint-staging-data-aurora-2',
    });
    expect(rds.sent[0].input).toEqual({ DBClusterIdentifier: 'scalingblueprint-staging-data-aurora-2', DeletionProtection: true });
  });

  test('a busy cluster (its first backup) is retried every 30 s, then the last error fails the resource', async () => {
    const rds = new FakeRds();
    const busy = () => new InvalidDBClusterStateFault({ ...meta, message: 'DB cluster is not in available state' });
    rds.modifyErrors.push(busy(), busy());
    const slept: number[] = [];
    const log: Array<[string, unknown]> = [];
    await onEvent(event('Create'), { rds, cloudFormation: stackIn('CREATE_IN_PROGRESS').client }, (m, f) => log.push([m, f]), async (ms) => { slept.push(ms); });
    expect(slept).toEqual([30_000, 30_000]);
    expect(rds.deletionProtection).toBe(true);
    expect(log.map(([m]) => m)).toEqual(['cluster busy; retrying', 'cluster busy; retrying', 'deletion protection on']);

    const stuck = new FakeRds();
    stuck.modifyErrors.push(...Array.from({ length: RETRY.attempts }, busy));
    await expect(onEvent(event('Create'), { rds: stuck, cloudFormation: stackIn('CREATE_IN_PROGRESS').client }, undefined, noSleep)).rejects.toThrow('DB cluster is not in available state');
    expect(stuck.sent).toHaveLength(RETRY.attempts);
  });

  test('a missing cluster, a missing property or an answer that is not "protected" fail the resource, by name', async () => {
    const gone = new FakeRds();
    gone.exists = false;
    await expect(onEvent(event('Create'), { rds: gone, cloudFormation: stackIn('CREATE_IN_PROGRESS').client })).rejects.toThrow(`DB cluster ${CLUSTER} not found: deletion protection cannot be turned on`);
    await expect(onEvent(event('Create', ''), { rds: new FakeRds(), cloudFormation: stackIn('CREATE_IN_PROGRESS').client })).rejects.toThrow('ResourceProperties.ClusterIdentifier is missing');
    const odd = new FakeRds();
    odd.answerOverride = false;
    await expect(onEvent(event('Create'), { rds: odd, cloudFormation: stackIn('CREATE_IN_PROGRESS').client })).rejects.toThrow(`RDS answered ModifyDBCluster for ${CLUSTER} with DeletionProtection false, not true`);
  });
});

describe('Delete: by what the stack is doing', () => {
  test(`${CREATE_ROLLBACK} (the stack's creation failed): protection off, so the rollback can delete the cluster it created`, async () => {
    const rds = new FakeRds();
    rds.deletionProtection = true;
    const cfn = stackIn(CREATE_ROLLBACK);
    await expect(onEvent(event('Delete'), { rds, cloudFormation: cfn.client })).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
    expect(cfn.asked).toEqual([STACK_ID]);
    expect(rds.deletionProtection).toBe(false);
    expect(rds.sent.map((c) => c.command)).toEqual(['DescribeDBClustersCommand', 'ModifyDBClusterCommand']);
  });

  test(`${CREATE_ROLLBACK} with the cluster unprotected or gone: nothing to change`, async () => {
    const rds = new FakeRds();
    await onEvent(event('Delete'), { rds, cloudFormation: stackIn(CREATE_ROLLBACK).client });
    expect(rds.sent.map((c) => c.command)).toEqual(['DescribeDBClustersCommand']);
    rds.exists = false;
    await expect(onEvent(event('Delete'), { rds, cloudFormation: stackIn(CREATE_ROLLBACK).client })).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
  });

  test(`${STACK_DELETION} while the cluster is protected: refused before anything is deleted, with the command that allows it`, async () => {
    const rds = new FakeRds();
    rds.deletionProtection = true;
    await expect(onEvent(event('Delete'), { rds, cloudFormation: stackIn(STACK_DELETION).client })).rejects.toThrow(
      `DB cluster ${CLUSTER} has deletion protection on, so the stack deletion stops here, before anything is deleted (CloudFormation would delete the instances and then fail at the cluster). ` +
        `To delete the stack and the cluster (a final snapshot is taken), turn it off first: aws rds modify-db-cluster --db-cluster-identifier ${CLUSTER} --no-deletion-protection, then delete the stack again.`,
    );
    expect(rds.deletionProtection).toBe(true);
    expect(rds.sent.map((c) => c.command)).toEqual(['DescribeDBClustersCommand']);
  });

  test(`${STACK_DELETION} once protection is off (or the cluster is gone): the deletion goes on`, async () => {
    const rds = new FakeRds();
    await expect(onEvent(event('Delete'), { rds, cloudFormation: stackIn(STACK_DELETION).client })).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
    rds.exists = false;
    await expect(onEvent(event('Delete'), { rds, cloudFormation: stackIn(STACK_DELETION).client })).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
  });

  test.each(['UPDATE_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS', 'UPDATE_ROLLBACK_IN_PROGRESS'])(
    '%s (a replaced cluster, an update rolled back): the cluster is left as it is', async (status) => {
      const rds = new FakeRds();
      rds.deletionProtection = true;
      const log: string[] = [];
      await onEvent(event('Delete'), { rds, cloudFormation: stackIn(status).client }, (m) => log.push(m));
      expect(rds.sent).toEqual([]);
      expect(log).toEqual(['nothing to do on delete']);
    });
});

test('index.ts exports the handler the function names (index.onEvent)', async () => {
  const index = await import('../../lambda/aurora-deletion-protection/index');
  expect(typeof index.onEvent).toBe('function');
});

// The RDS calls against moto_server (started by the jest global setup): real SDK serialisation, and RDS's
// refusal to delete a protected cluster, the refusal that leaves a rolled-back stack in ROLLBACK_FAILED.
// moto has no stack that is rolling back, so the stack status comes from the stub above.
describe('against a local RDS endpoint (moto)', () => {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${process.env.SB_SQS_PORT ?? 54566}`;
  const rds = new RDSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  const cluster = `protection-test-${process.pid}-${Date.now()}`;
  const on = (type: ProtectionEvent['RequestType'], status: string) =>
    onEvent({ ...event(type), ResourceProperties: { ClusterIdentifier: cluster } }, { rds, cloudFormation: stackIn(status).client });
  const isProtected = async () => (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: cluster }))).DBClusters![0].DeletionProtection;

  beforeAll(async () => {
    await rds.send(new CreateDBClusterCommand({ DBClusterIdentifier: cluster, Engine: 'aurora-postgresql', MasterUsername: 'app_admin', MasterUserPassword: 'not-a-secret-1' }));
  });

  afterAll(async () => {
    await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: cluster, DeletionProtection: false })).catch(() => undefined);
    await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: cluster, SkipFinalSnapshot: true })).catch(() => undefined);
    rds.destroy();
  });

  test('Create protects the cluster, and RDS then refuses to delete it; a rolled-back creation lifts it and the delete goes through', async () => {
    await on('Create', 'CREATE_IN_PROGRESS');
    expect(await isProtected()).toBe(true);
    await expect(rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: cluster, SkipFinalSnapshot: true }))).rejects.toThrow(/Cannot delete protected Cluster/);
    await expect(on('Delete', STACK_DELETION)).rejects.toThrow(`DB cluster ${cluster} has deletion protection on`);
    await on('Delete', CREATE_ROLLBACK);
    expect(await isProtected()).toBe(false);
    await rds.send(new DeleteDBClusterCommand({ DBClusterIdentifier: cluster, SkipFinalSnapshot: true }));
    await expect(on('Delete', CREATE_ROLLBACK)).resolves.toEqual({ PhysicalResourceId: physicalId(CLUSTER) });
  });
});
