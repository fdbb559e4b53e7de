import {
  AURORA_POSTGRES_MAX_CONNECTIONS, type ClusterConnectionBudget, connectionBudgetPerCluster, connectionDemandPerCluster, instanceConnectionBudget,
  instanceMaxConnections, peakTasks, processesForCpu, RESERVED_CONNECTIONS, WORKER_MAX_HEALTHY_PERCENT, WORKER_PROCESSES_PER_TASK,
} from '../capacity';
import { AURORA_POSTGRES_VERSIONS, CACHE_ENGINE_VERSIONS, CACHE_NODE_TYPE } from '../supported';
import { apiPeakTasksText, apiSurgeKeyText } from './deployment';
import { collector, type Config, type Problem } from './problem';

/** The database: a supported version, the connection budget, the proxy's shares, capacities, readers. */
export function checkDatabase(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const db = cfg.database;

  const newestPerMajor = [...new Set(AURORA_POSTGRES_VERSIONS.map((v) => v.split('.')[0]))]
    .map((major) => AURORA_POSTGRES_VERSIONS.filter((v) => v.startsWith(`${major}.`)).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).pop());
  // Limitless mode: the cluster runs database.sharding.limitless.engineVersion and has no instances, so the
  // engine version, the instance class and the budget against its max_connections do not apply (rules/sharding.ts).
  const limitless = db.sharding.mode === 'limitless';
  add(!limitless && !AURORA_POSTGRES_VERSIONS.includes(db.engineVersion), 'database.engineVersion', [],
    'is not an Aurora PostgreSQL version AWS offers (lib/config/supported.ts)',
    `use a supported version; the newest of each major are ${newestPerMajor.join(', ')}`);

  const known = Object.keys(AURORA_POSTGRES_MAX_CONNECTIONS);
  add(!limitless && instanceConnectionBudget(db) === undefined, 'database.instanceClass', [],
    'is not in the max_connections table (lib/config/max-connections.ts), so the connection budget cannot be checked',
    `use one of ${known.join(', ')} or db.serverless, or add the class and its max_connections to the table`);
  const budget = connectionBudgetPerCluster(db);
  if (budget !== undefined) problems.push(...connectionBudgetProblems(cfg, budget));

  add(db.proxy.enabled && db.readers === 0, 'database.readers', ['database.proxy.enabled'],
    'is 0 with database.proxy.enabled; the proxy\'s read-only endpoint needs a reader instance and fails every request without one, so the API\'s reads (DB_READER_HOST) would fail',
    'set database.readers to at least 1, or turn database.proxy.enabled off (the cluster\'s reader endpoint falls back to the writer; https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-endpoints.html)');

  add(db.proxy.maxIdleConnectionsPercent > db.proxy.maxConnectionsPercent, 'database.proxy.maxIdleConnectionsPercent', ['database.proxy.maxConnectionsPercent'],
    `exceeds database.proxy.maxConnectionsPercent (${db.proxy.maxConnectionsPercent})`,
    `lower it to at most ${db.proxy.maxConnectionsPercent}`);

  if (db.instanceClass === 'db.serverless') {
    add(db.serverlessV2MinCapacityAcu > db.serverlessV2MaxCapacityAcu, 'database.serverlessV2MinCapacityAcu', ['database.serverlessV2MaxCapacityAcu'],
      `exceeds database.serverlessV2MaxCapacityAcu (${db.serverlessV2MaxCapacityAcu})`,
      `lower it to at most ${db.serverlessV2MaxCapacityAcu}`);
  }

  const ras = db.readerAutoscaling;
  if (ras.enabled) {
    add(ras.minReaders > ras.maxReaders, 'database.readerAutoscaling.minReaders', ['database.readerAutoscaling.maxReaders'],
      `exceeds database.readerAutoscaling.maxReaders (${ras.maxReaders})`,
      `lower it to at most ${ras.maxReaders}, or raise maxReaders`);
    add(db.readers > ras.maxReaders, 'database.readerAutoscaling.maxReaders', ['database.readers'],
      `is below database.readers (${db.readers}); autoscaling counts every reader, so it could never add one`,
      `raise it above ${db.readers}, or turn reader autoscaling off`);
  }
  return problems;
}

