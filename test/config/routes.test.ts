import { connectionDemand } from '../../lib/config/capacity';
import { blueprintContext, configFor, oneProblem, problemsFor, type Overrides } from '../helpers/context';

// The services (`services`) and the listener rules (`alb.routes`, `alb.defaultService`): each rule's whole
// message, as synth prints it. dev deploys rolling, so the deployment strategies' own rules stay quiet.

const api = blueprintContext().defaults.api as Overrides;
const targetGroup = {
  routingAlgorithm: 'round_robin', anomalyMitigation: false, stickiness: { mode: 'off', durationSeconds: 600, cookieName: '' }, slowStartSeconds: 0,
  deregistrationDelaySeconds: 30, healthCheck: { path: '/healthz', intervalSeconds: 10, timeoutSeconds: 5, healthyThresholdCount: 2, unhealthyThresholdCount: 2, healthyHttpCodes: '200' },
};
/** A second service "reports": the API's keys (the reference image), smaller, its own target group. */
const reports = (o: Overrides = {}) => ({ ...api, name: 'reports', minTasks: 1, maxTasks: 2, cpu: 256, memoryMiB: 512, dbPoolSize: 2, requestsPerTarget: 600, targetGroup, ...o });
const forward = (...targets: Array<[string, number]>) => ({ forward: targets.map(([service, weight]) => ({ service, weight })) });
const headerToReports = { priority: 10, httpHeaders: [{ name: 'X-Service', values: ['reports'] }], action: forward(['reports', 1]) };
const withReports = (o: Overrides = {}, routes: Overrides[] = [headerToReports]) => ({ services: [reports(o)], alb: { routes } });
const route = (action: Overrides, extra: Overrides = {}) => ({ alb: { routes: [{ priority: 20, pathPatterns: ['/x'], action, ...extra }] } });
const RULES_DOC = 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html';
const STICKY_DOC = 'https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#sticky-sessions';

describe('a second service with a header rule', () => {
  test('loads: its keys, its target group, its request target as given', () => {
    const cfg = configFor('dev', withReports());
    expect(cfg.services.map((s) => [s.name, s.requestsPerTarget, s.targetGroup.routingAlgorithm])).toEqual([['reports', 600, 'round_robin']]);
  });

  test('its tasks count in the connection budget: processes × pools × pool size at its peak, on top of the API and the worker', () => {
    const cfg = configFor('dev', withReports({ maxTasks: 3, dbPoolSize: 4 }));
    const demand = connectionDemand(cfg);
    // dev has no reader: both pools of every process land on the writer; 3 tasks × 200 % surge = 6, one process at 256 units.
    expect(demand.services.reports).toEqual({ writer: 6 * 1 * 2 * 4, readers: 0 });
    expect(demand.writer).toBe(demand.api.writer + demand.worker.writer + demand.services.reports.writer);
    expect(connectionDemand({ ...cfg, services: [] }).writer).toBe(demand.writer - 48);
  });

  test('a service that takes the writer past its budget is named in the budget\'s message', () => {
    expect(oneProblem('dev', withReports({ maxTasks: 40, dbPoolSize: 20 }))).toBe(
      'scaling-blueprint.environments.dev.api.dbPoolSize = 5: puts the writer over its connection budget: API peak 8 tasks (api.maxTasks 4 × api.maxHealthyPercent 200 %) × 1 process (api.cpu 256) × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × api.dbPoolSize 5 = 80, '
      + 'plus worker peak 10 tasks (worker.maxTasks 5 × 200 % deploy surge) × 1 process × 1 pool × worker.dbPoolSize 10 = 100, '
      + 'plus service "reports" peak 80 tasks × 1 process × 2 pools (writer and reader: with database.readers 0 the reader endpoint is the writer) × services.0.dbPoolSize 20 = 3200, '
      + 'is 3380 connections, but the writer allows 400 (max_connections 405 of db.t4g.medium − 5 reserved). '
      + 'Fix: lower api.dbPoolSize, worker.dbPoolSize, the maxTasks or api.maxHealthyPercent, add a reader (database.readers) so that reads leave the writer, or pick a larger database.instanceClass.');
  });

  test('the services\' own keys get the API\'s rules, at their own path', () => {
    expect(oneProblem('dev', withReports({ minTasks: 3, maxTasks: 2 }))).toBe(
      'scaling-blueprint.environments.dev.services.0.minTasks = 3: must not exceed services.0.maxTasks (2). Fix: lower services.0.minTasks to at most 2, or raise services.0.maxTasks.');
  });
});

