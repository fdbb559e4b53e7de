import { LOGICAL_SHARD_COUNTS } from '../../contracts/sharding';
import { AURORA_POSTGRES_LIMITLESS_VERSIONS, LIMITLESS_CLUSTER, LIMITLESS_EXCLUDED_ZONES, limitlessRegionRefusal } from '../supported';
import { collector, type Config, type Problem } from './problem';

/**
 * Logical shards each cluster must hold at least. Load moves between clusters in whole logical shards, so a
 * cluster can be balanced only to within one logical shard of an even share: with 8 or more per cluster, that
 * is within 1/8 (12.5 %), today and after a cluster is added and takes its share from the others.
 */
export const MIN_LOGICAL_SHARDS_PER_CLUSTER = 8;

/** Fewest clusters `clusters` mode runs: one cluster is mode `none` with a directory and routing for nothing. */
export const MIN_SHARD_CLUSTERS = 2;

/** AWS's requirements for Limitless Database, cited once for the messages. */
const LIMITLESS_REQS = 'https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-reqs-limits.html';

/**
 * database.sharding: the number of clusters each mode runs, enough logical shards to spread over them, and
 * in `limitless` mode what AWS requires of a Limitless Database cluster (its engine versions, its Regions
 * and zones, Performance Insights kept 31 days, Enhanced Monitoring, no DB instances and so no readers and
 * no RDS Proxy, the shard group's capacity range) and what production needs of it (a compute standby).
 */
export function checkSharding(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const db = cfg.database;
  const sh = db.sharding;
  const MODE = 'database.sharding.mode';

  add(sh.mode !== 'clusters' && sh.clusters !== 1, 'database.sharding.clusters', [MODE],
    `is ${sh.clusters} with database.sharding.mode "${sh.mode}", which runs one cluster`,
    `set database.sharding.clusters to 1, or database.sharding.mode to "clusters" to split the data over ${sh.clusters} clusters`);

  if (sh.mode === 'clusters') {
    add(sh.clusters < MIN_SHARD_CLUSTERS, 'database.sharding.clusters', [MODE],
      `is ${sh.clusters} with database.sharding.mode "clusters": one cluster holds every logical shard, so it is mode "none" with a directory and per-request routing for nothing`,
      `set it to ${MIN_SHARD_CLUSTERS} or more, or database.sharding.mode to "none"`);

    const needed = MIN_LOGICAL_SHARDS_PER_CLUSTER * sh.clusters;
    const enough = LOGICAL_SHARD_COUNTS.find((n) => n >= needed);
    add(sh.logicalShards < needed, 'database.sharding.logicalShards', [MODE, 'database.sharding.clusters'],
      `is below ${MIN_LOGICAL_SHARDS_PER_CLUSTER} × database.sharding.clusters (${sh.clusters}) = ${needed}: ` +
        `${sh.logicalShards} logical shards over ${sh.clusters} clusters is ${perClusterText(sh.logicalShards, sh.clusters)} per cluster. A cluster's load moves only in whole logical shards, so the clusters can be balanced only to within one of them; ` +
        `with fewer than ${MIN_LOGICAL_SHARDS_PER_CLUSTER} per cluster that is more than 1/${MIN_LOGICAL_SHARDS_PER_CLUSTER} (12.5 %) of a cluster's load, now and when a cluster added later takes its share in whole logical shards. ` +
        'The count cannot change once data is written (item ids carry their logical shard)',
      `set it to ${enough ?? LOGICAL_SHARD_COUNTS[LOGICAL_SHARD_COUNTS.length - 1]} or more (one of ${LOGICAL_SHARD_COUNTS.join(', ')}) before any data is written, for the most clusters you may run`);
  }

  if (sh.mode === 'limitless') problems.push(...limitlessProblems(cfg));
  return problems;
}

/** How many logical shards each cluster holds when `shards` are spread evenly: "5 or 6", or "8". */
function perClusterText(shards: number, clusters: number): string {
  const low = Math.floor(shards / clusters);
  return shards % clusters === 0 ? String(low) : `${low} or ${low + 1}`;
}

