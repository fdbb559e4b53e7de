import { alarmReactionSeconds, deploymentSurgePercent, peakTasks, shiftsTraffic } from '../capacity';
import type { DeploymentConfig } from '../schema/deployment';
import { collector, round, type Config, type Problem } from './problem';

/** The listener rule priority `alb.blockedPaths` holds (lib/constructs/web-service.ts, BLOCKED_PATHS_PRIORITY). */
const BLOCKED_PATHS_RULE_PRIORITY = 1;

/** One HTTP service's deployment as the rules see it: where its keys are, its name in routes, and the block. */
interface DeployedService {
  /** Key path of the service ("api", "services.0"). */
  readonly key: string;
  /** Its name in `alb.routes` and `alb.defaultService`. */
  readonly name: string;
  readonly deployment: DeploymentConfig;
}

function deployedServices(cfg: Config): DeployedService[] {
  const services = (cfg as { services?: ReadonlyArray<{ name: string; deployment: DeploymentConfig }> }).services ?? [];
  return [
    { key: 'api', name: 'api', deployment: cfg.api.deployment },
    ...services.map((svc, i) => ({ key: `services.${i}`, name: svc.name, deployment: svc.deployment })),
  ];
}

/** The routes that forward to `name` (alone or in a weighted forward). */
function routesTo(cfg: Config, name: string): Config['alb']['routes'] {
  return cfg.alb.routes.filter((route) => route.action.forward?.some((f) => f.service === name));
}

/** True where the listener's default action forwards to `name`. */
function isDefaultService(cfg: Config, name: string): boolean {
  const configured = (cfg.alb as { defaultService?: string }).defaultService;
  // Before alb.defaultService existed the default action always forwarded to the API.
  return configured === undefined ? name === 'api' : configured === name;
}

/**
 * The priority of the listener rule that carries a service's production traffic under a traffic-shifting
 * strategy: its own catch-all rule when it is the default service, else the one route that forwards to it
 * (undefined when there is no single one: checkDeployments reports that).
 */
export function productionRulePriority(cfg: Config, svc: { readonly name: string; readonly deployment: DeploymentConfig }): number | undefined {
  if (isDefaultService(cfg, svc.name)) return svc.deployment.productionRulePriority;
  const routes = routesTo(cfg, svc.name);
  return routes.length === 1 ? routes[0].priority : undefined;
}

/** A multiple of 0.1, as ECS takes canaryPercent and stepPercent (CanaryConfiguration, LinearConfiguration). */
function isTenth(n: number): boolean {
  return Math.abs(n * 10 - Math.round(n * 10)) < 1e-9;
}

/**
 * The peak task count of the API in words, for the connection-budget message (lib/config/rules/data.ts): a
 * rolling deploy's maximumPercent, or the blue/green family's full second revision.
 */
export function apiPeakTasksText(api: Config['api']): string {
  const strategy = api.deployment.strategy;
  const surge = deploymentSurgePercent(strategy, api.maxHealthyPercent);
  const tasks = peakTasks(api.maxTasks, surge);
  return shiftsTraffic(strategy)
    ? `peak ${tasks} tasks (api.maxTasks ${api.maxTasks} × ${surge} %: api.deployment.strategy "${strategy}" runs the new revision at full size beside the old one until the bake time ends)`
    : `peak ${tasks} tasks (api.maxTasks ${api.maxTasks} × api.maxHealthyPercent ${api.maxHealthyPercent} %)`;
}

/** What sets the API's deploy surge, for the connection-budget message's fix. */
export function apiSurgeKeyText(api: Config['api']): string {
  return shiftsTraffic(api.deployment.strategy)
    ? `deploy with api.deployment.strategy "rolling" (a surge of api.maxHealthyPercent ${api.maxHealthyPercent} % instead of a second full revision)`
    : 'api.maxHealthyPercent';
}

/**
 * Deployment strategies (`api.deployment`, `services.N.deployment`), checked against what ECS and the load
 * balancer accept and against the alarms they roll back on:
 * - a traffic-shifting strategy moves the weights of ONE production listener rule
 *   (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html); any other
 *   rule forwarding to the service would keep pointing at the target group the old revision leaves empty;
 * - ECS takes canaryPercent and stepPercent in multiples of 0.1
 *   (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CanaryConfiguration.html,
 *   https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LinearConfiguration.html);
 * - the rollback alarms must exist and be able to fire while the traffic they judge is still small;
 * - the smoke test needs the test-traffic stage (not in rolling deploys) and a name the certificate covers.
 */
