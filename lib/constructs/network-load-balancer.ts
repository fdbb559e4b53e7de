import { Annotations, Duration, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AlbConfig, NlbConfig } from '../config/schema';
import { isExampleCertificateArn } from '../config/schema/alb-security';
import { closeDefaultEgress } from './egress';
import { guardException } from './guard';
import { HTTPS_SSL_POLICY } from './web-service';

/**
 * The TLS listener's security policy: the ALB's, TLS 1.3 and 1.2 with hybrid post-quantum key exchange. The
 * Network Load Balancer offers the same PQ policies; its console's default is this one
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/describe-ssl-policies.html); CloudFormation's
 * default would be ELBSecurityPolicy-2016-08, which still allows TLS 1.0.
 */
const NLB_SSL_POLICY = HTTPS_SSL_POLICY;

/** The target group attributes that make source-IP affinity (NLB target group attributes, "Sticky sessions"). */
export const SOURCE_IP_STICKINESS = { 'stickiness.enabled': 'true', 'stickiness.type': 'source_ip' } as const;

export interface NetworkLoadBalancerFrontProps {
  readonly vpc: ec2.IVpc;
  /** The API service: the NLB's target group becomes a second target group of it, beside the ALB's. */
  readonly service: ecs.FargateService;
  readonly containerName: string;
  readonly containerPort: number;
  readonly nlb: NlbConfig;
  /** The ALB's health check: the NLB checks the same path on the same tasks, over HTTP. */
  readonly healthCheck: AlbConfig['healthCheck'];
  /** The ALB's access-log bucket (SSE-S3, expiring): the NLB writes its TLS access logs under `nlb/`. */
  readonly accessLogBucket: s3.IBucket;
  /** Deletion protection on the load balancer. */
  readonly production: boolean;
}

/**
 * An internet-facing Network Load Balancer beside the ALB, over the same API tasks: source-IP affinity and a
 * layer-4 path for clients the ALB does not suit (TCP, gRPC streams that should stay on one task, clients that
 * cannot keep a cookie). The ALB stays the main entry, with WAF, routes and the KPIs; docs/scaling.md compares
 * the two.
 *
 * - TLS listener on `nlb.listenerPort` with `nlb.certificateArn` and NLB_SSL_POLICY; TLS ends at the NLB and
 *   plain TCP goes to the container port, as the ALB's HTTP does. Stickiness needs this: "Sticky sessions are
 *   not supported with TLS listeners when used together with TLS target groups", and the target group here
 *   is TCP (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#sticky-sessions).
 * - Target group: IP targets (awsvpc tasks), stickiness.type = source_ip where `nlb.stickiness`. NLB keeps a
 *   client on a target while the target is healthy and registered: a health change, a scale-out or a deploy
 *   may move clients (same page), so affinity is an optimisation, never where state must live.
 * - Client IP preservation is off, which is the default for IP targets over TCP and set explicitly here: the
 *   tasks see the NLB's private address, so their security group admits the NLB's security group, not the
 *   internet ("If your target type is an IP address, then the client IP preservation setting is turned off
 *   [...] allowlist the load balancer's private IP addresses or the load balancer's security group on the
 *   target's security group", https://repost.aws/knowledge-center/security-group-load-balancer; defaults:
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/network/edit-target-group-attributes.html#client-ip-preservation).
 *   Stickiness still works on the client's address: the NLB chooses the target before it rewrites the source.
 * - A security group on the NLB (NLB security groups can only be set when it is created: "if you create a
 *   Network Load Balancer without security groups, you can't associate security groups later",
 *   https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-security-groups.html):
 *   the listener port from `nlb.allowedCidrs` in, the container port to the tasks out, nothing else.
 * - Cross-zone load balancing on (Control Tower CT.ELASTICLOADBALANCING.PR.14): an NLB node otherwise sends
 *   only to the tasks of its own zone, so a zone with fewer tasks would get the same share of clients.
 * - Access logs of the TLS listener (the only kind NLB writes) into the ALB's bucket, under `nlb/`.
 * - Deletion protection in production, as the ALB has it.
 * - No LCU reservation: "LCU reservation is not supported on Network Load Balancers using TLS listeners"
 *   (https://docs.aws.amazon.com/elasticloadbalancing/latest/network/request-capacity-unit-reservation.html).
 */
