import { ConfigError, loadConfig } from '../../lib/config/loader';
import { serverlessV2MaxConnections } from '../../lib/config/capacity';
import { blueprintContext, configFor, problemsFor, contextWith, type Overrides } from '../helpers/context';

/** Exactly one problem is reported, and it names the key path, shows the value and says what to do. */
function expectOneProblem(env: string, overrides: Overrides, keyPath: string, value: string, ...fragments: (string | RegExp)[]) {
  const problems = problemsFor(env, overrides);
  expect(problems).toHaveLength(1);
  const [message] = problems;
  expect(message.startsWith(`scaling-blueprint.${keyPath} = ${value}: `)).toBe(true);
  expect(message).toContain('Fix: ');
  for (const f of fragments) expect(message).toMatch(f);
  return message;
}

describe('loading the committed cdk.json', () => {
  test.each(['dev', 'staging', 'prod'])('%s loads, typed and frozen', (env) => {
    const cfg = configFor(env);
    expect(cfg.envName).toBe(env);
    expect(Object.isFrozen(cfg)).toBe(true);
    expect(Object.isFrozen(cfg.database.proxy)).toBe(true);
    expect(Object.isFrozen(cfg.network.availabilityZones)).toBe(true);
    expect(() => {
      (cfg.api as { maxTasks: number }).maxTasks = 1;
    }).toThrow(TypeError);
  });

  test('an environment deep-merges over defaults: its keys win, siblings keep the default', () => {
    const ctx = blueprintContext();
    const prod = configFor('prod');
    expect(prod.api.maxTasks).toBe((ctx.environments.prod.api as Overrides).maxTasks);
    expect(prod.api.targetCpuUtilizationPercent).toBe((ctx.defaults.api as Overrides).targetCpuUtilizationPercent);
    expect(prod.database.readerAutoscaling.maxReaders).toBe(6);
    expect(prod.database.readerAutoscaling.targetCpuUtilizationPercent).toBe(
      ((ctx.defaults.database as Overrides).readerAutoscaling as Overrides).targetCpuUtilizationPercent,
    );
  });

  test('arrays replace rather than merge', () => {
    const cfg = configFor('dev', { network: { availabilityZones: ['us-east-1d', 'us-east-1f'] } });
    expect(cfg.network.availabilityZones).toEqual(['us-east-1d', 'us-east-1f']);
  });

  test('prod is a production environment with the guard rails on', () => {
    const prod = configFor('prod');
    expect(prod.production).toBe(true);
    expect(prod.stateful.terminationProtection).toBe(true);
    expect(prod.network.maxAzs).toBeGreaterThanOrEqual(2);
    expect(prod.database.readers).toBeGreaterThanOrEqual(1);
  });
});

describe('root and environment selection', () => {
  test('an unknown environment lists the valid ones and suggests the closest', () => {
    const err = (() => {
      try {
        loadConfig(blueprintContext(), 'prd');
      } catch (e) {
        return e as ConfigError;
      }
      throw new Error('no error');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]).toBe(
      'env = "prd": no such environment under scaling-blueprint.environments. Fix: pick one of dev, staging, prod ' +
        '(npx cdk synth -c env=prod), or add "prd" to scaling-blueprint.environments in cdk.json.',
    );
  });

  test('missing configuration says what to add', () => {
    expect(() => loadConfig(undefined, 'dev')).toThrow(/scaling-blueprint = \(missing\): missing or not an object\. Fix: add "scaling-blueprint"/);
  });

  test('missing defaults and an unknown top-level key are both reported', () => {
    const ctx = { environments: { dev: {} }, default: {} };
    let problems: readonly string[] = [];
    try {
      loadConfig(ctx, 'dev');
    } catch (e) {
      problems = (e as ConfigError).problems;
    }
    expect(problems).toEqual([
      'scaling-blueprint.defaults = (missing): missing or not an object. Fix: add "defaults": { ... } under scaling-blueprint in cdk.json.',
      'scaling-blueprint.default: unknown key. Fix: remove it; only "defaults" and "environments" belong here.',
    ]);
  });

  test('an environment that is not an object is rejected', () => {
    const ctx = blueprintContext() as unknown as { environments: Record<string, unknown> };
    ctx.environments.dev = 3;
    expect(() => loadConfig(ctx, 'dev')).toThrow(/scaling-blueprint\.environments\.dev = 3: must be an object/);
  });

  test('context given as a JSON string (-c on the command line) is parsed', () => {
    expect(loadConfig(JSON.stringify(blueprintContext()), 'dev').envName).toBe('dev');
  });
});

