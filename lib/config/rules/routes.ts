import { productionMinApiTasks, REQUESTS_PER_TARGET_FROM_CAPACITY } from '../capacity';
import { API_SERVICE_NAME, type RouteConfig } from '../schema/routes';
import { collector, type Config, type Problem } from './problem';

/**
 * What an Application Load Balancer listener rule may hold
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html, "Condition
 * basics"): "up to three match evaluations per condition", "up to five match evaluations per rule", and "a
 * limit of five wildcard characters per rule" in the http-header, host-header, path-pattern and query-string
 * values.
 */
export const MATCH_EVALUATIONS_PER_CONDITION = 3;
export const MATCH_EVALUATIONS_PER_RULE = 5;
export const WILDCARDS_PER_RULE = 5;

/** The `alb.blockedPaths` rule's priority (lib/constructs/web-service.ts), which no route may take. */
export const BLOCKED_PATHS_PRIORITY = 1;

/** Names a service cannot take: the API's and the worker's. */
const RESERVED_SERVICE_NAMES = [API_SERVICE_NAME, 'worker'];

/** One ALB condition of a route: its config key and the values AWS counts as its match evaluations. */
interface Condition {
  readonly key: string;
  readonly values: readonly string[];
  /** Values in which * and ? are wildcards. */
  readonly wildcards: boolean;
}

/**
 * A route's conditions as the listener rule gets them (lib/constructs/web-service.ts): one condition per
 * condition key, except `httpHeaders`, which makes one http-header condition per header (all must hold).
 */
export function routeConditions(route: RouteConfig): Condition[] {
  const conditions: Condition[] = [];
  if (route.pathPatterns) conditions.push({ key: 'pathPatterns', values: route.pathPatterns, wildcards: true });
  if (route.hostHeaders) conditions.push({ key: 'hostHeaders', values: route.hostHeaders, wildcards: true });
  route.httpHeaders?.forEach((h, i) => conditions.push({ key: `httpHeaders.${i}.values`, values: h.values, wildcards: true }));
  if (route.queryStrings) conditions.push({ key: 'queryStrings', values: route.queryStrings.map((q) => `${q.key}=${q.value}`), wildcards: true });
  if (route.httpRequestMethods) conditions.push({ key: 'httpRequestMethods', values: route.httpRequestMethods, wildcards: false });
  if (route.sourceIps) conditions.push({ key: 'sourceIps', values: route.sourceIps, wildcards: false });
  return conditions;
}

/**
 * The services (`services`) and the listener rules (`alb.routes`, `alb.defaultService`): names, priorities,
 * what one rule may hold, where it forwards, and that every service gets requests from somewhere.
 */
