import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import type { Invoker } from './run';
import type { LoadResult } from './types';

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

/**
 * Reads one output of a deployed stack (DescribeStacks): the load generator's function name from the
 * LoadTest stack, the API's URL from the Compute stack. The error says how to deploy it or what to pass.
 */
export async function stackOutput(stackName: string, outputKey: string, orPass: string, client = new CloudFormationClient({})): Promise<string> {
  let outputs;
  try {
    const out = await client.send(new DescribeStacksCommand({ StackName: stackName }));
    outputs = out.Stacks?.[0]?.Outputs ?? [];
  } catch (err) {
    throw new Error(`cannot read stack ${stackName} (${err instanceof Error ? err.message : String(err)}). Fix: deploy it, or pass ${orPass}.`);
  }
  const value = outputs.find((o) => o.OutputKey === outputKey)?.OutputValue;
  if (!value) throw new Error(`stack ${stackName} has no output ${outputKey}. Fix: deploy the current version of the stack, or pass ${orPass}.`);
  return value;
}
