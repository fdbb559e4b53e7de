import {
  DeleteDBInstanceCommand,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  type DescribeDBClustersCommandOutput,
  type DescribeDBInstancesCommandOutput,
} from '@aws-sdk/client-rds';
import { AUTOSCALED_PREFIX, AUTOSCALING_TAG, autoscalingTagValue } from '../../lib/contracts/aurora-autoscaling';

/**
 * Removes the Aurora readers that Application Auto Scaling added to a cluster, so that CloudFormation can
 * delete the cluster: those readers are not in the template, and RDS refuses to delete a cluster that still
 * has instances ("Cluster cannot be deleted, it still contains DB instances in non-deleting state").
 *
 * Pure logic: every AWS call goes through the `RdsClientLike` passed in, so tests run it against a stub or a
 * local endpoint. `index.ts` wires it to the CDK Provider framework (onEvent + isComplete).
 */

/**
 * Application Auto Scaling names every reader it adds `application-autoscaling-<uuid>` and tags it
 * `application-autoscaling:resourceId = cluster:<cluster id>` (lib/contracts/aurora-autoscaling.ts).
 * Instances CloudFormation manages never carry the prefix (CDK names them after the stack, or RDS generates
 * a name), so the prefix alone separates the two; the tag is what the IAM policy lets this function delete
 * (lib/constructs/reader-cleanup.ts), so a member with the prefix but without this cluster's tag is refused
 * here by name rather than by an AccessDenied.
 */
export { AUTOSCALED_PREFIX } from '../../lib/contracts/aurora-autoscaling';

/** The commands this module sends. */
export type RdsCommand = DescribeDBClustersCommand | DescribeDBInstancesCommand | DeleteDBInstanceCommand;

/** The part of `RDSClient` used here: tests pass an object that records commands and returns scripted output. */
export interface RdsClientLike {
  send(command: RdsCommand): Promise<unknown>;
}

/** Properties of the custom resource (CloudFormation passes every value as a string). */
export interface CleanupProperties {
  readonly ServiceToken?: string;
  /** The DB cluster whose autoscaled readers are removed on Delete. */
  readonly ClusterIdentifier?: string;
}

/** What the Provider framework passes to onEvent and isComplete (the fields used here). */
export interface CleanupEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
  readonly ResourceProperties: CleanupProperties;
}

export interface OnEventResult {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

export interface IsCompleteResult {
  readonly IsComplete: boolean;
  readonly Data?: Record<string, string>;
}

/** An autoscaled reader as last seen: its identifier and RDS status (`available`, `deleting`, ...). */
export interface Reader {
  readonly id: string;
  readonly status: string;
  /** Tagged by Application Auto Scaling for this cluster (what the function's role may delete). */
  readonly tagged?: boolean;
}

export type Log = (message: string, fields?: Record<string, unknown>) => void;

const DELETING = 'deleting';

/** RDS error names (SDK v3 class names; the query protocol's bare codes too, should an SDK map them so). */
const NOT_FOUND_INSTANCE = new Set(['DBInstanceNotFoundFault', 'DBInstanceNotFound']);
const NOT_FOUND_CLUSTER = new Set(['DBClusterNotFoundFault', 'DBClusterNotFound']);
/** The instance cannot be deleted yet (still `creating`, `modifying`, or already `deleting`): retry on the next poll. */
const NOT_NOW = new Set(['InvalidDBInstanceStateFault', 'InvalidDBInstanceState']);

const errorName = (e: unknown): string => (typeof e === 'object' && e !== null && 'name' in e ? String(e.name) : '');

/** The physical id: one per cluster, so a replaced cluster makes CloudFormation delete (clean up) the old one. */
export function physicalId(clusterIdentifier: string): string {
  return `aurora-reader-cleanup:${clusterIdentifier}`;
}

function clusterOf(event: CleanupEvent): string {
  const id = event.ResourceProperties.ClusterIdentifier;
  if (!id) throw new Error('ResourceProperties.ClusterIdentifier is missing: the custom resource must name the DB cluster');
  return id;
}

/**
 * The readers Application Auto Scaling added to `clusterIdentifier` that still exist, with their status.
 * The cluster's member list (DescribeDBClusters on the one cluster: no paging, at most 16 members) gives the
 * identifiers; DescribeDBInstances on each gives its status, so IAM can limit both calls to named resources
 * instead of `db:*`. A cluster or instance that is already gone counts as cleaned up.
 */
export async function autoscaledReaders(rds: RdsClientLike, clusterIdentifier: string): Promise<Reader[]> {
  let members: string[];
  try {
    const out = (await rds.send(new DescribeDBClustersCommand({ DBClusterIdentifier: clusterIdentifier }))) as DescribeDBClustersCommandOutput;
    members = (out.DBClusters ?? [])
      .flatMap((c) => c.DBClusterMembers ?? [])
      .map((m) => m.DBInstanceIdentifier ?? '')
      .filter((id) => id.startsWith(AUTOSCALED_PREFIX));
  } catch (e) {
    if (NOT_FOUND_CLUSTER.has(errorName(e))) return [];
    throw e;
  }
  const readers: Reader[] = [];
  for (const id of members) {
    try {
      const out = (await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }))) as DescribeDBInstancesCommandOutput;
      const instance = out.DBInstances?.[0];
      const tag = autoscalingTagValue(clusterIdentifier);
      const tagged = (instance?.TagList ?? []).some((t) => t.Key === AUTOSCALING_TAG && t.Value === tag);
      if (instance) readers.push({ id, status: instance.DBInstanceStatus ?? 'unknown', tagged });
    } catch (e) {
      if (!NOT_FOUND_INSTANCE.has(errorName(e))) throw e;
    }
  }
  return readers;
}