describe('schema errors name the key path, the value and the fix', () => {
  test('unknown key suggests the closest valid key', () => {
    expectOneProblem('prod', { api: { maxTask: 3 } }, 'environments.prod.api.maxTask', '3',
      'unknown key', 'did you mean "maxTasks"?');
  });

  test('unknown nested key deep in the tree', () => {
    expectOneProblem('dev', { database: { proxy: { maxConnectionPercent: 50 } } },
      'environments.dev.database.proxy.maxConnectionPercent', '50', 'did you mean "maxConnectionsPercent"?');
  });

  test('an unknown key far from any valid one lists the valid keys instead of guessing', () => {
    expectOneProblem('dev', { telemetry: true }, 'environments.dev.telemetry', 'true',
      'unknown key', 'valid keys here are production, region, account, network');
  });

  test('wrong type', () => {
    expectOneProblem('staging', { api: { maxTasks: 'ten' } }, 'environments.staging.api.maxTasks', '"ten"',
      'must be a number, got a string', 'write it as a number');
  });

  test('a key missing from defaults and environment', () => {
    const ctx = contextWith('dev');
    delete (ctx.defaults.queue as Overrides).maxReceiveCount;
    expect(() => loadConfig(ctx, 'dev')).toThrow(
      'scaling-blueprint.defaults.queue.maxReceiveCount = (missing): missing. Fix: add it (a number)',
    );
  });

  test('a value in defaults is attributed to defaults', () => {
    const ctx = contextWith('dev');
    (ctx.defaults.api as Overrides).targetCpuUtilizationPercent = 150;
    expect(() => loadConfig(ctx, 'dev')).toThrow(
      'scaling-blueprint.defaults.api.targetCpuUtilizationPercent = 150: must be ≤ 95. Fix: lower it to at most 95.',
    );
  });

  test.each([
    ['api.targetCpuUtilizationPercent', { api: { targetCpuUtilizationPercent: 150 } }, '150', 'must be ≤ 95'],
    ['api.targetMemoryUtilizationPercent', { api: { targetMemoryUtilizationPercent: 5 } }, '5', 'must be ≥ 10'],
    ['api.requestsPerTarget', { api: { requestsPerTarget: 0 } }, '0', 'must be ≥ 1'],
    ['api.scaleOutCooldownSeconds', { api: { scaleOutCooldownSeconds: -1 } }, '-1', 'must be ≥ 0'],
    ['api.scaleInCooldownSeconds', { api: { scaleInCooldownSeconds: 7200 } }, '7200', 'must be ≤ 3600'],
    ['api.minTasks', { api: { minTasks: 1.5 } }, '1.5', 'must be a whole number, got a fraction'],
    ['api.dbPoolSize', { api: { dbPoolSize: 0 } }, '0', 'must be ≥ 1'],
    ['worker.maxTasks', { worker: { maxTasks: 0 } }, '0', 'must be ≥ 1'],
    ['worker.avgProcessingSeconds', { worker: { avgProcessingSeconds: 0 } }, '0', 'must be ≥ 0.001'],
    ['queue.visibilityTimeoutSeconds', { queue: { visibilityTimeoutSeconds: 50000 } }, '50000', 'must be ≤ 43200'],
    ['queue.maxReceiveCount', { queue: { maxReceiveCount: 0 } }, '0', 'must be ≥ 1'],
    ['queue.retentionDays', { queue: { retentionDays: 15 } }, '15', 'must be ≤ 14'],
    ['queue.receiveWaitTimeSeconds', { queue: { receiveWaitTimeSeconds: 21 } }, '21', 'must be ≤ 20'],
    ['database.readers', { database: { readers: 16 } }, '16', 'must be ≤ 15'],
    ['database.readerAutoscaling.maxReaders', { database: { readerAutoscaling: { maxReaders: 16 } } }, '16', 'must be ≤ 15'],
    ['database.readerAutoscaling.targetCpuUtilizationPercent', { database: { readerAutoscaling: { targetCpuUtilizationPercent: 95 } } }, '95', 'must be ≤ 90'],
    ['database.proxy.maxConnectionsPercent', { database: { proxy: { maxConnectionsPercent: 101 } } }, '101', 'must be ≤ 100'],
    ['database.backupRetentionDays', { database: { backupRetentionDays: 0 } }, '0', 'must be ≥ 1'],
    ['cache.shards', { cache: { shards: 0 } }, '0', 'must be ≥ 1'],
    ['cache.replicas', { cache: { replicas: 6 } }, '6', 'must be ≤ 5'],
    ['cache.port', { cache: { port: 80 } }, '80', 'must be ≥ 1024'],
    ['network.natGateways', { network: { natGateways: 0 } }, '0', 'must be ≥ 1'],
  ])('out of range: %s', (key, overrides, value, problem) => {
    expectOneProblem('staging', overrides, `environments.staging.${key}`, value, new RegExp(problem));
  });

  test.each([
    ['api.cpu', { api: { cpu: 300 } }, '300', 'use one of 256, 512, 1024, 2048, 4096, 8192, 16384'],
    ['cache.mode', { cache: { mode: 'cluster' } }, '"cluster"', 'use one of "replication-group", "serverless"'],
    ['cache.engine', { cache: { engine: 'memcached' } }, '"memcached"', 'use one of "valkey", "redis"'],
    ['stateful.removalPolicy', { stateful: { removalPolicy: 'delete' } }, '"delete"', 'use one of "destroy", "snapshot", "retain"'],
    ['network.flowLogRetentionDays', { network: { flowLogRetentionDays: 10 } }, '10', 'use one of 1, 3, 5, 7, 14, 30'],
    ['database.monitoringIntervalSeconds', { database: { monitoringIntervalSeconds: 20 } }, '20', 'use one of 0, 1, 5, 10, 15, 30, 60'],
    ['database.performanceInsightsRetentionDays', { database: { performanceInsightsRetentionDays: 30 } }, '30', 'use one of 7, 31, 62'],
  ])('not an allowed value: %s', (key, overrides, value, fix) => {
    expectOneProblem('staging', overrides, `environments.staging.${key}`, value, 'is not an allowed value', fix);
  });

  test.each([
    ['region', { region: 'mars' }, '"mars"', 'a region such as us-east-1'],
    ['database.engineVersion', { database: { engineVersion: 'latest' } }, '"latest"', 'a version such as "16.6"'],
    ['database.instanceClass', { database: { instanceClass: 'r6g.large' } }, '"r6g.large"', 'a class such as "db.r6g.large"'],
    ['database.masterUsername', { database: { masterUsername: 'Admin-User' } }, '"Admin-User"', 'lower-case letters'],
    ['cache.nodeType', { cache: { nodeType: 'r7g.large' } }, '"r7g.large"', 'a node type such as'],
    ['network.cidr', { network: { cidr: '10.0.0.0/8' } }, '"10.0.0.0/8"', 'an IPv4 CIDR with a /16 to /28 mask'],
    ['account', { account: '1234' }, '"1234"', 'a 12-digit account id'],
  ])('wrong format: %s', (key, overrides, value, fragment) => {
    expectOneProblem('staging', overrides, `environments.staging.${key}`, value, `must be ${fragment}`);
  });

  test('Serverless v2 capacity in half ACUs', () => {
    expectOneProblem('staging', { database: { serverlessV2MaxCapacityAcu: 4.2 } },
      'environments.staging.database.serverlessV2MaxCapacityAcu', '4.2', 'must be a multiple of 0.5');
  });
});

