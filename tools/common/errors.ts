/**
 * Exit codes of every operator CLI (`npm run loadtest|kpi-report|plan|calibrate|preflight|seed|check`, the bench
 * scripts): 0 done, 1 a finding, 2 no answer. kpi-report adds 3 (inconclusive); loadtest exits 130/143 after
 * SIGINT/SIGTERM (128 + the signal, as a shell reports it), with the partial result written.
 */
export const EXIT = {
  /** Done: the run completed; every SLA met. */
  ok: 0,
  /** A finding: an SLA breached (kpi-report), the run itself failed (loadtest). */
  finding: 1,
  /** No result: bad arguments or configuration, a stack or output missing, AWS unreachable. */
  cannotRun: 2,
  /** Inconclusive: nothing breached, but an SLA had no data to judge (kpi-report, unless allowed). */
  inconclusive: 3,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A problem the user fixes (arguments, configuration, a missing stack): the CLI exits 2 with the message. */
export class UsageError extends Error {
  /** `showUsage`: the arguments were wrong, so the usage text helps. */
  constructor(message: string, readonly showUsage = false) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * What a CLI prints for a UsageError: `<tool>: <message>` on one line, then, when the arguments were wrong,
 * where the flags are listed (the whole usage would bury the one line that says what to fix).
 */
export function usageErrorText(tool: string, error: UsageError): string {
  return `${tool}: ${error.message}\n${error.showUsage ? `(npm run ${tool} -- --help lists the flags)\n` : ''}`;
}

/** The message of anything thrown: an Error's message, else its string form. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * What a CLI's main() does with an error it caught: a UsageError prints `usageErrorText`, AWS credentials
 * that cannot be used say so (`credentialsProblem`), anything else `<tool>: <describe(e)>`; the CLI exits 2
 * (no answer) in each case.
 */
export function cannotRunExit(tool: string, e: unknown, err: (s: string) => void, describe: (e: unknown) => string): typeof EXIT.cannotRun {
  const credentials = credentialsProblem(e);
  err(e instanceof UsageError ? usageErrorText(tool, e) : `${tool}: ${credentials ?? describe(e)}\n`);
  return EXIT.cannotRun;
}

const CREDENTIALS_HOW = 'set AWS_PROFILE (after `aws configure` or `aws sso login`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';

/**
 * The one line for an AWS SDK error that is about the credentials (none found, expired, rejected), with
 * the fix; undefined for any other error. The SDK's credential chain throws CredentialsProviderError when
 * no provider has credentials; AWS answers unknown or expired keys with these error codes
 * (https://docs.aws.amazon.com/STS/latest/APIReference/CommonErrors.html).
 */
export function credentialsProblem(e: unknown): string | undefined {
  if (!(e instanceof Error) && (typeof e !== 'object' || e === null)) return undefined;
  const { name = '', message = '', code = '' } = e as { name?: string; message?: string; code?: string };
  const text = `${name} ${code} ${message}`;
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    // The SDK's reason matters when a profile was named ("Profile x could not be found"), not for the plain case.
    const reason = /Could not load credentials from any providers/i.test(message) ? '' : ` (${message.split('\n')[0]})`;
    return `no AWS credentials${reason}. Fix: ${CREDENTIALS_HOW}.`;
  }
  if (/ExpiredToken|TokenRefreshRequired|credentials have expired/i.test(text)) return `the AWS credentials have expired (${name}). Fix: refresh them (aws sso login, or new keys), or ${CREDENTIALS_HOW}.`;
  if (/InvalidClientTokenId|SignatureDoesNotMatch|UnrecognizedClient|InvalidAccessKeyId/i.test(text)) {
    return `AWS rejected the credentials (${name}). Fix: ${CREDENTIALS_HOW} with valid ones.`;
  }
  return undefined;
}

/** `no verdict: <name>: <message>`: what kpi-report and preflight print for an unexpected error. */
export function noVerdict(e: unknown): string {
  const error = e as Error;
  return `no verdict: ${error.name}: ${error.message}`;
}
