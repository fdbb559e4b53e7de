/** Exit codes of every operator CLI (`npm run loadtest`, `npm run kpi-report`, ...). */
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

/** What a CLI prints for a UsageError: `<tool>: <message>`, then the usage text when the arguments were wrong. */
export function usageErrorText(tool: string, error: UsageError, usage: string): string {
  return `${tool}: ${error.message}\n${error.showUsage ? `\n${usage}\n` : ''}`;
}

/** The message of anything thrown: an Error's message, else its string form. */
export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * What a CLI's main() does with an error it caught: a UsageError prints `usageErrorText`, anything else
 * `<tool>: <describe(e)>`; either way the CLI exits 2 (no answer).
 */
export function cannotRunExit(tool: string, usage: string, e: unknown, err: (s: string) => void, describe: (e: unknown) => string): typeof EXIT.cannotRun {
  err(e instanceof UsageError ? usageErrorText(tool, e, usage) : `${tool}: ${describe(e)}\n`);
  return EXIT.cannotRun;
}

/** `no verdict: <name>: <message>`: what kpi-report and preflight print for an unexpected error. */
export function noVerdict(e: unknown): string {
  const error = e as Error;
  return `no verdict: ${error.name}: ${error.message}`;
}
