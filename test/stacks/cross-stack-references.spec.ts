import { configFor, type Overrides } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// Config changes that move or replace something one stack reads from another, deployed the way `cdk deploy
// --all` does it: the producer first, then its consumers. For each change, both directions, the two synths
// are compared:
//
// 1. Nothing locks. CloudFormation refuses to change or delete an export another stack imports ("Export ...
//    cannot be deleted as it is in use by ..."; "After another stack imports an output value, you can't delete
//    the stack that is exporting the output value or modify the exported output value":
//    https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html),
//    so the producer's update would fail and the change could not be deployed at all.
// 2. Every consumer of a value that changes is updated. Fn::GetStackOutput "is resolved at stack create or
//    update time" and the consumer "is not automatically updated"
//    (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html),
//    and `cdk deploy` skips a stack whose template did not change: a consumer whose template stays the same
//    keeps the old value (a dashboard and alarms on a target group or a cache that no longer exists). A
//    value changes when the output's expression changes, when the output goes, or when the resource behind it
//    changes: a replacement gives the same {"Ref"} or {"Fn::GetAtt"} a new value. Any property change of
//    that resource counts (conservative), except those CloudFormation documents as updated in place
//    ("Update requires: No interruption"), listed below.

type Json = Record<string, any>;

interface Reference {
  readonly consumer: string;
  readonly producer: string;
  readonly output: string;
  readonly how: 'Fn::ImportValue' | 'Fn::GetStackOutput';
}

interface Flip {
  readonly key: string;
  readonly env: string;
  readonly a: Overrides;
  readonly b: Overrides;
}

const FLIPS: Flip[] = [
  { key: 'database.proxy.enabled', env: 'staging', a: { database: { proxy: { enabled: true } } }, b: { database: { proxy: { enabled: false } } } },
  { key: 'cache.shards', env: 'staging', a: { cache: { shards: 1 } }, b: { cache: { shards: 2 } } },
  { key: 'cache.mode', env: 'staging', a: { cache: { mode: 'replication-group' } }, b: { cache: { mode: 'serverless' } } },
  { key: 'cache.port', env: 'staging', a: { cache: { port: 6380 } }, b: { cache: { port: 6390 } } },
  { key: 'api.containerPort', env: 'staging', a: { api: { containerPort: 8080 } }, b: { api: { containerPort: 8081 } } },
];

/** Every template of the environment, by stack name. */
function templates(env: string, overrides: Overrides): Record<string, Json> {
  const s = synth(env, overrides);
  return Object.fromEntries((['network', 'data', 'compute', 'monitoring', 'loadTest'] as const).flatMap((part) => {
    const t = s[part];
    return t ? [[s.stacks[part]!.stackName, t.toJSON()]] : [];
  }));
}

function walk(v: unknown, visit: (o: Json) => void): void {
  if (Array.isArray(v)) v.forEach((x) => walk(x, visit));
  else if (v && typeof v === 'object') {
    visit(v as Json);
    Object.values(v).forEach((x) => walk(x, visit));
  }
}

/** The references each stack makes to another stack's outputs. */
function references(app: Record<string, Json>): Reference[] {
  const exporters = new Map<string, { producer: string; output: string }>();
  for (const [producer, t] of Object.entries(app)) {
    for (const [output, o] of Object.entries<Json>(t.Outputs ?? {})) if (o.Export) exporters.set(o.Export.Name, { producer, output });
  }
  const refs = new Map<string, Reference>();
  for (const [consumer, t] of Object.entries(app)) {
    walk([t.Resources, t.Outputs], (o) => {
      let ref: Reference | undefined;
      if ('Fn::ImportValue' in o) {
        const exported = exporters.get(o['Fn::ImportValue']);
        if (!exported) throw new Error(`${consumer} imports ${JSON.stringify(o['Fn::ImportValue'])}, which no stack of the app exports`);
        ref = { consumer, ...exported, how: 'Fn::ImportValue' };
      }
      if ('Fn::GetStackOutput' in o) {
        const { StackName, OutputName } = o['Fn::GetStackOutput'];
        ref = { consumer, producer: StackName, output: OutputName, how: 'Fn::GetStackOutput' };
      }
      if (ref) refs.set(JSON.stringify(ref), ref);
    });
  }
  return [...refs.values()];
}

/**
 * Properties CloudFormation updates without replacing the resource, so without changing its id, name or ARN
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-kms-key.html,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ecs-service.html).
 */
const UPDATED_IN_PLACE: Record<string, readonly string[]> = {
  'AWS::KMS::Key': ['Description', 'EnableKeyRotation', 'KeyPolicy', 'PendingWindowInDays', 'Tags'],
  'AWS::ECS::Service': ['DeploymentConfiguration', 'DesiredCount', 'HealthCheckGracePeriodSeconds', 'LoadBalancers', 'Tags', 'TaskDefinition'],
};

