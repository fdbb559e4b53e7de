import { Match } from 'aws-cdk-lib/assertions';
import { get } from 'http';
import { posix } from 'path';
import { pathPatternsRegex, RATE_LIMITED_STATUS, WAF_RULES } from '../../lib/constructs/waf';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

/** What WAF's URL_DECODE then NORMALIZE_PATH make of a raw request path (decoding once, as the router does). */
const wafView = (rawPath: string) => posix.normalize(decodeURIComponent(rawPath).replace(/\/{2,}/g, '/'));

describe.each(ENVIRONMENTS)('WAF web ACL (%s)', (env) => {
  const { alb } = configFor(env);
  const { compute: t, stacks } = synth(env);

  if (!alb.waf.enabled) {
    test(`${env}: alb.waf.enabled false, so no web ACL and no association`, () => {
      expect(env).toBe('dev');
      t.resourceCountIs('AWS::WAFv2::WebACL', 0);
      t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 0);
      t.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 0);
    });
    return;
  }

  test('a regional web ACL allowing by default: blocked paths, the per-IP rate limit, then AWS managed common and known-bad-inputs rules, each with metrics', () => {
    const visibility = (name: string) => ({ CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true, MetricName: name });
    t.resourceCountIs('AWS::WAFv2::WebACL', 1);
    t.hasResourceProperties('AWS::WAFv2::WebACL', {
      Scope: 'REGIONAL',
      DefaultAction: { Allow: {} },
      VisibilityConfig: visibility('WebAcl'),
      Rules: [
        {
          Name: WAF_RULES.blockedPaths, Priority: 0,
          Statement: { RegexMatchStatement: { RegexString: '^(?:/readyz)$', FieldToMatch: { UriPath: {} }, TextTransformations: [{ Priority: 0, Type: 'URL_DECODE' }, { Priority: 1, Type: 'NORMALIZE_PATH' }] } },
          Action: { Block: { CustomResponse: { ResponseCode: 404 } } },
          VisibilityConfig: visibility(WAF_RULES.blockedPaths),
        },
        {
          Name: WAF_RULES.rateLimit, Priority: 1,
          Statement: { RateBasedStatement: { Limit: alb.waf.rateLimitRequests, EvaluationWindowSec: alb.waf.rateLimitWindowSeconds, AggregateKeyType: 'IP' } },
          Action: { Block: { CustomResponse: { ResponseCode: RATE_LIMITED_STATUS } } },
          VisibilityConfig: visibility(WAF_RULES.rateLimit),
        },
        {
          Name: 'AWSManagedRulesCommonRuleSet', Priority: 2,
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesCommonRuleSet' } },
          OverrideAction: { None: {} },
          VisibilityConfig: visibility('AWSManagedRulesCommonRuleSet'),
        },
        {
          Name: 'AWSManagedRulesKnownBadInputsRuleSet', Priority: 3,
          Statement: { ManagedRuleGroupStatement: { VendorName: 'AWS', Name: 'AWSManagedRulesKnownBadInputsRuleSet' } },
          OverrideAction: { None: {} },
          VisibilityConfig: visibility('AWSManagedRulesKnownBadInputsRuleSet'),
        },
      ],
    });
  });

  test('associated with the API load balancer', () => {
    t.resourceCountIs('AWS::WAFv2::WebACLAssociation', 1);
    t.hasResourceProperties('AWS::WAFv2::WebACLAssociation', {
      ResourceArn: { Ref: Match.stringLikeRegexp('^WebLoadBalancer[0-9A-F]{8}$') },
      WebACLArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^WebWafWebAcl'), 'Arn'] },
    });
  });

  test('logs to an encrypted aws-waf-logs- group with explicit retention, credentials redacted', () => {
    const name = `aws-waf-logs-${stacks.compute.stackName}`;
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: name,
      RetentionInDays: alb.waf.logRetentionDays,
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] },
    });
    const [logging] = Object.values(t.findResources('AWS::WAFv2::LoggingConfiguration'));
    expect(logging.Properties.ResourceArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^WebWafWebAcl/), 'Arn'] });
    // WAF takes the log group's ARN without the ":*" that LogGroup.logGroupArn ends with.
    expect(JSON.stringify(logging.Properties.LogDestinationConfigs)).toMatch(new RegExp(`:log-group:",\\{"Ref":"WebWafLogs[0-9A-F]{8}"\\}\\]\\]\\}\\]$`));
    expect(logging.Properties.RedactedFields).toEqual([{ SingleHeader: { Name: 'authorization' } }, { SingleHeader: { Name: 'cookie' } }]);
  });
});

