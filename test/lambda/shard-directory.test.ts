import { randomBytes } from 'crypto';
import { Pool } from 'pg';
import { seedShards } from '../../lambda/shard-directory/seed';
import type { MasterConnection } from '../../lambda/shared/master-connection';
import { initialOwnerOf, SHARD_OWNERSHIP_TABLE } from '../../lib/contracts/sharding';
import { migrate } from '../../workload/src/migrations';
import { serviceEnv } from '../workload/harness';

// The shard directory custom resource's core (lambda/shard-directory/seed.ts) against real PostgreSQL: three
// databases of the shared server stand in for three Aurora clusters, each migrated as the migrations custom
// resource leaves it (the directory's resource depends on every cluster's migrations).

jest.setTimeout(20_000);

const env = serviceEnv();
const server = { host: env.DB_WRITER_HOST, port: Number(env.DB_PORT), user: env.DB_USERNAME };
const admin = new Pool({ ...server, database: 'postgres', max: 1 });
const created: string[] = [];

/** `n` fresh, migrated databases (clusters), index = cluster number. */
async function clusters(n: number): Promise<{ targets: MasterConnection[]; pools: Pool[] }> {
  const names = Array.from({ length: n }, () => `sb_shards_${randomBytes(5).toString('hex')}`);
  const pools: Pool[] = [];
  for (const name of names) {
    await admin.query(`CREATE DATABASE ${name}`);
    created.push(name);
    const pool = new Pool({ ...server, database: name, max: 1 });
    await migrate(pool);
    pools.push(pool);
  }
  return { targets: names.map((database) => ({ ...server, database, ssl: false })), pools };
}

const owned = async (pool: Pool) =>
  (await pool.query<{ s: number }>(`SELECT logical_shard AS s FROM ${SHARD_OWNERSHIP_TABLE} WHERE state = 'owned' ORDER BY 1`)).rows.map((r) => r.s);

afterAll(async () => {
  for (const name of created) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

test('an empty deployment: every logical shard on exactly one cluster, round robin; a second run (an update) keeps the layout', async () => {
  const { targets, pools } = await clusters(3);
  try {
    expect(await seedShards(targets, 16)).toBe('seeded');
    const held = await Promise.all(pools.map(owned));
    held.forEach((shards, cluster) => expect(shards).toEqual(Array.from({ length: 16 }, (_, s) => s).filter((s) => initialOwnerOf(s, 3) === cluster)));
    expect(held.flat().sort((a, b) => a - b)).toEqual(Array.from({ length: 16 }, (_, s) => s));
    // As a move would leave it: shard 0 now on cluster 1. The next deploy's run must not undo it.
    await pools[0].query(`DELETE FROM ${SHARD_OWNERSHIP_TABLE} WHERE logical_shard = 0`);
    await pools[1].query(`INSERT INTO ${SHARD_OWNERSHIP_TABLE} (logical_shard, state) VALUES (0, 'owned')`);
    expect(await seedShards(targets, 16)).toBe('present');
    expect(await owned(pools[0])).not.toContain(0);
    expect(await owned(pools[1])).toContain(0);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test('data written before sharding (cluster 0 holds items): every logical shard stays on cluster 0, the others get none', async () => {
  const { targets, pools } = await clusters(3);
  try {
    await pools[0].query("INSERT INTO items (name) VALUES ('written unsharded')");
    expect(await seedShards(targets, 16)).toBe('seeded');
    expect(await owned(pools[0])).toEqual(Array.from({ length: 16 }, (_, s) => s));
    expect(await owned(pools[1])).toEqual([]);
    expect(await owned(pools[2])).toEqual([]);
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test('another logical shard count than the layout was seeded with is refused (item ids carry theirs), with the fix', async () => {
  const { targets, pools } = await clusters(2);
  try {
    await seedShards(targets, 16);
    await expect(seedShards(targets, 32)).rejects.toThrow(
      'the shard layout was created with 16 logical shards, not 32: item ids carry their logical shard, so the count cannot change (set database.sharding.logicalShards back to 16)');
  } finally {
    await Promise.all(pools.map((p) => p.end()));
  }
});

test('no cluster: refused', async () => {
  await expect(seedShards([], 16)).rejects.toThrow('no cluster to seed the shard directory on');
});
