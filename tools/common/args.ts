import { parseArgs, type ParseArgsConfig } from 'util';
import { UsageError } from './errors';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * The flags of a CLI, with node:util.parseArgs: strict (an unknown flag or a missing value is an error) and
 * without positional arguments. Its errors become UsageErrors that show the usage text.
 */
export function parseFlags<const O extends Options>(argv: readonly string[], options: O) {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    // parseArgs throws TypeErrors (ERR_PARSE_ARGS_*) whose message says which flag and what is wrong.
    throw new UsageError((e as Error).message, true);
  }
}

/** A flag whose value must be a number > 0; undefined when the flag was not given. */
export function positiveNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${flag} = "${value}": must be a number > 0`, true);
  return n;
}

/** Runs a CLI's main() on the process's arguments and sets the exit code it returns. */
export function runCli(main: (argv: readonly string[]) => number | Promise<number>): void {
  void Promise.resolve(main(process.argv.slice(2))).then((code) => {
    process.exitCode = code;
  });
}
