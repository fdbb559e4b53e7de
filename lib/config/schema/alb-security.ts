import { z } from 'zod';
import { int, logRetentionDays } from './common';

/**
 * The certificate ARN the shipped production example carries, so that `cdk synth -c env=prod` works offline
 * and the HTTPS-only shape of production can be reviewed before anyone owns a certificate. It names AWS's
 * documentation account (111122223333) and an all-zero certificate id: it exists nowhere. `npm run preflight`
 * blocks on it, synth warns about it, and CloudFormation would fail creating the HTTPS listener with it.
 */
export const EXAMPLE_CERTIFICATE_ARN = 'arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000';

/** Whether `arn` is the shipped example (in any region: the id and account give it away). */
export function isExampleCertificateArn(arn: string): boolean {
  return /^arn:aws[a-z-]*:acm:[a-z0-9-]+:111122223333:certificate\/00000000-0000-0000-0000-000000000000$/.test(arn);
}

/**
 * AWS WAF's rate-based statement: the evaluation windows it accepts (s), and the least limit
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based-high-level-settings.html).
 */
export const WAF_EVALUATION_WINDOWS_SECONDS = [60, 120, 300, 600] as const;
export const WAF_MIN_RATE_LIMIT = 10;

export const wafSchema = z.strictObject({
  enabled: z.boolean()
    .describe('An AWS WAF web ACL on the load balancer: AWS managed rule groups Common and KnownBadInputs, a block list of `alb.blockedPaths` in every spelling, and a per-IP rate limit. On in production by default.'),
  rateLimitRequests: int(WAF_MIN_RATE_LIMIT, 2_000_000_000)
    .describe('Requests one client IP address may send within `rateLimitWindowSeconds`; WAF answers it 429 while it is above. Clients behind one NAT share an address. The load generator\'s traffic leaves through the VPC\'s NAT gateways: the loader refuses a limit below what a configured load profile sends (docs/security.md).'),
  rateLimitWindowSeconds: z.literal(WAF_EVALUATION_WINDOWS_SECONDS)
    .describe('Window over which WAF counts each address\'s requests (s): 60, 120, 300 or 600.'),
  logging: z.boolean()
    .describe('Log every request WAF inspects to an encrypted CloudWatch Logs group `aws-waf-logs-<stack>` (Authorization and Cookie headers redacted).'),
  logRetentionDays: logRetentionDays
    .describe('Retention of the WAF logs (days; 365 or more in production when `logging` is on).'),
}).describe('AWS WAF in front of the load balancer.');

/** Paths the reference workload serves for the load balancer's own checks, never for the internet. */
export const blockedPathsSchema = z.array(z.string().regex(/^\/[A-Za-z0-9_\-.$/~"'@:+?*&]*$/, 'a path pattern such as "/readyz"')).max(5)
  .describe('Path patterns the load balancer answers with a fixed 404 itself, before any route (listener rule priority 1): health endpoints for its own target checks, which go straight to the targets and still work. With `waf.enabled` the web ACL also blocks their percent-encoded and dot-segment spellings. [] blocks nothing.');

export type WafConfig = z.infer<typeof wafSchema>;
