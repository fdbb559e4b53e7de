import {
  capacityPerTaskAtCpuRps, capacityPerVcpuRps, connectionDemand, CPU_UNITS_PER_VCPU, dbInstanceClassSize, FARGATE_CPU_UNITS,
  fargateMemoryAtLeast, instanceConnectionBudget, instanceMaxConnections, processesForCpu, productionMinApiTasks, serverlessV2MemoryGiB,
  tasksPerZone,
} from '../../lib/config/capacity';
import type { BlueprintConfig } from '../../lib/config/schema';
import { HOURS_PER_MONTH, RDS_PROXY_MIN_ACU, RDS_PROXY_MIN_VCPU } from './cost';
import { pricesFor, type RegionPrices } from './prices';

/**
 * Vertical vs horizontal for one configuration (issue 14, item 3): for the same API peak, what each Fargate
 * task size and each database shape needs, costs, and loses when one unit fails. Pure: the configuration,
 * lib/config/capacity.ts and the price table in, rows out. Every capacity comes from capacity.ts; costs are
 * on-demand list prices from tools/plan/prices, as if the peak lasted the whole month (730 hours).
 */

/** One API task size at the peak. */
export interface TaskSizeRow {
  readonly cpu: number;
  /** Memory at the configured MiB per vCPU, rounded up to a size Fargate offers with `cpu`. */
  readonly memoryMiB: number;
  readonly vcpu: number;
  /** Node.js processes per task (processesForCpu). */
  readonly processesPerTask: number;
  /** Requests per second one task serves at full capacity (the config's capacity per vCPU × the task's vCPUs). */
  readonly capacityPerTaskRps: number;
  /** Requests per second one task carries at the request target (what scaling holds it to). */
  readonly targetPerTaskRps: number;
  /**
   * Tasks the peak needs at the request target, at least one; in production at least one per zone and never
   * fewer than 2 (productionMinApiTasks, the loader's rule for api.minTasks).
   */
  readonly tasksNeeded: number;
  /** False when tasksNeeded is above api.maxTasks: this size needs maxTasks raised to carry the peak. */
  readonly withinMaxTasks: boolean;
  /** Monthly Fargate cost of tasksNeeded running all month (the config's architecture, on-demand). */
  readonly monthlyUsd: number;
  /** Capacity one more task adds (req/s at the target): the step a scale-out takes. */
  readonly scaleOutStepRps: number;
  /** Share of the fleet's capacity lost when one task stops (%). */
  readonly oneTaskLossPercent: number;
  /** Tasks in each zone of the VPC, as ECS spreads them, fullest first. */
  readonly tasksPerZone: readonly number[];
  /** Share of capacity lost when the fullest zone fails (%). */
  readonly zoneLossPercent: number;
  /** Connections the API and the worker may open on the writer at this fleet's deploy surge (connectionDemand). */
  readonly writerConnectionsAtPeak: number;
  /** The writer's connection budget (instanceConnectionBudget); undefined for a class not in the table. */
  readonly writerBudget: number | undefined;
  /** True for the configured size. */
  readonly current: boolean;
}

/** One database shape: a writer class and a number of readers, or Serverless v2. */
export interface DatabaseShapeRow {
  readonly label: string;
  readonly kind: 'current' | 'bigger-writer' | 'more-readers' | 'serverless-v2';
  readonly instanceClass: string;
  readonly readers: number;
  /** Serverless v2 only: [min, max] ACU of each instance. */
  readonly acu?: readonly [number, number];
  /** vCPUs of the writer; undefined for Serverless v2 (AWS states memory per ACU, not vCPUs). */
  readonly writerVcpu: number | undefined;
  readonly writerMemoryGiB: number;
  /**
   * vCPUs that serve reads on the reader endpoint: the readers' together; with no reader the reader endpoint
   * is the writer, which then serves reads and writes with the same vCPUs. Undefined for Serverless v2.
   */
  readonly readVcpu: number | undefined;
  /** max_connections of each instance (capacity.ts instanceMaxConnections). */
  readonly maxConnectionsPerInstance: number | undefined;
  /** Connections the services may hold on the writer (instanceConnectionBudget). */
  readonly writerBudget: number | undefined;
  /** The configuration's writer demand at peak (connectionDemand) fits the budget. */
  readonly demandFits: boolean | undefined;
  /** Monthly cost of the instances (+ RDS Proxy when the config has it on) at the peak; storage and I/O excluded (the same for every shape). */
  readonly monthlyUsd: number;
  /** The same at the minimum: equal for provisioned classes, at min ACU for Serverless v2. */
  readonly monthlyUsdAtMin: number;
  readonly note: string;
}

