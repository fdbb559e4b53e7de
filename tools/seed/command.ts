import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { parseFlags, positiveNumber } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { cannotRunExit, errorMessage, EXIT, UsageError } from '../common/errors';
import { readStackOutput } from '../common/stack-outputs';
import { FLAGS, type CliDeps } from './cli';
import { itemsReadByMix, MAX_ITEMS, seed, SeedError } from './seed';



/** `npm run seed` once ./cli.ts has answered --help and unknown flags; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s) => process.stdout.write(s));
  const err = deps.stderr ?? ((s) => process.stderr.write(s));
  try {
    const args = parseFlags(argv, FLAGS);
    if (!args.env) throw new UsageError('--env is required.', true);
    const config = loadEnvironmentConfig(args.env, args.config);
    const fromMix = itemsReadByMix(config.loadTest.mix);
    const items = integer('--items', args.items) ?? fromMix;
    if (items === undefined) throw new UsageError(`--items is required: the request mix of ${args.env} reads no /items/{{rand:N}}.`, true);
    if (items > MAX_ITEMS) throw new UsageError(`--items ${items}: at most ${MAX_ITEMS}.`, true);
    const concurrency = integer('--concurrency', args.concurrency) ?? 8;
    if (concurrency > 64) throw new UsageError(`--concurrency ${concurrency}: at most 64.`, true);
    const timeoutMs = positiveNumber('--timeout-ms', args['timeout-ms']) ?? 10_000;
    const verify = args.verify === '0' ? 0 : integer('--verify', args.verify) ?? 100;

    let target = args.target;
    if (target === undefined) {
      target = await readStackOutput(deps.cloudFormation ?? new CloudFormationClient({ region: config.region }), args.env, 'apiUrl', '--target URL');
    }
    if (!/^https?:\/\/[^\s/]+(\/[^\s]*)?$/.test(target)) throw new UsageError(`--target ${target}: an http(s) URL, e.g. http://127.0.0.1:8080.`, true);
    if (fromMix !== undefined && items < fromMix) {
      err(`seed: note: the request mix of ${args.env} reads ids up to ${fromMix}; with --items ${items}, ${Number(((100 * (fromMix - items)) / fromMix).toPrecision(3))} % of its reads will be 404s.\n`);
    }

    const result = await seed({ target, items, concurrency, timeoutMs, verify, log: args.json ? undefined : (l) => out(`${l}\n`) });
    const { verified: v } = result;
    if (args.json) out(`${JSON.stringify(result, null, 2)}\n`);
    else {
      out(`Created ${result.created} item(s)${result.existed > 0 ? ` (${result.existed} id(s) existed already, left as they were)` : ''}; ids 1…${items} seeded before: ${result.found}.\n`);
      out(`Verified ${v.found} of ${v.sampled} sampled ids${v.missing.length > 0 ? `; missing: ${v.missing.slice(0, 20).join(', ')}${v.missing.length > 20 ? ', …' : ''}` : ''}.\n`);
    }
    return v.missing.length > 0 ? EXIT.finding : EXIT.ok;
  } catch (e) {
    if (e instanceof SeedError) {
      err(`seed: ${e.message}\n`);
      return EXIT.cannotRun;
    }
    return cannotRunExit('seed', e, err, (x) => errorMessage(x));
  }
}

function integer(flag: string, value: string | undefined): number | undefined {
  const n = positiveNumber(flag, value);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`${flag} = "${value}": must be a whole number`, true);
  return n;
}
