import { Stack } from 'aws-cdk-lib';
import { createHash } from 'crypto';
import type { Construct } from 'constructs';
import { STACK_PARTS } from '../contracts/stacks';

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

/**
 * The construct-id spelling of a kebab-case service name (`admin-api` → `AdminApi`), one for every place that
 * names constructs after a service: WebService (its HttpService and task ids) and KpiAlarms (its alarm ids).
 */
export function serviceIdOf(name: string): string {
  return name.split('-').map((part) => part.charAt(0).toUpperCase() + part.slice(1)).join('');
}

/**
 * The environment's stack prefix (`ScalingBlueprint-<Env>`), read from the name of the stack `scope` is in: the
 * stacks of one environment are named `<prefix>-<Part>` (lib/contracts/stacks.ts), so two of them agree on it
 * without a reference between them.
 */
function environmentPrefix(scope: Construct): string {
  const name = Stack.of(scope).stackName;
  const part = Object.values(STACK_PARTS).find((p) => name.endsWith(`-${p}`));
  return part ? name.slice(0, -(part.length + 1)) : name;
}

/**
 * The name of a KPI alarm (lib/constructs/kpi-alarms.ts, construct id `id`) that another stack refers to by
 * name: ECS deployment alarms take alarm NAMES (DeploymentAlarms.AlarmNames), and the Monitoring stack that owns
 * the alarms depends on the Compute stack, so Compute cannot take a reference to them. Both stacks compute it.
 */
export function kpiAlarmName(scope: Construct, id: string): string {
  return `${environmentPrefix(scope)}-Kpi-${id}`;
}
