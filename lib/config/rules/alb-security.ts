import { loadTestRequestsPerWafWindow, profilePeakRps } from '../capacity';
import { collector, type Config, type Problem } from './problem';

/**
 * The load balancer's protections against what the configuration asks of it: routes a blocked path would
 * shadow, and a WAF rate limit that the environment's own load tests would trip.
 */
export function checkAlbSecurity(cfg: Config): Problem[] {
  const { problems, add } = collector();
  const { alb, loadTest } = cfg;

  // The blockedPaths rule holds priority 1, so a route forwarding the same pattern would never be reached.
  alb.routes.forEach((route, i) => {
    const shadowed = (route.pathPatterns ?? []).filter((p) => alb.blockedPaths.includes(p));
    add(shadowed.length > 0, `alb.routes.${i}.pathPatterns`, ['alb.blockedPaths'],
      `forwards ${shadowed.map((p) => `"${p}"`).join(', ')}, which alb.blockedPaths answers with 404 first, so the route never sees it`,
      `remove ${shadowed.map((p) => `"${p}"`).join(', ')} from this route, or from alb.blockedPaths to expose it to the internet`);
  });

  if (alb.waf.enabled && loadTest.enabled) {
    const window = alb.waf.rateLimitWindowSeconds;
    const profiles = Object.entries(loadTest.profiles)
      .map(([name, profile]) => ({ name, peak: profilePeakRps(profile) }))
      .map((p) => ({ ...p, requests: loadTestRequestsPerWafWindow(p.peak, window) }))
      .filter((p) => p.requests > alb.waf.rateLimitRequests)
      .sort((a, b) => b.requests - a.requests);
    if (profiles.length > 0) {
      const worst = profiles[0];
      add(true, 'alb.waf.rateLimitRequests', ['alb.waf.enabled', 'alb.waf.rateLimitWindowSeconds', 'loadTest.enabled', 'loadTest.profiles'],
        `allows ${alb.waf.rateLimitRequests} requests per client address per ${window} s (alb.waf.rateLimitWindowSeconds), fewer than the load generator sends: ${profiles.map((p) => `profile "${p.name}" peaks at ${p.peak} req/s = ${p.requests} requests per ${window} s`).join('; ')}. Its requests leave through the VPC's NAT gateways, so WAF may count them all under one address and answer 429 to the rest, which the load test would report as errors`,
        `raise alb.waf.rateLimitRequests to at least ${worst.requests} in this environment, lower the profiles' rates, or set alb.waf.enabled to false here while load testing`);
    }
  }
  return problems;
}
