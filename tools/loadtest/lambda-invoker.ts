import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { loadResultSchema } from '../../lib/contracts/loadtest';
import type { Invoker } from './run';

export interface LambdaInvokerOptions {
  readonly region: string;
  /** Workers of one slice, all invoked at once. */
  readonly maxWorkers: number;
  /** @default - a client for `region` as below */
  readonly client?: LambdaClient;
}

/**
 * Invokes the load-generator Lambda synchronously (RequestResponse) for one worker. No retries: a retried
 * invocation could run a slice twice and double the load. The HTTP timeout outlasts the longest slice
 * (Lambda's 15-minute maximum), and the socket pool fits every worker of a slice at once. The reply is
 * parsed with the LoadResult schema: a function deployed from another version fails here, by name.
 */
export function lambdaInvoker(functionName: string, options: LambdaInvokerOptions): Invoker {
  const lambda =
    options.client ??
    new LambdaClient({
      region: options.region,
      maxAttempts: 1,
      requestHandler: { requestTimeout: 16 * 60_000, httpsAgent: { maxSockets: Math.max(50, options.maxWorkers), keepAlive: true } },
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
    const parsed = loadResultSchema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
      throw new Error(`${functionName} returned something other than a LoadResult (${problems.join('; ')}). Fix: deploy the LoadTest stack from this version.`);
    }
    return parsed.data;
  };
}