describe('WAF variants', () => {
  test('logging off: no log group, no logging configuration', () => {
    const { compute: t } = synth('prod', { alb: { waf: { logging: false } } });
    t.resourceCountIs('AWS::WAFv2::WebACL', 1);
    t.resourceCountIs('AWS::WAFv2::LoggingConfiguration', 0);
    expect(JSON.stringify(t.findResources('AWS::Logs::LogGroup'))).not.toContain('aws-waf-logs-');
  });

  test('no blocked paths: the rate limit comes first, then the managed rules', () => {
    const { compute: t } = synth('prod', { alb: { blockedPaths: [], waf: { rateLimitRequests: 500, rateLimitWindowSeconds: 60 } } });
    const [acl] = Object.values(t.findResources('AWS::WAFv2::WebACL'));
    expect(acl.Properties.Rules.map((r: { Name: string; Priority: number }) => [r.Name, r.Priority])).toEqual([
      [WAF_RULES.rateLimit, 0], [WAF_RULES.common, 1], [WAF_RULES.knownBadInputs, 2],
    ]);
    expect(acl.Properties.Rules[0].Statement.RateBasedStatement).toEqual({ Limit: 500, EvaluationWindowSec: 60, AggregateKeyType: 'IP' });
    // Only the canary's production rule (lib/constructs/deployment-strategy.ts) is left: no blocked-paths rule.
    expect(Object.keys(t.findResources('AWS::ElasticLoadBalancingV2::ListenerRule')).filter((id) => !id.startsWith('WebDeployment'))).toEqual([]);
  });
});

describe('blocked paths in every spelling', () => {
  test('the reference workload\'s router (Fastify, default options as in workload/src/app.ts) serves /readyz for a percent-encoded path, which a listener rule on the literal path does not match', async () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const Fastify = require('../../workload/node_modules/fastify') as (opts?: object) => {
      get(path: string, handler: () => Promise<unknown>): void; listen(o: { port: number; host: string }): Promise<string>; close(): Promise<void>; server: { address(): { port: number } };
    };
    const app = Fastify();
    app.get('/readyz', async () => ({ ready: true }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      // http.get sends the path as written (no normalisation), as a client on the internet can.
      const status = await new Promise<number>((resolve, reject) => {
        get({ host: '127.0.0.1', port: app.server.address().port, path: '/%72eadyz', timeout: 3000 }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        }).on('error', reject).on('timeout', () => reject(new Error('no answer within 3 s')));
      });
      expect(status).toBe(200);
    } finally {
      await app.close();
    }
    // The listener rule's pattern is the literal path; the WAF rule sees the decoded, normalised one.
    expect('/%72eadyz').not.toBe('/readyz');
    expect(new RegExp(pathPatternsRegex(['/readyz'])).test(wafView('/%72eadyz'))).toBe(true);
  });

  test.each([
    ['/readyz', true], ['/%72eadyz', true], ['/%72%65adyz', true], ['//readyz', true], ['/./readyz', true], ['/x/../readyz', true],
    ['/readyz/x', false], ['/readyzz', false], ['/healthz', false], ['/items/readyz', false],
  ])('WAF view of %s blocked: %s', (raw, blocked) => {
    expect(new RegExp(pathPatternsRegex(['/readyz'])).test(wafView(raw))).toBe(blocked);
  });

  test('ALB wildcards become regex wildcards, everything else literal', () => {
    expect(pathPatternsRegex(['/internal/*', '/v?/status', '/a.b+c'])).toBe('^(?:/internal/.*|/v./status|/a\\.b\\+c)$');
  });
});
