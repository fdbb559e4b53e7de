import { CfnResource, type IAspect } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Metadata key that lists a resource's deliberate exceptions to AWS Control Tower proactive controls (run
 * as cfn-guard rules by `npm run check` and the compliance tests). The guard runner in
 * scripts/compliance.ts reports an excepted finding apart, with its reason, instead of failing.
 */
export const GUARD_EXCEPTIONS_METADATA = 'scaling-blueprint:guard-exceptions';

export interface GuardException {
  /** Control Tower control id (`CT.S3.PR.10`) or cfn-guard rule name. */
  readonly rule: string;
  /** Why the control is deliberately not met here: what would break, or what makes it moot. */
  readonly reason: string;
}

/**
 * Records a deliberate exception to one Control Tower control on one resource, the way cdk-nag
 * acknowledgements are scoped: `scope` is the resource (an L1) or an L2 whose default child is one.
 */
export function guardException(scope: IConstruct, rule: string, reason: string): void {
  const cfn = scope instanceof CfnResource ? scope : scope.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`guardException: ${scope.node.path} is not a CloudFormation resource`);
  const existing = (cfn.getMetadata(GUARD_EXCEPTIONS_METADATA) ?? []) as GuardException[];
  if (existing.some((e) => e.rule === rule)) return;
  cfn.addMetadata(GUARD_EXCEPTIONS_METADATA, [...existing, { rule, reason }]);
}

/**
 * CDK's own singleton custom-resource handlers (`CustomResourceProvider`: S3 auto-delete objects, the
 * default security group restriction) are AWS::Lambda::Function resources outside any VPC, and aws-cdk-lib
 * offers no way to place them in one. An aspect, so that it finds them wherever and whenever they appear.
 */
export class CdkProviderHandlerExceptions implements IAspect {
  visit(node: IConstruct): void {
    const parent = node.node.scope;
    if (!(node instanceof CfnResource) || node.cfnResourceType !== 'AWS::Lambda::Function' || !parent) return;
    const provider = /^Custom::(.*)CustomResourceProvider$/.exec(parent.node.id);
    if (!provider) return;
    guardException(node, 'CT.LAMBDA.PR.3',
      `aws-cdk-lib's built-in ${provider[1]} handler is created without VPC settings and offers none; it runs only while CloudFormation deploys and calls AWS APIs only.`);
  }
}
