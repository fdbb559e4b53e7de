import { AURORA_POSTGRES_MAX_CONNECTIONS, connectionBudget, connectionDemand, RESERVED_CONNECTIONS, writerMaxConnections } from '../capacity';
import { AURORA_POSTGRES_VERSIONS, CACHE_ENGINE_VERSIONS, CACHE_NODE_TYPE } from '../supported';
import { collector, type Config, type Problem } from './problem';

/** The database: a supported version, the connection budget, the proxy's shares, capacities, readers. */
export function checkDatabase(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const db = cfg.database;

  const newestPerMajor = [...new Set(AURORA_POSTGRES_VERSIONS.map((v) => v.split('.')[0]))]
    .map((major) => AURORA_POSTGRES_VERSIONS.filter((v) => v.startsWith(`${major}.`)).sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1])).pop());
  add(!AURORA_POSTGRES_VERSIONS.includes(db.engineVersion), 'database.engineVersion', [],
    'is not an Aurora PostgreSQL version AWS offers (lib/config/supported.ts)',
    `use a supported version; the newest of each major are ${newestPerMajor.join(', ')}`);

  const budget = connectionBudget(db);
  const known = Object.keys(AURORA_POSTGRES_MAX_CONNECTIONS);
  add(budget === undefined, 'database.instanceClass', [],
    'is not in the max_connections table (lib/config/max-connections.ts), so the connection budget cannot be checked',
    `use one of ${known.join(', ')} or db.serverless, or add the class and its max_connections to the table`);
  if (budget !== undefined) {
    const demand = connectionDemand(cfg);
    const through = db.proxy.enabled
      ? `the proxy's ${db.proxy.maxConnectionsPercent} % of the writer's max_connections (${writerMaxConnections(db)}) less ${RESERVED_CONNECTIONS} reserved`
      : `the writer's max_connections (${writerMaxConnections(db)}) less ${RESERVED_CONNECTIONS} reserved`;
    add(demand > budget, 'api.dbPoolSize', ['api.maxTasks', 'worker', 'database'],
      `puts the connection budget over: api.maxTasks × api.dbPoolSize + worker.maxTasks × worker.dbPoolSize = ${cfg.api.maxTasks} × ${cfg.api.dbPoolSize} + ${cfg.worker.maxTasks} × ${cfg.worker.dbPoolSize} = ${demand} connections, but ${through} allows ${budget}`,
      'lower api.dbPoolSize, worker.dbPoolSize or the maxTasks, raise database.proxy.maxConnectionsPercent, or pick a larger database.instanceClass');
  }

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
