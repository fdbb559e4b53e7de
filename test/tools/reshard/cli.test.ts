import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { LambdaClient } from '@aws-sdk/client-lambda';
import { main } from '../../../tools/reshard/cli';
import { createClusters, fillShard, shardRows, type Clusters } from '../../workload/reshard-clusters';

/** `npm run reshard`: its argument errors (whole lines, exit 2), a --local run on two databases, and the function's path with stubbed AWS clients. */
async function run(argv: string[], deps: Record<string, unknown> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { ...deps, stdout: (s) => void (stdout += s), stderr: (s) => void (stderr += s) });
  return { code, stdout, stderr };
}
const usage = (line: string) => ({ code: 2, stdout: '', stderr: `reshard: ${line}\n(npm run reshard -- --help lists the flags)\n` });

describe('argument errors: one line, exit 2, nothing run', () => {
  test.each([
    [[], 'give an action first: status, plan, move (npm run reshard -- status --env dev).'],
    [['--env', 'dev'], 'give an action first: status, plan, move (npm run reshard -- status --env dev).'],
    [['mvoe', '--env', 'dev'], 'unknown action "mvoe". Did you mean move?'],
    [['split', '--env', 'dev'], 'unknown action "split": one of status, plan, move.'],
    [['move', '--env', 'dev'], 'move needs --shard <N> and --to <C> (npm run reshard -- plan lists the moves to make).'],
    [['move', '--env', 'dev', '--shard', '3'], 'move needs --to <C> (npm run reshard -- plan lists the moves to make).'],
    [['move', '--env', 'dev', '--shard', '-1', '--to', '1'], '--shard needs a value; a value that starts with "-" is written --shard=<value>.'],
    [['move', '--env', 'dev', '--shard', '1.5', '--to', '1'], '--shard = "1.5": must be a whole number ≥ 0 (e.g. --shard 3).'],
    [['status', '--env', 'dev', '--shard', '1'], '--shard and --to go with move, not status.'],
    [['status'], '--env is required (or --local <postgres-url,...> to run the mover here).'],
    [['status', '--env', 'dev', '--local', 'postgres://x/db'], '--local runs the mover here, --env through the function: give one.'],
    [['status', '--env', 'dev', '--grace-seconds', '0'], '--grace-seconds goes with --local: the function\'s grace period is its RESHARD_GRACE_SECONDS.'],
    [['status', '--local', 'mysql://x/db'], '--local = "mysql://x/db": a comma-separated list of postgres:// URLs, cluster 0 first.'],
    [['move', '--shrd', '1'], 'unknown flag --shrd. Did you mean --shard?'],
  ])('%j', async (argv, line) => {
    expect(await run(argv)).toEqual(usage(line));
  });

  test('an environment that is not in cdk.json', async () => {
    const r = await run(['status', '--env', 'prd']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^reshard: .*prd/);
  });
});

describe('--local: the mover on two local databases', () => {
  const L = 16;
  let clusters: Clusters;
  beforeAll(async () => {
    clusters = await createClusters(2, { logicalShards: L });
  }, 30_000);
  afterAll(() => clusters?.close());

  test('status, plan (nothing to move), move with its progress, then a second run has nothing to do', async () => {
    const local = ['--local', clusters.urls.join(',')];
    await fillShard(clusters.pools[0], 4, 12, L);
    const status = await run(['status', ...local]);
    expect(status).toMatchObject({ code: 0, stderr: '' });
    expect(status.stdout).toContain('16 logical shards on 2 clusters\n  cluster 0: 8 owned; 48 rows (items 12, jobs 12, outbox 12, idempotency_keys 12)');
    expect(status.stdout).toContain('  cluster 1: 8 owned; 0 rows');
    expect(status.stdout).toContain('directory: every logical shard owned by one cluster');
    expect(status.stdout).toContain('biggest logical shards (mean 3.0 rows): 4 on cluster 0 48 rows (16.0×)');

    expect(await run(['plan', ...local])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^plan: every cluster holds its share: nothing to move\n/) });

    const move = await run(['move', ...local, '--shard', '4', '--to', '1', '--grace-seconds', '0']);
    expect(move.code).toBe(0);
    expect(move.stdout).toMatch(/^logical shard 4 moved from cluster 0 to 1: 48 rows \(items 12, jobs 12, outbox 12, idempotency_keys 12\), counts and checksums equal; writes paused \d+ ms\n$/);
    expect(move.stderr.split('\n').filter(Boolean).map((l) => l.replace(/\d+ ms/, 'N ms'))).toEqual([
      'reshard: logical shard 4: directory lock taken',
      'reshard: logical shard 4: frozen on cluster 0 (its writes wait and retry)',
      'reshard: logical shard 4: copied, verified and switched to cluster 1 (writes paused N ms)',
      'reshard: logical shard 4: grace period over',
      'reshard: logical shard 4: old copy deleted on cluster 0',
    ]);
    expect(await shardRows(clusters.pools[1], 4)).toEqual({ items: 12, jobs: 12, outbox: 12, idempotency_keys: 12 });

    const again = await run(['move', ...local, '--shard', '4', '--to', '1', '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ action: 'move', move: { alreadyThere: true, summary: 'logical shard 4 is already on cluster 1: nothing to move' } });

    // A refusal: exit 2, the mover's message.
    expect(await run(['move', ...local, '--shard', '16', '--to', '0'])).toEqual({ code: 2, stdout: '', stderr: 'reshard: logical shard 16 does not exist: the layout has 16 (0 to 15). Fix: pick one from `status`.\n' });
  }, 20_000);
});

