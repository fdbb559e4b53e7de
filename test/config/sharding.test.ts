import { connectionBudgetPerCluster, connectionDemand, connectionDemandPerCluster, shardClusterCount } from '../../lib/config/capacity';
import { AURORA_POSTGRES_LIMITLESS_VERSIONS, limitlessRegionRefusal } from '../../lib/config/supported';
import { configFor, oneProblem, problemsFor } from '../helpers/context';

// database.sharding: every rule's message asserted whole (the key path as the user wrote it, the value, what is
// wrong, the fix). Figures worked out by hand in the comments.

const REQS = 'https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html';
const DEV = 'scaling-blueprint.environments.dev';

/** A dev config that Limitless accepts: dev already has no readers, no autoscaling, no proxy, Enhanced Monitoring at 60 s. */
const LIMITLESS = { database: { sharding: { mode: 'limitless' }, performanceInsightsRetentionDays: 31 } };

describe('database.sharding: the number of clusters each mode runs', () => {
  test('mode none with more than one cluster is refused', () => {
    expect(oneProblem('dev', { database: { sharding: { clusters: 3 } } })).toBe(
      `${DEV}.database.sharding.clusters = 3: is 3 with database.sharding.mode "none", which runs one cluster. ` +
        'Fix: set database.sharding.clusters to 1, or database.sharding.mode to "clusters" to split the data over 3 clusters.');
  });

  test('mode limitless with more than one cluster is refused the same way', () => {
    expect(oneProblem('dev', { ...LIMITLESS, database: { ...LIMITLESS.database, sharding: { mode: 'limitless', clusters: 2 } } })).toBe(
      `${DEV}.database.sharding.clusters = 2: is 2 with database.sharding.mode "limitless", which runs one cluster. ` +
        'Fix: set database.sharding.clusters to 1, or database.sharding.mode to "clusters" to split the data over 2 clusters.');
  });

  test('mode clusters with one cluster is refused', () => {
    expect(oneProblem('dev', { database: { sharding: { mode: 'clusters', clusters: 1 } } })).toBe(
      `${DEV}.database.sharding.clusters = 1: is 1 with database.sharding.mode "clusters": one cluster holds every logical shard, so it is mode "none" with a directory and per-request routing for nothing. ` +
        'Fix: set it to 2 or more, or database.sharding.mode to "none".');
  });

  test('more than 16 clusters is refused by the schema', () => {
    expect(oneProblem('dev', { database: { sharding: { mode: 'clusters', clusters: 17 } } })).toBe(
      `${DEV}.database.sharding.clusters = 17: must be ≤ 16. Fix: lower it to at most 16.`);
  });

  test('fewer than 8 logical shards per cluster is refused, with the next power of two that is enough', () => {
    // 3 clusters need 8 × 3 = 24; 16 gives 5 or 6 each; the next allowed count at or above 24 is 32.
    expect(oneProblem('dev', { database: { sharding: { mode: 'clusters', clusters: 3, logicalShards: 16 } } })).toBe(
      `${DEV}.database.sharding.logicalShards = 16: is below 8 × database.sharding.clusters (3) = 24: 16 logical shards over 3 clusters is 5 or 6 per cluster. ` +
        'A cluster\'s load moves only in whole logical shards, so the clusters can be balanced only to within one of them; with fewer than 8 per cluster that is more than 1/8 (12.5 %) of a cluster\'s load, now and when a cluster added later takes its share in whole logical shards. ' +
        'The count cannot change once data is written (item ids carry their logical shard). ' +
        'Fix: set it to 32 or more (one of 16, 32, 64, 128, 256, 512, 1024, 2048, 4096) before any data is written, for the most clusters you may run.');
  });

  test('exactly 8 per cluster passes (2 clusters, 16 logical shards)', () => {
    expect(configFor('dev', { database: { sharding: { mode: 'clusters', clusters: 2, logicalShards: 16 } } }).database.sharding.clusters).toBe(2);
  });
});

