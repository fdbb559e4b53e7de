import { handle, reshardEnvSchema } from '../../lambda/reshard/index';
import { serviceEnv } from '../workload/harness';
import { createClusters, fillShard, shardRows, type Clusters } from '../workload/reshard-clusters';

/**
 * The re-shard function's handler against two local databases: its environment contract, its event
 * contract, and status / plan / move through it, with each cluster's credentials read from "its secret".
 */
const L = 16;
let clusters: Clusters;
const base = serviceEnv();
const arn = (i: number) => `arn:aws:secretsmanager:eu-west-1:123456789012:secret:cluster-${i}-master-AbCdEf`;
const read: string[] = [];
const deps = (env: Record<string, string | undefined>) => ({
  env,
  ssl: false as const,
  async credentials(secretArn: string) {
    read.push(secretArn);
    // The local server trusts local connections: the password is not checked, the user is.
    return { username: base.DB_USERNAME, password: 'unused' };
  },
});

beforeAll(async () => {
  clusters = await createClusters(2, { logicalShards: L });
}, 30_000);
afterAll(() => clusters?.close());

// Databases of one local server stand for clusters: each entry names its own database.
const envFor = (names: string[]) => ({
  RESHARD_CLUSTERS: JSON.stringify(names.map((database, i) => ({ host: base.DB_WRITER_HOST, port: Number(base.DB_PORT), database, secretArn: arn(i) }))),
  RESHARD_DATABASE: 'unused',
  RESHARD_GRACE_SECONDS: '0',
});

test('the environment contract: parsed by name, refused with what is wrong', async () => {
  expect(reshardEnvSchema.parse({ RESHARD_CLUSTERS: JSON.stringify([{ host: 'h', secretArn: arn(0) }]), RESHARD_DATABASE: 'app' }))
    .toEqual({ RESHARD_CLUSTERS: [{ host: 'h', port: 5432, secretArn: arn(0) }], RESHARD_DATABASE: 'app', RESHARD_GRACE_SECONDS: 60 });
  await expect(handle({ action: 'status' }, deps({ RESHARD_CLUSTERS: '[{"host":', RESHARD_DATABASE: 'app' })))
    .rejects.toThrow("the function's environment is not what the stack sets: RESHARD_CLUSTERS: not JSON");
  await expect(handle({ action: 'status' }, deps({ RESHARD_CLUSTERS: JSON.stringify([{ host: 'h', secretArn: 'password123' }]) })))
    .rejects.toThrow("the function's environment is not what the stack sets: RESHARD_CLUSTERS.0.secretArn: a Secrets Manager secret ARN; RESHARD_DATABASE: Invalid input: expected string, received undefined");
});

test('the event contract: a move needs its shard and target', async () => {
  await expect(handle({ action: 'move', shard: 1 }, deps(envFor(clusters.names))))
    .rejects.toThrow('not a re-shard event (to: Invalid input: expected number, received undefined): send {"action":"status"|"plan"} or {"action":"move","shard":N,"to":C}');
  await expect(handle({ action: 'split' }, deps(envFor(clusters.names)))).rejects.toThrow(/^not a re-shard event \(action: /);
});

test('status, plan and move through the handler: each cluster reached with its own secret; the move lands', async () => {
  const env = envFor(clusters.names);
  read.length = 0;
  const status = await handle({ action: 'status' }, deps(env));
  expect(read).toEqual([arn(0), arn(1)]);
  expect(status).toMatchObject({ action: 'status', status: { logicalShards: L, directory: Array.from({ length: L }, (_, s) => s % 2) } });

  const plan = await handle({ action: 'plan' }, deps(env));
  expect(plan).toMatchObject({ action: 'plan', plan: { moves: [] } });

  await fillShard(clusters.pools[0], 2, 10, L);
  const lines: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
  const moved = await handle({ action: 'move', shard: 2, to: 1 }, deps(env)).finally(() => log.mockRestore());
  // Each step is a JSON line in the function's log.
  expect(lines.map((line) => JSON.parse(line)).map((l) => [l.message, l.step])).toEqual(
    ['locked', 'frozen', 'switched', 'graceOver', 'cleaned'].map((step) => ['reshard step', step]));
  expect(moved).toMatchObject({ action: 'move', move: { shard: 2, from: 0, to: 1, steps: ['locked', 'frozen', 'switched', 'graceOver', 'cleaned'] } });
  expect(await shardRows(clusters.pools[1], 2)).toEqual({ items: 10, jobs: 10, outbox: 10, idempotency_keys: 10 });
  expect(await shardRows(clusters.pools[0], 2)).toEqual({ items: 0, jobs: 0, outbox: 0, idempotency_keys: 0 });
  // A refusal is the function's error, with the mover's message.
  await expect(handle({ action: 'move', shard: 99, to: 1 }, deps(env))).rejects.toThrow('logical shard 99 does not exist: the layout has 16 (0 to 15).');
});
