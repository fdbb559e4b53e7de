import { type IResolvable, type IResolveContext, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';

/**
 * An outbound rule no packet matches: 255.255.255.255/32 is no host's address, and ICMP type 252 code 86 is
 * no message. It is the rule aws-cdk-lib itself writes into a group created with `allowAllOutbound: false`.
 */
export const NO_TRAFFIC_EGRESS: ec2.CfnSecurityGroup.EgressProperty = {
  cidrIp: '255.255.255.255/32',
  description: 'Disallow all traffic',
  ipProtocol: 'icmp',
  fromPort: 252,
  toPort: 86,
};

/**
 * Keeps a security group's outbound traffic to the rules it is given, once it is deployed.
 *
 * EC2 gives a new group a rule that allows all outbound traffic unless the AWS::EC2::SecurityGroup resource
 * itself lists egress rules (CloudFormation, AWS::EC2::SecurityGroup: "When you create a security group, if
 * you do not add egress rules, we add egress rules that allow all outbound IPv4 and IPv6 traffic. Otherwise,
 * we do not add them." https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroup.html).
 * A rule towards another security group is written as a separate AWS::EC2::SecurityGroupEgress resource, and
 * that resource only "adds the specified outbound (egress) rule"
 * (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-ec2-securitygroupegress.html).
 * aws-cdk-lib nonetheless drops its no-traffic rule from the group as soon as any egress rule is added, the
 * separate kind included, on the assumption that such a rule also removes EC2's default (aws/aws-cdk#998,
 * from 2018; not what the CloudFormation reference says). A group whose only egress rules point at other
 * groups (the RDS Proxy's: to the cluster) is then written with no egress of its own.
 *
 * This keeps the no-traffic rule in the group's own `SecurityGroupEgress` whenever nothing else is there, so
 * EC2 never adds its allow-all rule and the group allows exactly its separate rules, whichever way the
 * separate resources behave. Rules that aws-cdk-lib writes inline (CIDR peers) are kept as they are.
 */
export function closeDefaultEgress(group: ec2.SecurityGroup): void {
  if (group.allowAllOutbound) {
    throw new Error(`closeDefaultEgress(${group.node.path}): the group allows all outbound traffic (allowAllOutbound); create it with allowAllOutbound: false`);
  }
  const cfn = group.node.defaultChild as ec2.CfnSecurityGroup;
  cfn.securityGroupEgress = new InlineEgressOrNone(cfn.securityGroupEgress);
}

/** What aws-cdk-lib renders inline (resolved when the template is written), or the no-traffic rule. */
class InlineEgressOrNone implements IResolvable {
  readonly creationStack: string[] = [];

  constructor(private readonly inline: unknown) {}

  resolve(context: IResolveContext): unknown {
    const rules = context.resolve(this.inline) as unknown;
    return Array.isArray(rules) && rules.length > 0 ? rules : [NO_TRAFFIC_EGRESS];
  }

  toString(): string {
    return Token.asString(this);
  }
}
