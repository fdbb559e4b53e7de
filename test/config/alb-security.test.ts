import { loadTestRequestsPerWafWindow } from '../../lib/config/capacity';
import { EXAMPLE_CERTIFICATE_ARN, isExampleCertificateArn } from '../../lib/config/schema/alb-security';
import { configFor, oneProblem } from '../helpers/context';

describe('HTTPS in production', () => {
  test('a production environment without a certificate fails, naming alb.certificateArn, the value and the fix', () => {
    expect(oneProblem('prod', { alb: { certificateArn: '' } })).toBe(
      'scaling-blueprint.environments.prod.alb.certificateArn = "": is empty in a production environment, so the load balancer would serve the API over plain HTTP on port 80 (AWS Control Tower CT.ELASTICLOADBALANCING.PR.1). '
      + 'Fix: set alb.certificateArn to an issued ACM certificate in us-east-1 for your API\'s domain (`aws acm request-certificate --domain-name api.example.com --validation-method DNS --region us-east-1`, then add the validation CNAME); port 80 then redirects to HTTPS.');
  });

  test('outside production "" is allowed (plain HTTP, which synth warns about)', () => {
    expect(configFor('dev').alb.certificateArn).toBe('');
    expect(configFor('staging').alb.certificateArn).toBe('');
  });

  test('the shipped prod example is the marked example certificate, recognised in any region', () => {
    expect(configFor('prod').alb.certificateArn).toBe(EXAMPLE_CERTIFICATE_ARN);
    expect(isExampleCertificateArn(EXAMPLE_CERTIFICATE_ARN.replace('us-east-1', 'eu-west-1'))).toBe(true);
    expect(isExampleCertificateArn('arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789')).toBe(false);
  });
});

describe('WAF', () => {
  test('on in prod and staging, off in dev, with the rate limit staging\'s load tests need', () => {
    expect(configFor('prod').alb.waf).toMatchObject({ enabled: true, logging: true, logRetentionDays: 365 });
    expect(configFor('dev').alb.waf.enabled).toBe(false);
    const staging = configFor('staging');
    expect(staging.alb.waf.enabled).toBe(true);
    expect(staging.loadTest.enabled).toBe(true);
    // The stress profile peaks at 2000 req/s: 120000 in a 60 s window, all from one NAT address at worst.
    expect(staging.alb.waf.rateLimitRequests).toBeGreaterThanOrEqual(loadTestRequestsPerWafWindow(2000, staging.alb.waf.rateLimitWindowSeconds));
  });

  test('a rate limit below what a load profile sends fails where load tests are on, naming every profile over it and the least limit that passes', () => {
    expect(oneProblem('staging', { alb: { waf: { rateLimitRequests: 20000 } } })).toBe(
      'scaling-blueprint.environments.staging.alb.waf.rateLimitRequests = 20000: allows 20000 requests per client address per 60 s (alb.waf.rateLimitWindowSeconds), fewer than the load generator sends: '
      + 'profile "stress" peaks at 2000 req/s = 120000 requests per 60 s; profile "spike" peaks at 500 req/s = 30000 requests per 60 s. '
      + 'Its requests leave through the VPC\'s NAT gateways, so WAF may count them all under one address and answer 429 to the rest, which the load test would report as errors. '
      + 'Fix: raise alb.waf.rateLimitRequests to at least 120000 in this environment, lower the profiles\' rates, or set alb.waf.enabled to false here while load testing.');
  });

  test('the same limit passes without load tests, or with the WAF off', () => {
    expect(() => configFor('prod', { alb: { waf: { rateLimitRequests: 10 } } })).not.toThrow();
    expect(() => configFor('staging', { alb: { waf: { enabled: false, rateLimitRequests: 10 } } })).not.toThrow();
  });

  test('the window and the least limit are the ones WAF accepts', () => {
    expect(oneProblem('staging', { alb: { waf: { rateLimitWindowSeconds: 30 } } })).toMatch(/^scaling-blueprint\.environments\.staging\.alb\.waf\.rateLimitWindowSeconds = 30: /);
    expect(oneProblem('prod', { alb: { waf: { rateLimitRequests: 9 } } })).toMatch(/^scaling-blueprint\.environments\.prod\.alb\.waf\.rateLimitRequests = 9: /);
  });

  test('production keeps WAF logs a year when it logs', () => {
    expect(oneProblem('prod', { alb: { waf: { logRetentionDays: 90 } } })).toBe(
      'scaling-blueprint.environments.prod.alb.waf.logRetentionDays = 90: keeps logs 90 days in a production environment; AWS Control Tower (CT.CLOUDWATCH.PR.2) and most audits want at least a year. '
      + 'Fix: set alb.waf.logRetentionDays to 365 or more.');
    expect(() => configFor('prod', { alb: { waf: { logging: false, logRetentionDays: 90 } } })).not.toThrow();
  });
});

describe('blocked paths', () => {
  test('a route forwarding a blocked path fails: the priority-1 block would shadow it', () => {
    expect(oneProblem('dev', { alb: { routes: [{ priority: 10, pathPatterns: ['/api/*', '/readyz'], action: { forward: [{ service: 'api', weight: 1 }] } }] } })).toBe(
      'scaling-blueprint.environments.dev.alb.routes.0.pathPatterns = ["/api/*","/readyz"]: forwards "/readyz", which alb.blockedPaths answers with 404 first, so the route never sees it. '
      + 'Fix: remove "/readyz" from this route, or from alb.blockedPaths to expose it to the internet.');
  });

  test('route priority 1 is the blocked paths rule\'s', () => {
    expect(oneProblem('dev', { alb: { routes: [{ priority: 1, pathPatterns: ['/api/*'], action: { forward: [{ service: 'api', weight: 1 }] } }] } })).toMatch(/^scaling-blueprint\.environments\.dev\.alb\.routes\.0\.priority = 1: .*2/);
  });

  test('[] blocks nothing, and then a route may forward /readyz', () => {
    expect(() => configFor('dev', { alb: { blockedPaths: [], routes: [{ priority: 10, pathPatterns: ['/readyz'], action: { forward: [{ service: 'api', weight: 1 }] } }] } })).not.toThrow();
  });
});