export interface CompareReport {
  readonly envName: string;
  readonly region: string;
  readonly peakRps: number;
  readonly priceTableDate: string;
  readonly zones: number;
  /** Capacity per vCPU the config implies (api.capacityPerTaskRps ÷ the configured task's vCPUs). */
  readonly capacityPerVcpuRps: number;
  /** Share of a task's capacity the request target holds it to (requestsPerTarget ÷ 60 ÷ capacityPerTaskRps). */
  readonly targetUtilisation: number;
  readonly taskSizes: readonly TaskSizeRow[];
  readonly database: readonly DatabaseShapeRow[];
  /** How to read the tables: the assumptions and what scales what. */
  readonly notes: readonly string[];
}

/**
 * The Fargate task sizes and database shapes side by side for an API peak of `peakRps` req/s. Throws when
 * `config.api.capacityPerTaskRps` is null (no capacity to scale from: run `npm run calibrate`), or when the
 * region has no prices.
 */
export function compareSizes(config: BlueprintConfig, peakRps: number): CompareReport {
  const prices = pricesFor(config.region);
  const { api } = config;
  if (api.capacityPerTaskRps === null) {
    throw new Error('api.capacityPerTaskRps is null: there is no capacity per task to compare sizes with. Fix: measure it with `npm run calibrate`, or set it in cdk.json.');
  }
  const perVcpu = capacityPerVcpuRps(api.capacityPerTaskRps, api.cpu);
  const utilisation = api.requestsPerTarget / 60 / api.capacityPerTaskRps;
  const zones = Math.min(config.network.maxAzs, config.network.availabilityZones.length);
  const fewestTasks = config.production ? productionMinApiTasks(zones) : 1;
  const taskSizes = FARGATE_CPU_UNITS.map((cpu) => taskSizeRow(config, prices, cpu, perVcpu, utilisation, peakRps, zones, fewestTasks));
  return {
    envName: config.envName,
    region: config.region,
    peakRps,
    priceTableDate: prices.date,
    zones,
    capacityPerVcpuRps: perVcpu,
    targetUtilisation: utilisation,
    taskSizes,
    database: databaseShapes(config, prices),
    notes: [
      `API capacity is taken as proportional to vCPUs: ${round(perVcpu)} req/s per vCPU from api.capacityPerTaskRps ${api.capacityPerTaskRps} at api.cpu ${api.cpu}; ` +
        'above one vCPU the reference image runs one process per vCPU, below it one process gets that share of a core. Calibrate a size before moving to it.',
      `Tasks needed = ⌈peak ÷ (capacity × ${round(utilisation * 100, 1)} %)⌉: each task held at the request target, as target tracking does` +
        (config.production ? `; at least ${fewestTasks} in production (one per zone, never fewer than 2).` : '.'),
      `Memory keeps the configured ${round(api.memoryMiB / (api.cpu / CPU_UNITS_PER_VCPU))} MiB per vCPU, rounded up to a size Fargate offers.`,
      'Bigger tasks: fewer of them, coarser scale-out steps, a larger share lost with one task or one zone, and more connections per task (one pool set per process).',
      'Database: writes go to the one writer, so only a bigger writer (or Serverless v2\'s maximum ACU) adds write capacity; readers add read capacity only, ' +
        'and a reader endpoint with no reader is the writer. Serverless v2 scales the writer in place between its minimum and maximum ACU; its max_connections follows the maximum. ' +
        'Past the largest writer, database.sharding splits the writes over clusters (docs/sharding.md#when-to-shard).',
      'Costs are on-demand list prices as if the peak lasted all month; Fargate Spot, Savings Plans and reserved instances lower them.',
    ],
  };
}