describe('connection budget per cluster (clusters mode)', () => {
  test('shardClusterCount: clusters only in clusters mode', () => {
    expect(shardClusterCount({ sharding: { mode: 'clusters', clusters: 3 } })).toBe(3);
    expect(shardClusterCount({ sharding: { mode: 'none', clusters: 1 } })).toBe(1);
    expect(shardClusterCount({ sharding: { mode: 'limitless', clusters: 1 } })).toBe(1);
    expect(shardClusterCount({})).toBe(1);
  });

  test('a sharded dev config that passes: each cluster sees the whole demand of an unsharded one', () => {
    // dev: db.t4g.medium max_connections 405 − 5 reserved = 400 per writer, no proxy.
    // API 4 × 200 % = 8 tasks × 1 process × 2 pools (no readers: both on the writer) × 5 = 80; worker 10 × 1 × 1 × 10 = 100.
    // Every process opens its pools on each of the 3 clusters: 180 on each writer, 540 over the fleet.
    const cfg = configFor('dev', { database: { sharding: { mode: 'clusters', clusters: 3 } } });
    expect(connectionBudgetPerCluster(cfg.database)).toEqual({ clusters: 3, perCluster: 400, total: 1200 });
    const demand = connectionDemandPerCluster(cfg);
    expect(demand.clusters).toBe(3);
    expect(demand.perCluster.writer).toBe(180);
    expect(demand.perCluster).toEqual(connectionDemand(cfg));
    expect(demand.total).toEqual({ writer: 540, readers: 0 });
  });

  test('a sharded dev config that fails: the message names the cluster count and why more clusters do not help', () => {
    // 8 × 1 × 2 × 36 = 576, + 100 = 676 on each of the 3 writers > 400.
    expect(problemsFor('dev', { api: { dbPoolSize: 36 }, database: { sharding: { mode: 'clusters', clusters: 3 } } })).toEqual([
      `${DEV}.api.dbPoolSize = 36: puts each of the 3 clusters' writers over its connection budget (database.sharding.clusters 3: every API, service and worker process opens its pools on every cluster, so each writer sees all of them): ` +
        'API peak 8 tasks (api.maxTasks 4 × api.maxHealthyPercent 200 %) × 1 process (api.cpu 256) × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × api.dbPoolSize 36 = 576, ' +
        'plus worker peak 10 tasks (worker.maxTasks 5 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 100, ' +
        'is 676 connections on each writer, but each writer allows 400 (max_connections 405 of db.t4g.medium − 5 reserved). ' +
        'Fix: lower api.dbPoolSize, worker.dbPoolSize, the maxTasks or api.maxHealthyPercent, add a reader (database.readers) so that reads leave the writer, or pick a larger database.instanceClass (more clusters do not help: each one sees every process\'s pools).',
    ]);
  });

  test('through the proxy, each cluster\'s writer against the proxy\'s share of it (staging, 2 clusters)', () => {
    // staging: db.r6g.large 1722 − 5 = 1717, × 90 % = 1545.3 → 1545 per writer, 3090 over 2 clusters.
    const cfg = configFor('staging', { database: { sharding: { mode: 'clusters', clusters: 2 } } });
    expect(connectionBudgetPerCluster(cfg.database)).toEqual({ clusters: 2, perCluster: 1545, total: 3090 });
  });

  test('mode none keeps the one-cluster shape and message', () => {
    const cfg = configFor('dev');
    expect(connectionBudgetPerCluster(cfg.database)).toEqual({ clusters: 1, perCluster: 400, total: 400 });
    expect(problemsFor('dev', { api: { dbPoolSize: 36 } })[0]).toMatch(/^scaling-blueprint\.environments\.dev\.api\.dbPoolSize = 36: puts the writer over its connection budget: API peak 8 tasks/);
  });

  test('limitless: no instance budget is claimed (the shard group has no instance class)', () => {
    expect(connectionBudgetPerCluster(configFor('dev', LIMITLESS).database)).toBeUndefined();
  });
});

