import { ArnFormat, Stack } from 'aws-cdk-lib';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as wafv2 from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import type { WafConfig } from '../config/schema/alb-security';
import type { StatefulConfig } from '../config/schema';
import { encryptedLogGroup } from './encryption';

export interface LoadBalancerWebAclProps {
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly waf: WafConfig;
  /** `alb.blockedPaths`: blocked here in their percent-encoded and dot-segment spellings too. */
  readonly blockedPaths: readonly string[];
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Names of the web ACL's rules, in evaluation order (also their CloudWatch metric names). */
export const WAF_RULES = {
  blockedPaths: 'BlockedPaths',
  rateLimit: 'RateLimitPerIp',
  common: 'AWSManagedRulesCommonRuleSet',
  knownBadInputs: 'AWSManagedRulesKnownBadInputsRuleSet',
} as const;

/** WAF answers a rate-limited request with 429 rather than its default 403, so clients can tell it apart. */
export const RATE_LIMITED_STATUS = 429;

/**
 * A regional AWS WAF web ACL associated with the API's load balancer. Requests go through, in order:
 *
 * 1. `BlockedPaths`: `alb.blockedPaths` after URL-decoding and path normalisation, answered 404 like the
 *    listener's own rule. The listener rule compares the path as sent; the workload's router (Fastify)
 *    decodes percent-encoding, so `/%72eadyz` reaches `/readyz` past a listener rule alone
 *    (test/constructs/waf.spec.ts reproduces it). Text transformations:
 *    https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-transformation.html
 * 2. `RateLimitPerIp`: a rate-based rule counting each client address over `rateLimitWindowSeconds` and
 *    blocking it above `rateLimitRequests` (429), until its rate falls below
 *    (https://docs.aws.amazon.com/waf/latest/developerguide/waf-rule-statement-type-rate-based.html). The ALB
 *    is the first hop, so the source address is the client's, not a forwarded header anyone can set.
 * 3. AWS managed rule groups Core rule set (OWASP-style: bad bots' user agents, size limits, LFI/RFI, XSS)
 *    and Known bad inputs (Log4j/Java deserialisation, localhost Host headers, …), their own actions kept
 *    (https://docs.aws.amazon.com/waf/latest/developerguide/aws-managed-rule-groups-baseline.html).
 *
 * Everything else is allowed. Every rule publishes CloudWatch metrics and sampled requests. With
 * `waf.logging`, WAF logs each request to an encrypted log group whose name starts with `aws-waf-logs-` (WAF
 * delivers only to such names, and adds the log group's resource policy itself:
 * https://docs.aws.amazon.com/waf/latest/developerguide/logging-cw-logs.html), with the Authorization and
 * Cookie headers redacted so that no credential lands in the logs.
 */
export class LoadBalancerWebAcl extends Construct {
  readonly webAcl: wafv2.CfnWebACL;
  readonly logGroup?: logs.LogGroup;

  constructor(scope: Construct, id: string, props: LoadBalancerWebAclProps) {
    super(scope, id);
    const { waf } = props;
    const visibility = (metricName: string): wafv2.CfnWebACL.VisibilityConfigProperty => ({
      cloudWatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName,
    });
    const rules: wafv2.CfnWebACL.RuleProperty[] = [];
    if (props.blockedPaths.length > 0) {
      rules.push({
        name: WAF_RULES.blockedPaths,
        priority: rules.length,
        statement: {
          regexMatchStatement: {
            regexString: pathPatternsRegex(props.blockedPaths),
            fieldToMatch: { uriPath: {} },
            textTransformations: [{ priority: 0, type: 'URL_DECODE' }, { priority: 1, type: 'NORMALIZE_PATH' }],
          },
        },
        action: { block: { customResponse: { responseCode: 404 } } },
        visibilityConfig: visibility(WAF_RULES.blockedPaths),
      });
    }
    rules.push({
      name: WAF_RULES.rateLimit,
      priority: rules.length,
      statement: {
        rateBasedStatement: { limit: waf.rateLimitRequests, evaluationWindowSec: waf.rateLimitWindowSeconds, aggregateKeyType: 'IP' },
      },
      action: { block: { customResponse: { responseCode: RATE_LIMITED_STATUS } } },
      visibilityConfig: visibility(WAF_RULES.rateLimit),
    });
    for (const name of [WAF_RULES.common, WAF_RULES.knownBadInputs]) {
      rules.push({
        name,
        priority: rules.length,
        statement: { managedRuleGroupStatement: { vendorName: 'AWS', name } },
        overrideAction: { none: {} },
        visibilityConfig: visibility(name),
      });
    }

    this.webAcl = new wafv2.CfnWebACL(this, 'WebAcl', {
      scope: 'REGIONAL',
      description: 'API load balancer: blocked paths, per-IP rate limit, AWS managed common and known-bad-inputs rules',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('WebAcl'),
      rules,
    });
    new wafv2.CfnWebACLAssociation(this, 'Association', {
      resourceArn: props.loadBalancer.loadBalancerArn,
      webAclArn: this.webAcl.attrArn,
    });

    if (waf.logging) {
      const stack = Stack.of(this);
      const logGroupName = `aws-waf-logs-${stack.stackName}`;
      this.logGroup = encryptedLogGroup(this, 'Logs', {
        logGroupName,
        encryptionKey: props.logKey,
        retentionDays: waf.logRetentionDays,
        retentionKey: 'alb.waf.logRetentionDays',
        removalPolicy: props.removalPolicy,
      });
      new wafv2.CfnLoggingConfiguration(this, 'Logging', {
        resourceArn: this.webAcl.attrArn,
        // WAF wants the log group's ARN without the ":*" suffix that LogGroup.logGroupArn carries.
        logDestinationConfigs: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: this.logGroup.logGroupName, arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
        redactedFields: [{ singleHeader: { Name: 'authorization' } }, { singleHeader: { Name: 'cookie' } }],
      });
    }
  }
}

/**
 * One anchored regular expression for ALB path patterns (`*` any characters, `?` one character, everything
 * else literal), as WAF's regex match needs it. The alternatives sit in a non-capturing group: WAF's PCRE
 * refuses capturing subexpressions and backreferences
 * (https://docs.aws.amazon.com/waf/latest/developerguide/waf-regex-pattern-support.html).
 */
export function pathPatternsRegex(patterns: readonly string[]): string {
  const one = (p: string) => p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return `^(?:${patterns.map(one).join('|')})$`;
}