export function checkRoutes(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const { alb, services } = cfg;
  const names = services.map((s) => s.name);
  const known = [API_SERVICE_NAME, ...names];

  services.forEach((svc, i) => {
    add(RESERVED_SERVICE_NAMES.includes(svc.name), `services.${i}.name`, [],
      `is the name of the ${svc.name === API_SERVICE_NAME ? 'API (its keys are `api` and `alb`)' : 'queue worker (its keys are `worker`)'}`,
      'give the service another name, such as "reports"');
    add(names.indexOf(svc.name) !== i, `services.${i}.name`, [],
      'is the name of an earlier service too', 'give every service its own name');
    add(svc.requestsPerTarget === REQUESTS_PER_TARGET_FROM_CAPACITY && svc.capacityPerTaskRps === null, `services.${i}.requestsPerTarget`, [`services.${i}.capacityPerTaskRps`],
      `follows from services.${i}.capacityPerTaskRps, which is null, so there is no capacity to derive the request target from`,
      `measure the capacity (npm run calibrate) and set services.${i}.capacityPerTaskRps, or give services.${i}.requestsPerTarget as a number of requests per task per minute`);
  });

  add(alb.defaultService !== '' && !known.includes(alb.defaultService), 'alb.defaultService', ['services'],
    `names no service (known: ${known.map((n) => `"${n}"`).join(', ')})`,
    `set it to one of them, or to "" to answer unmatched requests with 404`);

  const priorities = alb.routes.map((r) => r.priority);
  const duplicates = [...new Set(priorities.filter((p, i) => priorities.indexOf(p) !== i))];
  add(duplicates.length > 0, 'alb.routes', [],
    `uses priority ${duplicates.join(', ')} more than once`, 'give every route its own priority');

  alb.routes.forEach((route, r) => {
    const at = `alb.routes.${r}`;
    add(route.priority === BLOCKED_PATHS_PRIORITY && alb.blockedPaths.length > 0, `${at}.priority`, ['alb.blockedPaths'],
      `is the priority of the alb.blockedPaths rule, which answers the blocked paths with 404 before any route`,
      'give the route a priority of 2 or more');
    const conditions = routeConditions(route);
    add(conditions.length === 0, at, [],
      'has no condition; a listener rule needs at least one (a rule for every request is `alb.defaultService`)',
      'add pathPatterns, hostHeaders, httpHeaders, queryStrings, httpRequestMethods or sourceIps');
    for (const c of conditions) {
      add(c.values.length > MATCH_EVALUATIONS_PER_CONDITION, `${at}.${c.key}`, [],
        `holds ${c.values.length} values; the load balancer takes up to ${MATCH_EVALUATIONS_PER_CONDITION} per condition (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html)`,
        `keep ${MATCH_EVALUATIONS_PER_CONDITION} here and move the others to a route of their own with the same action`);
    }
    const evaluations = conditions.reduce((n, c) => n + c.values.length, 0);
    add(evaluations > MATCH_EVALUATIONS_PER_RULE, at, [],
      `has ${evaluations} match evaluations (${conditions.map((c) => `${c.key} ${c.values.length}`).join(', ')}); the load balancer takes up to ${MATCH_EVALUATIONS_PER_RULE} per rule (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html)`,
      `split it into routes of ${MATCH_EVALUATIONS_PER_RULE} values at most with the same action`);
    const wildcards = conditions.filter((c) => c.wildcards).reduce((n, c) => n + c.values.join('').replace(/[^*?]/g, '').length, 0);
    add(wildcards > WILDCARDS_PER_RULE, at, [],
      `has ${wildcards} wildcard characters (* and ?); the load balancer takes up to ${WILDCARDS_PER_RULE} per rule (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html)`,
      `use at most ${WILDCARDS_PER_RULE} wildcards in one route, or split it`);
    checkAction(route, at, cfg, add);
  });

  // A target group that no listener action uses has no load balancer: ECS cannot register the service's tasks
  // with it, and the request-count policy has no ALBRequestCountPerTarget to read.
  const forwarded = new Set([alb.defaultService, ...alb.routes.flatMap((r) => (r.action.forward ?? []).map((f) => f.service))]);
  const unattached = 'its target group would belong to no load balancer, which ECS needs to register its tasks and its request-count policy needs to measure';
  add(!forwarded.has(API_SERVICE_NAME) && (alb.defaultService === '' || known.includes(alb.defaultService)), 'alb.defaultService', ['alb.routes'],
    `is ${JSON.stringify(alb.defaultService)} and no route forwards to "${API_SERVICE_NAME}": the API gets no requests, and ${unattached}`,
    `set it to "${API_SERVICE_NAME}", or add a route that forwards to "${API_SERVICE_NAME}"`);
  services.forEach((svc, i) => {
    add(!forwarded.has(svc.name), `services.${i}.name`, ['alb.defaultService', 'alb.routes'],
      `gets no requests: no route forwards to it and alb.defaultService is ${JSON.stringify(alb.defaultService)}; ${unattached}`,
      `add a route whose action forwards to "${svc.name}", or make it alb.defaultService`);
  });

  if (cfg.production) {
    const zones = Math.min(cfg.network.maxAzs, cfg.network.availabilityZones.length);
    const minTasks = productionMinApiTasks(zones);
    services.forEach((svc, i) => {
      add(svc.minHealthyPercent < 100, `services.${i}.minHealthyPercent`, ['production'],
        'is below 100 in a production environment; a deploy would remove serving capacity before the new tasks are healthy',
        `set services.${i}.minHealthyPercent to 100`);
      add(svc.minTasks < minTasks, `services.${i}.minTasks`, ['production', 'network.maxAzs', 'network.availabilityZones'],
        `is below ${minTasks} in a production environment: the VPC spans ${zones} availability zones, and with fewer tasks than zones the loss of one zone takes more than its share of the service with it`,
        `set services.${i}.minTasks to at least ${minTasks} (one task per zone, never fewer than 2)`);
    });
  }
  return problems;
}

type Add = ReturnType<typeof collector>['add'];

