/**
 * The smoke test of a new service revision, run by ECS as a deployment lifecycle hook at
 * POST_TEST_TRAFFIC_SHIFT: the test listener rule sends requests that carry the test header to the new
 * (green) revision while production traffic stays on the old one. A hook answers with a `hookStatus`:
 * SUCCEEDED lets the deployment go on, FAILED rolls it back
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html).
 *
 * Pure: the request function is passed in, so the tests run it against a local server.
 */

export interface SmokeTestSettings {
  /** The URL to GET: the listener's scheme and host with the configured path. */
  readonly url: string;
  /** The test listener rule's header and the value it matches. */
  readonly headerName: string;
  readonly headerValue: string;
  /** Per attempt (ms). */
  readonly timeoutMs: number;
  /** Attempts before the hook fails: a revision that just passed its health checks may still drop one request. */
  readonly attempts: number;
  /** Pause between attempts (ms). */
  readonly retryDelayMs: number;
}

export type HookStatus = 'SUCCEEDED' | 'FAILED';

export interface AttemptResult {
  readonly status?: number;
  readonly error?: string;
}

export interface SmokeTestResult {
  readonly hookStatus: HookStatus;
  readonly attempts: readonly AttemptResult[];
}

export type Log = (message: string, fields?: Record<string, unknown>) => void;

/** Reads the settings from the function's environment; a missing one is a deployment error, not a pass. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): SmokeTestSettings {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const positive = (name: string): number => {
    const n = Number(need(name));
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got ${env[name]}`);
    return n;
  };
  return {
    url: need('SMOKE_TEST_URL'),
    headerName: need('SMOKE_TEST_HEADER_NAME'),
    headerValue: need('SMOKE_TEST_HEADER_VALUE'),
    timeoutMs: positive('SMOKE_TEST_TIMEOUT_MS'),
    attempts: positive('SMOKE_TEST_ATTEMPTS'),
    retryDelayMs: Number(env.SMOKE_TEST_RETRY_DELAY_MS ?? '1000'),
  };
}

/**
 * GETs the URL with the test header until one answer is 2xx (SUCCEEDED) or the attempts run out (FAILED).
 * Redirects are not followed: a 3xx means the request did not reach the new revision's handler (the HTTP
 * listener's redirect to HTTPS, for one), which is a failed test, not a pass.
 */
export async function runSmokeTest(settings: SmokeTestSettings, request: typeof fetch, log: Log, sleep = defaultSleep): Promise<SmokeTestResult> {
  const attempts: AttemptResult[] = [];
  for (let i = 0; i < settings.attempts; i++) {
    if (i > 0) await sleep(settings.retryDelayMs);
    const attempt = await once(settings, request);
    attempts.push(attempt);
    log('smoke test attempt', { url: settings.url, attempt: i + 1, ...attempt });
    if (attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300) return { hookStatus: 'SUCCEEDED', attempts };
  }
  return { hookStatus: 'FAILED', attempts };
}

async function once(settings: SmokeTestSettings, request: typeof fetch): Promise<AttemptResult> {
  try {
    const res = await request(settings.url, {
      method: 'GET',
      headers: { [settings.headerName]: settings.headerValue },
      redirect: 'manual',
      signal: AbortSignal.timeout(settings.timeoutMs),
    });
    // The body is not judged, but read so the connection is released.
    await res.arrayBuffer().catch(() => undefined);
    return { status: res.status };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { error: e.name === 'TimeoutError' ? `no answer within ${settings.timeoutMs} ms` : `${e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
  }
}

function defaultSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
