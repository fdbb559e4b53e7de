import { didYouMean, parseFlags } from '../common/args';
import { loadEnvironmentConfig } from '../common/cdk-json';
import { cannotRunExit, errorMessage, EXIT, UsageError } from '../common/errors';
import type { ReshardEvent, ReshardResponse } from '../../lambda/reshard/action';
import type { MoveStep, ReshardPlan, ReshardStatus } from '../../workload/src/reshard';
import { ACTIONS, FLAGS, type Action, type CliDeps } from './cli';

/** Longer than the function's own limit (15 minutes): its reply, or its timeout, comes first. */
const INVOKE_TIMEOUT_MS = 16 * 60_000;

/** A failure of the mover or the function that is a refusal (nothing changed): exit 2, not 1. */
class Refused extends Error {}

/** `npm run reshard` once ./cli.ts has answered --help and unknown flags; resolves to the exit code. */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const out = deps.stdout ?? ((s) => process.stdout.write(s));
  const err = deps.stderr ?? ((s) => process.stderr.write(s));
  try {
    const action = (ACTIONS as readonly string[]).includes(argv[0]) ? (argv[0] as Action) : undefined;
    const args = parseFlags(argv[0] !== undefined && !argv[0].startsWith('-') ? argv.slice(1) : argv, FLAGS);
    if (!action) {
      const given = argv[0] !== undefined && !argv[0].startsWith('-') ? argv[0] : undefined;
      const near = given ? didYouMean(given, [...ACTIONS]) : undefined;
      throw new UsageError(given
        ? `unknown action "${given}"${near ? `. Did you mean ${near}?` : `: one of ${ACTIONS.join(', ')}.`}`
        : `give an action first: ${ACTIONS.join(', ')} (npm run reshard -- status --env dev).`, true);
    }
    const event = eventOf(action, args.shard, args.to);
    if (args.local !== undefined && args.env !== undefined) throw new UsageError('--local runs the mover here, --env through the function: give one.', true);
    if (args.local === undefined && args.env === undefined) throw new UsageError('--env is required (or --local <postgres-url,...> to run the mover here).', true);
    if (args['grace-seconds'] !== undefined && args.local === undefined) {
      throw new UsageError('--grace-seconds goes with --local: the function\'s grace period is its RESHARD_GRACE_SECONDS.', true);
    }
    if (args.function !== undefined && args.local !== undefined) throw new UsageError('--function goes with --env, not --local.', true);
    const progress = args.json ? undefined : (step: MoveStep, detail: Record<string, unknown>) => err(`reshard: ${describeStep(step, detail)}\n`);
    const response = args.local !== undefined
      ? await runLocal(event, args.local, graceSeconds(args['grace-seconds']), progress)
      : await invoke(event, args.env!, args.config, args.function, deps);
    if (args.json) out(`${JSON.stringify(response, null, 2)}\n`);
    else out(render(response, args.env));
    if (response.action === 'status' && (response.status.directoryProblem || response.status.clusters.some((c) => c.frozen.length > 0))) return EXIT.finding;
    return EXIT.ok;
  } catch (e) {
    if (e instanceof Refused) {
      err(`reshard: ${e.message}\n`);
      return EXIT.cannotRun;
    }
    if (e instanceof UsageError || !(e instanceof Error) || /credentials|token/i.test(e.name)) return cannotRunExit('reshard', e, err, errorMessage);
    err(`reshard: ${e.message}\n`);
    return EXIT.finding;
  }
}

function wholeNumber(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`${flag} = "${value}": must be a whole number ≥ 0 (e.g. ${flag} 3).`, true);
  return Number(value);
}

function graceSeconds(value: string | undefined): number {
  if (value === undefined) return 60;
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n > 600) throw new UsageError(`--grace-seconds = "${value}": must be a number of seconds from 0 to 600.`, true);
  return n;
}

function eventOf(action: Action, shardFlag: string | undefined, toFlag: string | undefined): ReshardEvent {
  const shard = wholeNumber('--shard', shardFlag);
  const to = wholeNumber('--to', toFlag);
  if (action !== 'move') {
    if (shard !== undefined || to !== undefined) throw new UsageError(`--shard and --to go with move, not ${action}.`, true);
    return { action };
  }
  if (shard === undefined || to === undefined) {
    throw new UsageError(`move needs ${[shard === undefined && '--shard <N>', to === undefined && '--to <C>'].filter(Boolean).join(' and ')} (npm run reshard -- plan lists the moves to make).`, true);
  }
  return { action, shard, to };
}