/** Limitless Database: what AWS requires of the cluster (LIMITLESS_REQS), and what production needs. */
function limitlessProblems(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const db = cfg.database;
  const ll = db.sharding.limitless;
  const MODE = 'database.sharding.mode';
  const IN_MODE = 'with database.sharding.mode "limitless"';

  const refusal = limitlessRegionRefusal(cfg.region);
  add(refusal !== undefined, MODE, ['region'],
    `is not offered in region "${cfg.region}": ${refusal} (${LIMITLESS_REQS})`,
    'deploy this environment to a Region that offers it (region and network.availabilityZones), or set database.sharding.mode to "clusters" for sharding on several Aurora clusters');

  const zones = cfg.network.availabilityZones.slice(0, cfg.network.maxAzs);
  const excluded = zones.filter((z) => LIMITLESS_EXCLUDED_ZONES.includes(z));
  add(excluded.length > 0, 'network.availabilityZones', [MODE, 'network.maxAzs'],
    `puts the database's subnets in ${excluded.join(', ')} ${IN_MODE}: "Aurora Serverless v2 (and therefore Aurora PostgreSQL Limitless Database) isn't supported in the us-east-1e AZ", and AWS asks not to include it in a Limitless cluster's DB subnet group (${LIMITLESS_REQS})`,
    `replace ${excluded.join(', ')} with another zone of ${cfg.region} in network.availabilityZones`);

  add(!AURORA_POSTGRES_LIMITLESS_VERSIONS.includes(ll.engineVersion), 'database.sharding.limitless.engineVersion', [MODE],
    'is not an Aurora PostgreSQL Limitless Database engine version aws-cdk-lib knows (lib/config/supported.ts); Limitless runs only on its own "-limitless" versions',
    `use one of ${AURORA_POSTGRES_LIMITLESS_VERSIONS.join(', ')}`);

  const minDays = LIMITLESS_CLUSTER.minPerformanceInsightsRetentionDays;
  add(db.performanceInsightsRetentionDays < minDays, 'database.performanceInsightsRetentionDays', [MODE],
    `is below ${minDays} ${IN_MODE}: AWS requires Performance Insights with a retention of "at least 1 month (31 days)" for a Limitless cluster (${LIMITLESS_REQS}); the 7-day free tier is refused`,
    `set it to ${minDays} (1 month) or more, in steps of 31 days up to 731 (billed beyond the free 7 days)`);

  add(db.monitoringIntervalSeconds === 0, 'database.monitoringIntervalSeconds', [MODE],
    `is 0 (Enhanced Monitoring off) ${IN_MODE}: AWS requires Enhanced Monitoring for a Limitless cluster (${LIMITLESS_REQS})`,
    'set it to 1, 5, 10, 15, 30 or 60 seconds');

  add(db.readers > 0, 'database.readers', [MODE],
    `is ${db.readers} ${IN_MODE}: a Limitless cluster "can't have any writer or reader DB instances"; its compute is the DB shard group (database.sharding.limitless) (${LIMITLESS_REQS})`,
    'set database.readers to 0; for standbys in other zones use database.sharding.limitless.computeRedundancy');

  add(db.readerAutoscaling.enabled, 'database.readerAutoscaling.enabled', [MODE],
    `is true ${IN_MODE}: reader autoscaling adds reader DB instances, which a Limitless cluster cannot have; the DB shard group scales itself between database.sharding.limitless.minCapacityAcu and maxCapacityAcu`,
    'set database.readerAutoscaling.enabled to false');

  add(db.proxy.enabled, 'database.proxy.enabled', [MODE],
    `is true ${IN_MODE}: RDS Proxy pools connections to a cluster's DB instances, a Limitless cluster has none (its transaction routers take the connections on the cluster endpoint), and AWS documents no RDS Proxy support for Limitless Database (${LIMITLESS_REQS}; https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-shard.html#limitless-endpoint)`,
    'set database.proxy.enabled to false; the services then connect to the cluster endpoint');

  add(ll.minCapacityAcu > ll.maxCapacityAcu, 'database.sharding.limitless.minCapacityAcu', [MODE, 'database.sharding.limitless.maxCapacityAcu'],
    `exceeds database.sharding.limitless.maxCapacityAcu (${ll.maxCapacityAcu})`,
    `lower it to at most ${ll.maxCapacityAcu}, or raise maxCapacityAcu`);

  add(cfg.production && ll.computeRedundancy === 0, 'database.sharding.limitless.computeRedundancy', ['production', MODE],
    `is 0 in a production environment ${IN_MODE}: the DB shard group then has no compute standby, so when a shard fails there is no standby in another Availability Zone to take over, and its part of the data waits for the shard's replacement (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBShardGroup.html)`,
    'set it to 1 (a standby of each shard in another zone, which doubles the shards and their cost) or 2');

  return problems;
}
