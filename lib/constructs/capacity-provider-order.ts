import type { IAspect } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { IConstruct } from 'constructs';

/**
 * Makes every service that places tasks by capacity-provider strategy depend on the cluster's capacity-provider
 * association. "A capacity provider must be associated with the cluster to be used in a capacity provider
 * strategy" (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html), and with no
 * DependsOn CloudFormation may create the service first; on deletion it could remove the association while
 * tasks still run on FARGATE_SPOT, which ECS refuses ("You can only disassociate an existing capacity provider
 * from a cluster if it's not being used by any existing tasks":
 * https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html).
 * ecs.Cluster creates the association in an aspect at synth (`enableFargateCapacityProviders`), so the
 * dependency is added by an aspect too, once the association exists.
 */
export class ServicesAfterCapacityProviders implements IAspect {
  constructor(private readonly services: readonly ecs.FargateService[]) {}

  visit(node: IConstruct): void {
    if (!(node instanceof ecs.CfnClusterCapacityProviderAssociations)) return;
    for (const service of this.services) {
      const strategy = (service.node.defaultChild as ecs.CfnService).capacityProviderStrategy;
      if (Array.isArray(strategy) && strategy.length > 0) service.node.addDependency(node);
    }
  }
}