describe('through the function', () => {
  const outputs = (value?: string) => ({
    send: async () => ({ Stacks: [{ Outputs: value ? [{ OutputKey: 'ReshardFunctionName', OutputValue: value }] : [] }] }),
  }) as unknown as CloudFormationClient;
  const lambda = (reply: { Payload: string; FunctionError?: string }, sent: unknown[] = []) => ({
    send: async (command: { input: { FunctionName: string; Payload: Uint8Array } }) => {
      sent.push({ FunctionName: command.input.FunctionName, event: JSON.parse(Buffer.from(command.input.Payload).toString('utf8')) });
      return { Payload: Buffer.from(reply.Payload), FunctionError: reply.FunctionError };
    },
  }) as unknown as LambdaClient;

  test('the function named by the Data stack\'s output gets the event; its answer is printed', async () => {
    const sent: unknown[] = [];
    const move = { shard: 3, to: 1, from: 0, steps: [], tables: [], alreadyThere: false, summary: 'logical shard 3 moved from cluster 0 to 1: 8 rows' };
    const r = await run(['move', '--env', 'dev', '--shard', '3', '--to', '1'], { cloudFormation: outputs('sb-dev-reshard'), lambda: lambda({ Payload: JSON.stringify({ action: 'move', move }) }, sent) });
    expect(r).toEqual({ code: 0, stdout: 'logical shard 3 moved from cluster 0 to 1: 8 rows\n', stderr: '' });
    expect(sent).toEqual([{ FunctionName: 'sb-dev-reshard', event: { action: 'move', shard: 3, to: 1 } }]);
  });

  test('a refusal from the function exits 2, another failure 1; a stack without the output says how to pass it', async () => {
    const refused = await run(['move', '--env', 'dev', '--shard', '3', '--to', '9'], { lambda: lambda({ FunctionError: 'Unhandled', Payload: JSON.stringify({ errorType: 'ReshardRefusal', errorMessage: 'cluster 9 is not a cluster' }) }), cloudFormation: outputs('f') });
    expect(refused).toEqual({ code: 2, stdout: '', stderr: 'reshard: cluster 9 is not a cluster\n' });
    const failed = await run(['status', '--env', 'dev', '--function', 'f'], { lambda: lambda({ FunctionError: 'Unhandled', Payload: JSON.stringify({ errorType: 'Error', errorMessage: 'connect ETIMEDOUT' }) }) });
    expect(failed).toEqual({ code: 1, stdout: '', stderr: 'reshard: f failed (Error): connect ETIMEDOUT\n' });
    const missing = await run(['status', '--env', 'dev'], { cloudFormation: outputs(undefined) });
    expect(missing).toEqual({ code: 2, stdout: '', stderr: 'reshard: stack ScalingBlueprint-Dev-Data has no ReshardFunctionName output. Fix: deploy the current Data stack, or pass --function NAME.\n' });
  });
});
