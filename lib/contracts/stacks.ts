/**
 * The stacks of one environment as the operator tools find them: ids `ScalingBlueprint-<Env>-<Part>` and the
 * outputs the tools read with DescribeStacks. Plain data: the CLIs import this without aws-cdk-lib.
 */

/** The part after the prefix of each stack id; also the name the tools use in their messages. */
export const STACK_PARTS = {
  network: 'Network',
  data: 'Data',
  compute: 'Compute',
  monitoring: 'Monitoring',
  loadTest: 'LoadTest',
} as const;
export type StackPart = (typeof STACK_PARTS)[keyof typeof STACK_PARTS];

/** `dev` → `ScalingBlueprint-Dev`, `perf-eu` → `ScalingBlueprint-PerfEu`. */
export function stackPrefix(envName: string): string {
  const pascal = envName.split(/[^A-Za-z0-9]+/).filter(Boolean).map((w) => w[0].toUpperCase() + w.slice(1)).join('');
  return `ScalingBlueprint-${pascal}`;
}

/** The id (and CloudFormation name) of one stack of an environment. */
export function stackId(envName: string, part: StackPart): string {
  return `${stackPrefix(envName)}-${part}`;
}

/** CloudFormation outputs the operator tools read (DescribeStacks). The value is the output's logical id. */
export const STACK_OUTPUTS = {
  /** The load-generator function's name. */
  loadGeneratorFunctionName: 'LoadGeneratorFunctionName',
  /** The load generator's stop flag (SSM parameter) that `npm run loadtest -- stop` writes. */
  loadGeneratorStopParameterName: 'LoadGeneratorStopParameterName',
  /** The API's base URL (the load balancer). */
  apiUrl: 'ApiUrl',
  /** The KpiSources JSON (lib/contracts/kpi-sources.ts). */
  kpiSources: 'KpiSources',
  /** The shard mover's function name (`database.sharding.mode` clusters only): `npm run reshard` invokes it. */
  reshardFunctionName: 'ReshardFunctionName',
} as const;
export type StackOutput = keyof typeof STACK_OUTPUTS;

/** The stack that holds each output. */
export const STACK_OUTPUT_PARTS: { readonly [K in StackOutput]: StackPart } = {
  loadGeneratorFunctionName: STACK_PARTS.loadTest,
  loadGeneratorStopParameterName: STACK_PARTS.loadTest,
  apiUrl: STACK_PARTS.compute,
  kpiSources: STACK_PARTS.monitoring,
  reshardFunctionName: STACK_PARTS.data,
};
