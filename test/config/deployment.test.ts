import {
  alarmReactionSeconds, connectionDemand, deploymentSurgePercent, doubledTaskMinutes, linearSteps, type DeploymentTiming,
} from '../../lib/config/capacity';
import { configFor, problemsFor } from '../helpers/context';

// api.deployment: the capacity model's count of the doubled tasks and every rule of lib/config/rules/deployment.ts,
// each message asserted whole (key path as written, the value, what is wrong, the fix).

const timing = (over: Partial<DeploymentTiming>): DeploymentTiming => ({
  strategy: 'rolling', bakeTimeMinutes: 10, canary: { percent: 10, bakeTimeMinutes: 5 }, linear: { stepPercent: 10, stepBakeTimeMinutes: 3 }, ...over,
});

describe('capacity model: the blue/green family runs two full revisions', () => {
  test('surge: rolling keeps api.maxHealthyPercent, every traffic-shifting strategy is 200 %', () => {
    expect(deploymentSurgePercent('rolling', 150)).toBe(150);
    for (const s of ['blue_green', 'canary', 'linear'] as const) expect(deploymentSurgePercent(s, 150)).toBe(200);
  });

  test('minutes both revisions run after the new one is up', () => {
    expect(doubledTaskMinutes(timing({ strategy: 'rolling' }))).toBe(0);
    expect(doubledTaskMinutes(timing({ strategy: 'blue_green' }))).toBe(10);
    // canary: 5 min at 10 %, then 10 min of bake
    expect(doubledTaskMinutes(timing({ strategy: 'canary' }))).toBe(15);
    // linear 25 %: 4 steps, 3 waits of 3 min, then 10 min of bake
    expect(doubledTaskMinutes(timing({ strategy: 'linear', linear: { stepPercent: 25, stepBakeTimeMinutes: 3 } }))).toBe(19);
    expect(linearSteps(10)).toBe(10);
    expect(linearSteps(30)).toBe(4);
    expect(linearSteps(3.3)).toBe(31);
    expect(alarmReactionSeconds(60, 3)).toBe(180);
  });

  test('the connection demand counts the second revision of a canary, not api.maxHealthyPercent', () => {
    // dev, dbPoolSize 25, maxHealthyPercent 100: rolling 4 tasks × 2 pools × 25 = 200; canary 8 × 2 × 25 = 400 (+ worker 100)
    expect(connectionDemand(configFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 100 } })).writer).toBe(300);
    expect(connectionDemand({ ...configFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 100 } }), api: { ...configFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 100 } }).api, deployment: { ...configFor('dev').api.deployment, strategy: 'canary' } } }).writer).toBe(500);
  });
});