/** The cache: a supported engine version and node type. */
export function checkCache(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const c = cfg.cache;
  const versions = CACHE_ENGINE_VERSIONS[c.engine];
  add(!versions.includes(c.engineVersion), 'cache.engineVersion', ['cache.engine'],
    `is not a ${c.engine} version this blueprint deploys (lib/config/supported.ts)`,
    `use one of ${versions.join(', ')}`);
  add(c.mode === 'replication-group' && !CACHE_NODE_TYPE.test(c.nodeType), 'cache.nodeType', ['cache.mode'],
    'is not a current-generation ElastiCache node type (lib/config/supported.ts)',
    'use a type such as cache.t4g.small, cache.m7g.large or cache.r7g.large');
  return problems;
}

/**
 * The connection budget, per endpoint (lib/config/capacity.ts, connectionDemand), checked on the writer of
 * each cluster: in `clusters` mode every process opens its pools on every cluster, so each cluster's writer
 * sees the whole demand (connectionDemandPerCluster) against its own budget (connectionBudgetPerCluster). The
 * readers need no check of their own while they share the writer's instance class (database.instanceClass),
 * and so its budget: only the API reads, with the same pools it also opens on the writer, so the readers'
 * demand is never above the writer's. The message spells the sum out with the numbers, so the user sees which
 * term to shrink.
 */
function connectionBudgetProblems(cfg: Config, perCluster: ClusterConnectionBudget): Problem[] {
  const { problems, add } = collector();
  const db = cfg.database;
  const { clusters, perCluster: demand } = connectionDemandPerCluster(cfg);
  const budget = perCluster.perCluster;
  const sharded = clusters > 1;
  const max = instanceMaxConnections(db)!;
  const allows = (instance: string) => db.proxy.enabled
    ? `the proxy opens at most ${budget} on ${instance} (database.proxy.maxConnectionsPercent ${db.proxy.maxConnectionsPercent} % of max_connections ${max} of ${db.instanceClass} − ${RESERVED_CONNECTIONS} reserved)`
    : `${instance} allows ${budget} (max_connections ${max} of ${db.instanceClass} − ${RESERVED_CONNECTIONS} reserved)`;
  const api = cfg.api;
  const w = cfg.worker;
  const apiTasks = apiPeakTasksText(api);
  const workerTasks = `peak ${peakTasks(w.maxTasks, WORKER_MAX_HEALTHY_PERCENT)} tasks (worker.maxTasks ${w.maxTasks} × ${WORKER_MAX_HEALTHY_PERCENT} % deploy surge)`;
  const apiProcesses = `${processesForCpu(api.cpu)} process${processesForCpu(api.cpu) === 1 ? '' : 'es'} (api.cpu ${api.cpu})`;
  const workerProcesses = `${WORKER_PROCESSES_PER_TASK} process`;
  const readsOnWriter = db.readers === 0;
  const writerPools = readsOnWriter ? '2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer)' : '1 pool';

  add(demand.writer > budget, 'api.dbPoolSize', ['api.maxTasks', 'api.maxHealthyPercent', 'api.deployment', 'api.cpu', 'worker', 'services', 'database'],
    (sharded
      ? `puts each of the ${clusters} clusters' writers over its connection budget (database.sharding.clusters ${clusters}: every API, service and worker process opens its pools on every cluster, so each writer sees all of them): `
      : 'puts the writer over its connection budget: ') +
    `API ${apiTasks} × ${apiProcesses} × ${writerPools} × api.dbPoolSize ${api.dbPoolSize} = ${demand.api.writer}, ` +
    `plus worker ${workerTasks} × ${workerProcesses} × 1 pool × worker.dbPoolSize ${w.dbPoolSize} = ${demand.worker.writer}, ` +
    cfg.services.map((s, i) => `plus service "${s.name}" peak ${peakTasks(s.maxTasks, s.maxHealthyPercent)} tasks × ${processesForCpu(s.cpu)} process${processesForCpu(s.cpu) === 1 ? '' : 'es'} × ${writerPools} × services.${i}.dbPoolSize ${s.dbPoolSize} = ${demand.services[s.name]?.writer}, `).join('') +
    `is ${demand.writer} connections${sharded ? ' on each writer' : ''}, but ${allows(sharded ? 'each writer' : 'the writer')}`,
    `lower api.dbPoolSize, worker.dbPoolSize, the maxTasks or ${apiSurgeKeyText(api)}` +
      (readsOnWriter ? ', add a reader (database.readers) so that reads leave the writer' : '') +
      (db.proxy.enabled ? ', raise database.proxy.maxConnectionsPercent' : '') + ', or pick a larger database.instanceClass' +
      (sharded ? ' (more clusters do not help: each one sees every process\'s pools)' : ''));

  return problems;
}
