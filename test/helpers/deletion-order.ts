import type { Template } from 'aws-cdk-lib/assertions';

/** The logical ids a template value refers to: Ref, Fn::GetAtt and the `${Id}` / `${Id.Attr}` of Fn::Sub. */
function referencedIds(value: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) referencedIds(v, into);
  } else if (value && typeof value === 'object') {
    for (const [key, v] of Object.entries(value)) {
      if (key === 'Ref' && typeof v === 'string') into.add(v);
      else if (key === 'Fn::GetAtt') into.add(Array.isArray(v) ? String(v[0]) : String(v).split('.')[0]);
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(v) ? String(v[0]) : String(v);
        for (const m of text.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)) into.add(m[1]);
        if (Array.isArray(v)) referencedIds(v[1], into);
      } else referencedIds(v, into);
    }
  }
  return into;
}

/**
 * The order CloudFormation deletes a template's resources in: a resource is deleted only after every resource
 * that depends on it (DependsOn, Ref, Fn::GetAtt, Fn::Sub), so `a` is certainly deleted before `b` exactly when
 * a chain of dependencies leads from `a` to `b` (without one, the two may go in either order, or side by side).
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html
 */
export function deletionOrder(t: Template) {
  const resources = t.toJSON().Resources as Record<string, { Properties?: unknown; DependsOn?: string | string[] }>;
  const edges = new Map<string, Set<string>>();
  for (const [id, r] of Object.entries(resources)) {
    const refs = referencedIds(r.Properties);
    for (const d of [r.DependsOn ?? []].flat()) refs.add(d);
    edges.set(id, new Set([...refs].filter((ref) => ref in resources && ref !== id)));
  }
  const reachable = (from: string): Set<string> => {
    const seen = new Set<string>();
    const stack = [...(edges.get(from) ?? [])];
    while (stack.length > 0) {
      const next = stack.pop()!;
      if (seen.has(next)) continue;
      seen.add(next);
      stack.push(...(edges.get(next) ?? []));
    }
    return seen;
  };
  return {
    /** `a` depends, directly or through others, on `b`: CloudFormation deletes `a` first (and creates `b` first). */
    deletedBefore: (a: string, b: string) => reachable(a).has(b),
    /** No resource depends on itself through others: CloudFormation would reject the template. */
    acyclic: () => Object.keys(resources).every((id) => !reachable(id).has(id)),
  };
}