describe('api.deployment rules', () => {
  test('a canary whose doubled tasks break the connection budget that rolling fits', () => {
    // rolling at 100 %: 4 × 1 process × 2 pools × 25 = 200, + worker 10 × 10 = 100 → 300 ≤ 400.
    // canary: 4 × 200 % = 8 tasks × 1 × 2 × 25 = 400, + 100 = 500 > 400.
    expect(() => configFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 100 } })).not.toThrow();
    expect(problemsFor('dev', { api: { dbPoolSize: 25, maxHealthyPercent: 100, deployment: { strategy: 'canary' } } })).toEqual([
      'scaling-blueprint.environments.dev.api.dbPoolSize = 25: puts the writer over its connection budget: ' +
        'API peak 8 tasks (api.maxTasks 4 × 200 %: api.deployment.strategy "canary" runs the new revision at full size beside the old one until the bake time ends) × 1 process (api.cpu 256) × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × api.dbPoolSize 25 = 400, ' +
        'plus worker peak 10 tasks (worker.maxTasks 5 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 100, ' +
        'is 500 connections, but the writer allows 400 (max_connections 405 of db.t4g.medium − 5 reserved). ' +
        'Fix: lower api.dbPoolSize, worker.dbPoolSize, the maxTasks or deploy with api.deployment.strategy "rolling" (a surge of api.maxHealthyPercent 100 % instead of a second full revision), add a reader (database.readers) so that reads leave the writer, or pick a larger database.instanceClass.',
    ]);
  });

  test('the shipped environments load: dev rolling, staging blue/green with a smoke test, prod canary with alarm rollback', () => {
    expect(configFor('dev').api.deployment.strategy).toBe('rolling');
    expect(configFor('staging').api.deployment).toMatchObject({ strategy: 'blue_green', smokeTest: { enabled: true } });
    expect(configFor('prod').api.deployment).toMatchObject({ strategy: 'canary', canary: { percent: 10, bakeTimeMinutes: 5 }, rollbackAlarms: ['sloBurnRate', 'http5xx', 'latencyP99'] });
  });

  test('canary share and linear step in tenths of a percent', () => {
    expect(problemsFor('dev', { api: { deployment: { strategy: 'canary', canary: { percent: 2.55 } } } })).toEqual([
      'scaling-blueprint.environments.dev.api.deployment.canary.percent = 2.55: is 2.55; ECS takes the canary share in steps of 0.1 %. Fix: round it to one decimal place, e.g. 2.6.',
    ]);
    expect(problemsFor('dev', { api: { deployment: { strategy: 'linear', linear: { stepPercent: 12.34 } } } })).toEqual([
      'scaling-blueprint.environments.dev.api.deployment.linear.stepPercent = 12.34: is 12.34; ECS takes the linear step in steps of 0.1 %. Fix: round it to one decimal place, e.g. 12.3.',
    ]);
  });

  test('a smoke test with a rolling deploy', () => {
    expect(problemsFor('dev', { api: { deployment: { smokeTest: { enabled: true } } } })).toEqual([
      'scaling-blueprint.environments.dev.api.deployment.smokeTest.enabled = true: is true with api.deployment.strategy "rolling": a rolling deploy has no test-traffic stage and no second target group to test, so the smoke test would never run. ' +
        'Fix: set api.deployment.strategy to "blue_green", "canary" or "linear", or api.deployment.smokeTest.enabled to false.',
    ]);
  });

  test('a smoke test over HTTPS without a host the certificate covers', () => {
    expect(problemsFor('prod', { api: { deployment: { smokeTest: { enabled: true } } } })).toEqual([
      'scaling-blueprint.defaults.api.deployment.smokeTest.host = "": is "" while the listener serves HTTPS with alb.certificateArn: the smoke test would call the load balancer\'s own DNS name, which the certificate does not cover, and fail the TLS check at every deployment. ' +
        'Fix: set it to the host name clients use (one the certificate covers and whose DNS points at the load balancer), or set api.deployment.smokeTest.enabled to false.',
    ]);
    expect(() => configFor('prod', { api: { deployment: { smokeTest: { enabled: true, host: 'api.example.com' } } } })).not.toThrow();
  });

  test('the test rule must come before the production rule it shadows', () => {
    expect(problemsFor('staging', { api: { deployment: { smokeTest: { rulePriority: 50000 } } } })).toEqual([
      'scaling-blueprint.environments.staging.api.deployment.smokeTest.rulePriority = 50000: is 50000, not before the production rule of "api" (priority 50000); the test rule only adds a header condition to it, so it must be evaluated first or no test request would ever reach it. ' +
        'Fix: set it below 50000, to a priority no route uses.',
    ]);
  });

  test('the test rule cannot take the blocked paths\' priority', () => {
    expect(problemsFor('staging', { api: { deployment: { smokeTest: { rulePriority: 1 } } } })).toEqual([
      'scaling-blueprint.environments.staging.api.deployment.smokeTest.rulePriority = 1: is 1, which the alb.blockedPaths rule holds; two rules of one listener cannot share a priority. Fix: pick a priority that no route uses.',
    ]);
  });

  test('no rollback alarm', () => {
    expect(problemsFor('prod', { api: { deployment: { rollbackAlarms: [] } } })).toEqual([
      'scaling-blueprint.environments.prod.api.deployment.rollbackAlarms = []: is [] with api.deployment.strategy "canary": the new revision would take production traffic and bake with no alarm watching, so a broken revision is never rolled back (the circuit breaker only catches tasks that fail to start). ' +
        'Fix: list at least one of "sloBurnRate", "http5xx", "latencyP99", or use "rolling".',
    ]);
  });

  test('a rollback alarm whose Critical threshold is off', () => {
    expect(problemsFor('prod', { alarms: { http5xxPercent: { critical: null } } })).toEqual([
      'scaling-blueprint.defaults.api.deployment.rollbackAlarms = ["sloBurnRate","http5xx","latencyP99"]: lists "http5xx", but alarms.http5xxPercent.critical is null, so there is no Critical 5xx alarm to watch. Fix: set alarms.http5xxPercent.critical, or remove "http5xx" from the list.',
    ]);
    expect(problemsFor('prod', { alarms: { latencyP99Ms: { critical: null } } })).toEqual([
      'scaling-blueprint.defaults.api.deployment.rollbackAlarms = ["sloBurnRate","http5xx","latencyP99"]: lists "latencyP99", but alarms.latencyP99Ms.critical is null, so there is no Critical p99 alarm to watch. Fix: set alarms.latencyP99Ms.critical, or remove "latencyP99" from the list.',
    ]);
  });

  test('a canary that moves on before any rollback alarm can fire', () => {
    // The 5xx and p99 alarms need datapointsToAlarm 3 × 60 s = 180 s; the burn rates' shortest window is 5 min.
    expect(problemsFor('prod', { api: { deployment: { canary: { bakeTimeMinutes: 2 } } } })).toEqual([
      'scaling-blueprint.environments.prod.api.deployment.canary.bakeTimeMinutes = 2: holds the canary share for 120 s, less than the 180 s the fastest rollback alarm needs to go to ALARM (monitoring.datapointsToAlarm 3 × monitoring.periodSeconds 60); the deployment would move on before any alarm could judge it. ' +
        'Fix: raise it to at least 3 minutes, or shorten the alarms\' evaluation (monitoring.periodSeconds, monitoring.datapointsToAlarm).',
    ]);
    // Only the burn rates: their 5-minute short window is the soonest.
    expect(problemsFor('prod', { api: { deployment: { strategy: 'linear', rollbackAlarms: ['sloBurnRate'], linear: { stepBakeTimeMinutes: 4 } } } })).toEqual([
      'scaling-blueprint.environments.prod.api.deployment.linear.stepBakeTimeMinutes = 4: holds each step for 240 s, less than the 300 s the fastest rollback alarm needs to go to ALARM (the shortest burn-rate window, slo.burnRates shortWindowMinutes 5); the deployment would move on before any alarm could judge it. ' +
        'Fix: raise it to at least 5 minutes, or shorten the alarms\' evaluation (monitoring.periodSeconds, monitoring.datapointsToAlarm).',
    ]);
  });

  test('blue/green judged by its bake time', () => {
    expect(problemsFor('staging', { api: { deployment: { bakeTimeMinutes: 1 } } })).toEqual([
      'scaling-blueprint.environments.staging.api.deployment.bakeTimeMinutes = 1: keeps the old revision running after the switch for 60 s, less than the 180 s the fastest rollback alarm needs to go to ALARM (monitoring.datapointsToAlarm 3 × monitoring.periodSeconds 60); the deployment would move on before any alarm could judge it. ' +
        'Fix: raise it to at least 3 minutes, or shorten the alarms\' evaluation (monitoring.periodSeconds, monitoring.datapointsToAlarm).',
    ]);
  });
});

