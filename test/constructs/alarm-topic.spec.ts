import { Match, type Template } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// The alarm topic's policy and its key's policy, evaluated the way IAM evaluates a resource policy for a
// request (an explicit Deny wins, then any Allow, else the implicit deny:
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html), for the requests
// CloudWatch makes when an alarm changes state, and for the ones that must fail.

const ACCOUNT = '111122223333';
const OTHER_ACCOUNT = '444455556666';

type Decision = 'Allow' | 'Deny' | 'ImplicitDeny';

interface Request {
  readonly principal: { readonly Service?: string; readonly AWS?: string };
  readonly action: string;
  readonly resource: string;
  readonly context: Readonly<Record<string, string>>;
}

interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Principal: '*' | { Service?: string | string[]; AWS?: string | string[] };
  readonly Action: string | string[];
  readonly Resource: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[]>>;
}

/** Template values as CloudFormation resolves them in ACCOUNT and `region`; `refs` names the stack's own resources. */
function resolver(region: string, refs: Record<string, string>) {
  const pseudo: Record<string, string> = { 'AWS::AccountId': ACCOUNT, 'AWS::Region': region, 'AWS::Partition': 'aws', 'AWS::URLSuffix': 'amazonaws.com' };
  const render = (v: unknown): unknown => {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
    if (Array.isArray(v)) return v.map(render);
    const o = v as Record<string, unknown>;
    if ('Ref' in o) {
      const id = o.Ref as string;
      const value = pseudo[id] ?? refs[id];
      if (value === undefined) throw new Error(`no value for Ref ${id}`);
      return value;
    }
    if ('Fn::Join' in o) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(render).join(sep);
    }
    if ('Fn::GetAtt' in o) {
      const [id, attribute] = o['Fn::GetAtt'] as [string, string];
      const value = refs[`${id}.${attribute}`];
      if (value === undefined) throw new Error(`no value for GetAtt ${id}.${attribute}`);
      return value;
    }
    const fn = Object.keys(o).find((k) => k.startsWith('Fn::'));
    if (fn) throw new Error(`the evaluator does not resolve ${fn}`);
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, render(x)]));
  };
  return render;
}

const list = <T>(v: T | T[] | undefined): T[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcards: `*` any run of characters, `?` one character. */
const glob = (pattern: string, value: string, flags = '') =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, flags).test(value);

function conditionHolds(condition: Statement['Condition'], context: Request['context']): boolean {
  // Condition keys are case-insensitive (IAM User Guide, "IAM JSON policy elements: Condition").
  const ctx = Object.fromEntries(Object.entries(context).map(([k, v]) => [k.toLowerCase(), v]));
  return Object.entries(condition ?? {}).every(([operator, pairs]) => Object.entries(pairs).every(([key, expected]) => {
    const actual = ctx[key.toLowerCase()];
    const values = list(expected);
    switch (operator) {
      case 'StringEquals': return actual !== undefined && values.includes(actual);
      case 'StringLike':
      case 'ArnLike': return actual !== undefined && values.some((v) => glob(v, actual));
      case 'Bool': return actual !== undefined && values.includes(actual);
      case 'BoolIfExists': return actual === undefined || values.includes(actual);
      default: throw new Error(`the evaluator does not know the condition operator ${operator}`);
    }
  }));
}

function principalMatches(principal: Statement['Principal'], request: Request): boolean {
  if (principal === '*') return true;
  if (request.principal.Service !== undefined && list(principal.Service).includes(request.principal.Service)) return true;
  return list(principal.AWS).some((p) => p === '*' || p === request.principal.AWS);
}

function evaluate(statements: Statement[], request: Request): Decision {
  const applies = statements.filter((s) => principalMatches(s.Principal, request)
    && list(s.Action).some((a) => glob(a, request.action, 'i'))
    && list(s.Resource).some((r) => glob(r, request.resource))
    && conditionHolds(s.Condition, request.context));
  if (applies.some((s) => s.Effect === 'Deny')) return 'Deny';
  return applies.some((s) => s.Effect === 'Allow') ? 'Allow' : 'ImplicitDeny';
}

/** What CloudWatch sends when the alarm `alarmArn` notifies, over TLS unless said otherwise. */
function fromAlarm(alarmArn: string, sourceAccount: string, overrides: Partial<Request> & { secure?: boolean } = {}): Omit<Request, 'action' | 'resource'> {
  return {
    principal: overrides.principal ?? { Service: 'cloudwatch.amazonaws.com' },
    context: { 'aws:SourceAccount': sourceAccount, 'aws:SourceArn': alarmArn, 'aws:SecureTransport': String(overrides.secure ?? true) },
  };
}

