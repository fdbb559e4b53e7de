import { loadTestRequestsPerWafWindow, profilePeakRps } from '../capacity';
import { collector, type Config, type Problem } from './problem';

/**
 * The load balancer's protections against what the configuration asks of it: routes a blocked path would
 * shadow, and a WAF rate limit or an in-app per-client rate limit that the environment's own load tests would trip.
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

  // The in-app limit counts per client address and per process; the load generator's traffic arrives from the
  // NAT gateways' addresses, possibly one, and the load balancer may send a client's requests to a single
  // process, so the worst case is the whole peak rate against one bucket: one second of WAF's window formula.
  if (loadTest.enabled) {
    const peaks = Object.entries(loadTest.profiles)
      .map(([name, profile]) => ({ name, peak: profilePeakRps(profile), perSecond: loadTestRequestsPerWafWindow(profilePeakRps(profile), 1) }))
      .sort((a, b) => b.perSecond - a.perSecond);
    [{ path: 'api', svc: cfg.api }, ...cfg.services.map((svc, i) => ({ path: `services.${i}`, svc }))].forEach(({ path, svc }) => {
      const limit = svc.rateLimitPerClientPerSecond;
      const over = peaks.filter((p) => limit > 0 && p.perSecond > limit);
      if (over.length === 0) return;
      add(true, `${path}.rateLimitPerClientPerSecond`, ['loadTest.enabled', 'loadTest.profiles'],
        `lets one client address make ${limit} requests per second to one process, fewer than the load generator sends: ${over.map((p) => `profile "${p.name}" peaks at ${p.peak} req/s`).join('; ')}. Its requests all leave through the VPC's NAT gateways, so the service may count them as one client and answer 429 to the rest, which the load test would report as errors`,
        `raise ${path}.rateLimitPerClientPerSecond to at least ${over[0].perSecond} in this environment, lower the profiles' rates, or set it to 0 (off) here while load testing`);
    });
  }

  // The NLB forwards TCP without client IP preservation (lib/constructs/network-load-balancer.ts), from nodes in
  // the same public subnets as the ALB's, and writes no X-Forwarded-For: the API would take whatever its clients
  // put there as their address (one fresh address per request escapes the limit) and count clients who send
  // none as the NLB's node.
  add(cfg.nlb.enabled && cfg.api.rateLimitPerClientPerSecond > 0, 'api.rateLimitPerClientPerSecond', ['nlb.enabled'],
    `limits each client of the API to ${cfg.api.rateLimitPerClientPerSecond} requests per second by the right-most X-Forwarded-For address on connections from the VPC, but with nlb.enabled the NLB's connections come from the VPC too and carry whatever X-Forwarded-For the client wrote (the NLB adds none): a client would choose its own address and escape the limit, and clients that send none would share one`,
    'set api.rateLimitPerClientPerSecond to 0 in this environment while nlb.enabled is true (AWS WAF\'s rate limit on the ALB still applies there), or set nlb.enabled to false');
  return problems;
}