export function checkDeployments(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const routePriorities = cfg.alb.routes.map((route) => route.priority);
  const testPriorities = new Map<number, string>();

  for (const svc of deployedServices(cfg)) {
    const d = svc.deployment;
    const at = `${svc.key}.deployment`;
    const shifting = shiftsTraffic(d.strategy);

    add(d.strategy === 'canary' && !isTenth(d.canary.percent), `${at}.canary.percent`, [`${at}.strategy`],
      `is ${d.canary.percent}; ECS takes the canary share in steps of 0.1 %`,
      `round it to one decimal place, e.g. ${round(Math.round(d.canary.percent * 10) / 10)}`);
    add(d.strategy === 'linear' && !isTenth(d.linear.stepPercent), `${at}.linear.stepPercent`, [`${at}.strategy`],
      `is ${d.linear.stepPercent}; ECS takes the linear step in steps of 0.1 %`,
      `round it to one decimal place, e.g. ${round(Math.round(d.linear.stepPercent * 10) / 10)}`);
    add(d.smokeTest.enabled && !shifting, `${at}.smokeTest.enabled`, [`${at}.strategy`],
      `is true with ${at}.strategy "${d.strategy}": a rolling deploy has no test-traffic stage and no second target group to test, so the smoke test would never run`,
      `set ${at}.strategy to "blue_green", "canary" or "linear", or ${at}.smokeTest.enabled to false`);
    if (!shifting) continue;

    const forwards = routesTo(cfg, svc.name);
    const isDefault = isDefaultService(cfg, svc.name);
    const listed = (routes: Config['alb']['routes']) => routes.map((route) => `alb.routes priority ${route.priority}`).join(', ');
    add(isDefault && forwards.length > 0, `${at}.strategy`, ['alb.routes'],
      `is "${d.strategy}", which moves the weights of one listener rule, the service's catch-all rule (priority ${d.productionRulePriority}, as alb.defaultService is "${svc.name}"); ${listed(forwards)} also forward${forwards.length === 1 ? 's' : ''} to "${svc.name}", and after a deployment would still point at the target group the old revision has left empty`,
      `send "${svc.name}" its traffic through the default action alone (remove it from those routes), or set ${at}.strategy to "rolling"`);
    add(!isDefault && forwards.length > 1, `${at}.strategy`, ['alb.routes'],
      `is "${d.strategy}", which moves the weights of one listener rule, but ${forwards.length} rules forward to "${svc.name}" (${listed(forwards)}); all but one would still point at the target group the old revision has left empty after a deployment`,
      `merge them into one route for "${svc.name}", or set ${at}.strategy to "rolling"`);
    const weighted = !isDefault && forwards.length === 1 && (forwards[0].action.forward?.length ?? 0) > 1 ? forwards[0] : undefined;
    add(weighted !== undefined, `${at}.strategy`, ['alb.routes'],
      `is "${d.strategy}", but the route that forwards to "${svc.name}" (alb.routes priority ${weighted?.priority}) splits its requests across ${weighted?.action.forward?.map((f) => `"${f.service}"`).join(', ')}; ECS rewrites that rule's forward with the service's own two target groups at every deployment, and the split would be lost`,
      `give "${svc.name}" a route that forwards to it alone, or set ${at}.strategy to "rolling"`);

    const taken = routePriorities.filter((p) => p >= d.productionRulePriority);
    add(isDefault && taken.length > 0, `${at}.productionRulePriority`, ['alb.routes'],
      `is ${d.productionRulePriority}, but alb.routes has ${taken.length === 1 ? 'a rule' : 'rules'} at priority ${taken.join(', ')}; the catch-all production rule (path "/*") must come after every route, or it would take their requests (and two rules cannot share a priority)`,
      `raise it above ${Math.max(...taken)} (at most 50000), or lower those routes' priorities`);

    const production = productionRulePriority(cfg, svc);
    if (d.smokeTest.enabled) {
      const t = d.smokeTest.rulePriority;
      add(production !== undefined && t >= production, `${at}.smokeTest.rulePriority`, [`${at}.productionRulePriority`, 'alb.routes'],
        `is ${t}, not before the production rule of "${svc.name}" (priority ${production}); the test rule only adds a header condition to it, so it must be evaluated first or no test request would ever reach it`,
        `set it below ${production}, to a priority no route uses`);
      add(routePriorities.includes(t) || t === BLOCKED_PATHS_RULE_PRIORITY && cfg.alb.blockedPaths.length > 0, `${at}.smokeTest.rulePriority`, ['alb.routes', 'alb.blockedPaths'],
        `is ${t}, which ${t === BLOCKED_PATHS_RULE_PRIORITY ? 'the alb.blockedPaths rule holds' : 'a route in alb.routes holds'}; two rules of one listener cannot share a priority`,
        'pick a priority that no route uses');
      const other = testPriorities.get(t);
      add(other !== undefined, `${at}.smokeTest.rulePriority`, [],
        `is ${t}, the same as ${other}.deployment.smokeTest.rulePriority; two rules of one listener cannot share a priority`,
        'give each service\'s test rule a priority of its own');
      testPriorities.set(t, svc.key);
      add(cfg.alb.certificateArn !== '' && d.smokeTest.host === '', `${at}.smokeTest.host`, ['alb.certificateArn'],
        'is "" while the listener serves HTTPS with alb.certificateArn: the smoke test would call the load balancer\'s own DNS name, which the certificate does not cover, and fail the TLS check at every deployment',
        `set it to the host name clients use (one the certificate covers and whose DNS points at the load balancer), or set ${at}.smokeTest.enabled to false`);
    }

    add(d.rollbackAlarms.length === 0, `${at}.rollbackAlarms`, [`${at}.strategy`],
      `is [] with ${at}.strategy "${d.strategy}": the new revision would take production traffic and bake with no alarm watching, so a broken revision is never rolled back (the circuit breaker only catches tasks that fail to start)`,
      'list at least one of "sloBurnRate", "http5xx", "latencyP99", or use "rolling"');
    add(d.rollbackAlarms.includes('http5xx') && cfg.alarms.http5xxPercent.critical === null, `${at}.rollbackAlarms`, ['alarms.http5xxPercent'],
      'lists "http5xx", but alarms.http5xxPercent.critical is null, so there is no Critical 5xx alarm to watch',
      'set alarms.http5xxPercent.critical, or remove "http5xx" from the list');
    add(d.rollbackAlarms.includes('latencyP99') && cfg.alarms.latencyP99Ms.critical === null, `${at}.rollbackAlarms`, ['alarms.latencyP99Ms'],
      'lists "latencyP99", but alarms.latencyP99Ms.critical is null, so there is no Critical p99 alarm to watch',
      'set alarms.latencyP99Ms.critical, or remove "latencyP99" from the list');
    add(d.rollbackAlarms.includes('sloBurnRate') && cfg.slo.burnRates.length === 0, `${at}.rollbackAlarms`, ['slo.burnRates'],
      'lists "sloBurnRate", but slo.burnRates is [], so there is no burn-rate alarm to watch',
      'add a burn rate to slo.burnRates, or remove "sloBurnRate" from the list');

    // The stage in which a small share of traffic is judged: shorter than the alarms' reaction, and the rest
    // of the traffic moves before any alarm can fire.
    const reaction = rollbackReactionSeconds(cfg, d);
    if (reaction === undefined) continue;
    const stage = d.strategy === 'canary'
      ? { key: `${at}.canary.bakeTimeMinutes`, minutes: d.canary.bakeTimeMinutes, what: 'holds the canary share' }
      : d.strategy === 'linear'
        ? { key: `${at}.linear.stepBakeTimeMinutes`, minutes: d.linear.stepBakeTimeMinutes, what: 'holds each step' }
        : { key: `${at}.bakeTimeMinutes`, minutes: d.bakeTimeMinutes, what: 'keeps the old revision running after the switch' };
    add(stage.minutes * 60 < reaction.seconds, stage.key, [`${at}.rollbackAlarms`, 'monitoring', 'slo'],
      `${stage.what} for ${stage.minutes * 60} s, less than the ${reaction.seconds} s the fastest rollback alarm needs to go to ALARM (${reaction.why}); the deployment would move on before any alarm could judge it`,
      `raise it to at least ${Math.ceil(reaction.seconds / 60)} minutes, or shorten the alarms' evaluation (monitoring.periodSeconds, monitoring.datapointsToAlarm)`);
  }
  return problems;
}

