import { DescribeStacksCommand, type DescribeStacksCommandOutput } from '@aws-sdk/client-cloudformation';
import {
  DescribeDBClustersCommand,
  ModifyDBClusterCommand,
  type DescribeDBClustersCommandOutput,
  type ModifyDBClusterCommandOutput,
} from '@aws-sdk/client-rds';

/**
 * Turns RDS deletion protection on for an Aurora cluster once the rest of its stack exists, and off again
 * only when CloudFormation rolls back the stack's creation.
 *
 * Why not the template's `DeletionProtection: true`: RDS refuses to delete a protected cluster ("Cannot
 * delete protected Cluster, please disable deletion protection and try again", as CloudFormation's own
 * AWS::RDS::DBCluster handler reports it), so when a first deploy fails after the cluster exists, the
 * rollback cannot delete it and the stack ends in ROLLBACK_FAILED. The custom resource that runs this
 * depends on every other resource of the stack: it is created last, so the protection comes on once nothing
 * else can fail, and it is deleted first.
 *
 * Pure logic: every AWS call goes through the clients passed in, so tests run it against stubs and a local
 * endpoint. `index.ts` wires it to the CDK Provider framework.
 */

/** The commands this module sends to RDS. */
export type RdsCommand = DescribeDBClustersCommand | ModifyDBClusterCommand;

/** The parts of `RDSClient` and `CloudFormationClient` used here. */
export interface RdsClientLike {
  send(command: RdsCommand): Promise<unknown>;
}
export interface CloudFormationClientLike {
  send(command: DescribeStacksCommand): Promise<unknown>;
}
export interface Clients {
  readonly rds: RdsClientLike;
  readonly cloudFormation: CloudFormationClientLike;
}

/** Properties of the custom resource (CloudFormation passes every value as a string). */
export interface ProtectionProperties {
  readonly ServiceToken?: string;
  /** The DB cluster to protect. */
  readonly ClusterIdentifier?: string;
}

/** What the Provider framework passes to onEvent (the fields used here). */
export interface ProtectionEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  /** The stack the resource belongs to (its ARN), as CloudFormation sends it with every request. */
  readonly StackId: string;
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: ProtectionProperties;
}

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export type Log = (message: string, fields?: Record<string, unknown>) => void;
export type Sleep = (ms: number) => Promise<void>;

/**
 * The stack status while CloudFormation removes what a failed stack creation created: "Ongoing removal of
 * one or more stacks after a failed stack creation or after an explicitly canceled stack creation"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html, stack status codes).
 * An update's rollback is UPDATE_ROLLBACK_*, a deletion DELETE_IN_PROGRESS.
 */
export const CREATE_ROLLBACK = 'ROLLBACK_IN_PROGRESS';
export const STACK_DELETION = 'DELETE_IN_PROGRESS';

/** RDS error names (SDK v3 class names; the query protocol's bare codes too). */
const NOT_FOUND_CLUSTER = new Set(['DBClusterNotFoundFault', 'DBClusterNotFound']);
/** The cluster is busy (e.g. `backing-up` right after creation, `modifying`): try again shortly. */
const NOT_NOW = new Set(['InvalidDBClusterStateFault', 'InvalidDBClusterState']);

/** Tries while the cluster is busy: 24 × 30 s, inside the framework's 15-minute invocation. */
export const RETRY = { attempts: 24, intervalMs: 30_000 } as const;

const errorName = (e: unknown): string => (typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : '');
const realSleep: Sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** One physical id per cluster: a replaced cluster gets a new resource, and the old one a Delete. */
export function physicalId(clusterIdentifier: string): string {
  return `aurora-deletion-protection:${clusterIdentifier}`;
}

function clusterOf(event: ProtectionEvent): string {
  const id = event.ResourceProperties.ClusterIdentifier;
  if (!id) throw new Error('ResourceProperties.ClusterIdentifier is missing: the custom resource must name the DB cluster');
  return id;
}

/**
 * Sets the cluster's deletion protection and checks what RDS answers. Only DeletionProtection is sent, and
 * no ApplyImmediately: the change "is applied immediately, regardless of when you choose to apply" it
 * (Aurora User Guide, "Modifying an Amazon Aurora DB cluster":
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.Modifying.html), and ApplyImmediately
 * would also apply whatever else someone left pending for the maintenance window.
 * Returns false when the cluster does not exist.
 */
