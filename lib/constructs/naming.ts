import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';

/**
 * A name for resources whose CloudFormation type requires one: the stack name keeps it unique per
 * account and region without a name in config.
 */
export function physicalName(scope: Construct, suffix: string): string {
  const base = `${Stack.of(scope).stackName}-${suffix}`.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-');
  return base.slice(0, 40).replace(/-$/, '');
}
