import { DescribeStacksCommand, type CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { STACK_OUTPUT_PARTS, STACK_OUTPUTS, stackId, type StackOutput } from '../../lib/contracts/stacks';
import { credentialsProblem, UsageError } from './errors';

/**
 * One output of a deployed stack of `envName` (DescribeStacks): the stack that holds it comes from the
 * contract (lib/contracts/stacks.ts). Each way it can be missing is a UsageError naming the stack and the
 * fix, `orPass` being the flag that gives the value instead (e.g. `--target URL`).
 */
export async function readStackOutput(client: CloudFormationClient, envName: string, output: StackOutput, orPass: string): Promise<string> {
  const part = STACK_OUTPUT_PARTS[output];
  const stackName = stackId(envName, part);
  const key = STACK_OUTPUTS[output];
  let outputs;
  try {
    const r = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = r.Stacks?.[0]?.Outputs ?? [];
  } catch (e) {
    const err = e as Error;
    // CloudFormation answers a stack that does not exist with a ValidationError.
    if (err.name === 'ValidationError') {
      throw new UsageError(`stack ${stackName} not found (${err.message}). Fix: deploy the ${part} stack of this environment, or pass ${orPass}.`);
    }
    const credentials = credentialsProblem(err);
    if (credentials) throw new UsageError(`cannot read stack ${stackName}: ${credentials} Or pass ${orPass}.`);
    throw new UsageError(`cannot describe stack ${stackName}: ${err.name}: ${err.message}. Fix: check AWS credentials and region, or pass ${orPass}.`);
  }
  const value = outputs.find((o) => o.OutputKey === key)?.OutputValue;
  if (!value) throw new UsageError(`stack ${stackName} has no ${key} output. Fix: deploy the current ${part} stack, or pass ${orPass}.`);
  return value;
}
