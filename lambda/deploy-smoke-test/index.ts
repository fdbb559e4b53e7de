import { runSmokeTest, settingsFromEnv, type HookStatus, type Log } from './smoke';

/**
 * ECS deployment lifecycle hook (POST_TEST_TRAFFIC_SHIFT): GETs the new revision through the test listener
 * rule and answers SUCCEEDED or FAILED (./smoke.ts). The event carries the deployment's identity, logged so a
 * failed deployment can be matched to its smoke test.
 */
const log: Log = (message, fields = {}) => console.log(JSON.stringify({ message, ...fields }));

interface HookEvent {
  readonly executionDetails?: { readonly serviceArn?: string; readonly targetServiceRevisionArn?: string; readonly lifecycleStage?: string };
}

export const handler = async (event: HookEvent): Promise<{ hookStatus: HookStatus }> => {
  log('smoke test start', { ...event.executionDetails });
  const result = await runSmokeTest(settingsFromEnv(process.env), fetch, log);
  log('smoke test done', { hookStatus: result.hookStatus });
  return { hookStatus: result.hookStatus };
};
