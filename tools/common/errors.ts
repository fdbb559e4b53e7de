/** Exit codes of every operator CLI (`npm run loadtest`, `npm run kpi-report`, ...). */
export const EXIT = {
  /** Done: the run completed; every SLA met. */
  ok: 0,
  /** A finding: an SLA breached (kpi-report), the run itself failed (loadtest). */
  finding: 1,
  /** No result: bad arguments or configuration, a stack or output missing, AWS unreachable. */
  cannotRun: 2,
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