describe('service names and request targets', () => {
  test('the worker\'s name', () => {
    expect(oneProblem('dev', withReports({ name: 'worker' }, [{ ...headerToReports, action: forward(['worker', 1]) }]))).toBe(
      'scaling-blueprint.environments.dev.services.0.name = "worker": is the name of the queue worker (its keys are `worker`). Fix: give the service another name, such as "reports".');
  });

  test('two services of one name', () => {
    expect(oneProblem('dev', { services: [reports(), reports()], alb: { routes: [headerToReports] } })).toBe(
      'scaling-blueprint.environments.dev.services.1.name = "reports": is the name of an earlier service too. Fix: give every service its own name.');
  });

  test('a request target from a capacity that is not known', () => {
    expect(oneProblem('dev', withReports({ requestsPerTarget: 'fromCapacity', capacityPerTaskRps: null }))).toBe(
      'scaling-blueprint.environments.dev.services.0.requestsPerTarget = "fromCapacity": follows from services.0.capacityPerTaskRps, which is null, so there is no capacity to derive the request target from. '
      + 'Fix: measure the capacity (npm run calibrate) and set services.0.capacityPerTaskRps, or give services.0.requestsPerTarget as a number of requests per task per minute.');
  });

  test('production: a service keeps its capacity through a deploy and has a task per zone', () => {
    expect(problemsFor('prod', withReports({ minHealthyPercent: 50, minTasks: 1 }))).toEqual([
      'scaling-blueprint.environments.prod.services.0.minHealthyPercent = 50: is below 100 in a production environment; a deploy would remove serving capacity before the new tasks are healthy. Fix: set services.0.minHealthyPercent to 100.',
      'scaling-blueprint.environments.prod.services.0.minTasks = 1: is below 3 in a production environment: the VPC spans 3 availability zones, and with fewer tasks than zones the loss of one zone takes more than its share of the service with it. Fix: set services.0.minTasks to at least 3 (one task per zone, never fewer than 2).',
    ]);
  });
});

describe('every service gets requests (its target group must be in a listener action)', () => {
  test('a service no route reaches', () => {
    expect(oneProblem('dev', { services: [reports()] })).toBe(
      'scaling-blueprint.environments.dev.services.0.name = "reports": gets no requests: no route forwards to it and alb.defaultService is "api"; its target group would belong to no load balancer, which ECS needs to register its tasks and its request-count policy needs to measure. '
      + 'Fix: add a route whose action forwards to "reports", or make it alb.defaultService.');
  });

  test('the API with a 404 default and no route', () => {
    expect(oneProblem('dev', { alb: { defaultService: '' } })).toBe(
      'scaling-blueprint.environments.dev.alb.defaultService = "": is "" and no route forwards to "api": the API gets no requests, and its target group would belong to no load balancer, which ECS needs to register its tasks and its request-count policy needs to measure. '
      + 'Fix: set it to "api", or add a route that forwards to "api".');
  });

  test('a default service that does not exist', () => {
    expect(oneProblem('dev', { alb: { defaultService: 'admin' } })).toBe(
      'scaling-blueprint.environments.dev.alb.defaultService = "admin": names no service (known: "api"). Fix: set it to one of them, or to "" to answer unmatched requests with 404.');
  });
});

