import { DIRECTORY_LOCK, readDirectory } from '../../workload/src/shards';
import { moveShard, planMoves, reshardStatus, ReshardRefusal, type MoveStep } from '../../workload/src/reshard';
import { createClusters, FencedWriter, fillShard, shardRows, type Clusters } from './reshard-clusters';

/**
 * The shard mover stopped after each of its steps (as a crash would leave it) and run again: it converges.
 * Its refusals, its own failures (which thaw the shard), `status` and `plan`.
 */
const L = 16;
let clusters: Clusters;
let writer: FencedWriter;

beforeAll(async () => {
  clusters = await createClusters(3, { logicalShards: L, seed: 2 });
  writer = new FencedWriter(clusters.pools, L);
}, 30_000);
afterAll(() => clusters?.close());

const empty = { items: 0, jobs: 0, outbox: 0, idempotency_keys: 0 };
const crash = (at: MoveStep) => (step: MoveStep) => {
  if (step === at) throw new Error(`stopped after ${at}`);
};

async function fill(shard: number, n: number): Promise<void> {
  await fillShard(clusters.pools[(await readDirectory(clusters.pools, L))[shard]], shard, n, L);
}

async function state(shard: number): Promise<Array<string | undefined>> {
  return Promise.all(clusters.pools.map(async (p) => (await p.query('SELECT state FROM shard_ownership WHERE logical_shard = $1', [shard])).rows[0]?.state));
}

describe.each([
  ['locked', ['owned', undefined]],
  ['frozen', ['frozen', undefined]],
  ['switched', ['frozen', 'owned']],
  ['graceOver', ['frozen', 'owned']],
] as const)('stopped after %s', (at, [sourceState, targetState]) => {
  test('the layout is as the step left it, and a second run converges: every row on the target once, none on the source', async () => {
    const { pools } = clusters;
    const shard = { locked: 2, frozen: 4, switched: 6, graceOver: 8 }[at];
    const from = (await readDirectory(pools, L))[shard];
    const to = 2;
    await fill(shard, 25);
    const before = await shardRows(pools[from], shard);

    await expect(moveShard(pools, shard, to, { graceMs: 0, onStep: crash(at) })).rejects.toThrow(`stopped after ${at}`);
    const s = await state(shard);
    expect([s[from], s[to]]).toEqual([sourceState, targetState]);

    const again = await moveShard(pools, shard, to, { graceMs: 0 });
    expect(again.alreadyThere).toBe(false);
    expect(await shardRows(pools[to], shard)).toEqual(before);
    expect(await shardRows(pools[from], shard)).toEqual(empty);
    expect(await state(shard)).toEqual(pools.map((_, c) => (c === to ? 'owned' : undefined)));
    expect((await readDirectory(pools, L))[shard]).toBe(to);
    // Switched before the stop: the second run only deletes the old copy.
    expect(again.steps).toEqual(at === 'switched' || at === 'graceOver' ? ['locked', 'cleanedStale'] : ['locked', ...(at === 'locked' ? ['frozen'] : []), 'switched', 'graceOver', 'cleaned']);
    // And a third run has nothing left to do.
    expect(await moveShard(pools, shard, to, { graceMs: 0 })).toMatchObject({ alreadyThere: true, summary: `logical shard ${shard} is already on cluster ${to}: nothing to move` });
  }, 15_000);
});

test('stopped after the freeze, moved "back" to its own cluster: thawed, and writes go on there', async () => {
  const { pools } = clusters;
  const shard = 10;
  const from = (await readDirectory(pools, L))[shard];
  await fill(shard, 5);
  await expect(moveShard(pools, shard, 2, { graceMs: 0, onStep: crash('frozen') })).rejects.toThrow('stopped after frozen');
  expect((await state(shard))[from]).toBe('frozen');
  const r = await moveShard(pools, shard, from, { graceMs: 0 });
  expect(r).toMatchObject({ steps: ['locked', 'thawed'], summary: `logical shard ${shard} was left frozen on cluster ${from} by an earlier run; it is owned (writable) again there` });
  await writer.insertItem(shard, 'after thaw');
  expect((await shardRows(pools[from], shard)).items).toBe(6);
});

