import { Stack } from 'aws-cdk-lib';
import { createHash } from 'crypto';
import type { Construct } from 'constructs';

/**
 * A name for resources whose CloudFormation type requires one: lower-case, from the stack name so it is
 * unique per account and region without a name in config. Past `maxLength` the end is replaced by a short
 * hash of the whole name, so two long stack names never collide on a truncated prefix.
 */
export function physicalName(scope: Construct, suffix: string, maxLength = 40): string {
  const full = `${Stack.of(scope).stackName}-${suffix}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-');
  if (full.length <= maxLength) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, maxLength - hash.length - 1).replace(/-$/, '')}-${hash}`;
}