describe('what AWS refuses in a listener rule', () => {
  test('priority above 50000', () => {
    expect(oneProblem('dev', { alb: { routes: [{ priority: 50001, pathPatterns: ['/x'], action: forward(['api', 1]) }] } })).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.priority = 50001: must be ≤ 50000. Fix: lower it to at most 50000.');
  });

  test('priority 1 while the blocked paths hold it', () => {
    expect(oneProblem('dev', { alb: { routes: [{ priority: 1, pathPatterns: ['/x'], action: forward(['api', 1]) }] } })).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.priority = 1: is the priority of the alb.blockedPaths rule, which answers the blocked paths with 404 before any route. Fix: give the route a priority of 2 or more.');
    expect(() => configFor('dev', { alb: { blockedPaths: [], routes: [{ priority: 1, pathPatterns: ['/x'], action: forward(['api', 1]) }] } })).not.toThrow();
  });

  test('a rule without a condition', () => {
    expect(oneProblem('dev', { services: [reports()], alb: { routes: [{ priority: 10, action: forward(['reports', 1]) }] } })).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0 = {"priority":10,"action":{"forward":[{"service":"reports","weight":1}]}}: has no condition; a listener rule needs at least one (a rule for every request is `alb.defaultService`). '
      + 'Fix: add pathPatterns, hostHeaders, httpHeaders, queryStrings, httpRequestMethods or sourceIps.');
  });

  test('more than 3 values in one condition', () => {
    expect(oneProblem('dev', route(forward(['api', 1]), { pathPatterns: ['/a', '/b', '/c', '/d'] }))).toBe(
      `scaling-blueprint.environments.dev.alb.routes.0.pathPatterns = ["/a","/b","/c","/d"]: holds 4 values; the load balancer takes up to 3 per condition (${RULES_DOC}). `
      + 'Fix: keep 3 here and move the others to a route of their own with the same action.');
  });

  test('more than 5 match evaluations in one rule', () => {
    const overrides = route(forward(['api', 1]), { pathPatterns: ['/a', '/b'], hostHeaders: ['a.example.com', 'b.example.com'], httpRequestMethods: ['GET', 'HEAD'] });
    expect(oneProblem('dev', overrides)).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0 = {"priority":20,"pathPatterns":["/a","/b"],"action":{"forward":[{"service":"api","weight":1}]},"hostHeaders":["a.example.com","b.example.com"],"httpRequestMethods":["GET","HEAD"]}: '
      + `has 6 match evaluations (pathPatterns 2, hostHeaders 2, httpRequestMethods 2); the load balancer takes up to 5 per rule (${RULES_DOC}). `
      + 'Fix: split it into routes of 5 values at most with the same action.');
  });

  test('more than 5 wildcards in one rule', () => {
    expect(oneProblem('dev', route(forward(['api', 1]), { pathPatterns: ['/a*/*/*', '/b/*/*?'] }))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0 = {"priority":20,"pathPatterns":["/a*/*/*","/b/*/*?"],"action":{"forward":[{"service":"api","weight":1}]}}: '
      + `has 6 wildcard characters (* and ?); the load balancer takes up to 5 per rule (${RULES_DOC}). Fix: use at most 5 wildcards in one route, or split it.`);
  });
});