test('switched before a stop, then moved on to a third cluster: the stale copy is deleted, then the shard moves from its new owner', async () => {
  const { pools } = clusters;
  const shard = 12;
  const first = (await readDirectory(pools, L))[shard];
  const second = 2;
  const third = first === 0 ? 1 : 0;
  await fill(shard, 8);
  const before = await shardRows(pools[first], shard);
  await expect(moveShard(pools, shard, second, { graceMs: 0, onStep: crash('switched') })).rejects.toThrow();
  const r = await moveShard(pools, shard, third, { graceMs: 0 });
  expect(r).toMatchObject({ from: second, to: third, steps: ['locked', 'cleanedStale', 'frozen', 'switched', 'graceOver', 'cleaned'] });
  expect(await shardRows(pools[third], shard)).toEqual(before);
  expect(await shardRows(pools[first], shard)).toEqual(empty);
  expect(await shardRows(pools[second], shard)).toEqual(empty);
});

describe('refusals, before anything changes', () => {
  test('an unknown logical shard, a target that is not a cluster, and a layout that is not seeded', async () => {
    const { pools } = clusters;
    await expect(moveShard(pools, 16, 0)).rejects.toThrow(new ReshardRefusal('logical shard 16 does not exist: the layout has 16 (0 to 15). Fix: pick one from `status`.'));
    await expect(moveShard(pools, -1, 0)).rejects.toThrow('logical shard -1 does not exist');
    await expect(moveShard(pools, 1, 3)).rejects.toThrow(new ReshardRefusal('cluster 3 is not a cluster: there are 3 (0 to 2, in DB_SHARDS order). Fix: name one of them, or add the cluster (database.sharding.shards) and deploy first.'));
    // A layout whose seeding has not finished (a first start that stopped half-way).
    await pools[0].query(`UPDATE shard_layout SET state = 'seeding'`);
    try {
      await expect(moveShard(pools, 1, 1)).rejects.toThrow(new ReshardRefusal('the shard layout is not seeded on cluster 0 (state seeding): the first layout is written when the API or worker starts in clusters mode. Fix: deploy, let a task start, then move shards.'));
    } finally {
      await pools[0].query(`UPDATE shard_layout SET state = 'seeded'`);
    }
  }, 15_000);

  test('the target is where the shard already is: nothing to move, nothing changed', async () => {
    const { pools } = clusters;
    const shard = 1;
    const at = (await readDirectory(pools, L))[shard];
    expect(await moveShard(pools, shard, at)).toMatchObject({ alreadyThere: true, steps: ['locked'], tables: [], summary: `logical shard ${shard} is already on cluster ${at}: nothing to move` });
    expect((await state(shard))[at]).toBe('owned');
  });

  test('a write in flight that does not finish within the freeze timeout: refused, the shard stays owned and writable', async () => {
    const { pools } = clusters;
    const shard = 3;
    const from = (await readDirectory(pools, L))[shard];
    const inFlight = await pools[from].connect();
    try {
      await inFlight.query('BEGIN');
      await inFlight.query('SELECT state FROM shard_ownership WHERE logical_shard = $1 FOR SHARE', [shard]);
      await expect(moveShard(pools, shard, 2, { graceMs: 0, freezeTimeoutMs: 200 })).rejects.toThrow(
        new ReshardRefusal(`could not freeze logical shard ${shard} on cluster ${from} within 200 ms: a transaction holding its ownership row (a write in flight) did not finish. Nothing changed; writes go on. Fix: move again (or raise the freeze timeout).`));
    } finally {
      await inFlight.query('ROLLBACK');
      inFlight.release();
    }
    expect(await state(shard)).toEqual(pools.map((_, c) => (c === from ? 'owned' : undefined)));
    await writer.insertItem(shard, 'still writable');
  });

  test('another move holding the directory lock past the wait: refused, nothing changed', async () => {
    const { pools } = clusters;
    const other = await pools[0].connect();
    try {
      await other.query('SELECT pg_advisory_lock($1)', [DIRECTORY_LOCK]);
      await expect(moveShard(pools, 5, 2, { lockTimeoutMs: 200 })).rejects.toThrow(
        new ReshardRefusal('another shard move (or the layout\'s seeding) held the directory lock on cluster 0 for 200 ms. Fix: wait for it to finish, then move again.'));
    } finally {
      await other.query('SELECT pg_advisory_unlock($1)', [DIRECTORY_LOCK]);
      other.release();
    }
    expect((await state(5))[(await readDirectory(pools, L))[5]]).toBe('owned');
  });

  test('the copy does not verify (the target changed a row): rolled back, the source thawed, writes go on', async () => {
    const { pools } = clusters;
    const shard = 14;
    const from = (await readDirectory(pools, L))[shard];
    await fill(shard, 3);
    // A target that alters what it is given: the checksums cannot be equal.
    await pools[2].query(`CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.name := upper(NEW.name); RETURN NEW; END $$`);
    await pools[2].query('CREATE TRIGGER shout BEFORE INSERT ON items FOR EACH ROW EXECUTE FUNCTION shout()');
    try {
      await expect(moveShard(pools, shard, 2, { graceMs: 0 })).rejects.toThrow(
        new RegExp(`^moving logical shard ${shard} from cluster ${from} to 2 failed, nothing was switched, and the shard is writable on cluster ${from} again: verification failed on cluster 2: items 3 rows \\(checksum \\w+\\) where cluster ${from} has 3 \\(checksum \\w+\\)$`));
    } finally {
      await pools[2].query('DROP TRIGGER shout ON items; DROP FUNCTION shout()');
    }
    expect(await state(shard)).toEqual(pools.map((_, c) => (c === from ? 'owned' : undefined)));
    expect(await shardRows(pools[2], shard)).toEqual(empty);
    await writer.insertItem(shard, 'still writable');
  });
});

