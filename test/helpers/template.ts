import type { Template } from 'aws-cdk-lib/assertions';

export interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every IAM statement of the role whose logical id starts with `rolePrefix`: attached policies and inline ones. */
export function policyStatements(t: Template, rolePrefix: string): Statement[] {
  const attached = Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
  const inline = Object.entries(t.findResources('AWS::IAM::Role'))
    .filter(([id]) => id.startsWith(rolePrefix))
    .flatMap(([, r]) => ((r.Properties.Policies ?? []) as Array<{ PolicyDocument: { Statement: Statement[] } }>).flatMap((p) => p.PolicyDocument.Statement));
  return [...attached, ...inline];
}

/** The sorted actions of some statements. */
export function actions(statements: Statement[]): string[] {
  return statements.flatMap((s) => [s.Action].flat()).sort();
}