/**
 * One route's action. A weighted forward (more than one service) cannot use a target group with
 * application-based stickiness ("Application-based stickiness does not work with weighted target groups"), and
 * when a target group in it has sticky sessions the rule must have target group stickiness ("If you have a
 * forward action with multiple target groups, and sticky sessions are enabled for one or more of the target
 * groups, you must enable stickiness at the target group level")
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#sticky-sessions).
 * A redirect must change something (CDK refuses a redirect loop); a fixed response is 2XX, 4XX or 5XX
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html).
 */
function checkAction(route: RouteConfig, at: string, cfg: Config, add: Add): void {
  const { forward, redirect, fixedResponse, stickinessSeconds } = route.action;
  const kinds = [forward && 'forward', redirect && 'redirect', fixedResponse && 'fixedResponse'].filter(Boolean);
  add(kinds.length !== 1, `${at}.action`, [],
    kinds.length === 0 ? 'has no forward, redirect or fixedResponse' : `has ${kinds.join(' and ')}; a rule does one thing`,
    'give it exactly one of forward, redirect and fixedResponse');
  add(stickinessSeconds !== undefined && (forward?.length ?? 0) < 2, `${at}.action.stickinessSeconds`, [`${at}.action.forward`],
    'is set, but the action is not a forward to more than one service, where target group stickiness applies',
    'remove it, or forward to several services');

  if (forward) {
    const targets = forward.map((f) => f.service);
    forward.forEach((f, i) => {
      add(![API_SERVICE_NAME, ...cfg.services.map((s) => s.name)].includes(f.service), `${at}.action.forward.${i}.service`, ['services'],
        `names no service (known: ${[API_SERVICE_NAME, ...cfg.services.map((s) => s.name)].map((n) => `"${n}"`).join(', ')})`,
        'forward to "api" or to the name of an entry in services');
      add(targets.indexOf(f.service) !== i, `${at}.action.forward.${i}.service`, [],
        'appears twice in this forward; a target group may appear once in an action', 'merge the two entries and add up their weights');
    });
    if (forward.length > 1) {
      const groups = forward.map((f) => ({ service: f.service, tg: targetGroupOf(cfg, f.service) })).filter((g) => g.tg !== undefined);
      const appCookie = groups.filter((g) => g.tg!.stickiness.mode === 'app_cookie');
      add(appCookie.length > 0, `${at}.action.forward`, ['alb.stickiness', 'services'],
        `splits requests by weight across target groups, and ${appCookie.map((g) => `"${g.service}"`).join(', ')} uses application-cookie stickiness, which does not work with weighted target groups (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#sticky-sessions)`,
        `use stickiness mode "lb_cookie" or "off" for ${appCookie.map((g) => `"${g.service}"`).join(', ')}, or forward to one service`);
      const sticky = groups.filter((g) => g.tg!.stickiness.mode !== 'off');
      add(sticky.length > 0 && !stickinessSeconds, `${at}.action`, ['alb.stickiness', 'services'],
        `splits requests by weight across target groups, and ${sticky.map((g) => `"${g.service}"`).join(', ')} has sticky sessions, so AWS requires stickiness at the target group level, which stickinessSeconds ${stickinessSeconds === undefined ? '(not set)' : '0'} leaves off (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#sticky-sessions)`,
        `set ${at}.action.stickinessSeconds to how long a client stays with the target group it was first sent to (s), e.g. 3600`);
    }
  }
  if (redirect) {
    const { protocol, host, port, path, query } = redirect;
    add([protocol, host, port, path, query].every((v) => v === undefined), `${at}.action.redirect`, [],
      'changes no part of the URL, so it would redirect every matching request to itself',
      'set at least one of protocol, host, port, path and query');
  }
  if (fixedResponse) {
    add(Math.floor(fixedResponse.statusCode / 100) === 3, `${at}.action.fixedResponse.statusCode`, [],
      'is a 3XX code; a fixed response may be 2XX, 4XX or 5XX',
      'use a redirect action to redirect, or a 2XX, 4XX or 5XX code');
  }
}

/** The target-group keys of a service by name: the API's are in `alb`, every other's in its own `targetGroup`. */
function targetGroupOf(cfg: Config, service: string): Config['alb'] | Config['services'][number]['targetGroup'] | undefined {
  if (service === API_SERVICE_NAME) return cfg.alb;
  return cfg.services.find((s) => s.name === service)?.targetGroup;
}