test('status and plan: a new, empty cluster gets a third of the shards; the planned moves, run, give the planned layout', async () => {
  const { pools } = clusters;
  // What earlier tests moved, back where the seeding put it: cluster 2 starts empty.
  for (const s of (await reshardStatus(pools)).shards.filter((x) => x.cluster !== x.shard % 2)) await moveShard(pools, s.shard, s.shard % 2, { graceMs: 0 });
  await fill(0, 30);
  const status = await reshardStatus(pools);
  expect(status.directory).toHaveLength(L);
  expect(status.clusters.map((c) => c.owned)).toEqual([8, 8, 0]);
  expect(status.hot.top[0]).toMatchObject({ shard: 0, cluster: 0, state: 'owned' });
  expect(status.hot.top[0].rows).toBeGreaterThanOrEqual(120);
  expect(status.hot.top[0].timesMean).toBeGreaterThan(1);

  const plan = planMoves(status);
  // 16 shards over 3 clusters: 6, 5, 5, the extra one where most are already; the fewest moves (5), all to the new cluster.
  expect(plan.after.map((c) => c.shards)).toEqual([6, 5, 5]);
  expect(plan.moves).toHaveLength(5);
  expect(plan.moves.every((m) => m.to === 2)).toBe(true);
  for (const m of plan.moves) await moveShard(pools, m.shard, m.to, { graceMs: 0 });
  const after = await reshardStatus(pools);
  expect(after.clusters.map((c) => c.owned)).toEqual(plan.after.map((c) => c.shards));
  expect(after.clusters.map((c) => c.totalRows)).toEqual(plan.after.map((c) => c.rows));
  // Balanced: nothing left to plan.
  expect(planMoves(after).moves).toEqual([]);
}, 20_000);

test('plan: within the even counts, the shards moved are those that best even out the rows', () => {
  const shards = [100, 10, 10, 10, 10, 10, 10, 10].map((rows, shard) => ({ shard, cluster: shard < 4 ? 0 : 1, state: 'owned' as const, rows }));
  const clustersOf = [0, 1, 2].map((cluster) => ({ cluster, owned: 0, frozen: [], rows: {}, totalRows: 0 }));
  const plan = planMoves({ logicalShards: 8, shards, clusters: clustersOf });
  // 8 over 3: 3, 3, 2. From cluster 0 (130 rows) the 100-row shard: it halves the gap to the empty cluster best.
  expect(plan.moves).toEqual([{ shard: 0, from: 0, to: 2, rows: 100 }, { shard: 4, from: 1, to: 2, rows: 10 }]);
  expect(plan.after).toEqual([{ cluster: 0, shards: 3, rows: 30 }, { cluster: 1, shards: 3, rows: 30 }, { cluster: 2, shards: 2, rows: 110 }]);
  // Already even: nothing to move.
  expect(planMoves({ logicalShards: 8, shards: shards.map((s) => ({ ...s, cluster: s.shard % 3 })), clusters: clustersOf }).moves).toEqual([]);
});
