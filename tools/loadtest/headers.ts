import { ENV_REFERENCE, type RequestSpec } from '../../lib/contracts/loadtest';
import { UsageError } from '../common/errors';

export interface ResolvedMix {
  /** The mix with every `${env:NAME}` in a header value replaced: what the engine (or the workers) send. */
  readonly mix: RequestSpec[];
  /** The values that came from the environment: never printed, never written (see redactor). */
  readonly secrets: readonly string[];
}

/**
 * Resolves `${env:NAME}` in the mix's header values from `env` when a run starts. Every reference to an
 * unset (or empty) variable is reported at once, by mix entry, header and variable name, never by value.
 */
export function resolveMixHeaders(mix: readonly RequestSpec[], env: NodeJS.ProcessEnv): ResolvedMix {
  const missing: string[] = [];
  const secrets = new Set<string>();
  const resolved = mix.map((r, i) => {
    if (!r.headers) return r;
    const headers = Object.fromEntries(Object.entries(r.headers).map(([name, value]) => [name, value.replace(ENV_REFERENCE, (_, variable: string) => {
      const v = env[variable];
      if (!v) {
        missing.push(`loadTest.mix[${i}] "${r.name}" header ${name} needs $${variable}`);
        return '';
      }
      if (/[\r\n]/.test(v)) {
        missing.push(`loadTest.mix[${i}] "${r.name}" header ${name}: $${variable} contains a line break`);
        return '';
      }
      secrets.add(v);
      return v;
    })]));
    return { ...r, headers };
  });
  if (missing.length > 0) {
    throw new UsageError(`${missing.join('; ')}. Fix: export the variable(s) before the run (e.g. export ${missing[0].match(/\$(\w+)/)?.[1] ?? 'NAME'}=...); their values are never printed or written.`);
  }
  return { mix: resolved, secrets: [...secrets] };
}

/**
 * Replaces every secret in `text` with `***`: applied to everything the CLI prints and writes, so a value
 * that reaches a message by some path (an error that quotes a request, a warning) is still not shown.
 * Longest first, so a secret that contains another is replaced whole.
 */
export function redactor(secrets: readonly string[]): (text: string) => string {
  const sorted = [...secrets].filter((s) => s.length > 0).sort((a, b) => b.length - a.length);
  if (sorted.length === 0) return (text) => text;
  return (text) => sorted.reduce((t, s) => t.split(s).join('***'), text);
}
