import type { Context } from 'aws-lambda';
import type { LoadResult, LoadWorkerEvent } from '../../lib/contracts/loadtest';
import { runWorker } from './worker';

/**
 * The load-generator Lambda: one invocation is one worker running one slice of a load test (the CLI plans
 * the slices: tools/loadtest/plan.ts), publishing its interval metrics to CloudWatch and returning its
 * LoadResult. The engine is lib/load-engine, which the CLI also runs for --local; worker.ts holds this
 * function's logic so tests run it without AWS.
 */
export async function handler(event: LoadWorkerEvent, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<LoadResult> {
  return runWorker(event, { remainingTimeMs: () => context.getRemainingTimeInMillis(), env: process.env });
}
