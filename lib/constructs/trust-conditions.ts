import { Aws, type IAspect, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Confused-deputy conditions (aws:SourceAccount, aws:SourceArn) on the trust policies of the service roles
 * whose service documents sending them when it assumes the role. A condition on a key the service does not
 * send denies every AssumeRole, so each service below is listed with what it documents:
 *
 * | principal | role here | conditions |
 * |---|---|---|
 * | ecs-tasks.amazonaws.com | task roles (API, worker) | added here: "Amazon ECS task IAM role", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html (aws:SourceArn `arn:aws:ecs:<region>:<account>:*`, aws:SourceAccount) |
 * | ecs-tasks.amazonaws.com | task execution roles | none: the execution-role page documents no condition (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html), and a refused AssumeRole stops every image pull |
 * | vpc-flow-logs.amazonaws.com | flow-log role | in lib/constructs/network.ts (flowLogRole), as the VPC User Guide gives it |
 * | cloudwatch.amazonaws.com | (key and topic policies, not a role) | in lib/constructs/encryption.ts and alarm-topic.ts |
 * | lambda.amazonaws.com | function execution roles | none: Lambda documents no source condition for assuming an execution role (https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html); iam:PassRole on the role is what binds it to a function |
 * | rds.amazonaws.com, monitoring.rds.amazonaws.com | RDS Proxy role, enhanced-monitoring role | none: RDS documents no source condition for these roles (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-iam-setup.html, https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Monitoring.OS.Enabling.html) |
 * | states.amazonaws.com | the Provider framework's waiter | none: created by aws-cdk-lib's Provider, left as it makes it |
 * | Application Auto Scaling | service-linked roles | none possible: AWS owns a service-linked role's trust policy (https://docs.aws.amazon.com/IAM/latest/UserGuide/using-service-linked-roles.html) |
 */
export class ServiceTrustConditions implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof ecs.TaskDefinition)) return;
    addSourceConditions(node.taskRole, 'ecs-tasks.amazonaws.com', `arn:${Aws.PARTITION}:ecs:${Aws.REGION}:${Aws.ACCOUNT_ID}:*`);
  }
}

/** Adds aws:SourceAccount and aws:SourceArn to the statement of `role`'s trust policy that trusts `service`. */
function addSourceConditions(role: iam.IRole, service: string, sourceArn: string): void {
  const cfn = role.node.defaultChild as iam.CfnRole | undefined;
  if (!cfn) return; // an imported role: its trust policy is not ours to change
  const doc = Stack.of(cfn).resolve(cfn.assumeRolePolicyDocument) as { Statement: Array<{ Principal?: { Service?: unknown } }> };
  const index = doc.Statement.findIndex((s) => s.Principal?.Service === service);
  if (index < 0) throw new Error(`${role.node.path}: no trust statement for ${service} to add source conditions to`);
  cfn.addPropertyOverride(`AssumeRolePolicyDocument.Statement.${index}.Condition`, {
    StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
    ArnLike: { 'aws:SourceArn': sourceArn },
  });
}