/** The properties of a resource that, when they change, may give it a new identity. */
function identity(resource: Json | undefined): unknown {
  if (!resource) return undefined;
  const inPlace = UPDATED_IN_PLACE[resource.Type] ?? [];
  return [resource.Type, Object.entries<unknown>(resource.Properties ?? {}).filter(([k]) => !inPlace.includes(k))];
}

/** What the value behind an output depends on: its expression and the resources it names. */
function valueSource(app: Record<string, Json>, producer: string, output: string): string {
  const t = app[producer];
  const o = t?.Outputs?.[output];
  if (!o) return 'gone';
  const ids = new Set<string>();
  walk(o.Value, (x) => {
    if (typeof x.Ref === 'string' && !x.Ref.startsWith('AWS::')) ids.add(x.Ref);
    if (Array.isArray(x['Fn::GetAtt'])) ids.add(x['Fn::GetAtt'][0]);
  });
  return JSON.stringify([o.Value, [...ids].sort().map((id) => [id, identity(t.Resources[id])])]);
}

/** What goes wrong when an app deployed as `a` is deployed as `b`. */
function problems(a: Record<string, Json>, b: Record<string, Json>): string[] {
  const found: string[] = [];
  for (const ref of references(a)) {
    const before = a[ref.producer].Outputs[ref.output];
    const after = b[ref.producer]?.Outputs?.[ref.output];
    const changes = valueSource(a, ref.producer, ref.output) !== valueSource(b, ref.producer, ref.output);
    if (ref.how === 'Fn::ImportValue' && (changes || after?.Export?.Name !== before.Export.Name)) {
      found.push(`${ref.consumer} imports export ${before.Export.Name}, which the update of ${ref.producer} would ${after ? 'change' : 'delete'}: CloudFormation refuses, the deploy fails`);
    }
    const resourcesChange = JSON.stringify(a[ref.consumer].Resources) !== JSON.stringify(b[ref.consumer]?.Resources);
    if (changes && !resourcesChange) {
      found.push(`${ref.consumer} reads ${ref.output} of ${ref.producer}, whose value ${after ? 'changes' : 'goes'}, but ${ref.consumer}'s resources do not change: cdk deploy skips it and it keeps the old value`);
    }
  }
  // What the new templates read must exist once their producers are deployed.
  for (const ref of references(b)) {
    if (!b[ref.producer]?.Outputs?.[ref.output]) found.push(`${ref.consumer} reads ${ref.output}, which ${ref.producer} does not have`);
  }
  return found;
}

describe('config changes that move a cross-stack value deploy in one `cdk deploy --all`', () => {
  describe.each(FLIPS)('$key ($env)', ({ key, env, a, b }) => {
    const value = (o: Overrides) => key.split('.').reduce<unknown>((v, k) => (v as Json)[k], configFor(env, o));
    const [from, to] = [value(a), value(b)];
    const apps = { [String(from)]: () => templates(env, a), [String(to)]: () => templates(env, b) };

    test('the two configurations differ in that key, and the stacks read values across stacks', () => {
      expect(from).not.toEqual(to);
      expect(references(apps[String(from)]()).length).toBeGreaterThan(0);
    });

    test.each([[from, to], [to, from]])(`${key} %p → %p: no lock, every consumer of a changed value is updated`, (x, y) => {
      expect(problems(apps[String(x)](), apps[String(y)]())).toEqual([]);
    });
  });
});

describe.each(ENVIRONMENTS)('lint exceptions for values read from another stack (%s)', (env) => {
  test('cfn-lint E1022 is ignored on exactly the resources that split a value read with Fn::GetStackOutput', () => {
    const app = templates(env, {});
    let excepted = 0;
    for (const t of Object.values(app)) {
      for (const [id, r] of Object.entries<Json>(t.Resources)) {
        const splitsRead = /"Fn::Split":\["[^"]*",\{"Fn::GetStackOutput"/.test(JSON.stringify(r.Properties ?? {}));
        const ignored: string[] = (r.Metadata?.['cfn-lint']?.config?.ignore_checks ?? []).filter((rule: string) => rule === 'E1022');
        expect([id, ignored]).toEqual([id, splitsRead ? ['E1022'] : []]);
        if (splitsRead) expect(r.Metadata['cfn-lint'].reasons.E1022).toMatch(/Fn::GetStackOutput/);
        excepted += ignored.length;
      }
    }
    // The task roles of the API and the worker, where rds-db:connect names the proxy.
    expect(excepted).toBe(configFor(env).database.proxy.enabled ? 2 : 0);
  });
});
