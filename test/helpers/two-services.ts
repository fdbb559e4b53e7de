import { blueprintContext, type Overrides } from './context';

/** A certificate in a test account: HTTPS on the fixture's listener. */
export const FIXTURE_CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

/** The second service's name. */
export const REPORTS = 'reports';

/**
 * A configuration with a second HTTP service, "reports" (the reference image with its API command, smaller, its
 * own target group: round robin with slow start and load-balancer cookies), and listener rules of every action
 * and condition kind: a header rule to reports, a weighted forward across both services' target groups (target
 * group stickiness, as AWS requires with a sticky group in it), a redirect by host, a fixed 403 by source
 * address and query string. Requests no rule matches go to the API, which deploys rolling. One synth of it serves the specs of
 * test/constructs/http-service.spec.ts and web-service.spec.ts, and the gates (test/stacks).
 */
export function twoServices(): Overrides {
  const api = blueprintContext().defaults.api as Overrides;
  return {
    // The API deploys rolling here: its weighted route would otherwise hold the blue/green production rule's
    // target group (lib/config/rules/deployment.ts), which is not what this fixture is about.
    api: { deployment: { strategy: 'rolling', smokeTest: { enabled: false } } },
    alb: {
      certificateArn: FIXTURE_CERTIFICATE_ARN,
      routes: [
        { priority: 10, httpHeaders: [{ name: 'X-Service', values: [REPORTS] }], action: { forward: [{ service: REPORTS, weight: 1 }] } },
        {
          priority: 20, pathPatterns: ['/reports/*'], httpRequestMethods: ['GET', 'HEAD'],
          action: { forward: [{ service: 'api', weight: 90 }, { service: REPORTS, weight: 10 }], stickinessSeconds: 3600 },
        },
        { priority: 30, hostHeaders: ['old.example.com'], action: { redirect: { host: 'api.example.com', permanent: true } } },
        {
          priority: 40, pathPatterns: ['/internal/*'], sourceIps: ['203.0.113.0/24'], queryStrings: [{ key: 'debug', value: 'true' }],
          action: { fixedResponse: { statusCode: 403, contentType: 'application/json', messageBody: '{"error":"forbidden"}' } },
        },
      ],
    },
    services: [{
      ...api,
      name: REPORTS,
      image: { ...(api.image as Overrides), command: ['api'] },
      minTasks: 1, maxTasks: 3, cpu: 256, memoryMiB: 512, dbPoolSize: 5,
      requestsPerTarget: 600, capacityPerTaskRps: null, metricResolutionSeconds: 60,
      targetCpuUtilizationPercent: 50, targetMemoryUtilizationPercent: 75,
      // Above the peak of staging's load profiles (2000 req/s), which the loader requires, and not the API's value.
      rateLimitPerClientPerSecond: 2500,
      targetGroup: {
        routingAlgorithm: 'round_robin', anomalyMitigation: false,
        stickiness: { mode: 'lb_cookie', durationSeconds: 1800, cookieName: '' },
        slowStartSeconds: 60, deregistrationDelaySeconds: 20,
        healthCheck: { path: '/healthz', intervalSeconds: 10, timeoutSeconds: 5, healthyThresholdCount: 2, unhealthyThresholdCount: 2, healthyHttpCodes: '200' },
      },
    }],
  };
}