describe('actions', () => {
  test('none', () => {
    expect(oneProblem('dev', route({}))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action = {}: has no forward, redirect or fixedResponse. Fix: give it exactly one of forward, redirect and fixedResponse.');
  });

  test('two at once', () => {
    expect(oneProblem('dev', route({ ...forward(['api', 1]), fixedResponse: { statusCode: 404, contentType: 'text/plain', messageBody: '' } }))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action = {"forward":[{"service":"api","weight":1}],"fixedResponse":{"statusCode":404,"contentType":"text/plain","messageBody":""}}: has forward and fixedResponse; a rule does one thing. '
      + 'Fix: give it exactly one of forward, redirect and fixedResponse.');
  });

  test('a forward to a service that does not exist', () => {
    expect(oneProblem('dev', route(forward(['admin', 1])))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.forward.0.service = "admin": names no service (known: "api"). Fix: forward to "api" or to the name of an entry in services.');
  });

  test('one service twice in a forward', () => {
    expect(oneProblem('dev', route(forward(['api', 1], ['api', 2])))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.forward.1.service = "api": appears twice in this forward; a target group may appear once in an action. Fix: merge the two entries and add up their weights.');
  });

  test('a weight above 999', () => {
    expect(oneProblem('dev', route(forward(['api', 1000])))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.forward.0.weight = 1000: must be ≤ 999. Fix: lower it to at most 999.');
  });

  test('a weighted forward to a target group with application-cookie stickiness', () => {
    const appCookie = { ...targetGroup, stickiness: { mode: 'app_cookie', durationSeconds: 600, cookieName: 'SESSION' } };
    expect(oneProblem('dev', { ...withReports({ targetGroup: appCookie }), ...route({ ...forward(['api', 9], ['reports', 1]), stickinessSeconds: 60 }) })).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.forward = [{"service":"api","weight":9},{"service":"reports","weight":1}]: splits requests by weight across target groups, and "reports" uses application-cookie stickiness, '
      + `which does not work with weighted target groups (${STICKY_DOC}). Fix: use stickiness mode "lb_cookie" or "off" for "reports", or forward to one service.`);
  });

  test('a weighted forward to a sticky target group without target group stickiness', () => {
    const lbCookie = { ...targetGroup, stickiness: { mode: 'lb_cookie', durationSeconds: 600, cookieName: '' } };
    expect(oneProblem('dev', { ...withReports({ targetGroup: lbCookie }), ...route(forward(['api', 9], ['reports', 1])) })).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action = {"forward":[{"service":"api","weight":9},{"service":"reports","weight":1}]}: splits requests by weight across target groups, and "reports" has sticky sessions, '
      + `so AWS requires stickiness at the target group level, which stickinessSeconds (not set) leaves off (${STICKY_DOC}). `
      + 'Fix: set alb.routes.0.action.stickinessSeconds to how long a client stays with the target group it was first sent to (s), e.g. 3600.');
  });

  test('target group stickiness where there is no weighted forward', () => {
    expect(oneProblem('dev', route({ ...forward(['api', 1]), stickinessSeconds: 60 }))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.stickinessSeconds = 60: is set, but the action is not a forward to more than one service, where target group stickiness applies. Fix: remove it, or forward to several services.');
  });

  test('a redirect to the same URL', () => {
    expect(oneProblem('dev', route({ redirect: { permanent: false } }))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.redirect = {"permanent":false}: changes no part of the URL, so it would redirect every matching request to itself. Fix: set at least one of protocol, host, port, path and query.');
  });

  test('a fixed response with a 3XX code', () => {
    expect(oneProblem('dev', route({ fixedResponse: { statusCode: 302, contentType: 'text/plain', messageBody: '' } }))).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.action.fixedResponse.statusCode = 302: is a 3XX code; a fixed response may be 2XX, 4XX or 5XX. Fix: use a redirect action to redirect, or a 2XX, 4XX or 5XX code.');
  });
});

describe('target groups: what Elastic Load Balancing refuses in combination', () => {
  test('slow start with least outstanding requests (the API\'s algorithm by default)', () => {
    expect(oneProblem('dev', { alb: { slowStartSeconds: 30 } })).toBe(
      'scaling-blueprint.environments.dev.alb.slowStartSeconds = 30: must be 0 with alb.routingAlgorithm "least_outstanding_requests"; the load balancer refuses slow start with that algorithm. Fix: set alb.slowStartSeconds to 0, or pick "round_robin".');
    expect(() => configFor('dev', { alb: { routingAlgorithm: 'round_robin', slowStartSeconds: 30 } })).not.toThrow();
  });

  test('a service\'s target group gets the same rules at its own path', () => {
    expect(oneProblem('dev', withReports({ targetGroup: { ...targetGroup, routingAlgorithm: 'least_outstanding_requests', slowStartSeconds: 60 } }))).toBe(
      'scaling-blueprint.environments.dev.services.0.targetGroup.slowStartSeconds = 60: must be 0 with services.0.targetGroup.routingAlgorithm "least_outstanding_requests"; the load balancer refuses slow start with that algorithm. Fix: set services.0.targetGroup.slowStartSeconds to 0, or pick "round_robin".');
  });

  test('sticky sessions with weighted random', () => {
    expect(oneProblem('dev', withReports({ targetGroup: { ...targetGroup, routingAlgorithm: 'weighted_random', stickiness: { mode: 'lb_cookie', durationSeconds: 600, cookieName: '' } } }))).toBe(
      'scaling-blueprint.environments.dev.services.0.targetGroup.stickiness.mode = "lb_cookie": is "lb_cookie" with services.0.targetGroup.routingAlgorithm "weighted_random"; the load balancer refuses sticky sessions with that algorithm. '
      + 'Fix: set services.0.targetGroup.stickiness.mode to "off", or pick "round_robin" or "least_outstanding_requests".');
    expect(oneProblem('dev', { alb: { routingAlgorithm: 'weighted_random', stickiness: { mode: 'lb_cookie' } } })).toBe(
      'scaling-blueprint.environments.dev.alb.stickiness.mode = "lb_cookie": is "lb_cookie" with alb.routingAlgorithm "weighted_random"; the load balancer refuses sticky sessions with that algorithm. '
      + 'Fix: set alb.stickiness.mode to "off", or pick "round_robin" or "least_outstanding_requests".');
  });
});
