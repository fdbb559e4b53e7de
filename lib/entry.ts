import { Validations, type App } from 'aws-cdk-lib';
import { closest, distance } from 'fastest-levenshtein';
import { CONTEXT_KEY } from './config/loader';
import type { BlueprintConfig } from './config/schema';

/**
 * What bin/scaling-blueprint.ts does around buildApp: it refuses context keys it does not know, runs cdk-nag
 * on the synth, and says which environment it synthesized. Apart from lib/app.ts, which the unit tests
 * import and which knows nothing of context.
 */

/** The `-c` keys the app reads, each with its use. */
export const APP_CONTEXT_KEYS: Readonly<Record<string, string>> = {
  env: '-c env=<name> picks the environment of scaling-blueprint.environments (default dev)',
  nag: '-c nag=false skips cdk-nag on this synth',
};

/** Names a user may type for a key of the app, as the key they mean. */
const ALIASES: Readonly<Record<string, string>> = {
  environment: 'env', environmentName: 'env', envName: 'env', stage: 'env',
  cdkNag: 'nag', 'cdk-nag': 'nag',
};

/**
 * Keys that CDK itself passes or reads by name: feature flags (`@aws-cdk/...`), the CLI's own settings
 * (`aws:cdk:...`), cached lookups (`<provider>:account=...`); any key with `:`, `/` or `@` is CDK's, not a
 * user's mistyped flag.
 */
const CDK_OWN_KEY = /[:/@]/;

/** A `-c` key the app cannot use. */
export class ContextError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`${CONTEXT_KEY}: ${problems.length === 1 ? problems[0] : `\n${problems.map((p) => `  - ${p}`).join('\n')}`}`);
    this.name = 'ContextError';
  }
}

/**
 * Every key of `context` that neither the app nor CDK reads and that no context file declares
 * (`declared`: the keys of cdk.json's, cdk.context.json's and ~/.cdk.json's context): what is left came from
 * the command line (`-c key=value`), and a key nobody reads is a mistake, e.g. `-c enviroment=prod`, which
 * would otherwise synthesize dev without a word. Each problem names the key as given, and the key meant
 * where one is close.
 */
export function unknownContextKeys(context: Readonly<Record<string, unknown>>, declared: ReadonlySet<string>): string[] {
  const known = Object.keys(APP_CONTEXT_KEYS);
  const candidates = [...known, ...Object.keys(ALIASES)];
  return Object.entries(context)
    .filter(([key]) => !known.includes(key) && key !== CONTEXT_KEY && !declared.has(key) && !CDK_OWN_KEY.test(key))
    .map(([key, value]) => {
      const given = `-c ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`;
      const near = closest(key.toLowerCase(), candidates.map((c) => c.toLowerCase()));
      const nearKey = candidates.find((c) => c.toLowerCase() === near)!;
      const meant = ALIASES[nearKey] ?? nearKey;
      const valid = known.map((k) => APP_CONTEXT_KEYS[k]).join('; ');
      return distance(key.toLowerCase(), near) <= Math.max(2, Math.floor(key.length / 3))
        ? `${given}: unknown context key; nothing reads it. Fix: did you mean -c ${meant}=${typeof value === 'string' ? value : JSON.stringify(value)}? The app reads only: ${valid}.`
        : `${given}: unknown context key; nothing reads it. Fix: remove it; the app reads only: ${valid}. Configuration goes in cdk.json under "${CONTEXT_KEY}".`;
    });
}

/**
 * Whether `-c nag` (its raw context value, which bin/scaling-blueprint.ts reads) leaves cdk-nag on: absent or
 * true; false turns it off; anything else is a mistake.
 */
export function nagEnabled(raw: unknown): boolean {
  if (raw === undefined || raw === true || raw === 'true') return true;
  if (raw === false || raw === 'false') return false;
  throw new ContextError([`-c nag=${String(raw)}: must be true or false. Fix: -c nag=false skips cdk-nag on this synth; leave it out to run it.`]);
}

/**
 * The cdk-nag packs of this project, as CDK validation plugins: `npm run check` (scripts/compliance.ts) and
 * every synth of the app run the same ones. Their findings are reported after the templates are written;
 * an error-level finding fails the synth (and so `cdk deploy`), a warning is printed. The acknowledgements
 * (`Validations.of(x).acknowledge`) sit on the constructs, so a plain synth honours them too.
 */
export function addNagChecks(app: App): void {
  // Loaded here, not at the top: cdk-nag loads every module of aws-cdk-lib (about 1.3 s), which a synth with
  // -c nag=false, a config error or a unit test importing this file should not pay.
  const { AwsSolutionsChecks } = require('cdk-nag') as typeof import('cdk-nag');
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
}

/** The one line a synth prints on stderr: which environment, where, and whether cdk-nag ran. */
export function synthesizedLine(config: BlueprintConfig, nag: boolean): string {
  const account = config.account || 'any: the deploying credentials\'';
  return `${CONTEXT_KEY}: synthesized environment "${config.envName}" (region ${config.region}, account ${account}; ` +
    `cdk-nag ${nag ? 'on, -c nag=false skips it' : 'off (-c nag=false)'})`;
}

/** Whether `err` is CDK's report that a validation plugin (cdk-nag) found an error-level violation. */
export function isValidationFailure(err: unknown): boolean {
  // aws-cdk-lib's UnscopedValidationError for a failed validation report is named after its code.
  return err instanceof Error && err.name === 'ValidationFailed';
}
