import { GetParameterCommand, SSMClient, type SSMClientConfig } from '@aws-sdk/client-ssm';
import { stopBoardSchema } from '../../lib/contracts/loadtest';

/** Answers whether `npm run loadtest -- stop` (or the CLI on Ctrl-C) asked this run to stop. */
export type StopReader = (runId: string) => Promise<boolean>;

/**
 * The stop reader's client: one attempt, bounded. `requestTimeout` alone only logs a warning in
 * @smithy/node-http-handler 4.4 and later; `throwOnRequestTimeout` makes it a TimeoutError
 * (https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-smithy-node-http-handler). Without it a read
 * that never ends would hold the poll for ever (reads never overlap), and a stop would never be seen.
 * Reproduced in test/lambda/load-generator-stop.test.ts against an endpoint that never answers.
 */
export function stopReaderClient(config: SSMClientConfig = {}): SSMClient {
  return new SSMClient({ ...config, maxAttempts: 1, requestHandler: { connectionTimeout: 1_000, requestTimeout: 2_000, throwOnRequestTimeout: true } });
}

/**
 * Reads the stack's stop parameter (StopBoard, lib/constructs/load-generator.ts) and looks for the run in
 * it. One attempt with a short timeout: the next poll is the retry, and a slow read must not pile up
 * behind the load.
 */
export function ssmStopReader(parameterName: string, client: SSMClient = stopReaderClient()): StopReader {
  return async (runId) => {
    const out = await client.send(new GetParameterCommand({ Name: parameterName }));
    const board = stopBoardSchema.parse(JSON.parse(out.Parameter?.Value ?? '{}'));
    return board.stopped.some((s) => s.runId === runId);
  };
}

export interface StopWatch {
  /** The reader said stop (the worker then ends its slice early). */
  readonly requested: boolean;
  /** Problems reading the flag (the first of each kind); the load goes on meanwhile. */
  readonly problems: readonly string[];
  close(): void;
}

/**
 * Polls `read` every `pollMs` until it says stop, then calls `onStop` once. A read never overlaps the one
 * before it; a failing read is remembered and polling goes on (a stop flag that cannot be read must not
 * end a test, and a throttled GetParameter succeeds on a later poll).
 */
export function watchForStop(read: () => Promise<boolean>, pollMs: number, onStop: () => void): StopWatch {
  let requested = false;
  let busy = false;
  let closed = false;
  const problems: string[] = [];
  const poll = async () => {
    if (busy || closed || requested) return;
    busy = true;
    try {
      if (await read()) {
        requested = true;
        if (!closed) onStop();
      }
    } catch (e) {
      const message = `cannot read the stop flag: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`;
      if (!problems.includes(message)) problems.push(message);
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void poll(), pollMs);
  return {
    get requested() {
      return requested;
    },
    problems,
    close() {
      closed = true;
      clearInterval(timer);
    },
  };
}