/**
 * One pass: asks RDS to delete every autoscaled reader of the cluster that is not already `deleting`, and
 * returns the readers still there. Idempotent, so the first call (onEvent) and every poll (isComplete) run
 * it: a reader autoscaling was still creating when it was deregistered is deleted once it can be.
 */
export async function removeAutoscaledReaders(rds: RdsClientLike, clusterIdentifier: string, log: Log = () => undefined): Promise<Reader[]> {
  const remaining: Reader[] = [];
  const readers = await autoscaledReaders(rds, clusterIdentifier);
  const untagged = readers.filter((r) => !r.tagged).map((r) => r.id);
  for (const reader of readers.filter((r) => r.tagged)) {
    if (reader.status === DELETING) {
      remaining.push(reader);
      continue;
    }
    try {
      // Only the identifier: an Aurora instance has no snapshot of its own (final snapshots are taken of the
      // cluster, by the cluster's deletion policy), as in the Aurora User Guide's delete-db-instance example.
      await rds.send(new DeleteDBInstanceCommand({ DBInstanceIdentifier: reader.id }));
      log('deleting autoscaled reader', { cluster: clusterIdentifier, instance: reader.id, was: reader.status });
      remaining.push({ id: reader.id, status: DELETING });
    } catch (e) {
      const name = errorName(e);
      if (NOT_FOUND_INSTANCE.has(name)) continue;
      if (!NOT_NOW.has(name)) throw e;
      log('autoscaled reader cannot be deleted yet; retrying on the next poll', { cluster: clusterIdentifier, instance: reader.id, status: reader.status });
      remaining.push(reader);
    }
  }
  if (untagged.length > 0) {
    throw new Error(`${untagged.join(', ')}: named like the readers Application Auto Scaling adds to ${clusterIdentifier}, but not tagged ${AUTOSCALING_TAG}=${autoscalingTagValue(clusterIdentifier)}; this function may delete only the readers tagged so. Delete ${untagged.length === 1 ? 'it' : 'them'} yourself (aws rds delete-db-instance --db-instance-identifier <id>), then retry.`);
  }
  return remaining;
}

/** Create and Update change nothing in AWS; Delete starts removing the autoscaled readers. */
export async function onEvent(event: CleanupEvent, rds: RdsClientLike, log: Log = () => undefined): Promise<OnEventResult> {
  const cluster = clusterOf(event);
  if (event.RequestType !== 'Delete') return { PhysicalResourceId: physicalId(cluster) };
  const remaining = await removeAutoscaledReaders(rds, cluster, log);
  log('delete requested', { cluster, remaining: remaining.map((r) => r.id) });
  return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId(cluster) };
}

/** Complete at once for Create and Update; for Delete, once no autoscaled reader of the cluster is left. */
export async function isComplete(event: CleanupEvent, rds: RdsClientLike, log: Log = () => undefined): Promise<IsCompleteResult> {
  if (event.RequestType !== 'Delete') return { IsComplete: true };
  const cluster = clusterOf(event);
  const remaining = await removeAutoscaledReaders(rds, cluster, log);
  log(remaining.length === 0 ? 'no autoscaled reader left' : 'waiting for autoscaled readers to go', {
    cluster,
    remaining: remaining.map((r) => `${r.id} (${r.status})`),
  });
  return remaining.length === 0
    ? { IsComplete: true, Data: { RemovedFrom: cluster } }
    : { IsComplete: false };
}
