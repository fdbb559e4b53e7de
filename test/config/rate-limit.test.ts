import { loadTestRequestsPerWafWindow, profilePeakRps } from '../../lib/config/capacity';
import { blueprintContext, configFor, oneProblem, type Overrides } from '../helpers/context';
import { twoServices } from '../helpers/two-services';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

describe('in-app rate limit per client (api.rateLimitPerClientPerSecond)', () => {
  test('on in prod and staging, off in dev; staging\'s at least the load generator\'s peak', () => {
    expect(configFor('dev').api.rateLimitPerClientPerSecond).toBe(0);
    const prod = configFor('prod');
    // Twice WAF's sustained per-address rate: a client WAF lets through is never refused by one process.
    expect(prod.api.rateLimitPerClientPerSecond).toBe(2 * prod.alb.waf.rateLimitRequests / prod.alb.waf.rateLimitWindowSeconds);
    const staging = configFor('staging');
    const peak = Math.max(...Object.values(staging.loadTest.profiles).map((p) => loadTestRequestsPerWafWindow(profilePeakRps(p), 1)));
    expect(staging.api.rateLimitPerClientPerSecond).toBe(peak);
  });

  test('an entry of services copied from the API\'s defaults is refused in staging, as the API\'s defaults would be there', () => {
    const fixture = twoServices();
    const services = (fixture.services as Overrides[]).map((s) => ({ ...s, rateLimitPerClientPerSecond: (blueprintContext().defaults.api as Overrides).rateLimitPerClientPerSecond }));
    expect(oneProblem('staging', { ...fixture, services })).toMatch(/^scaling-blueprint\.environments\.staging\.services\.0\.rateLimitPerClientPerSecond = 20: /);
    expect(configFor('staging', fixture).services[0].rateLimitPerClientPerSecond).toBe(2500);
  });

  test('a limit below a load profile\'s peak fails where load tests are on, naming every profile over it and the least limit that passes', () => {
    expect(oneProblem('staging', { api: { rateLimitPerClientPerSecond: 400 } })).toBe(
      'scaling-blueprint.environments.staging.api.rateLimitPerClientPerSecond = 400: lets one client address make 400 requests per second to one process, fewer than the load generator sends: '
      + 'profile "stress" peaks at 2000 req/s; profile "spike" peaks at 500 req/s. '
      + 'Its requests all leave through the VPC\'s NAT gateways, so the service may count them as one client and answer 429 to the rest, which the load test would report as errors. '
      + 'Fix: raise api.rateLimitPerClientPerSecond to at least 2000 in this environment, lower the profiles\' rates, or set it to 0 (off) here while load testing.');
  });

  test('the same for an entry of services, by its index', () => {
    const services = (twoServices().services as Overrides[]).map((s) => ({ ...s, rateLimitPerClientPerSecond: 1000 }));
    expect(oneProblem('staging', { ...twoServices(), services })).toBe(
      'scaling-blueprint.environments.staging.services.0.rateLimitPerClientPerSecond = 1000: lets one client address make 1000 requests per second to one process, fewer than the load generator sends: '
      + 'profile "stress" peaks at 2000 req/s. '
      + 'Its requests all leave through the VPC\'s NAT gateways, so the service may count them as one client and answer 429 to the rest, which the load test would report as errors. '
      + 'Fix: raise services.0.rateLimitPerClientPerSecond to at least 2000 in this environment, lower the profiles\' rates, or set it to 0 (off) here while load testing.');
  });

  test('the same limit passes without load tests, or turned off', () => {
    expect(() => configFor('prod', { api: { rateLimitPerClientPerSecond: 1 } })).not.toThrow();
    expect(() => configFor('staging', { api: { rateLimitPerClientPerSecond: 0 } })).not.toThrow();
  });

  test('with the NLB on, a limit fails: the NLB\'s clients would choose their own X-Forwarded-For', () => {
    expect(oneProblem('dev', { api: { rateLimitPerClientPerSecond: 20 }, nlb: { enabled: true, certificateArn: CERT } })).toBe(
      'scaling-blueprint.environments.dev.api.rateLimitPerClientPerSecond = 20: limits each client of the API to 20 requests per second by the right-most X-Forwarded-For address on connections from the VPC, '
      + 'but with nlb.enabled the NLB\'s connections come from the VPC too and carry whatever X-Forwarded-For the client wrote (the NLB adds none): a client would choose its own address and escape the limit, and clients that send none would share one. '
      + 'Fix: set api.rateLimitPerClientPerSecond to 0 in this environment while nlb.enabled is true (AWS WAF\'s rate limit on the ALB still applies there), or set nlb.enabled to false.');
    expect(() => configFor('dev', { nlb: { enabled: true, certificateArn: CERT } })).not.toThrow();
  });
});