async function runLocal(event: ReshardEvent, urls: string, graceSec: number, onStep?: (s: MoveStep, d: Record<string, unknown>) => void): Promise<ReshardResponse> {
  const list = urls.split(',').map((u) => u.trim()).filter(Boolean);
  const bad = list.find((u) => !/^postgres(ql)?:\/\//.test(u));
  if (list.length === 0 || bad !== undefined) throw new UsageError(`--local = "${bad ?? urls}": a comma-separated list of postgres:// URLs, cluster 0 first.`, true);
  const { runAction } = await import('../../lambda/reshard/action');
  const { poolsFromUrls, ReshardRefusal } = await import('../../workload/src/reshard');
  const pools = poolsFromUrls(list);
  try {
    return await runAction(event, pools, { graceMs: graceSec * 1000, onStep });
  } catch (e) {
    if (e instanceof ReshardRefusal) throw new Refused(e.message);
    throw e;
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
}

async function invoke(event: ReshardEvent, envName: string, configFile: string | undefined, functionFlag: string | undefined, deps: CliDeps): Promise<ReshardResponse> {
  const config = loadEnvironmentConfig(envName, configFile);
  const [{ CloudFormationClient }, { InvokeCommand, LambdaClient }, { readStackOutput }] = await Promise.all([
    import('@aws-sdk/client-cloudformation'), import('@aws-sdk/client-lambda'), import('../common/stack-outputs'),
  ]);
  const functionName = functionFlag ?? await readStackOutput(deps.cloudFormation ?? new CloudFormationClient({ region: config.region }), envName, 'reshardFunctionName', '--function NAME');
  // No retries: a move is safe to run again, but not twice at once (the second waits for the first's lock).
  // requestTimeout alone only warns in @smithy/node-http-handler 4.4+; throwOnRequestTimeout makes it an error
  // (https://docs.aws.amazon.com/AWSJavaScriptSDK/v3/latest/Package/-smithy-node-http-handler).
  const lambda = deps.lambda ?? new LambdaClient({ region: config.region, maxAttempts: 1, requestHandler: { requestTimeout: INVOKE_TIMEOUT_MS, throwOnRequestTimeout: true } });
  const r = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'RequestResponse', Payload: Buffer.from(JSON.stringify(event)) }));
  const text = r.Payload ? Buffer.from(r.Payload).toString('utf8') : '';
  if (r.FunctionError) {
    let parsed: { errorType?: string; errorMessage?: string } = {};
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      // not JSON: the raw payload below
    }
    const message = parsed.errorMessage ?? text;
    if (parsed.errorType === 'ReshardRefusal') throw new Refused(message);
    throw new Error(`${functionName} failed (${parsed.errorType ?? r.FunctionError}): ${message}`);
  }
  const response = JSON.parse(text) as ReshardResponse;
  if (response?.action !== event.action) throw new Error(`${functionName} answered something other than a ${event.action} result. Fix: deploy the Data stack from this version.`);
  return response;
}

function describeStep(step: MoveStep, d: Record<string, unknown>): string {
  switch (step) {
    case 'locked': return `logical shard ${d.shard}: directory lock taken`;
    case 'cleanedStale': return `logical shard ${d.shard}: old copy left by an earlier run deleted on cluster(s) ${(d.clusters as number[]).join(', ')}`;
    case 'frozen': return `logical shard ${d.shard}: frozen on cluster ${d.from} (its writes wait and retry)`;
    case 'switched': return `logical shard ${d.shard}: copied, verified and switched to cluster ${d.to} (writes paused ${d.writePauseMs} ms)`;
    case 'graceOver': return `logical shard ${d.shard}: grace period over`;
    case 'cleaned': return `logical shard ${d.shard}: old copy deleted on cluster ${d.from}`;
    case 'thawed': return `logical shard ${d.shard}: writable again on cluster ${d.cluster}`;
  }
}

function renderStatus(s: ReshardStatus): string[] {
  const lines = [`${s.logicalShards} logical shards on ${s.clusters.length} clusters`];
  for (const c of s.clusters) {
    lines.push(`  cluster ${c.cluster}: ${c.owned} owned${c.frozen.length ? `, frozen ${c.frozen.join(', ')}` : ''}; ${c.totalRows} rows (${Object.entries(c.rows).map(([t, n]) => `${t} ${n}`).join(', ')})`);
  }
  lines.push(s.directoryProblem ? `directory: ${s.directoryProblem}` : 'directory: every logical shard owned by one cluster');
  const frozen = s.clusters.flatMap((c) => c.frozen.map((f) => `${f} on cluster ${c.cluster}`));
  if (frozen.length) lines.push(`frozen (a move in progress, or stopped: run it again): ${frozen.join('; ')}`);
  if (s.hot.top.length && s.hot.meanRows > 0) {
    lines.push(`biggest logical shards (mean ${s.hot.meanRows.toFixed(1)} rows): ${s.hot.top.map((t) => `${t.shard} on cluster ${t.cluster} ${t.rows} rows (${t.timesMean.toFixed(1)}×)`).join('; ')}`);
  }
  lines.push(`largest cluster: ${s.hot.clusterImbalance.toFixed(2)}× the mean cluster's rows`);
  return lines;
}

function renderPlan(p: ReshardPlan, envName: string | undefined): string[] {
  const where = envName ? `--env ${envName}` : '--local <urls>';
  const lines = p.moves.length === 0 ? ['plan: every cluster holds its share: nothing to move'] : [`plan: ${p.moves.length} move(s), one at a time:`];
  for (const m of p.moves) lines.push(`  npm run reshard -- move ${where} --shard ${m.shard} --to ${m.to}    # cluster ${m.from} → ${m.to}, ${m.rows} rows`);
  const row = (x: { cluster: number; shards: number; rows: number }) => `cluster ${x.cluster} ${x.shards} shards ${x.rows} rows`;
  lines.push(`before: ${p.before.map(row).join('; ')}`, `after:  ${p.after.map(row).join('; ')}`);
  return lines;
}

function render(r: ReshardResponse, envName: string | undefined): string {
  const lines = r.action === 'status' ? renderStatus(r.status)
    : r.action === 'plan' ? renderPlan(r.plan, envName)
      : [r.move.summary];
  return `${lines.join('\n')}\n`;
}
