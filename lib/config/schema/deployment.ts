import { z } from 'zod';
import { DEPLOYMENT_STRATEGIES } from '../capacity';
import { int, num } from './common';

/**
 * How an HTTP service deploys a new revision (`api.deployment`, and each entry of `services`): ECS's rolling
 * update, or one of its blue/green family (blue/green, canary, linear), which starts the new revision beside
 * the old one behind a second target group and moves the production listener rule's weights over to it
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html). What AWS
 * refuses in a combination, and what the capacity model must count, is checked by lib/config/rules/deployment.ts.
 */

export { DEPLOYMENT_STRATEGIES, type DeploymentStrategyName } from '../capacity';

/** The alarms of the Monitoring stack a deployment can roll back on (lib/constructs/deployment-strategy.ts names them). */
export const ROLLBACK_ALARMS = ['sloBurnRate', 'http5xx', 'latencyP99'] as const;
export type RollbackAlarm = (typeof ROLLBACK_ALARMS)[number];

const minutes = (what: string) => int(0, 1440).describe(what);

export const deploymentSchema = z.strictObject({
  strategy: z.enum(DEPLOYMENT_STRATEGIES)
    .describe('`rolling`: ECS replaces tasks within minHealthyPercent/maxHealthyPercent, behind one target group. `blue_green`: the new revision starts at full size behind a second target group and takes all production traffic at once. `canary`: it takes `canary.percent` of the traffic for `canary.bakeTimeMinutes`, then the rest. `linear`: it takes `linear.stepPercent` more every `linear.stepBakeTimeMinutes`. The last three run the old and the new revision side by side at full size until `bakeTimeMinutes` after the shift (the capacity model counts both), and roll back on `rollbackAlarms`.'),
  bakeTimeMinutes: minutes('blue_green, canary, linear: minutes both revisions keep running after all production traffic has moved, while ECS still watches the rollback alarms; a rollback in this time is instant (the old revision still runs). 0 to 1440.'),
  canary: z.strictObject({
    percent: num(0.1, 100)
      .describe('Share of production traffic the new revision takes first (%, a multiple of 0.1 from 0.1 to 100).'),
    bakeTimeMinutes: minutes('Minutes the canary share is held before the rest of the traffic moves (0 to 1440).'),
  }).describe('`canary` only: the first slice and how long it bakes.'),
  linear: z.strictObject({
    stepPercent: num(3, 100)
      .describe('Share of production traffic moved at each step (%, a multiple of 0.1 from 3 to 100).'),
    stepBakeTimeMinutes: minutes('Minutes between two steps (0 to 1440).'),
  }).describe('`linear` only: the size of each step and the wait between steps.'),
  rollbackAlarms: z.array(z.enum(ROLLBACK_ALARMS)).max(ROLLBACK_ALARMS.length)
    .describe('blue_green, canary, linear: the Monitoring stack\'s alarms ECS watches from the start of the deployment to the end of the bake time; one in ALARM fails the deployment and rolls it back. `sloBurnRate`: the availability and latency burn-rate composites (`slo.burnRates`); `http5xx`: the Critical target and load-balancer 5xx-rate alarms (`alarms.http5xxPercent.critical`); `latencyP99`: the Critical p99 alarm (`alarms.latencyP99Ms.critical`). Rolling deploys keep the circuit breaker instead.'),
  productionRulePriority: int(1, 50000)
    .describe('blue_green, canary, linear for the service that `alb.defaultService` names: priority of the listener rule (path "/*") that carries its production traffic, whose weights ECS moves; after every route. A service reached through a route uses that route\'s rule instead.'),
  smokeTest: z.strictObject({
    enabled: z.boolean()
      .describe('blue_green, canary, linear: before any production traffic moves, a Lambda function (lambda/deploy-smoke-test) sends GET `path` to the new revision through the test listener rule and fails the deployment (which rolls back) unless it answers 2xx.'),
    path: z.string().regex(/^\/[^\s]*$/, 'a path starting with /')
      .describe('Path the smoke test requests, e.g. "/healthz" or a read-only API route.'),
    host: z.string().regex(/^([A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+)?$/, 'a host name such as "api.example.com", or ""')
      .describe('Host name the smoke test calls over HTTPS, one the listener\'s certificate covers and whose DNS points at the load balancer (required with `alb.certificateArn`); "" calls the load balancer\'s own DNS name over HTTP (no certificate).'),
    headerName: z.string().regex(/^[A-Za-z0-9-]{1,40}$/, 'an HTTP header name such as "X-Deployment-Test"')
      .describe('Header that routes a request to the new revision while the deployment tests it (the test listener rule\'s condition). It is routing, not authentication: anyone who sends it reaches the new revision during the test.'),
    rulePriority: int(1, 50000)
      .describe('Priority of the test listener rule: before the production rule it shadows (lower number).'),
    timeoutSeconds: int(1, 60)
      .describe('How long the smoke test waits for an answer (s).'),
  }).describe('An optional smoke test of the new revision at the test-traffic stage (POST_TEST_TRAFFIC_SHIFT).'),
}).describe('How a new revision reaches production: rolling, or ECS\'s blue/green, canary or linear traffic shift with bake time and alarm rollback.');

export type DeploymentConfig = z.infer<typeof deploymentSchema>;
