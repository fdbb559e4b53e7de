import type { Template } from 'aws-cdk-lib/assertions';

export interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: unknown;
}

/** Every IAM statement attached to the role whose logical id starts with `rolePrefix`. */
export function policyStatements(t: Template, rolePrefix: string): Statement[] {
  return Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/** The sorted actions of some statements. */
export function actions(statements: Statement[]): string[] {
  return statements.flatMap((s) => [s.Action].flat()).sort();
}