function taskSizeRow(
  config: BlueprintConfig, prices: RegionPrices, cpu: number, perVcpu: number, utilisation: number, peakRps: number, zones: number, fewestTasks: number,
): TaskSizeRow {
  const { api } = config;
  const vcpu = cpu / CPU_UNITS_PER_VCPU;
  const memoryMiB = fargateMemoryAtLeast(cpu, (api.memoryMiB / (api.cpu / CPU_UNITS_PER_VCPU)) * vcpu) as number;
  const capacity = capacityPerTaskAtCpuRps(perVcpu, cpu);
  const target = capacity * utilisation;
  const tasks = Math.max(fewestTasks, Math.ceil(peakRps / target - 1e-9));
  const rates = prices.fargate.onDemand[config.compute.cpuArchitecture];
  const perZone = tasksPerZone(tasks, zones);
  const demand = connectionDemand({
    api: { maxTasks: tasks, maxHealthyPercent: api.maxHealthyPercent, cpu, dbPoolSize: api.dbPoolSize, deployment: api.deployment },
    worker: config.worker,
    database: config.database,
  });
  return {
    cpu, memoryMiB, vcpu,
    processesPerTask: processesForCpu(cpu),
    capacityPerTaskRps: capacity,
    targetPerTaskRps: target,
    tasksNeeded: tasks,
    withinMaxTasks: tasks <= api.maxTasks,
    monthlyUsd: tasks * (vcpu * rates.vcpuHour.usd + (memoryMiB / 1024) * rates.gbHour.usd) * HOURS_PER_MONTH,
    scaleOutStepRps: target,
    oneTaskLossPercent: 100 / tasks,
    tasksPerZone: perZone,
    zoneLossPercent: (100 * perZone[0]) / tasks,
    writerConnectionsAtPeak: demand.writer,
    writerBudget: instanceConnectionBudget(config.database),
    current: cpu === api.cpu,
  };
}

