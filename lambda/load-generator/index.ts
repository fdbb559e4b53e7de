import type { Context } from 'aws-lambda';
import type { LoadResult, LoadWorkerEvent } from '../../tools/loadtest/types';
import { runWorker } from '../../tools/loadtest/worker';

/**
 * The load-generator Lambda: one invocation is one worker running one slice of a load test (see
 * tools/loadtest/plan.ts), publishing its interval metrics to CloudWatch and returning its LoadResult.
 * The logic is in tools/loadtest (engine, worker) so tests run it without AWS.
 */
export async function handler(event: LoadWorkerEvent, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<LoadResult> {
  return runWorker(event, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
}
