import { CfnResource, type IAspect, Reference, Stack, Tokenization } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
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
  // An exception nobody can judge later is a silenced control: the compliance report prints the reason.
  if (!rule.trim() || !reason.trim()) throw new Error(`guardException on ${scope.node.path}: a rule id and a reason are both required (rule "${rule}", reason "${reason}")`);
  const cfn = scope instanceof CfnResource ? scope : scope.node.defaultChild;
  if (!(cfn instanceof CfnResource)) throw new Error(`guardException: ${scope.node.path} is not a CloudFormation resource`);
  const existing = (cfn.getMetadata(GUARD_EXCEPTIONS_METADATA) ?? []) as GuardException[];
  if (existing.some((e) => e.rule === rule)) return;
  cfn.addMetadata(GUARD_EXCEPTIONS_METADATA, [...existing, { rule, reason }]);
}

/**
 * Lambda functions and CT.LAMBDA.PR.3 ("in a customer-managed VPC"), found wherever and whenever they appear:
 * - CDK's own singleton custom-resource handlers (`CustomResourceProvider`: S3 auto-delete objects, the
 *   default security group restriction) are created outside any VPC, and aws-cdk-lib offers no way to
 *   place them in one;
 * - our functions are in the VPC, but their subnets and security groups come from the Network stack as
 *   Fn::GetStackOutput, which the rule's static check cannot follow (it accepts literals and same-stack
 *   references only). The test suite asserts their VpcConfig instead.
 */
export class LambdaVpcExceptions implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource) || node.cfnResourceType !== 'AWS::Lambda::Function') return;
    const provider = /^Custom::(.*)CustomResourceProvider$/.exec(node.node.scope?.node.id ?? '');
    if (provider) {
      guardException(node, 'CT.LAMBDA.PR.3',
        `aws-cdk-lib's built-in ${provider[1]} handler is created without VPC settings and offers none; it runs only while CloudFormation deploys and calls AWS APIs only.`);
      return;
    }
    const vpcConfig = node instanceof lambda.CfnFunction ? node.vpcConfig as lambda.CfnFunction.VpcConfigProperty | undefined : undefined;
    const subnets = (vpcConfig?.subnetIds ?? []) as string[];
    const fromOtherStack = (id: string) => {
      const token = Tokenization.reverseString(id).firstToken;
      return token instanceof Reference && Stack.of(token.target) !== Stack.of(node);
    };
    if (subnets.length > 0 && subnets.some(fromOtherStack)) {
      guardException(node, 'CT.LAMBDA.PR.3',
        'The function runs in the application subnets, but they are imported from the Network stack (Fn::GetStackOutput), which the static rule cannot resolve; the compliance tests assert the VpcConfig.');
    }
  }
}
