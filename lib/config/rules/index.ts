import { checkAlbSecurity } from './alb-security';
import { checkCapacity } from './capacity';
import { checkDeployments } from './deployment';
import { checkLoadBalancer, checkServices } from './compute';
import { checkCache, checkDatabase } from './data';
import { checkLoadTest } from './load-test';
import { checkMonitoring } from './monitoring';
import { checkNetwork } from './network';
import { checkLoadBalancerFronts } from './nlb';
import type { Config, Problem } from './problem';
import { checkProduction } from './production';
import { checkRoutes } from './routes';
import { checkSharding } from './sharding';

/**
 * Every rule that spans more than one key, in groups by domain. The loader runs each group on its own, so
 * that a type error in one part of the config does not hide the problems of another: all are reported at
 * once, in this order.
 */
export const RULE_GROUPS: ReadonlyArray<(cfg: Config) => Problem[]> = [
  checkServices,
  checkLoadBalancer,
  checkRoutes,
  checkAlbSecurity,
  checkDatabase,
  checkSharding,
  checkCache,
  checkCapacity,
  checkDeployments,
  checkNetwork,
  checkLoadBalancerFronts,
  checkMonitoring,
  checkProduction,
  checkLoadTest,
];

/** Every problem the rules find, not just the first. */
export function checkRules(cfg: Config): Problem[] {
  return RULE_GROUPS.flatMap((group) => group(cfg));
}

export type { Problem } from './problem';
export { FARGATE_MAX_STOP_TIMEOUT_SECONDS, VISIBILITY_TIMEOUT_HEADROOM } from './compute';
export { MIN_PRODUCTION_LOG_RETENTION_DAYS } from './production';
// The formulas the rules check with live in the capacity model; these names stay importable from here.
export { backlogPerTaskTarget, connectionBudget, connectionDemand, instanceConnectionBudget, isValidFargateSize, writerMaxConnections } from '../capacity';
