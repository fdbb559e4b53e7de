import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Invoker } from './run';
import type { LoadResult } from './types';

/** Output of the LoadTest stack that names the load-generator function. */
export const FUNCTION_NAME_OUTPUT = 'LoadGeneratorFunctionName';

/**
 * Invokes the load-generator Lambda synchronously (RequestResponse) for one worker. No retries: a retried
 * invocation could run a slice twice and double the load. The HTTP timeout outlasts the longest slice
 * (Lambda's 15-minute maximum), and the socket pool fits every worker of a slice at once.
 */
export function lambdaInvoker(functionName: string, maxWorkers: number, client?: LambdaClient): Invoker {
  const lambda =
    client ??
    new LambdaClient({
      maxAttempts: 1,
      requestHandler: { requestTimeout: 16 * 60_000, httpsAgent: { maxSockets: Math.max(50, maxWorkers), keepAlive: true } },
    });
  return async (event) => {
    const out = await lambda.send(
      new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }),
    );
    const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : '';
    if (out.FunctionError) {
      let message = text;
      try {
        const e = JSON.parse(text) as { errorType?: string; errorMessage?: string };
        message = `${e.errorType ?? 'Error'}: ${e.errorMessage ?? text}`;
      } catch {
        // not JSON: keep the raw payload
      }
      throw new Error(`${functionName} failed (${out.FunctionError}): ${message}`);
    }
    return JSON.parse(text) as LoadResult;
  };
}

/** Reads the load generator's function name from the outputs of the environment's LoadTest stack. */
export async function loadGeneratorFunctionName(stackName: string, client = new CloudFormationClient({})): Promise<string> {
  let outputs;
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = out.Stacks?.[0]?.Outputs ?? [];
  } catch (err) {
    throw new Error(
      `cannot read stack ${stackName} (${err instanceof Error ? err.message : String(err)}). ` +
        'Fix: deploy it (set loadTest.enabled = true for the environment, then cdk deploy), or pass --function NAME.',
    );
  }
  const name = outputs.find((o) => o.OutputKey === FUNCTION_NAME_OUTPUT)?.OutputValue;
  if (!name) throw new Error(`stack ${stackName} has no output ${FUNCTION_NAME_OUTPUT}. Fix: deploy the current LoadTest stack, or pass --function NAME.`);
  return name;
}