describe('rules across keys', () => {
  test('api.minTasks > api.maxTasks', () => {
    expectOneProblem('staging', { api: { minTasks: 12, maxTasks: 10 } }, 'environments.staging.api.minTasks', '12',
      'must not exceed api.maxTasks (10)', 'lower api.minTasks to at most 10, or raise api.maxTasks');
  });

  test('worker.minTasks > worker.maxTasks', () => {
    expectOneProblem('staging', { worker: { minTasks: 5, maxTasks: 3 } }, 'environments.staging.worker.minTasks', '5',
      'must not exceed worker.maxTasks (3)');
  });

  test('a memory size Fargate does not offer with the cpu', () => {
    expectOneProblem('staging', { api: { cpu: 1024, memoryMiB: 1024 } }, 'environments.staging.api.memoryMiB', '1024',
      'is not a memory size Fargate offers with api.cpu 1024', 'pick 2048 to 8192 MiB in steps of 1024');
  });

  test('queue visibility timeout shorter than the longest job with headroom', () => {
    expectOneProblem('staging', { queue: { visibilityTimeoutSeconds: 100 }, worker: { maxProcessingSeconds: 60 } },
      'environments.staging.queue.visibilityTimeoutSeconds', '100',
      'shorter than 2 × worker.maxProcessingSeconds (60 s)', 'raise queue.visibilityTimeoutSeconds to at least 120');
  });

  test('longest job shorter than the average', () => {
    expectOneProblem('staging', { worker: { avgProcessingSeconds: 30, maxProcessingSeconds: 10 } },
      'environments.staging.worker.maxProcessingSeconds', '10', 'is below worker.avgProcessingSeconds (30)');
  });

  test('connection budget counts Serverless v2 from its maximum ACU', () => {
    expectOneProblem('dev', { database: { instanceClass: 'db.serverless', serverlessV2MaxCapacityAcu: 1 }, api: { maxTasks: 50 } },
      'environments.dev.api.dbPoolSize', '5', `the writer allows ${serverlessV2MaxConnections(1) - 5} (max_connections ${serverlessV2MaxConnections(1)} of db.serverless − 5 reserved)`);
  });

  test('an instance class missing from the max_connections table', () => {
    expectOneProblem('dev', { database: { instanceClass: 'db.m5.large' } }, 'environments.dev.database.instanceClass',
      '"db.m5.large"', 'is not in the max_connections table', 'use one of db.t3.medium');
  });

  test('proxy idle connections above its maximum', () => {
    expectOneProblem('staging', { database: { proxy: { maxConnectionsPercent: 40, maxIdleConnectionsPercent: 50 } } },
      'environments.staging.database.proxy.maxIdleConnectionsPercent', '50', 'exceeds database.proxy.maxConnectionsPercent (40)');
  });

  test('Serverless v2 minimum above maximum', () => {
    expectOneProblem('dev', { database: { instanceClass: 'db.serverless', serverlessV2MinCapacityAcu: 8, serverlessV2MaxCapacityAcu: 4 } },
      'environments.dev.database.serverlessV2MinCapacityAcu', '8', 'exceeds database.serverlessV2MaxCapacityAcu (4)');
  });

  test('reader autoscaling min > max', () => {
    expectOneProblem('staging', { database: { readerAutoscaling: { minReaders: 4, maxReaders: 3 } } },
      'environments.staging.database.readerAutoscaling.minReaders', '4', 'exceeds database.readerAutoscaling.maxReaders (3)');
  });

  test('reader autoscaling max below the readers created with the cluster', () => {
    expectOneProblem('staging', { database: { readers: 4, readerAutoscaling: { minReaders: 1, maxReaders: 3 } } },
      'environments.staging.database.readerAutoscaling.maxReaders', '3', 'is below database.readers (4)');
  });

  test('reader autoscaling limits are not checked while it is off', () => {
    expect(() => configFor('dev', { database: { readerAutoscaling: { enabled: false, minReaders: 4, maxReaders: 3 } } })).not.toThrow();
  });

  test('more zones than listed', () => {
    expectOneProblem('staging', { network: { maxAzs: 4 } }, 'environments.staging.network.maxAzs', '4',
      'asks for more zones than network.availabilityZones lists (3)');
  });

  test('fewer than 2 zones fails in any environment', () => {
    expectOneProblem('dev', { network: { maxAzs: 1 } }, 'environments.dev.network.maxAzs', '1',
      'is below 2; the load balancer and the Aurora subnet group need subnets in two zones');
  });

  test('more NAT gateways than zones', () => {
    expectOneProblem('staging', { network: { natGateways: 3 } }, 'environments.staging.network.natGateways', '3',
      'exceeds network.maxAzs (2)');
  });

  test('zones of another region', () => {
    expectOneProblem('staging', { network: { availabilityZones: ['eu-west-1a', 'us-east-1b', 'us-east-1c'] } },
      'environments.staging.network.availabilityZones', '["eu-west-1a","us-east-1b","us-east-1c"]',
      'has zones outside region us-east-1: eu-west-1a');
  });

  test('a zone listed twice', () => {
    expectOneProblem('staging', { network: { availabilityZones: ['us-east-1a', 'us-east-1a', 'us-east-1c'] } },
      'environments.staging.network.availabilityZones', '["us-east-1a","us-east-1a","us-east-1c"]', 'lists a zone twice');
  });
});