export class NetworkLoadBalancerFront extends Construct {
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly listener: elbv2.NetworkListener;
  readonly targetGroup: elbv2.NetworkTargetGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: NetworkLoadBalancerFrontProps) {
    super(scope, id);
    const { nlb, vpc } = props;
    if (!nlb.certificateArn) {
      // The config loader refuses this first (lib/config/rules/nlb.ts); a caller bypassing it gets the same fix.
      throw new Error('NetworkLoadBalancerFront: nlb.certificateArn is empty; the TLS listener needs an ACM certificate');
    }

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description: `Network Load Balancer: TLS ${nlb.listenerPort} in from nlb.allowedCidrs, the API port out to its tasks`,
      allowAllOutbound: false,
    });
    for (const cidr of nlb.allowedCidrs) {
      this.securityGroup.addIngressRule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(nlb.listenerPort), `TLS clients from ${cidr}`);
    }
    if (nlb.allowedCidrs.includes('0.0.0.0/0')) {
      Validations.of(this.securityGroup).acknowledge({
        id: 'AwsSolutions-EC23',
        reason: `nlb.allowedCidrs includes 0.0.0.0/0: the NLB is a public entry for internet clients on its TLS listener port (${nlb.listenerPort}) only; narrow nlb.allowedCidrs when the clients are known.`,
      });
    }

    this.loadBalancer = new elbv2.NetworkLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      securityGroups: [this.securityGroup],
      crossZoneEnabled: true,
      deletionProtection: props.production,
    });
    this.loadBalancer.logAccessLogs(props.accessLogBucket, 'nlb');
    if (!props.production) {
      // The control's rule checks every ELBv2 load balancer, the network kind too.
      guardException(this.loadBalancer, 'CT.ELASTICLOADBALANCING.PR.5',
        'Deletion protection is on in production only: the Compute stack of other environments must be destroyable and recreatable at will, the NLB with it.');
    }

    this.targetGroup = new elbv2.NetworkTargetGroup(this, 'TargetGroup', {
      vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.Protocol.TCP,
      port: props.containerPort,
      preserveClientIp: false,
      deregistrationDelay: Duration.seconds(nlb.deregistrationDelaySeconds),
      healthCheck: {
        protocol: elbv2.Protocol.HTTP,
        path: props.healthCheck.path,
        interval: Duration.seconds(props.healthCheck.intervalSeconds),
        timeout: Duration.seconds(props.healthCheck.timeoutSeconds),
        healthyThresholdCount: props.healthCheck.healthyThresholdCount,
        unhealthyThresholdCount: props.healthCheck.unhealthyThresholdCount,
        healthyHttpCodes: props.healthCheck.healthyHttpCodes,
      },
      targets: [props.service.loadBalancerTarget({ containerName: props.containerName, containerPort: props.containerPort })],
    });
    if (nlb.stickiness) {
      for (const [key, value] of Object.entries(SOURCE_IP_STICKINESS)) this.targetGroup.setAttribute(key, value);
    }

    this.listener = this.loadBalancer.addListener('Tls', {
      port: nlb.listenerPort,
      protocol: elbv2.Protocol.TLS,
      certificates: [elbv2.ListenerCertificate.fromArn(nlb.certificateArn)],
      sslPolicy: NLB_SSL_POLICY,
      defaultAction: elbv2.NetworkListenerAction.forward([this.targetGroup]),
    });
    if (isExampleCertificateArn(nlb.certificateArn)) {
      Annotations.of(this.listener).addInfo(
        `nlb.certificateArn is the shipped example (${nlb.certificateArn}), which exists in no account: replace it with your ACM certificate before deploying.`);
    }

    // The edges, both ways: the NLB's group may reach the tasks on the container port (health checks too, on
    // the same port), and the tasks' group admits it. Nothing else reaches the tasks from the NLB.
    props.service.connections.allowFrom(this.securityGroup, ec2.Port.tcp(props.containerPort), 'From the Network Load Balancer');
    closeDefaultEgress(this.securityGroup);
  }
}
