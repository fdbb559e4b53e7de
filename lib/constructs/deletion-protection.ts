import { Aspects, Aws, CfnResource, CustomResource, Duration, type IAspect, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IConstruct } from 'constructs';
import type { StatefulConfig } from '../config/schema';
import { closeDefaultEgress } from './egress';
import { encryptedLogGroup } from './encryption';
import { vpcFunctionRole, vpcNodejsFunction, vpcProvider, type VpcFunctionsProps } from './vpc-function';

export interface AuroraDeletionProtectionProps extends VpcFunctionsProps {
  /** The cluster to protect; its template leaves `DeletionProtection` out. */
  readonly cluster: rds.IDatabaseCluster;
  /** `stateful.removalPolicy` of the cluster (never `destroy`: such a cluster is not protected). */
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** Leaves room for 12 minutes of retries while the new cluster is busy (e.g. its first backup). */
const HANDLER_TIMEOUT = Duration.minutes(14);

/**
 * RDS deletion protection for an Aurora cluster, turned on by a custom resource once every other resource of
 * the stack exists, instead of by the template.
 *
 * With `DeletionProtection: true` in the template, a first deploy that fails after the cluster is created
 * cannot roll back: RDS refuses to delete a protected cluster ("you can't delete a DB cluster with deletion
 * protection turned on": https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_DeleteCluster.html#USER_DeletionProtection;
 * reproduced against moto's RDS in test/lambda/aurora-deletion-protection.test.ts), and the stack ends in
 * ROLLBACK_FAILED, to be deleted by hand (DeletionPolicy RetainExceptOnCreate does not help: the delete is refused:
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-deletionpolicy.html). So the template leaves the property out, and this resource, which depends on every other
 * resource of the stack, calls rds:ModifyDBCluster DeletionProtection=true when it is created (and updated):
 * last, once the creation can no longer fail on another resource. Leaving the property out (rather than
 * `false`) matters on every later update too: CloudFormation's AWS::RDS::DBCluster handler sends the
 * template's DeletionProtection on each ModifyDBCluster it makes, so `false` would switch the protection
 * off again on any change to the cluster (ModifyDbClusterRequest in
 * https://github.com/aws-cloudformation/aws-cloudformation-resource-providers-rds/blob/master/aws-rds-dbcluster/src/main/java/software/amazon/rds/dbcluster/Translator.java).
 *
 * On Delete (lambda/aurora-deletion-protection): while the stack rolls back its creation, protection off so
 * the rollback can delete the cluster; while the stack is deleted, a refusal as long as the cluster is
 * protected, so the deletion stops before anything is deleted (this resource is deleted first); otherwise
 * nothing. Where the cluster would be retained, this resource is too (RetainExceptOnCreate), so a stack
 * deletion never calls it.
 *
 * The trade-off: the cluster is unprotected while the stack is first created (a quarter of an hour to an
 * hour, with no data in it yet), and its protection lives outside the template, so drift detection does
 * not show it; the tests and the Control Tower exception on the cluster say where it comes from.
 *
 * The handler and the Provider framework's function run in the application subnets behind an HTTPS-only
 * security group, log to an encrypted group with a retention, and use roles of their own: the handler may
 * modify and describe this one cluster and describe this one stack.
 */
export class AuroraDeletionProtection extends Construct {
  readonly resource: CustomResource;
  readonly provider: cr.Provider;
  readonly handler: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: AuroraDeletionProtectionProps) {
    super(scope, id);
    const { vpc, cluster } = props;

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: 'Aurora deletion protection functions: HTTPS out to AWS APIs only',
      allowAllOutbound: false,
    });
    this.securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the RDS, CloudFormation and Lambda APIs (through NAT)');
    closeDefaultEgress(this.securityGroup);

    const logs = encryptedLogGroup(this, 'Logs', {
      encryptionKey: props.encryptionKey,
      retentionDays: props.logRetentionDays,
      retentionKey: props.logRetentionKey,
      removalPolicy: props.removalPolicy,
      deleteOnCreateRollback: true,
    });
    const handlerRole = vpcFunctionRole(this, 'HandlerRole', logs, [
      new iam.PolicyStatement({ actions: ['rds:ModifyDBCluster', 'rds:DescribeDBClusters'], resources: [cluster.clusterArn] }),
      new iam.PolicyStatement({ actions: ['cloudformation:DescribeStacks'], resources: [Aws.STACK_ID] }),
    ]);

    this.handler = vpcNodejsFunction(this, 'Handler', {
      lambdaDir: 'aurora-deletion-protection',
      handler: 'onEvent',
      description: 'Turns deletion protection on for the Aurora cluster once its stack exists; off only while the stack creation rolls back',
      timeout: HANDLER_TIMEOUT,
      role: handlerRole,
      vpc,
      securityGroup: this.securityGroup,
      logGroup: logs,
      // The runtime's AWS SDK v3 (ModifyDBCluster, DescribeDBClusters, DescribeStacks): a small bundle.
      externalModules: ['@aws-sdk/*'],
    });
    this.provider = vpcProvider(this, this.handler, { vpc, securityGroup: this.securityGroup, logGroup: logs });

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: 'Custom::AuroraDeletionProtection',
      properties: { ClusterIdentifier: cluster.clusterIdentifier },
      // Kept with a kept cluster (never called on stack deletion); deleted, and so called, otherwise.
      removalPolicy: props.removalPolicy === 'retain' ? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE : RemovalPolicy.DESTROY,
    });
    Aspects.of(Stack.of(this)).add(new DependsOnEverythingElse(this.resource.node.defaultChild as CfnResource, this));
  }
}

/**
 * Makes `resource` depend on every other resource of its stack (those of `own`, which it references
 * anyway, aside), whoever adds them and whenever: it is then created last and deleted first.
 */
class DependsOnEverythingElse implements IAspect {
  constructor(private readonly resource: CfnResource, private readonly own: IConstruct) {}

  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource) || node === this.resource) return;
    if (Stack.of(node) !== Stack.of(this.resource) || node.node.scopes.includes(this.own)) return;
    // Another cluster's protection (sharded clusters) waits for everything else too: depending on each other would be a cycle.
    if (node.node.scopes.some((s) => s instanceof AuroraDeletionProtection)) return;
    this.resource.addResourceDependency(node);
  }
}