export async function setDeletionProtection(rds: RdsClientLike, cluster: string, on: boolean, log: Log = () => undefined, sleep: Sleep = realSleep): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      const out = (await rds.send(new ModifyDBClusterCommand({ DBClusterIdentifier: cluster, DeletionProtection: on }))) as ModifyDBClusterCommandOutput;
      if (out.DBCluster?.DeletionProtection !== on) {
        throw new Error(`RDS answered ModifyDBCluster for ${cluster} with DeletionProtection ${String(out.DBCluster?.DeletionProtection)}, not ${on}`);
      }
      log(on ? 'deletion protection on' : 'deletion protection off', { cluster });
      return true;
    } catch (e) {
      const name = errorName(e);
      if (NOT_FOUND_CLUSTER.has(name)) return false;
      if (!NOT_NOW.has(name) || attempt >= RETRY.attempts) throw e;
      log('cluster busy; retrying', { cluster, attempt, error: (e as Error).message });
      await sleep(RETRY.intervalMs);
    }
  }
}

async function stackStatus(cloudFormation: CloudFormationClientLike, stackId: string): Promise<string> {
  const out = (await cloudFormation.send(new DescribeStacksCommand({ StackName: stackId }))) as DescribeStacksCommandOutput;
  const status = out.Stacks?.[0]?.StackStatus;
  if (!status) throw new Error(`DescribeStacks returned no status for ${stackId}`);
  return status;
}

async function isProtected(rds: RdsClientLike, cluster: string): Promise<boolean> {
  try {
    const out = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: cluster }))) as DescribeDBClustersCommandOutput;
    return out.DBClusters?.[0]?.DeletionProtection === true;
  } catch (e) {
    if (NOT_FOUND_CLUSTER.has(errorName(e))) return false;
    throw e;
  }
}

/**
 * Create and Update: protection on. Delete, by what the stack is doing:
 * - rolling back its creation: protection off, so that CloudFormation can delete the cluster it created
 *   (the cluster has a fixed name: kept, it would make the retried deploy fail);
 * - being deleted: this resource goes first (it depends on everything else), so refusing here while the
 *   cluster is protected stops the deletion before anything is deleted, instead of CloudFormation deleting
 *   the readers and the writer and then failing at the protected cluster;
 * - anything else (an update's rollback or clean-up after a replaced cluster): nothing; the cluster stays
 *   as it is.
 */
export async function onEvent(event: ProtectionEvent, clients: Clients, log: Log = () => undefined, sleep: Sleep = realSleep): Promise<OnEventResult> {
  const cluster = clusterOf(event);
  if (event.RequestType !== 'Delete') {
    if (!(await setDeletionProtection(clients.rds, cluster, true, log, sleep))) {
      throw new Error(`DB cluster ${cluster} not found: deletion protection cannot be turned on`);
    }
    return { PhysicalResourceId: physicalId(cluster), Data: { ClusterIdentifier: cluster } };
  }
  const done = { PhysicalResourceId: event.PhysicalResourceId ?? physicalId(cluster) };
  const status = await stackStatus(clients.cloudFormation, event.StackId);
  if (status === CREATE_ROLLBACK) {
    if (await isProtected(clients.rds, cluster)) {
      log('stack creation rolling back: deletion protection off so the cluster can be deleted', { cluster, status });
      await setDeletionProtection(clients.rds, cluster, false, log, sleep);
    }
    return done;
  }
  if (status === STACK_DELETION && (await isProtected(clients.rds, cluster))) {
    throw new Error(
      `DB cluster ${cluster} has deletion protection on, so the stack deletion stops here, before anything is deleted ` +
        `(CloudFormation would delete the instances and then fail at the cluster). To delete the stack and the cluster ` +
        `(a final snapshot is taken), turn it off first: aws rds modify-db-cluster --db-cluster-identifier ${cluster} --no-deletion-protection, ` +
        'then delete the stack again.',
    );
  }
  log('nothing to do on delete', { cluster, status });
  return done;
}
