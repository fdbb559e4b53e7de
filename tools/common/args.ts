import { closest, distance } from 'fastest-levenshtein';
import { parseArgs, type ParseArgsConfig } from 'util';
import { errorMessage, EXIT, UsageError, usageErrorText } from './errors';

/**
 * The argument layer every operator CLI shares (`npm run loadtest|kpi-report|plan|calibrate|preflight|seed|check`,
 * the bench scripts): node:util.parseArgs (strict, no positionals) under rules of our own:
 *
 * - `--help`/`-h` anywhere before `--` answers the usage and nothing else, before the CLI loads its
 *   implementation, reads cdk.json or calls AWS (`helpRequested`);
 * - an unknown flag is one line with the nearest known flag (`did you mean --target?`);
 * - old spellings stay accepted as aliases of the shared names (`--run-id` is `--run`);
 * - the shared flags are spelled the same in every CLI (`FLAG`).
 *
 * Exit codes are in ./errors.ts (EXIT).
 */
export type FlagOptions = NonNullable<ParseArgsConfig['options']>;

/**
 * The flags several CLIs take, spelled and shortened alike everywhere. The region is not among them on
 * purpose: it is the environment's `region` in cdk.json, the one its stacks are synthesized for.
 */
export const FLAG = {
  /** An environment of cdk.json. */
  env: { type: 'string', short: 'e' },
  /** A load-test run id (the CloudWatch RunId dimension and the result file's name). */
  run: { type: 'string' },
  /** The result as JSON on stdout instead of the text for people. */
  json: { type: 'boolean' },
  /** Where the CLI writes its files. */
  out: { type: 'string', short: 'o' },
  /** The cdk.json to read instead of the project's. */
  config: { type: 'string' },
  /** The base URL of the API instead of the Compute stack's ApiUrl output. */
  target: { type: 'string' },
  /** A key of loadTest.profiles. */
  profile: { type: 'string' },
  /** Where `npm run loadtest` writes (and the other CLIs read) result files. */
  results: { type: 'string' },
  /** How progress shows: auto (in place on a terminal, none otherwise), tty, plain (a line per update), none. */
  progress: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies FlagOptions;

/** Old spellings of the shared flags, accepted wherever the shared flag is (scripts may use them). */
export const FLAG_ALIASES: Readonly<Record<string, string>> = { 'run-id': 'run' };

/** Flags people reach for that no CLI takes, and where the value comes from instead. */
const NOT_A_FLAG: Readonly<Record<string, string>> = {
  region: 'the region is the environment\'s "region" in cdk.json (its stacks are synthesized for it; AWS_REGION does not move them)',
  'aws-profile': 'AWS credentials come from the SDK\'s default chain: set AWS_PROFILE=<name>',
};

/** Whether the arguments ask for the usage: `--help` or `-h` anywhere before a `--`. */
export function helpRequested(argv: readonly string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * The known word nearest `word`, when it is near enough to be what was meant: within a third of its length
 * in edits (at least 2), or a prefix either way (`--comp` for `--compare`, `--environment` for `--env`).
 */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const lower = word.toLowerCase();
  const prefix = candidates.find((c) => c.length >= 3 && (lower.startsWith(c.toLowerCase()) || c.toLowerCase().startsWith(lower)) && lower.length >= 3);
  if (prefix) return prefix;
  const near = closest(lower, candidates.map((c) => c.toLowerCase()));
  const i = candidates.findIndex((c) => c.toLowerCase() === near);
  return distance(lower, near) <= Math.max(2, Math.floor(word.length / 3)) ? candidates[i] : undefined;
}

function unknownFlag(given: string, options: FlagOptions, aliases: Readonly<Record<string, string>>): UsageError {
  const name = given.replace(/^-+/, '');
  if (NOT_A_FLAG[name]) return new UsageError(`${given} is not a flag: ${NOT_A_FLAG[name]}.`, true);
  const long = [...Object.keys(options), ...Object.keys(aliases)];
  const near = given.startsWith('--') ? didYouMean(name, long) : Object.entries(options).find(([, o]) => o.short?.toLowerCase() === name.toLowerCase())?.[0];
  const meant = near === undefined ? undefined : `--${aliases[near] ?? near}`;
  return new UsageError(`unknown flag ${given}${meant ? `. Did you mean ${meant}?` : ''}`, true);
}

/**
 * The flags of a CLI, with node:util.parseArgs: strict (an unknown flag or a missing value is an error)
 * and without positional arguments. `aliases` maps old spellings to flags of `options` (FLAG_ALIASES are
 * added for the shared flags the CLI has). Every error is a UsageError of one line, saying what to do.
 */
export function parseFlags<const O extends FlagOptions>(argv: readonly string[], options: O, aliases: Readonly<Record<string, string>> = {}) {
  const allAliases: Record<string, string> = { ...aliases };
  for (const [alias, flag] of Object.entries(FLAG_ALIASES)) if (flag in options && !(alias in options)) allAliases[alias] ??= flag;
  const args = normalize(argv, options, allAliases);
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new UsageError(parseArgsMessage(e as Error & { code?: string }), true);
  }
}

