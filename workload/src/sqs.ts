import { SQSClient, type SQSClientConfig } from '@aws-sdk/client-sqs';

export interface SqsBudget {
  /** TCP (and TLS) connect, per attempt (ms). */
  readonly connectionTimeoutMs: number;
  /** Request sent to response complete, per attempt (ms): a paused endpoint fails the attempt after this. */
  readonly requestTimeoutMs: number;
  /** Attempts per call, the first included: the SDK retries a timeout or a 5xx within this budget. */
  readonly maxAttempts: number;
}

/** The relay's budget: a send that has not answered in 3 s will not; the row stays in the outbox and is sent again. */
export const RELAY_SQS_BUDGET: SqsBudget = { connectionTimeoutMs: 1_000, requestTimeoutMs: 3_000, maxAttempts: 2 };

/**
 * The worker's budget: a receive long-polls for up to `waitSeconds`, so its timeout is that plus 5 s. Deletes
 * and visibility changes are small and share the client.
 */
export const workerSqsBudget = (waitSeconds: number): SqsBudget => ({ connectionTimeoutMs: 1_000, requestTimeoutMs: (waitSeconds + 5) * 1000, maxAttempts: 3 });

/**
 * An SQS client whose every call is bounded: at most `maxAttempts` × (connect + request timeout) plus the SDK's
 * retry delays. Without `throwOnRequestTimeout` the handler (@smithy/node-http-handler 4.4 and later) only logs
 * a warning when `requestTimeout` passes and the call keeps waiting (a paused endpoint then holds it for
 * minutes): the option makes it a TimeoutError, which the SDK retries within `maxAttempts`. The request handler
 * is given as its options, which the client turns into its NodeHttpHandler
 * (https://docs.aws.amazon.com/sdk-for-javascript/v3/developer-guide/node-configuring-maxsockets.html,
 * https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-smithy-node-http-handler,
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html).
 * test/workload/jobs-outbox.test.ts relies on it: with SQS paused the relay's sends fail within their bound.
 * The endpoint and credentials come from the environment (AWS_ENDPOINT_URL locally) unless `config` says.
 */
export function boundedSqsClient(region: string, budget: SqsBudget, config: SQSClientConfig = {}): SQSClient {
  return new SQSClient({
    ...config,
    region,
    maxAttempts: budget.maxAttempts,
    // The options of the default NodeHttpHandler, which the client builds from them.
    requestHandler: {
      connectionTimeout: budget.connectionTimeoutMs,
      requestTimeout: budget.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  });
}
