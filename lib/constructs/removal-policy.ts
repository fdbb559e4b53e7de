import { RemovalPolicy } from 'aws-cdk-lib';
import type { StatefulConfig } from '../config/schema';

export interface RemovalOptions {
  /** CloudFormation can snapshot the resource before deleting it (DeletionPolicy Snapshot). @default false */
  readonly canSnapshot?: boolean;
  /**
   * Where the resource would be retained: retain it on stack deletion and replacement, but delete it when the
   * stack operation that created it rolls back (DeletionPolicy RetainExceptOnCreate, "RetainExceptOnCreate
   * behaves like Retain for stack operations, except for the stack operation that initially created the
   * resource. If the stack operation that created the resource is rolled back, CloudFormation deletes the
   * resource": https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html).
   *
   * Right for a resource that holds nothing before its stack operation completes, and wrong for one that
   * holds something a failed deploy leaves behind (a bucket the load balancer has already written logs to
   * cannot even be deleted while it has objects). A resource with a fixed physical name needs it: a
   * retained one makes the retried deploy fail with "already exists".
   * @default false
   */
  readonly deleteOnCreateRollback?: boolean;
}

/**
 * The removal policy a configured `stateful.removalPolicy` means for one resource. `snapshot` falls back to
 * retaining where CloudFormation cannot snapshot the resource (queues, keys, log groups): data is never
 * destroyed unless the environment says `destroy`. There is no "snapshot except on create": a resource
 * with Snapshot whose creation rolls back is deleted (after a final snapshot under a generated name, which
 * does not stand in the way of a retry).
 */
export function removalPolicyFor(setting: StatefulConfig['removalPolicy'], options: RemovalOptions = {}): RemovalPolicy {
  if (setting === 'destroy') return RemovalPolicy.DESTROY;
  if (setting === 'snapshot' && options.canSnapshot) return RemovalPolicy.SNAPSHOT;
  return options.deleteOnCreateRollback ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.RETAIN;
}

/** True for the policies that keep the resource when its stack is deleted. */
export function isRetained(policy: RemovalPolicy): boolean {
  return policy === RemovalPolicy.RETAIN || policy === RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE;
}
