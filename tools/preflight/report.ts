import { z } from 'zod';
import { EXIT } from '../common/errors';

/**
 * What `npm run preflight -- --json` prints: the shape other tools and CI read. One zod schema, parsed
 * before it is printed, so the output cannot drift from what is documented here.
 */
export const CHECK_STATUSES = ['ok', 'warn', 'blocked', 'skipped', 'error'] as const;

export const checkResultSchema = z.strictObject({
  /** Stable id, e.g. `bootstrap`, `fargate-quota`. */
  id: z.string(),
  title: z.string(),
  /**
   * ok: nothing in the way. warn: deploys, but something needs a human (e-mails to confirm, a proxy check).
   * blocked: `cdk deploy` (or the first day after it) would fail. skipped: nothing to check here, with why.
   * error: the check could not run (permissions, an API error), so there is no verdict on it.
   */
  status: z.enum(CHECK_STATUSES),
  /** What was found, one line. */
  found: z.string(),
  /** What to do about it (blocked, warn and error; ok may carry advice). */
  fix: z.string().optional(),
  /** The numbers behind the verdict, for scripts. */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type CheckResult = z.infer<typeof checkResultSchema>;
export type CheckStatus = CheckResult['status'];
/** What a check finds; the runner adds its id and title. */
export type CheckOutcome = Omit<CheckResult, 'id' | 'title'>;

export const VERDICTS = { ready: EXIT.ok, blocked: EXIT.finding, 'no-verdict': EXIT.cannotRun } as const;
export type Verdict = keyof typeof VERDICTS;

export const preflightReportSchema = z.strictObject({
  tool: z.literal('preflight'),
  envName: z.string(),
  region: z.string(),
  /** Where the region came from, e.g. "cdk.json `region`". */
  regionFrom: z.string(),
  /** The account of the credentials; null when there were none. */
  account: z.string().nullable(),
  verdict: z.enum(['ready', 'blocked', 'no-verdict']),
  exitCode: z.union([z.literal(EXIT.ok), z.literal(EXIT.finding), z.literal(EXIT.cannotRun)]),
  /** Why there is no verdict at all (no credentials, AWS unreachable); absent when the checks ran. */
  reason: z.string().optional(),
  checks: z.array(checkResultSchema),
  generatedAt: z.string(),
});
export type PreflightReport = z.infer<typeof preflightReportSchema>;

/** blocked beats everything (a finding is a finding even if another check could not run); then error. */
export function verdictOf(checks: readonly CheckResult[]): Verdict {
  if (checks.some((c) => c.status === 'blocked')) return 'blocked';
  if (checks.some((c) => c.status === 'error')) return 'no-verdict';
  return 'ready';
}

/** One line per check: status, title, what was found, the fix. */
export function checkLine(c: CheckResult, titleWidth = c.title.length + 2): string {
  const text = `${c.status.padEnd(8)}${c.title.padEnd(titleWidth)}${c.found}${c.fix ? ` Fix: ${c.fix}` : ''}`;
  return text.replace(/\s*\n\s*/g, ' ');
}

/** The stable last line: `verdict=... ok=N warn=N blocked=N skipped=N error=N env=... region=... account=...`. */
export function summaryLine(r: PreflightReport): string {
  const count = (s: CheckStatus) => r.checks.filter((c) => c.status === s).length;
  return `verdict=${r.verdict} ${CHECK_STATUSES.map((s) => `${s}=${count(s)}`).join(' ')} env=${r.envName} region=${r.region} account=${r.account ?? 'none'}`;
}

export function renderText(r: PreflightReport): string {
  const width = Math.max(0, ...r.checks.map((c) => c.title.length)) + 2;
  return `${[...r.checks.map((c) => checkLine(c, width)), summaryLine(r)].join('\n')}\n`;
}

export function renderJson(r: PreflightReport): string {
  return `${JSON.stringify(preflightReportSchema.parse(r), null, 2)}\n`;
}