function databaseShapes(config: BlueprintConfig, prices: RegionPrices): DatabaseShapeRow[] {
  const db = config.database;
  const demand = connectionDemand(config).writer;
  const hourly = (cls: string) => prices.aurora.instanceHour[cls]?.usd;
  const proxyUsd = (vcpuOrAcu: number, serverless: boolean) => !db.proxy.enabled ? 0 : serverless
    ? Math.max(RDS_PROXY_MIN_ACU, vcpuOrAcu) * prices.rdsProxy.acuHour.usd * HOURS_PER_MONTH
    : Math.max(RDS_PROXY_MIN_VCPU, vcpuOrAcu) * prices.rdsProxy.vcpuHour.usd * HOURS_PER_MONTH;

  const provisioned = (label: string, kind: DatabaseShapeRow['kind'], cls: string, readers: number, note: string): DatabaseShapeRow | undefined => {
    const size = dbInstanceClassSize(cls);
    const price = hourly(cls);
    if (!size || price === undefined) return undefined;
    const instances = 1 + readers;
    const budget = instanceConnectionBudget({ ...db, instanceClass: cls });
    const usd = instances * price * HOURS_PER_MONTH + proxyUsd(instances * size.vcpu, false);
    return {
      label, kind, instanceClass: cls, readers,
      writerVcpu: size.vcpu, writerMemoryGiB: size.memoryGiB,
      readVcpu: readers > 0 ? readers * size.vcpu : size.vcpu,
      maxConnectionsPerInstance: instanceMaxConnections({ ...db, instanceClass: cls }),
      writerBudget: budget,
      demandFits: budget === undefined ? undefined : demand <= budget,
      monthlyUsd: usd, monthlyUsdAtMin: usd, note,
    };
  };

  const serverless = (label: string, minAcu: number, maxAcu: number, readers: number, note: string): DatabaseShapeRow => {
    const instances = 1 + readers;
    const sizing = { ...db, instanceClass: 'db.serverless', serverlessV2MaxCapacityAcu: maxAcu };
    const budget = instanceConnectionBudget(sizing);
    const usdAt = (acu: number) => instances * acu * prices.aurora.serverlessV2AcuHour.usd * HOURS_PER_MONTH + proxyUsd(instances * acu, true);
    return {
      label, kind: 'serverless-v2', instanceClass: 'db.serverless', readers, acu: [minAcu, maxAcu],
      writerVcpu: undefined, writerMemoryGiB: serverlessV2MemoryGiB(maxAcu), readVcpu: undefined,
      maxConnectionsPerInstance: instanceMaxConnections(sizing),
      writerBudget: budget,
      demandFits: budget === undefined ? undefined : demand <= budget,
      monthlyUsd: usdAt(maxAcu), monthlyUsdAtMin: usdAt(minAcu), note,
    };
  };

  const rows: Array<DatabaseShapeRow | undefined> = [];
  if (db.instanceClass === 'db.serverless') {
    rows.push({ ...serverless('current', db.serverlessV2MinCapacityAcu, db.serverlessV2MaxCapacityAcu, db.readers, 'as configured'), kind: 'current' });
    const bigger = Math.min(256, db.serverlessV2MaxCapacityAcu * 2);
    if (bigger > db.serverlessV2MaxCapacityAcu) {
      rows.push({ ...serverless(`max ${bigger} ACU`, db.serverlessV2MinCapacityAcu, bigger, db.readers, 'a higher ceiling: more write and read capacity per instance, and more max_connections'), kind: 'bigger-writer' });
    }
  } else {
    const current = dbInstanceClassSize(db.instanceClass);
    rows.push(provisioned('current', 'current', db.instanceClass, db.readers, 'as configured'));
    if (current) {
      // The next sizes up: the same family first (db.r6g.large → xlarge → 2xlarge), then the cheapest of any other.
      const family = (cls: string) => cls.split('.').slice(0, 2).join('.');
      const bigger = Object.keys(prices.aurora.instanceHour)
        .filter((cls) => (dbInstanceClassSize(cls)?.memoryGiB ?? 0) > current.memoryGiB)
        .sort((a, b) => Number(family(b) === family(db.instanceClass)) - Number(family(a) === family(db.instanceClass)) || (hourly(a) ?? 0) - (hourly(b) ?? 0))
        .slice(0, 2);
      for (const cls of bigger) {
        rows.push(provisioned(`writer ${cls}`, 'bigger-writer', cls, db.readers, 'vertical: more write and read capacity per instance, more max_connections; the readers share the class'));
      }
      const memoryAcu = current.memoryGiB / serverlessV2MemoryGiB(1);
      rows.push(serverless(`Serverless v2 up to ${memoryAcu} ACU`, db.serverlessV2MinCapacityAcu, memoryAcu, db.readers,
        `the current class's memory as the maximum (${current.memoryGiB} GiB); scales down to ${db.serverlessV2MinCapacityAcu} ACU when quiet`));
    }
  }
  for (const more of [1, 2]) {
    const readers = db.readers + more;
    if (readers > 15) break;
    const note = 'horizontal for reads only: writes still go to the one writer';
    rows.push(db.instanceClass === 'db.serverless'
      ? { ...serverless(`${readers} readers`, db.serverlessV2MinCapacityAcu, db.serverlessV2MaxCapacityAcu, readers, note), kind: 'more-readers' }
      : provisioned(`${readers} readers`, 'more-readers', db.instanceClass, readers, note));
  }
  return rows.filter((r): r is DatabaseShapeRow => r !== undefined);
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
