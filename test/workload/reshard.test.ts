import { readDirectory } from '../../workload/src/shards';
import { moveShard, type MoveStep } from '../../workload/src/reshard';
import { createClusters, FencedWriter, fillShard, shardRows, type Clusters } from './reshard-clusters';

/**
 * The shard move under traffic: writers insert and update rows of the moving logical shard through the
 * write fence (and retry on ShardMovedError, as the workload does) while the mover freezes, copies,
 * verifies, switches and cleans up. Afterwards every acknowledged write is on the target exactly once,
 * nothing of the shard is left on the source, and ids are unique across the clusters.
 */
const L = 16;
let clusters: Clusters;

beforeAll(async () => {
  clusters = await createClusters(3, { logicalShards: L });
}, 30_000);
afterAll(() => clusters?.close());

test('a move under concurrent writes loses and duplicates nothing; the target takes the writes after the switch', async () => {
  const { pools } = clusters;
  const shard = 5;
  const directory = await readDirectory(pools, L);
  const from = directory[shard];
  const to = (from + 1) % 3;
  const writers = Array.from({ length: 4 }, () => new FencedWriter(pools, L));

  // Rows already there: the copy has something to copy (and the pause something to measure).
  const seeded = 400;
  const acked = new Map<string, { bumps: number; jobId: string; key: string }>();
  for (const r of await fillShard(pools[from], shard, seeded, L)) acked.set(r.id, { bumps: 0, jobId: r.jobId, key: r.key });

  // Writers: inserts and updates of the moving shard, until told to stop. Each acknowledged write is recorded
  // only once its transaction committed.
  let stop = false;
  let writesDuringMove = 0;
  let moving = false;
  let afterSwitch = 0;
  let switched = false;
  let reachedBefore!: () => void;
  const enoughBefore = new Promise<void>((r) => (reachedBefore = r));
  let reachedAfter!: () => void;
  const enoughAfter = new Promise<void>((r) => (reachedAfter = r));
  let done = 0;
  const loops = writers.map(async (w, n) => {
    for (let i = 0; !stop; i++) {
      if (i % 2 === 0) {
        const r = await w.insertItem(shard, `w${n}-${i}`);
        acked.set(r.id, { bumps: 0, jobId: r.jobId, key: r.key });
      } else {
        const ids = [...acked.keys()];
        const id = ids[(i * 7919 + n) % ids.length];
        await w.bumpItem(shard, id);
        acked.get(id)!.bumps++;
      }
      done++;
      if (moving) writesDuringMove++;
      if (switched && ++afterSwitch >= 40) reachedAfter();
      if (done >= 40) reachedBefore();
    }
  });

  // Readers: acknowledged items, read as the API reads them, while the shard moves: never a false "not found".
  const missed: string[] = [];
  let reads = 0;
  const readers = writers.slice(0, 2).map(async (w, n) => {
    for (let i = 0; !stop; i++) {
      const ids = [...acked.keys()];
      const id = ids[(i * 104_729 + n) % ids.length];
      if (!(await w.readItem(shard, id))) missed.push(id);
      reads++;
    }
  });

  await enoughBefore;
  moving = true;
  const steps: MoveStep[] = [];
  const ackedAt: Partial<Record<MoveStep, number>> = {};
  const result = await moveShard(pools, shard, to, {
    graceMs: 0,
    onStep: async (step) => {
      steps.push(step);
      ackedAt[step] = acked.size;
      // Keep writing across the switch: the clean-up waits until writers have been served by the target.
      if (step === 'switched') {
        switched = true;
        await enoughAfter;
      }
    },
  });
  moving = false;
  stop = true;
  await Promise.all([...loops, ...readers]);
  for (const w of writers) w.close();
  expect(missed).toEqual([]);
  expect(reads).toBeGreaterThan(0);

  expect(result).toMatchObject({ shard, from, to, alreadyThere: false, steps: ['locked', 'frozen', 'switched', 'graceOver', 'cleaned'] });
  expect(steps).toEqual(result.steps);
  expect(writesDuringMove).toBeGreaterThan(40);
  expect(writers.reduce((n, w) => n + w.retries, 0)).toBeGreaterThan(0);

  // Every acknowledged item, job, outbox row and key: on the target exactly once, with every acknowledged update.
  const items = await pools[to].query<{ id: string; processed_count: number }>('SELECT id, processed_count FROM items WHERE logical_shard = $1', [shard]);
  expect(items.rows.length).toBe(acked.size);
  const counts = new Map(items.rows.map((r) => [r.id, r.processed_count]));
  const wrong = [...acked].filter(([id, a]) => counts.get(id) !== a.bumps);
  expect(wrong).toEqual([]);
  const jobs = await pools[to].query<{ id: string }>('SELECT id FROM jobs WHERE logical_shard = $1', [shard]);
  expect(new Set(jobs.rows.map((r) => r.id))).toEqual(new Set([...acked.values()].map((a) => a.jobId)));
  const outbox = await pools[to].query<{ job_id: string }>('SELECT job_id FROM outbox WHERE logical_shard = $1', [shard]);
  expect(outbox.rows.map((r) => r.job_id).sort()).toEqual([...acked.values()].map((a) => a.jobId).sort());
  const keys = await pools[to].query<{ key: string }>('SELECT key FROM idempotency_keys WHERE logical_shard = $1', [shard]);
  expect(keys.rows.map((r) => r.key).sort()).toEqual([...acked.values()].map((a) => a.key).sort());

  // Nothing of the shard left on the source; the directory names the target; ids unique across clusters.
  expect(await shardRows(pools[from], shard)).toEqual({ items: 0, jobs: 0, outbox: 0, idempotency_keys: 0 });
  expect((await pools[from].query('SELECT 1 FROM shard_ownership WHERE logical_shard = $1', [shard])).rowCount).toBe(0);
  expect((await readDirectory(pools, L))[shard]).toBe(to);
  const all = (await Promise.all(pools.map((p) => p.query<{ id: string }>('SELECT id FROM items')))).flatMap((r) => r.rows.map((x) => x.id));
  expect(new Set(all).size).toBe(all.length);

  // The write pause: from the freeze's commit to the switch's, for this many rows in all four tables.
  // What was copied: every item acknowledged by the freeze, none written after it on the source (the
  // fence refused them); the target's own inserts after the switch are not part of the copy.
  const rows = result.tables.reduce((n, t) => n + t.rows, 0);
  const copied = result.tables.find((t) => t.table === 'items')!.rows;
  expect(result.tables.map((t) => t.rows)).toEqual([copied, copied, copied, copied]);
  expect(copied).toBeGreaterThanOrEqual(ackedAt.frozen!);
  expect(copied).toBeLessThanOrEqual(ackedAt.switched!);
  expect(result.writePauseMs).toBeLessThan(10_000);
  console.log(`shard move: ${reads} reads, none missed; ${rows} rows (${result.tables.map((t) => `${t.table} ${t.rows}`).join(', ')}), writes paused ${result.writePauseMs} ms, ${writesDuringMove} writes during the move, ${writers.reduce((n, w) => n + w.retries, 0)} retried`);
}, 30_000);

test('the target\'s id sequence is raised above the copied ids: a new item of the moved shard does not reuse an id', async () => {
  const { pools } = clusters;
  const shard = 6;
  const from = (await readDirectory(pools, L))[shard];
  const to = (from + 1) % 3;
  const w = new FencedWriter(pools, L);
  // The source's sequence well ahead of the target's.
  await pools[from].query(`SELECT setval('items_id_seq', 100000)`);
  const copied = await w.insertItem(shard, 'before');
  const targetSeqBefore = Number((await pools[to].query('SELECT last_value FROM items_id_seq')).rows[0].last_value);
  expect(targetSeqBefore).toBeLessThan(100000);

  await moveShard(pools, shard, to, { graceMs: 0 });
  const fresh = await w.insertItem(shard, 'after');
  expect(BigInt(fresh.id)).toBeGreaterThan(BigInt(copied.id));
  expect(Number(BigInt(fresh.id) % BigInt(L))).toBe(shard);
  // ⌊max id / L⌋: exactly the sequence value the copied id was made from, never more (ids stay small).
  expect(Number((await pools[to].query('SELECT last_value FROM items_id_seq')).rows[0].last_value)).toBe(100002);
  w.close();
}, 20_000);