describe('compute rules (ALB, API and worker services)', () => {
  test.each([
    [{ uri: '', directory: '' }, 'names neither a registry uri nor a build directory'],
    [{ uri: 'nginx:latest', directory: 'workload' }, 'names both a registry uri and a build directory'],
  ])('an image needs exactly one source: %j', (image, problem) => {
    expectOneProblem('staging', { api: { image } }, 'environments.staging.api.image', JSON.stringify({ ...image, command: null, credentialsSecretArn: '' }),
      problem, 'set exactly one of api.image.uri and api.image.directory');
  });

  test('containers as root', () => {
    expectOneProblem('staging', { compute: { runAsUser: '0:0' } }, 'environments.staging.compute.runAsUser', '"0:0"',
      'runs the containers as root', 'use a non-root uid such as "1000:1000"');
  });

  test('a user that is not numeric', () => {
    expectOneProblem('staging', { compute: { runAsUser: 'node' } }, 'environments.staging.compute.runAsUser', '"node"',
      'must be a numeric "uid:gid"');
  });

  test('weighted_random with slow start', () => {
    expectOneProblem('staging', { alb: { routingAlgorithm: 'weighted_random', slowStartSeconds: 60 } },
      'environments.staging.alb.slowStartSeconds', '60', 'must be 0 with alb.routingAlgorithm "weighted_random"',
      'set alb.slowStartSeconds to 0, or pick "round_robin"');
  });

  test('slow start below the 30 s the load balancer accepts', () => {
    expectOneProblem('staging', { alb: { routingAlgorithm: 'round_robin', slowStartSeconds: 10 } }, 'environments.staging.alb.slowStartSeconds', '10',
      'must be 0 (off) or 30 to 900');
  });

  test('anomaly mitigation without weighted_random', () => {
    expectOneProblem('staging', { alb: { anomalyMitigation: true } }, 'environments.staging.alb.anomalyMitigation', 'true',
      'needs alb.routingAlgorithm "weighted_random" (it is "least_outstanding_requests")', 'set alb.routingAlgorithm to "weighted_random"');
  });

  test('health-check timeout not shorter than the interval', () => {
    expectOneProblem('staging', { alb: { healthCheck: { intervalSeconds: 10, timeoutSeconds: 10 } } },
      'environments.staging.alb.healthCheck.timeoutSeconds', '10', 'must be shorter than alb.healthCheck.intervalSeconds (10)');
  });

  test('application-cookie stickiness without a cookie name', () => {
    expectOneProblem('staging', { alb: { stickiness: { mode: 'app_cookie', cookieName: '' } } },
      'environments.staging.alb.stickiness.cookieName', '""', 'needs the name of your application\'s cookie');
  });

  test('application-cookie stickiness with a reserved cookie name', () => {
    expectOneProblem('staging', { alb: { stickiness: { mode: 'app_cookie', cookieName: 'AWSALBAPP-1' } } },
      'environments.staging.alb.stickiness.cookieName', '"AWSALBAPP-1"', 'which the load balancer reserves');
  });

  test('two routes with one priority', () => {
    const forward = { forward: [{ service: 'api', weight: 1 }] };
    const routes = [{ priority: 5, pathPatterns: ['/a/*'], action: forward }, { priority: 5, pathPatterns: ['/b/*'], action: forward }];
    expectOneProblem('dev', { alb: { routes } }, 'environments.dev.alb.routes', JSON.stringify(routes), 'uses priority 5 more than once');
  });

  test('a certificate of another region', () => {
    const arn = 'arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';
    // With a certificate, staging's smoke test needs the host name it covers (api.deployment.smokeTest.host).
    expectOneProblem('staging', { alb: { certificateArn: arn }, api: { deployment: { smokeTest: { host: 'api.example.com' } } } }, 'environments.staging.alb.certificateArn', JSON.stringify(arn),
      'is a certificate of eu-west-1, but the load balancer is in us-east-1', 'request or import the certificate in us-east-1');
  });

  test.each([
    ['alb.certificateArn', { alb: { certificateArn: 'my-cert' } }, '"my-cert"', 'must be an ACM certificate ARN'],
    ['alb.healthCheck.path', { alb: { healthCheck: { path: 'health' } } }, '"health"', 'must be a path starting with /'],
    ['alb.healthCheck.healthyHttpCodes', { alb: { healthCheck: { healthyHttpCodes: 'ok' } } }, '"ok"', 'must be codes such as'],
    ['api.scheduledScaling.0.schedule', { api: { scheduledScaling: [{ name: 'x', schedule: 'every day', timeZone: 'UTC', minTasks: 1, maxTasks: 2 }] } }, '"every day"', 'must be cron(...), rate(...) or at(...)'],
    ['worker.stopTimeoutSeconds', { worker: { stopTimeoutSeconds: 300 } }, '300', 'must be ≤ 120'],
    ['alb.idleTimeoutSeconds', { alb: { idleTimeoutSeconds: 0 } }, '0', 'must be ≥ 1'],
    ['api.maxHealthyPercent', { api: { maxHealthyPercent: 90 } }, '90', 'must be ≥ 100'],
  ])('schema: %s', (key, overrides, value, problem) => {
    expectOneProblem('staging', overrides, `environments.staging.${key}`, value, problem);
  });

  test('deploy percentages that leave a rolling deploy no room', () => {
    expectOneProblem('staging', { api: { minHealthyPercent: 100, maxHealthyPercent: 100 } }, 'environments.staging.api.maxHealthyPercent', '100',
      'a rolling deploy could neither start a new task nor stop an old one');
  });

  test('a scheduled entry with min > max, and a repeated name', () => {
    const entry = { name: 'peak', schedule: 'cron(0 7 * * ? *)', timeZone: 'UTC', minTasks: 5, maxTasks: 4 };
    const problems = problemsFor('staging', { api: { scheduledScaling: [{ ...entry, minTasks: 1 }, entry] } });
    expect(problems).toEqual([
      expect.stringMatching(/^scaling-blueprint\.environments\.staging\.api\.scheduledScaling\.1\.minTasks = 5: must not exceed the entry's maxTasks \(4\)/),
      expect.stringMatching(/^scaling-blueprint\.environments\.staging\.api\.scheduledScaling\.1\.name = "peak": is used by an earlier entry too/),
    ]);
  });

  test('worker stop timeout longer than the visibility timeout', () => {
    expectOneProblem('staging', { worker: { stopTimeoutSeconds: 100, maxProcessingSeconds: 40 }, queue: { visibilityTimeoutSeconds: 90 } },
      'environments.staging.worker.stopTimeoutSeconds', '100', 'is longer than queue.visibilityTimeoutSeconds (90)',
      'a job still finishing after SIGTERM would be handed to another worker');
  });

  test('worker stop timeout shorter than the longest job', () => {
    expectOneProblem('staging', { worker: { stopTimeoutSeconds: 30 } }, 'environments.staging.worker.stopTimeoutSeconds', '30',
      'is shorter than the longest job (worker.maxProcessingSeconds 60 s', 'raise it to at least 60');
  });

  test('the stop timeout needed is capped at what Fargate allows', () => {
    expect(() => configFor('staging', { worker: { maxProcessingSeconds: 600, stopTimeoutSeconds: 120 }, queue: { visibilityTimeoutSeconds: 1200 } })).not.toThrow();
  });

  test('capacity providers with no weight', () => {
    expectOneProblem('staging', { worker: { capacityProviders: { fargateWeight: 0, spotWeight: 0 } } },
      'environments.staging.worker.capacityProviders', '{"fargateBase":1,"fargateWeight":0,"spotWeight":0}', 'both weight 0');
  });
});

describe('monitoring rules (alarms that can never fire)', () => {
  test('datapoints to alarm above the evaluation periods', () => {
    expectOneProblem('staging', { monitoring: { evaluationPeriods: 3, datapointsToAlarm: 4 } },
      'environments.staging.monitoring.datapointsToAlarm', '4', 'exceeds monitoring.evaluationPeriods (3); no alarm could ever fire');
  });

  test('a percentage threshold the metric cannot exceed', () => {
    expectOneProblem('staging', { alarms: { apiCpuPercent: { warning: 80, critical: 100 } } },
      'environments.staging.alarms.apiCpuPercent.critical', '100', 'can never fire: the metric never exceeds 100');
  });

  test('a "below" threshold of 0', () => {
    expectOneProblem('staging', { alarms: { cacheHitRatePercent: { warning: 10, critical: 0 } } },
      'environments.staging.alarms.cacheHitRatePercent.critical', '0', 'can never fire: the metric never goes below 0');
  });

  test('a warning that would not come before the critical (above)', () => {
    expectOneProblem('staging', { alarms: { latencyP99Ms: { warning: 3000, critical: 2000 } } },
      'environments.staging.alarms.latencyP99Ms.warning', '3000', 'must be below the critical threshold (2000)');
  });

  test('a warning that would not come before the critical (below)', () => {
    expectOneProblem('staging', { alarms: { freeableMemoryMiB: { warning: 100, critical: 256 } } },
      'environments.staging.alarms.freeableMemoryMiB.warning', '100', 'must be above the critical threshold (256)');
  });

  test('a level can be turned off with null', () => {
    expect(() => configFor('staging', { alarms: { apiCpuPercent: { warning: null, critical: 95 } } })).not.toThrow();
  });

  test('a queue-age threshold beyond the message retention', () => {
    expectOneProblem('dev', { worker: { acceptableLatencySeconds: 3600 }, alarms: { queueAgeLatencyMultiple: { warning: 1, critical: 30 } } },
      'environments.dev.alarms.queueAgeLatencyMultiple.critical', '30',
      'can never fire: 30 × worker.acceptableLatencySeconds = 108000 s, but SQS deletes messages after queue.retentionDays (86400 s)');
  });

  test('a burn rate that would need more than all requests to fail', () => {
    expectOneProblem('staging', { slo: { availabilityPercent: 90 } }, 'defaults.slo.burnRates.0.factor', '14.4',
      'can never fire with slo.availabilityPercent 90: 14.4 × the 10 % error budget = 144 % of requests', 'lower the factor below 10');
  });

  test('a short window not shorter than the long one', () => {
    expectOneProblem('staging', { slo: { burnRates: [{ longWindowMinutes: 60, shortWindowMinutes: 60, factor: 2 }] } },
      'environments.staging.slo.burnRates.0.shortWindowMinutes', '60', 'must be shorter than the long window (60 min)');
  });

  test.each([
    ['monitoring.alarmEmails.0', { monitoring: { alarmEmails: ['not-an-email'] } }, '"not-an-email"', 'must be an email address'],
    ['monitoring.periodSeconds', { monitoring: { periodSeconds: 120 } }, '120', 'use one of 60, 300'],
    ['alarms.http5xxPercent.critical', { alarms: { http5xxPercent: { critical: 'high' } } }, '"high"', 'must be a number'],
    ['slo.availabilityPercent', { slo: { availabilityPercent: 100 } }, '100', 'must be ≤ 99.999'],
  ])('schema: %s', (key, overrides, value, problem) => {
    expectOneProblem('staging', overrides, `environments.staging.${key}`, value, problem);
  });
});

describe('supported versions and types (deploy traps)', () => {
  test('an Aurora PostgreSQL version AWS does not offer', () => {
    expectOneProblem('staging', { database: { engineVersion: '16.60' } }, 'environments.staging.database.engineVersion', '"16.60"',
      'is not an Aurora PostgreSQL version AWS offers', /the newest of each major are .*16\.\d+/);
  });

  test('a cache engine version outside the list, for its engine', () => {
    expectOneProblem('staging', { cache: { engine: 'redis', engineVersion: '8.0' } }, 'environments.staging.cache.engineVersion', '"8.0"',
      'is not a redis version this blueprint deploys', 'use one of 7.0, 7.1');
  });

  test('an old node type', () => {
    expectOneProblem('staging', { cache: { nodeType: 'cache.m3.medium' } }, 'environments.staging.cache.nodeType', '"cache.m3.medium"',
      'is not a current-generation ElastiCache node type');
  });

  test('serverless mode ignores the node type', () => {
    expect(() => configFor('staging', { cache: { mode: 'serverless', nodeType: 'cache.m3.medium' } })).not.toThrow();
  });

  test('every environment in cdk.json uses supported versions', () => {
    for (const env of ['dev', 'staging', 'prod']) expect(() => configFor(env)).not.toThrow();
  });
});

describe('production guard rails', () => {
  test('prod with fewer than 2 AZs', () => {
    expectOneProblem('prod', { network: { maxAzs: 1, natGateways: 1 } }, 'environments.prod.network.maxAzs', '1',
      'a production service must survive the loss of one');
  });

  test('prod with no reader', () => {
    // With the proxy off, so that only the production rule speaks (the proxy needs a reader too: capacity rules).
    expectOneProblem('prod', { database: { readers: 0, proxy: { enabled: false } } }, 'environments.prod.database.readers', '0',
      'is 0 in a production environment', 'set database.readers to at least 1');
  });

  test('prod with DESTROY removal', () => {
    expectOneProblem('prod', { stateful: { removalPolicy: 'destroy' } }, 'environments.prod.stateful.removalPolicy',
      '"destroy"', 'deleting the stack would delete the data');
  });

  test('prod without termination protection', () => {
    expectOneProblem('prod', { stateful: { terminationProtection: false } },
      'environments.prod.stateful.terminationProtection', 'false', 'set stateful.terminationProtection to true');
  });

  test('prod deploys that drop below 100 % healthy', () => {
    expectOneProblem('prod', { api: { minHealthyPercent: 50 } }, 'environments.prod.api.minHealthyPercent', '50',
      'a deploy would remove serving capacity', 'set api.minHealthyPercent to 100');
  });

  test('prod with a single API task', () => {
    expectOneProblem('prod', { api: { minTasks: 1 } }, 'environments.prod.api.minTasks', '1', 'one task cannot survive its own replacement');
  });

  test('prod cache without a replica', () => {
    expectOneProblem('prod', { cache: { replicas: 0 } }, 'environments.prod.cache.replicas', '0',
      'no Multi-AZ and no automatic failover');
  });

  test('a serverless cache needs no replica setting in prod', () => {
    expect(() => configFor('prod', { cache: { mode: 'serverless', replicas: 0 } })).not.toThrow();
  });

  test('the same values pass outside production', () => {
    expect(() => configFor('staging', {
      database: { readers: 0, readerAutoscaling: { minReaders: 0 }, proxy: { enabled: false } }, cache: { replicas: 0 }, stateful: { removalPolicy: 'destroy' }, api: { minTasks: 1 },
    })).not.toThrow();
  });
});

describe('production log retention (AWS Control Tower CT.CLOUDWATCH.PR.2)', () => {
  test.each([
    ['network', 'flowLogRetentionDays'],
    ['compute', 'logRetentionDays'],
    ['database', 'logRetentionDays'],
  ])('prod keeping %s.%s under a year', (section, key) => {
    expectOneProblem('prod', { [section]: { [key]: 90 } }, `environments.prod.${section}.${key}`, '90',
      'keeps logs 90 days in a production environment', `set ${section}.${key} to 365 or more`);
  });

  test('a week is fine outside production', () => {
    expect(() => configFor('staging', { compute: { logRetentionDays: 7 } })).not.toThrow();
  });
});

describe('load tests and SLAs', () => {
  test('a profile faster than the load generator can send', () => {
    // A search for the breaking rate (stopWhenSlaBreaks), so the API's scale ceiling does not apply to it.
    const load = { stopWhenSlaBreaks: true, phases: [{ durationSeconds: 60, arrivalRate: 10, rampTo: 50_000 }] };
    const problems = problemsFor('dev', { loadTest: { profiles: { load } } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^scaling-blueprint\.environments\.dev\.loadTest\.profiles\.load\.phases = \[.*\]: peak at 50000 req\/s, more than the load generator can send \(maxWorkers 20 × maxRatePerWorker 2000 = 40000 req\/s\)\. Fix: raise loadTest\.maxWorkers to at least 25/);
  });

  test('the same profile with enough workers loads', () => {
    // A search for the breaking rate (stopWhenSlaBreaks), so the API's scale ceiling does not apply to it.
    const load = { stopWhenSlaBreaks: true, phases: [{ durationSeconds: 60, arrivalRate: 10, rampTo: 50_000 }] };
    expect(() => configFor('dev', { loadTest: { maxWorkers: 25, profiles: { load } } })).not.toThrow();
  });

  test('a profile that never sends a request', () => {
    const phases = [{ durationSeconds: 60, arrivalRate: 0 }];
    const problems = problemsFor('dev', { loadTest: { profiles: { soak: { phases } } } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^scaling-blueprint\.environments\.dev\.loadTest\.profiles\.soak\.phases = .*never sends a request.*Fix: give at least one phase/s);
  });

  test('a stress profile that does not step up', () => {
    const phases = [{ durationSeconds: 60, arrivalRate: 100 }, { durationSeconds: 60, arrivalRate: 50 }];
    const problems = problemsFor('dev', { loadTest: { profiles: { stress: { phases } } } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/loadTest\.profiles\.stress\.phases = .*must step up .* the rates are 100, 50.*Fix: order the phases by rising rate/s);
  });

  test('percentile SLAs out of order', () => {
    expectOneProblem('dev', { sla: { latencyP50Ms: 500 } }, 'environments.dev.sla.latencyP50Ms', '500',
      'exceeds sla.latencyP90Ms (300 ms)', 'lower sla.latencyP50Ms to at most 300');
    expectOneProblem('dev', { sla: { latencyP90Ms: 2000 } }, 'environments.dev.sla.latencyP90Ms', '2000',
      'exceeds sla.latencyP99Ms (1000 ms)');
  });

  test('an error SLA looser than the availability objective', () => {
    expectOneProblem('prod', { sla: { errorRatePercent: 1 } }, 'environments.prod.sla.errorRatePercent', '1',
      'allows more failures than the availability objective (slo.availabilityPercent 99.9 % leaves 0.1 %)', 'set sla.errorRatePercent to at most 0.1');
  });

  test('phases are checked by the schema: a negative rate, a new profile without its keys (profiles of any name: issue 19)', () => {
    const problems = problemsFor('dev', { loadTest: { profiles: { load: { phases: [{ durationSeconds: 10, arrivalRate: -1 }] }, burst: {} } } });
    expect(problems.join('\n')).toMatch(/loadTest\.profiles\.load\.phases\.0\.arrivalRate = -1/);
    expect(problems.join('\n')).toMatch(/loadTest\.profiles\.burst\.phases = \(missing\): missing/);
  });
});

describe('every problem at once', () => {
  test('schema errors and rule errors of different keys come together', () => {
    const problems = problemsFor('prod', {
      api: { maxTask: 3, minTasks: 50 },
      cache: { mode: 'cluster' },
      database: { readers: 0, proxy: { enabled: false } },
      queue: { visibilityTimeoutSeconds: 10 },
    });
    expect(problems.map((p) => p.split(' = ')[0])).toEqual([
      'scaling-blueprint.environments.prod.api.maxTask',
      'scaling-blueprint.environments.prod.cache.mode',
      'scaling-blueprint.environments.prod.api.minTasks',
      'scaling-blueprint.defaults.worker.stopTimeoutSeconds',
      'scaling-blueprint.environments.prod.queue.visibilityTimeoutSeconds',
      'scaling-blueprint.environments.prod.database.readers',
    ]);
  });

  test('the error message lists each problem on its own line', () => {
    expect(() => configFor('prod', { api: { minTasks: 50 }, database: { readers: 0, proxy: { enabled: false } } })).toThrow(
      /configuration of environment "prod" is invalid \(2 problems\):\n {2}- scaling-blueprint\.environments\.prod\.api\.minTasks = 50: .*\n {2}- scaling-blueprint\.environments\.prod\.database\.readers = 0: /,
    );
  });
});