function policies(t: Template, region: string) {
  const [[topicId]] = Object.entries(t.findResources('AWS::SNS::Topic'));
  const topicArn = `arn:aws:sns:${region}:${ACCOUNT}:ScalingBlueprint-Alarms-TOPIC`;
  const [[keyId]] = Object.entries(t.findResources('AWS::KMS::Key'));
  const keyArn = `arn:aws:kms:${region}:${ACCOUNT}:key/0000-1111`;
  // The key policy names the stack's key-admin role (lib/constructs/encryption.ts).
  const admins = Object.keys(t.findResources('AWS::IAM::Role')).filter((id) => id.startsWith('KeyAdmin'));
  const render = resolver(region, {
    [topicId]: topicArn, [keyId]: keyArn, [`${keyId}.Arn`]: keyArn,
    ...Object.fromEntries(admins.map((id) => [`${id}.Arn`, `arn:aws:iam::${ACCOUNT}:role/${id}`])),
  });
  const topicPolicies = Object.values(t.findResources('AWS::SNS::TopicPolicy'));
  expect(topicPolicies).toHaveLength(1);
  expect(topicPolicies[0].Properties.Topics).toEqual([{ Ref: topicId }]);
  const topic = t.findResources('AWS::SNS::Topic')[topicId];
  expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
  return {
    topicArn,
    keyArn,
    topicPolicy: render(topicPolicies[0].Properties.PolicyDocument.Statement) as Statement[],
    keyPolicy: render(t.findResources('AWS::KMS::Key')[keyId].Properties.KeyPolicy.Statement) as Statement[],
  };
}

describe.each(ENVIRONMENTS)('alarm topic (%s)', (env) => {
  const { region } = configFor(env);
  const { monitoring: t } = synth(env);
  const alarm = (account = ACCOUNT, inRegion = region) => `arn:aws:cloudwatch:${inRegion}:${account}:alarm:ScalingBlueprint-${env}-Kpi-ApiErrorRate-Critical`;
  const otherRegion = region === 'eu-west-1' ? 'us-east-1' : 'eu-west-1';

  test('the topic policy allows CloudWatch alarms of this account and region to publish, and denies publishing without TLS', () => {
    const cloudWatchAlarms = {
      StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
    };
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Principal: '*', Action: 'sns:Publish', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Condition: cloudWatchAlarms }),
        ]),
      },
    });
    // The key policy names CloudWatch under the same conditions.
    t.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({
          Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Condition: cloudWatchAlarms,
        })]),
      },
    });
  });

  const cases: Array<[string, () => Omit<Request, 'action' | 'resource'>, Decision, Decision]> = [
    ['an alarm of this account and region, over TLS', () => fromAlarm(alarm(), ACCOUNT), 'Allow', 'Allow'],
    ['the same alarm without TLS', () => fromAlarm(alarm(), ACCOUNT, { secure: false }), 'Deny', 'Allow'],
    ["another account's alarm (the confused deputy)", () => fromAlarm(alarm(OTHER_ACCOUNT), OTHER_ACCOUNT), 'ImplicitDeny', 'ImplicitDeny'],
    ["another account's alarm claiming this account", () => fromAlarm(alarm(OTHER_ACCOUNT), ACCOUNT), 'ImplicitDeny', 'ImplicitDeny'],
    ['an alarm of this account in another region', () => fromAlarm(alarm(ACCOUNT, otherRegion), ACCOUNT), 'ImplicitDeny', 'ImplicitDeny'],
    ['another AWS service on behalf of this account', () => fromAlarm(alarm(), ACCOUNT, { principal: { Service: 'events.amazonaws.com' } }), 'ImplicitDeny', 'ImplicitDeny'],
    ['a principal of another account', () => fromAlarm(alarm(), ACCOUNT, { principal: { AWS: `arn:aws:iam::${OTHER_ACCOUNT}:root` } }), 'ImplicitDeny', 'ImplicitDeny'],
  ];

  test.each(cases.map(([name, request, topic, key]) => [`${name}: sns:Publish → ${topic}, the key → ${key}`, request, topic, key] as const))('%s', (_title, request, topicDecision, keyDecision) => {
    const p = policies(t, region);
    expect(evaluate(p.topicPolicy, { ...request(), action: 'sns:Publish', resource: p.topicArn })).toBe(topicDecision);
    // SNS uses the key on the publisher's behalf: GenerateDataKey to encrypt the message, Decrypt to deliver it.
    for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
      expect(evaluate(p.keyPolicy, { ...request(), action, resource: p.keyArn })).toBe(keyDecision);
    }
  });
});
