import { RemovalPolicy } from 'aws-cdk-lib';
import type { StatefulConfig } from '../config/schema';

/**
 * The removal policy a configured `stateful.removalPolicy` means for one resource. `snapshot` falls back to
 * RETAIN where CloudFormation cannot snapshot the resource (queues, keys, log groups): data is never
 * destroyed unless the environment says `destroy`.
 */
export function removalPolicyFor(setting: StatefulConfig['removalPolicy'], canSnapshot = false): RemovalPolicy {
  if (setting === 'destroy') return RemovalPolicy.DESTROY;
  return setting === 'snapshot' && canSnapshot ? RemovalPolicy.SNAPSHOT : RemovalPolicy.RETAIN;
}