describe('api.deployment and the listener rules', () => {
  const route = (priority: number, forward: Array<{ service: string; weight: number }>) => ({ priority, pathPatterns: ['/api/*'], action: { forward } });

  test('the default service under a canary may not also be forwarded to by a route', () => {
    expect(problemsFor('prod', { alb: { routes: [route(10, [{ service: 'api', weight: 1 }])] } })).toEqual([
      'scaling-blueprint.environments.prod.api.deployment.strategy = "canary": is "canary", which moves the weights of one listener rule, the service\'s catch-all rule (priority 50000, as alb.defaultService is "api"); alb.routes priority 10 also forwards to "api", and after a deployment would still point at the target group the old revision has left empty. ' +
        'Fix: send "api" its traffic through the default action alone (remove it from those routes), or set api.deployment.strategy to "rolling".',
    ]);
  });

  test('the catch-all production rule comes after every route', () => {
    expect(problemsFor('prod', { alb: { defaultService: 'api', routes: [{ priority: 60, pathPatterns: ['/old/*'], action: { fixedResponse: { statusCode: 410, contentType: 'text/plain', messageBody: 'gone' } } }] }, api: { deployment: { productionRulePriority: 50 } } })).toEqual([
      'scaling-blueprint.environments.prod.api.deployment.productionRulePriority = 50: is 50, but alb.routes has a rule at priority 60; the catch-all production rule (path "/*") must come after every route, or it would take their requests (and two rules cannot share a priority). ' +
        'Fix: raise it above 60 (at most 50000), or lower those routes\' priorities.',
    ]);
  });
});