/**
 * The soonest any of the chosen rollback alarms can fire (s), with how that follows from the config: the
 * threshold alarms after datapointsToAlarm periods; a burn-rate composite not before its short window has
 * filled (both of its windows must breach).
 */
function rollbackReactionSeconds(cfg: Config, d: DeploymentConfig): { seconds: number; why: string } | undefined {
  const candidates: Array<{ seconds: number; why: string }> = [];
  const thresholds = (d.rollbackAlarms.includes('http5xx') && cfg.alarms.http5xxPercent.critical !== null)
    || (d.rollbackAlarms.includes('latencyP99') && cfg.alarms.latencyP99Ms.critical !== null);
  if (thresholds) {
    const m = cfg.monitoring;
    candidates.push({
      seconds: alarmReactionSeconds(m.periodSeconds, m.datapointsToAlarm),
      why: `monitoring.datapointsToAlarm ${m.datapointsToAlarm} × monitoring.periodSeconds ${m.periodSeconds}`,
    });
  }
  if (d.rollbackAlarms.includes('sloBurnRate') && cfg.slo.burnRates.length > 0) {
    const shortest = Math.min(...cfg.slo.burnRates.map((rate) => rate.shortWindowMinutes));
    candidates.push({ seconds: shortest * 60, why: `the shortest burn-rate window, slo.burnRates shortWindowMinutes ${shortest}` });
  }
  if (candidates.length === 0) return undefined;
  return candidates.reduce((a, b) => (b.seconds < a.seconds ? b : a));
}
