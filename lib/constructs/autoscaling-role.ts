import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** The service-linked roles Application Auto Scaling uses for each service it scales. */
const SERVICE_LINKED_ROLES = {
  ecs: ['ecs.application-autoscaling.amazonaws.com', 'AWSServiceRoleForApplicationAutoScaling_ECSService'],
  rds: ['rds.application-autoscaling.amazonaws.com', 'AWSServiceRoleForApplicationAutoScaling_RDSCluster'],
} as const;

/**
 * Application Auto Scaling acts for ECS and RDS through its service-linked role (created on first use);
 * a role of our own would be ignored. This is what `FargateService.autoScaleTaskCount()` does too.
 */
export function autoScalingServiceLinkedRole(scope: Construct, id: string, service: keyof typeof SERVICE_LINKED_ROLES): iam.IRole {
  const [principal, name] = SERVICE_LINKED_ROLES[service];
  return iam.Role.fromRoleArn(scope, id, Stack.of(scope).formatArn({
    region: '',
    service: 'iam',
    resource: `role/aws-service-role/${principal}`,
    resourceName: name,
  }));
}
