import { InvokeCommand, LambdaClient, type LambdaClientConfig } from '@aws-sdk/client-lambda';
import { loadResultSchema } from '../../lib/contracts/loadtest';
import type { Invoker } from './run';

export interface LambdaInvokerOptions {
  readonly region: string;
  /** Workers of one slice, all invoked at once. */
  readonly maxWorkers: number;
  /** @default - a client for `region` as below */
  readonly client?: LambdaClient;
}

/** Longer than the longest slice: Lambda runs a function for 15 minutes at most. */
export const INVOKE_TIMEOUT_MS = 16 * 60_000;

/**
 * The client the invoker uses: no retries (a retried invocation could run a slice twice and double the load), a
 * socket pool that fits every worker of a slice at once, and a request timeout that ends an invocation whose
 * reply never comes. `requestTimeout` alone only logs a warning in @smithy/node-http-handler 4.4 and later;
 * `throwOnRequestTimeout` makes it a TimeoutError
 * (https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-smithy-node-http-handler), as in
 * workload/src/sqs.ts. test/tools/loadtest/lambda-invoker.test.ts reproduces it against a silent endpoint.
 */
export function invokerClient(region: string, maxWorkers: number, config: LambdaClientConfig = {}, requestTimeoutMs = INVOKE_TIMEOUT_MS): LambdaClient {
  return new LambdaClient({
    ...config,
    region,
    maxAttempts: 1,
    requestHandler: { requestTimeout: requestTimeoutMs, throwOnRequestTimeout: true, httpsAgent: { maxSockets: Math.max(50, maxWorkers), keepAlive: true } },
  });
}

/**
 * Invokes the load-generator Lambda synchronously (RequestResponse) for one worker, with `invokerClient` unless
 * given one. The reply is parsed with the LoadResult schema: a function deployed from another version fails
 * here, by name.
 */
export function lambdaInvoker(functionName: string, options: LambdaInvokerOptions): Invoker {
  const lambda = options.client ?? invokerClient(options.region, options.maxWorkers);
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
