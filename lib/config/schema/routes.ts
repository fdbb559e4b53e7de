import { z } from 'zod';
import { int } from './common';

/**
 * The listener rules of the load balancer (`alb.routes`): conditions as the Application Load Balancer has them
 * and one action each. What AWS refuses in a combination (priorities, match evaluations per condition and per
 * rule, weighted forwards with application-cookie stickiness) is checked by lib/config/rules/routes.ts, with
 * the AWS page that says so; here only the shape and each value's own limits.
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html
 * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html
 */

/** The API's name where a route or `alb.defaultService` names a service. */
export const API_SERVICE_NAME = 'api';

/** A service's name: lower case, as it appears in routes, construct ids and the workload's `Service` metric dimension. */
export const serviceNameSchema = z.string().regex(/^[a-z][a-z0-9-]{0,23}$/, 'a name of lower-case letters, digits and - (up to 24, starting with a letter), such as "reports"');

/** Path pattern values: case-sensitive, up to 128 characters, * and ? as wildcards. */
export const pathPatternSchema = z.string().regex(/^\/[A-Za-z0-9_\-.$/~"'@:+?*&]{0,127}$/, 'a path pattern such as "/api/*"');

const hostSchema = z.string().regex(/^[A-Za-z0-9*?-]+(\.[A-Za-z0-9*?-]+)+$/, 'a host name with at least one ".", such as "reports.example.com" or "*.example.com"').max(128);

/** RFC 9110 token characters; AWS matches the name case-insensitively. */
const headerNameSchema = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,40}$/, 'an HTTP header name such as "X-Service"');

const matchValueSchema = z.string().min(1).max(128);

/** Methods are matched case-sensitively: A-Z, - and _ (AWS's own limit on the value). */
const methodSchema = z.string().regex(/^[A-Z_-]{1,40}$/, 'an HTTP method in capitals such as "GET" or "POST"');

const cidrSchema = z.string().regex(
  /^((\d{1,3}\.){3}\d{1,3}\/(3[0-2]|[12]?\d)|[0-9a-fA-F:]*:[0-9a-fA-F:]*\/(12[0-8]|1[01]\d|[1-9]?\d))$/,
  'a CIDR block such as "203.0.113.0/24" or "2001:db8::/32"');

export const routeSchema = z.strictObject({
  priority: int(1, 50000)
    .describe('Rule priority: unique, lower first; 1 to 50000, and not 1 while `alb.blockedPaths` is set (its rule holds 1).'),
  pathPatterns: z.array(pathPatternSchema).min(1).max(5).optional()
    .describe('Condition: the path matches one of these patterns (case-sensitive, * and ? wildcards), e.g. "/reports/*".'),
  hostHeaders: z.array(hostSchema).min(1).max(5).optional()
    .describe('Condition: the Host header matches one of these names (not case-sensitive, * and ? wildcards), e.g. "reports.example.com".'),
  httpHeaders: z.array(z.strictObject({
    name: headerNameSchema
      .describe('Header name (not case-sensitive).'),
    values: z.array(matchValueSchema).min(1).max(5)
      .describe('The header matches one of these values (not case-sensitive, * and ? wildcards).'),
  })).min(1).max(5).optional()
    .describe('Condition: each listed header has one of its values (one ALB http-header condition per header, all must hold).'),
  queryStrings: z.array(z.strictObject({
    key: z.string().max(128)
      .describe('Query parameter name; "" matches the value under any name.'),
    value: matchValueSchema
      .describe('Its value (not case-sensitive, * and ? wildcards).'),
  })).min(1).max(5).optional()
    .describe('Condition: the query string holds one of these key/value pairs.'),
  httpRequestMethods: z.array(methodSchema).min(1).max(5).optional()
    .describe('Condition: the request method is one of these (case-sensitive), e.g. ["GET", "HEAD"].'),
  sourceIps: z.array(cidrSchema).min(1).max(5).optional()
    .describe('Condition: the client address (the connection\'s source, not X-Forwarded-For) is in one of these CIDR blocks.'),
  action: z.strictObject({
    forward: z.array(z.strictObject({
      service: serviceNameSchema
        .describe('"api", or the `name` of an entry in `services`.'),
      weight: int(0, 999)
        .describe('Relative share of the matching requests (0 to 999; 0 sends none). With one entry the weight does not matter.'),
    })).min(1).max(5).optional()
      .describe('Forward to one service\'s target group, or split by weight across several (a canary, a migration).'),
    stickinessSeconds: int(0, 604800).optional()
      .describe('With a weighted forward: keep a client on the target group it was first sent to for this long (s; 0 off). Required (above 0) when a service in the forward has sticky sessions.'),
    redirect: z.strictObject({
      protocol: z.enum(['HTTP', 'HTTPS', '#{protocol}']).optional()
        .describe('Protocol of the new URL; absent keeps the request\'s.'),
      host: z.string().min(1).max(128).optional()
        .describe('Host of the new URL; absent keeps the request\'s.'),
      port: z.string().regex(/^([1-9]\d{0,4}|#\{port\})$/, 'a port such as "443", or "#{port}"').optional()
        .describe('Port of the new URL; absent keeps the request\'s.'),
      path: z.string().regex(/^\/.{0,127}$/, 'a path starting with /').optional()
        .describe('Path of the new URL; absent keeps the request\'s.'),
      query: z.string().max(128).optional()
        .describe('Query of the new URL without "?"; absent keeps the request\'s.'),
      permanent: z.boolean()
        .describe('301 (clients and caches remember it) or 302.'),
    }).optional()
      .describe('Redirect to a URL made of the request\'s parts, some replaced ("#{host}", "#{path}", "#{query}" name the request\'s own).'),
    fixedResponse: z.strictObject({
      statusCode: int(200, 599)
        .describe('Status code: 2XX, 4XX or 5XX.'),
      contentType: z.enum(['text/plain', 'text/css', 'text/html', 'application/javascript', 'application/json'])
        .describe('Content-Type of the body.'),
      messageBody: z.string().max(1024)
        .describe('The body (up to 1024 characters).'),
    }).optional()
      .describe('Answer from the load balancer itself.'),
  }).describe('What the rule does: exactly one of `forward`, `redirect` and `fixedResponse`.'),
});

export const routesSchema = z.array(routeSchema).max(50)
  .describe('Listener rules, evaluated by priority: the conditions of a rule must all hold (at least one condition; AWS counts at most 3 values per condition and 5 in the whole rule), then its action runs. Requests no rule matches go to `alb.defaultService`. [] sends every request there.');

export type RouteConfig = z.infer<typeof routeSchema>;
export type RouteAction = RouteConfig['action'];