describe('limitless mode: what AWS requires of the cluster', () => {
  test('a dev config that meets every requirement loads', () => {
    const cfg = configFor('dev', LIMITLESS);
    expect(cfg.database.sharding.mode).toBe('limitless');
    expect(cfg.database.sharding.limitless.engineVersion).toBe('16.6-limitless');
  });

  test('a production config that meets every requirement loads (no readers, a compute standby)', () => {
    const cfg = configFor('prod', { database: { ...LIMITLESS.database, readers: 0, readerAutoscaling: { enabled: false }, proxy: { enabled: false } } });
    expect(cfg.database.sharding.limitless.computeRedundancy).toBe(1);
  });

  test('the engine version must be a Limitless one aws-cdk-lib knows', () => {
    expect(AURORA_POSTGRES_LIMITLESS_VERSIONS).toContain('16.4-limitless');
    expect(AURORA_POSTGRES_LIMITLESS_VERSIONS).toContain('16.6-limitless');
    expect(AURORA_POSTGRES_LIMITLESS_VERSIONS.every((v) => /^\d+\.\d+-limitless$/.test(v))).toBe(true);
    expect(oneProblem('dev', { database: { ...LIMITLESS.database, sharding: { mode: 'limitless', limitless: { engineVersion: '16.5-limitless' } } } })).toBe(
      `${DEV}.database.sharding.limitless.engineVersion = "16.5-limitless": is not an Aurora PostgreSQL Limitless Database engine version aws-cdk-lib knows (lib/config/supported.ts); Limitless runs only on its own "-limitless" versions. ` +
        `Fix: use one of ${AURORA_POSTGRES_LIMITLESS_VERSIONS.join(', ')}.`);
  });

  test('a standard engine version is refused by the schema', () => {
    expect(oneProblem('dev', { database: { ...LIMITLESS.database, sharding: { mode: 'limitless', limitless: { engineVersion: '16.6' } } } })).toBe(
      `${DEV}.database.sharding.limitless.engineVersion = "16.6": must be a Limitless version such as "16.6-limitless". Fix: write a Limitless version such as "16.6-limitless".`);
  });

  test('the loader refuses limitless in Asia Pacific (Taipei), with the reason', () => {
    expect(oneProblem('dev', { ...LIMITLESS, region: 'ap-east-2', network: { availabilityZones: ['ap-east-2a', 'ap-east-2b'] } })).toBe(
      `${DEV}.database.sharding.mode = "limitless": is not offered in region "ap-east-2": Aurora PostgreSQL Limitless Database is not available in Asia Pacific (Taipei) (${REQS}). ` +
        'Fix: deploy this environment to a Region that offers it (region and network.availabilityZones), or set database.sharding.mode to "clusters" for sharding on several Aurora clusters.');
  });

  test('the loader refuses limitless in AWS GovCloud (US)', () => {
    expect(oneProblem('dev', { ...LIMITLESS, region: 'us-gov-west-1', network: { availabilityZones: ['us-gov-west-1a', 'us-gov-west-1b'] } })).toBe(
      `${DEV}.database.sharding.mode = "limitless": is not offered in region "us-gov-west-1": Aurora PostgreSQL Limitless Database is not available in the AWS GovCloud (US) Regions (${REQS}). ` +
        'Fix: deploy this environment to a Region that offers it (region and network.availabilityZones), or set database.sharding.mode to "clusters" for sharding on several Aurora clusters.');
  });

  test('other Regions are offered', () => {
    for (const region of ['us-east-1', 'eu-west-1', 'ap-east-1', 'cn-north-1']) expect(limitlessRegionRefusal(region)).toBeUndefined();
  });

  test('us-east-1e in the VPC\'s zones is refused', () => {
    expect(oneProblem('dev', { ...LIMITLESS, network: { availabilityZones: ['us-east-1a', 'us-east-1e', 'us-east-1c'] } })).toBe(
      `${DEV}.network.availabilityZones = ["us-east-1a","us-east-1e","us-east-1c"]: puts the database's subnets in us-east-1e with database.sharding.mode "limitless": ` +
        `"Aurora Serverless v2 (and therefore Aurora PostgreSQL Limitless Database) isn't supported in the us-east-1e AZ", and AWS asks not to include it in a Limitless cluster's DB subnet group (${REQS}). ` +
        'Fix: replace us-east-1e with another zone of us-east-1 in network.availabilityZones.');
  });

  test('us-east-1e listed beyond network.maxAzs is not used, so it passes', () => {
    expect(() => configFor('dev', { ...LIMITLESS, network: { availabilityZones: ['us-east-1a', 'us-east-1b', 'us-east-1e'] } })).not.toThrow();
  });

  test('Performance Insights kept less than 31 days is refused', () => {
    expect(oneProblem('dev', { database: { sharding: { mode: 'limitless' } } })).toBe(
      'scaling-blueprint.defaults.database.performanceInsightsRetentionDays = 7: is below 31 with database.sharding.mode "limitless": ' +
        `AWS requires Performance Insights with a retention of "at least 1 month (31 days)" for a Limitless cluster (${REQS}); the 7-day free tier is refused. ` +
        'Fix: set it to 31 (1 month) or more, in steps of 31 days up to 731 (billed beyond the free 7 days).');
  });

  test('Enhanced Monitoring off is refused', () => {
    expect(oneProblem('dev', { database: { ...LIMITLESS.database, monitoringIntervalSeconds: 0 } })).toBe(
      `${DEV}.database.monitoringIntervalSeconds = 0: is 0 (Enhanced Monitoring off) with database.sharding.mode "limitless": AWS requires Enhanced Monitoring for a Limitless cluster (${REQS}). ` +
        'Fix: set it to 1, 5, 10, 15, 30 or 60 seconds.');
  });

  test('readers, reader autoscaling and RDS Proxy are refused: the cluster has no instances', () => {
    // staging takes readers 1, autoscaling and the proxy from the defaults.
    expect(problemsFor('staging', LIMITLESS)).toEqual([
      'scaling-blueprint.defaults.database.readers = 1: is 1 with database.sharding.mode "limitless": a Limitless cluster "can\'t have any writer or reader DB instances"; its compute is the DB shard group (database.sharding.limitless) ' +
        `(${REQS}). Fix: set database.readers to 0; for standbys in other zones use database.sharding.limitless.computeRedundancy.`,
      'scaling-blueprint.defaults.database.readerAutoscaling.enabled = true: is true with database.sharding.mode "limitless": reader autoscaling adds reader DB instances, which a Limitless cluster cannot have; the DB shard group scales itself between database.sharding.limitless.minCapacityAcu and maxCapacityAcu. ' +
        'Fix: set database.readerAutoscaling.enabled to false.',
      'scaling-blueprint.defaults.database.proxy.enabled = true: is true with database.sharding.mode "limitless": RDS Proxy pools connections to a cluster\'s DB instances, a Limitless cluster has none (its transaction routers take the connections on the cluster endpoint), ' +
        `and AWS documents no RDS Proxy support for Limitless Database (${REQS}; https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-shard.html#limitless-endpoint). ` +
        'Fix: set database.proxy.enabled to false; the services then connect to the cluster endpoint.',
    ]);
  });

  test('the shard group\'s minimum above its maximum is refused', () => {
    expect(oneProblem('dev', { database: { ...LIMITLESS.database, sharding: { mode: 'limitless', limitless: { minCapacityAcu: 128, maxCapacityAcu: 64 } } } })).toBe(
      `${DEV}.database.sharding.limitless.minCapacityAcu = 128: exceeds database.sharding.limitless.maxCapacityAcu (64). Fix: lower it to at most 64, or raise maxCapacityAcu.`);
  });

  test('the shard group\'s capacity range is AWS\'s: 16 to 6144 ACU', () => {
    expect(oneProblem('dev', { database: { ...LIMITLESS.database, sharding: { mode: 'limitless', limitless: { minCapacityAcu: 8 } } } })).toBe(
      `${DEV}.database.sharding.limitless.minCapacityAcu = 8: must be ≥ 16. Fix: raise it to at least 16.`);
    expect(oneProblem('dev', { database: { ...LIMITLESS.database, sharding: { mode: 'limitless', limitless: { maxCapacityAcu: 8192 } } } })).toBe(
      `${DEV}.database.sharding.limitless.maxCapacityAcu = 8192: must be ≤ 6144. Fix: lower it to at most 6144.`);
  });

  test('production without a compute standby is refused', () => {
    expect(oneProblem('prod', { database: { ...LIMITLESS.database, readers: 0, readerAutoscaling: { enabled: false }, proxy: { enabled: false }, sharding: { mode: 'limitless', limitless: { computeRedundancy: 0 } } } })).toBe(
      'scaling-blueprint.environments.prod.database.sharding.limitless.computeRedundancy = 0: is 0 in a production environment with database.sharding.mode "limitless": ' +
        'the DB shard group then has no compute standby, so when a shard fails there is no standby in another Availability Zone to take over, and its part of the data waits for the shard\'s replacement ' +
        '(https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBShardGroup.html). ' +
        'Fix: set it to 1 (a standby of each shard in another zone, which doubles the shards and their cost) or 2.');
  });

  test('the standard-cluster checks do not apply: database.engineVersion and instanceClass are ignored', () => {
    expect(() => configFor('dev', { database: { ...LIMITLESS.database, engineVersion: '10.99', instanceClass: 'db.x9.huge' } })).not.toThrow();
  });
});