/** argv with aliases replaced by their flag, after checking that every flag is known and given once. */
function normalize(argv: readonly string[], options: FlagOptions, aliases: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  const seen = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      out.push(...argv.slice(i));
      break;
    }
    let flag: string | undefined;
    let inlineValue: string | undefined;
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      flag = aliases[name] ?? name;
      if (!(flag in options)) throw unknownFlag(eq < 0 ? a : a.slice(0, eq), options, aliases);
      inlineValue = eq < 0 ? undefined : a.slice(eq + 1);
      out.push(`--${flag}${eq < 0 ? '' : `=${inlineValue}`}`);
    } else if (a.startsWith('-') && a.length > 1 && !/^-\d/.test(a)) {
      flag = Object.entries(options).find(([, o]) => o.short === a[1])?.[0];
      if (flag === undefined) throw unknownFlag(a.slice(0, 2), options, aliases);
      if (a.length > 2) inlineValue = options[flag].type === 'string' ? a.slice(2) : undefined;
      out.push(a);
    } else {
      out.push(a);
      continue;
    }
    const o = options[flag];
    if (o.type !== 'string') continue;
    const value = inlineValue ?? argv[i + 1];
    if (inlineValue === undefined && value !== undefined && !value.startsWith('-')) out.push(argv[++i]);
    if (!o.multiple && value !== undefined) {
      const before = seen.get(flag);
      if (before !== undefined && before !== value) throw new UsageError(`--${flag} given twice ("${before}", "${value}"): give it once.`, true);
      seen.set(flag, value);
    }
  }
  return out;
}

/** parseArgs's messages, rewritten as what to do (its own name the flags as `--x <value>` and suggest quoting). */
function parseArgsMessage(e: Error & { code?: string }): string {
  const m = e.message;
  if (e.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(m)?.[1] ?? '';
    return `unexpected argument "${arg}": every value follows its flag (--flag value). With npm run, put -- between the script and its flags (npm run <script> -- --env dev): npm keeps the flags before it for itself.`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // parseArgs names the flag as '-e, --env <value>' or '--env <value>': the long form is the one to show.
    const flag = /(--[\w-]+)/.exec(m)?.[1] ?? /'(-\w)/.exec(m)?.[1];
    if (/argument missing/.test(m)) return `${flag} needs a value.`;
    if (/does not take an argument/.test(m)) return `${flag} takes no value.`;
    if (/ambiguous/.test(m)) return `${flag} needs a value; a value that starts with "-" is written ${flag}=<value>.`;
  }
  return m;
}

/** A flag whose value must be a number > 0; undefined when the flag was not given. */
export function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} = "${value}": must be a number > 0`, true);
  return n;
}

/** Where a CLI writes, and what it is given; tests pass their own. */
export interface CliIo {
  /** @default process.stdout */
  readonly stdout?: (text: string) => void;
  /** @default process.stderr */
  readonly stderr?: (text: string) => void;
}

/**
 * The entry of a CLI, before its implementation is loaded: `--help` prints `usage` (exit 0), unknown flags
 * and bad values print one line with the fix (exit 2); then `run()`, which loads the implementation
 * (`require('./command')`), so that neither answer waits for the AWS SDK, the configuration schema or a synth.
 */
export function cliEntry<R extends number | Promise<number>>(
  tool: string, usage: string, argv: readonly string[], io: CliIo, options: FlagOptions, run: () => R, aliases: Readonly<Record<string, string>> = {},
): R | number {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  if (helpRequested(argv)) {
    out(`${usage}\n`);
    return EXIT.ok;
  }
  try {
    parseFlags(argv, options, aliases);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    err(usageErrorText(tool, e));
    return EXIT.cannotRun;
  }
  return run();
}

/**
 * Runs a CLI's main() on the process's arguments and sets the exit code it returns. Whatever escapes main()
 * is printed as one line (the stack with SB_DEBUG=1) and exits 2: the CLI gave no answer.
 */
export function runCli(main: (argv: readonly string[]) => number | Promise<number>, tool = 'error'): void {
  void (async () => {
    try {
      process.exitCode = await main(process.argv.slice(2));
    } catch (e) {
      process.stderr.write(`${tool}: ${process.env.SB_DEBUG ? (e as Error).stack ?? errorMessage(e) : errorMessage(e)}\n`);
      process.exitCode = EXIT.cannotRun;
    }
  })();
}
