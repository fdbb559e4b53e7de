import { Annotations, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AlarmsConfig, AlbConfig, ApiConfig, ComputeConfig, HttpServiceConfig, RouteConfig, SloConfig, StatefulConfig } from '../config/schema';
import { isExampleCertificateArn } from '../config/schema/alb-security';
import { API_SERVICE_NAME } from '../config/schema/routes';
import { closeDefaultEgress } from './egress';
import { addServiceDeployments } from './deployment-strategy';
import type { DataTier } from './data-access';
import { HttpService } from './http-service';
import { removalPolicyFor } from './removal-policy';
import { guardException } from './guard';
import { serviceIdOf } from './naming';
import { LoadBalancerWebAcl } from './waf';

export interface WebServiceProps {
  readonly cluster: ecs.ICluster;
  readonly tier: DataTier;
  readonly api: ApiConfig;
  /** The HTTP services besides the API (`services`), each with its own target group. */
  readonly services: readonly HttpServiceConfig[];
  readonly alb: AlbConfig;
  /** The VPC's CIDR (`network.cidr`), where the load balancer's nodes are: the services trust X-Forwarded-For from it. */
  readonly vpcCidr: string;
  readonly compute: ComputeConfig;
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** Deletion protection on the load balancer. */
  readonly production: boolean;
  /** Which KPI alarms exist, for the deployment strategies' rollback alarms. */
  readonly alarms: AlarmsConfig;
  readonly slo: SloConfig;
}

/**
 * The HTTPS listener's security policy: TLS 1.3 and 1.2 with hybrid post-quantum key exchange (ML-KEM), and
 * the restricted cipher list (no CBC), the policy AWS recommends
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html). AWS
 * documents no region without the PQ policies (the page lists them for every region, and the China
 * partition's copy names this one the console's default), so there is no fallback. Clients without ML-KEM
 * negotiate classical key exchange; TLS 1.2 clients without AES-GCM (none of the current browsers, SDKs or
 * curl) cannot connect.
 */
export const HTTPS_SSL_POLICY = elbv2.SslPolicy.TLS13_12_RES_PQ;

/**
 * Response headers the HTTPS listener adds to every response, as listener attributes
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html#insert-header;
 * the keys: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-elasticloadbalancingv2-listener-listenerattribute.html).
 * HSTS for a year, for this host only: `includeSubDomains` would bind every subdomain of the API's domain to
 * HTTPS, which is the domain owner's decision. Browsers ignore HSTS received over plain HTTP (RFC 6797
 * §8.1), so the HTTP-only listener of a development environment gets neither.
 */
const HTTPS_RESPONSE_HEADERS = {
  'routing.http.response.strict_transport_security.header_value': 'max-age=31536000',
  'routing.http.response.x_content_type_options.header_value': 'nosniff',
} as const;

/** Listener rule priority of `alb.blockedPaths`: before every `alb.routes` entry (those start at 2). */
export const BLOCKED_PATHS_PRIORITY = 1;

const DESYNC: Record<AlbConfig['desyncMitigationMode'], elbv2.DesyncMitigationMode> = {
  monitor: elbv2.DesyncMitigationMode.MONITOR,
  defensive: elbv2.DesyncMitigationMode.DEFENSIVE,
  strictest: elbv2.DesyncMitigationMode.STRICTEST,
};

/**
 * The public entry: an internet-facing ALB in the public subnets over the HTTP services (HttpService: the API,
 * and each entry of `services`) as Fargate services in the app subnets.
 *
 * - HTTPS on 443 (HTTPS_SSL_POLICY, HSTS and nosniff headers) and port 80 answering 301 to it when a
 *   certificate is configured, which production must have (the config loader refuses it otherwise); plain
 *   HTTP on 80 without one, with a synth note (info annotation) that says so.
 * - `alb.blockedPaths` answered 404 by the load balancer itself, before any route; the target groups' health
 *   checks go straight to the targets and are not affected. `alb.waf` puts an AWS WAF web ACL in front
 *   (LoadBalancerWebAcl).
 * - `alb.routes`: listener rules with any ALB condition (path, host, header, query string, method, source
 *   address) and one action each: forward to a service, weighted across services' target groups, redirect, or
 *   fixed response. The listener's default action forwards to `alb.defaultService` ("" answers 404).
 * - Invalid header fields dropped, desync mitigation, access logs to an encrypted bucket that expires them.
 * - The API keeps the construct ids it had before there were other services (its HttpService is this
 *   construct's `Default` child, which CDK leaves out of logical ids), so its resources are not replaced.
 */
export class WebService extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly accessLogBucket: s3.Bucket;
  /** The API. */
  readonly api: HttpService;
  /** Every HTTP service by name: "api" first, then `services` in their order. */
  readonly httpServices: ReadonlyMap<string, HttpService>;
  /** The API's target group (`api.targetGroup`). */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The API's Fargate service (`api.service`). */
  readonly service: ecs.FargateService;
  /** The API's scalable task count (`api.scaling`). */
  readonly scaling: ecs.ScalableTaskCount;

  constructor(scope: Construct, id: string, props: WebServiceProps) {
    super(scope, id);
    const { api, alb, cluster } = props;
    const vpc = cluster.vpc;
    const shared = {
      cluster, tier: props.tier, compute: props.compute, logKey: props.logKey, removalPolicy: props.removalPolicy,
      albIdleTimeoutSeconds: alb.idleTimeoutSeconds, vpcCidr: props.vpcCidr,
    };
    // "Default": CDK leaves the id out of the children's logical ids, so the API's resources keep theirs.
    this.api = new HttpService(this, 'Default', {
      ...shared, name: API_SERVICE_NAME, configPath: 'api', service: api, targetGroup: alb, taskId: 'Api', policyNamePrefix: id,
      securityGroupDescription: 'API tasks: from the load balancer; HTTPS, database and cache out',
    });
    const services = new Map<string, HttpService>([[API_SERVICE_NAME, this.api]]);
    props.services.forEach((svc, i) => {
      const pascal = serviceIdOf(svc.name);
      services.set(svc.name, new HttpService(this, `${pascal}Service`, {
        ...shared, name: svc.name, configPath: `services.${i}`, service: svc, targetGroup: svc.targetGroup, taskId: pascal,
        policyNamePrefix: `${id}${pascal}`,
        securityGroupDescription: `${svc.name} tasks: from the load balancer; HTTPS, database and cache out`,
      }));
    });
    this.httpServices = services;
    this.targetGroup = this.api.targetGroup;
    this.service = this.api.service;
    this.scaling = this.api.scaling;

    this.accessLogBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED, // ALB access logs support only SSE-S3
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [{
        id: 'expire-access-logs',
        expiration: Duration.days(alb.accessLogRetentionDays),
        noncurrentVersionExpiration: Duration.days(1),
        expiredObjectDeleteMarker: false,
        abortIncompleteMultipartUploadAfter: Duration.days(1),
      }],
      removalPolicy: removalPolicyFor(props.removalPolicy),
      autoDeleteObjects: removalPolicyFor(props.removalPolicy) === RemovalPolicy.DESTROY,
    });

    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, 'LoadBalancer', {
      vpc,
      internetFacing: true,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      idleTimeout: Duration.seconds(alb.idleTimeoutSeconds),
      dropInvalidHeaderFields: true,
      desyncMitigationMode: DESYNC[alb.desyncMitigationMode],
      deletionProtection: props.production,
      http2Enabled: true,
      // alb.minimumCapacityUnits: an LCU reservation (MinimumLoadBalancerCapacity) for known peaks; 0 sets none.
      minimumCapacityUnit: alb.minimumCapacityUnits || undefined,
    });
    this.loadBalancer.logAccessLogs(this.accessLogBucket, 'alb');
    Validations.of(this.accessLogBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason: 'This bucket holds the load balancer access logs; logging access to it would need yet another bucket, and so on.',
    });
    const exceptions: Array<[string, string]> = [
      ['CT.S3.PR.2', 'This bucket holds the load balancer access logs; logging access to it would need yet another bucket, and so on.'],
      ['CT.S3.PR.10', 'Elastic Load Balancing writes access logs only to buckets encrypted with SSE-S3; with a KMS key the load balancer fails to deliver them (ELB User Guide, "Access logs for your Application Load Balancer").'],
      ['CT.S3.PR.4', 'Nothing reacts to new access-log objects; event notifications would add a notification handler with no consumer.'],
      ['CT.S3.PR.9', 'Access logs expire after alb.accessLogRetentionDays by lifecycle rule and nothing writes them but the load balancer; Object Lock would also keep `destroy` environments from deleting the bucket.'],
    ];
    for (const [rule, reason] of exceptions) guardException(this.accessLogBucket, rule, reason);
    if (!props.production) {
      guardException(this.loadBalancer, 'CT.ELASTICLOADBALANCING.PR.5',
        'Deletion protection is on in production only: the Compute stack of other environments must be destroyable and recreatable at will.');
    }
    Validations.of(this.loadBalancer).acknowledge({
      id: 'AwsSolutions-EC23',
      reason: 'The public load balancer must accept 0.0.0.0/0 on its listener ports (80, and 443 with a certificate); nothing else is open to the internet.',
    });

    this.listener = this.addListeners(alb);
    for (const http of services.values()) http.scaleOnRequests();
    // How each service deploys a new revision: rolling, or blue/green, canary, linear on its production rule.
    addServiceDeployments({
      services: [{ name: API_SERVICE_NAME, deployment: api.deployment }, ...props.services].map(({ name, deployment }) => ({ name, deployment, http: this.serviceNamed(name) })),
      defaultService: alb.defaultService, listener: this.listener, loadBalancer: this.loadBalancer, https: alb.certificateArn !== '',
      logKey: props.logKey, logRetentionDays: props.compute.logRetentionDays, removalPolicy: props.removalPolicy, alarms: props.alarms, slo: props.slo,
    });
    if (alb.waf.enabled) {
      new LoadBalancerWebAcl(this, 'Waf', {
        loadBalancer: this.loadBalancer, waf: alb.waf, blockedPaths: alb.blockedPaths, logKey: props.logKey, removalPolicy: props.removalPolicy,
      });
    }
    // The group's only egress ("Load balancer to target") is a separate AWS::EC2::SecurityGroupEgress resource,
    // so without this EC2 would also give it its allow-all rule (lib/constructs/egress.ts says why).
    closeDefaultEgress(this.loadBalancer.connections.securityGroups[0] as ec2.SecurityGroup);
  }

  /**
   * HTTPS with a redirect from HTTP when there is a certificate, else HTTP, its default action forwarding to
   * `alb.defaultService` (404 for ""); then the blocked paths and the routes.
   */
  private addListeners(alb: AlbConfig): elbv2.ApplicationListener {
    const notFound = elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: '{"error":"not found"}' });
    const defaultAction = alb.defaultService === '' ? notFound : elbv2.ListenerAction.forward([this.serviceNamed(alb.defaultService).targetGroup]);
    let listener: elbv2.ApplicationListener;
    if (alb.certificateArn) {
      listener = this.loadBalancer.addListener('Https', {
        protocol: elbv2.ApplicationProtocol.HTTPS,
        port: 443,
        certificates: [elbv2.ListenerCertificate.fromArn(alb.certificateArn)],
        sslPolicy: HTTPS_SSL_POLICY,
        defaultAction,
      });
      for (const [key, value] of Object.entries(HTTPS_RESPONSE_HEADERS)) listener.setAttribute(key, value);
      // addRedirect answers 301 (permanent): clients and caches remember to use HTTPS.
      this.loadBalancer.addRedirect({ sourceProtocol: elbv2.ApplicationProtocol.HTTP, sourcePort: 80, targetProtocol: elbv2.ApplicationProtocol.HTTPS, targetPort: 443 });
      if (isExampleCertificateArn(alb.certificateArn)) {
        Annotations.of(listener).addInfo(
          `alb.certificateArn is the shipped example (${alb.certificateArn}), which exists in no account: replace it with your ACM certificate before deploying. \`npm run preflight\` refuses it; CloudFormation would fail creating this listener.`);
      }
    } else {
      listener = this.loadBalancer.addListener('Http', { protocol: elbv2.ApplicationProtocol.HTTP, port: 80, defaultAction });
      // Production never gets here: the config loader requires alb.certificateArn there.
      guardException(listener, 'CT.ELASTICLOADBALANCING.PR.1',
        'No certificate is configured (alb.certificateArn is empty) in this non-production environment, so port 80 serves the API; production requires a certificate (config loader), and then this listener redirects to HTTPS.');
      Annotations.of(listener).addInfo(
        'alb.certificateArn is empty: the API is served over plain HTTP on port 80, unencrypted. Acceptable for development only; production requires a certificate.');
    }
    if (alb.blockedPaths.length > 0) {
      new elbv2.ApplicationListenerRule(this, 'BlockedPaths', {
        listener,
        priority: BLOCKED_PATHS_PRIORITY,
        conditions: [elbv2.ListenerCondition.pathPatterns([...alb.blockedPaths])],
        action: notFound,
      });
    }
    for (const route of alb.routes) {
      const rule = new elbv2.ApplicationListenerRule(this, `Route${route.priority}`, {
        listener,
        priority: route.priority,
        conditions: listenerConditions(route),
        action: this.listenerAction(route.action),
      });
      for (const target of route.action.forward ?? []) this.serviceNamed(target.service).listenerRules.push(rule);
    }
    return listener;
  }

  /**
   * A route's action. A forward to one service is a plain forward; to several, a weighted forward, with target
   * group stickiness when the route sets it (the loader requires it where a target group in it is sticky).
   * https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html
   */
  private listenerAction(action: RouteConfig['action']): elbv2.ListenerAction {
    if (action.forward && action.forward.length === 1) return elbv2.ListenerAction.forward([this.serviceNamed(action.forward[0].service).targetGroup]);
    if (action.forward) {
      return elbv2.ListenerAction.weightedForward(
        action.forward.map((f) => ({ targetGroup: this.serviceNamed(f.service).targetGroup, weight: f.weight })),
        action.stickinessSeconds ? { stickinessDuration: Duration.seconds(action.stickinessSeconds) } : {});
    }
    if (action.redirect) {
      const { protocol, host, port, path, query, permanent } = action.redirect;
      return elbv2.ListenerAction.redirect({ protocol, host, port, path, query, permanent });
    }
    const fixed = action.fixedResponse!;
    return elbv2.ListenerAction.fixedResponse(fixed.statusCode, { contentType: fixed.contentType, messageBody: fixed.messageBody });
  }

  /** The HTTP service of a name the config loader has checked. */
  private serviceNamed(name: string): HttpService {
    const service = this.httpServices.get(name);
    if (!service) throw new Error(`No HTTP service "${name}": the config loader should have refused the route (lib/config/rules/routes.ts)`);
    return service;
  }
}

/**
 * A route's conditions as ALB conditions, all of which must hold: one per key, except one http-header condition
 * per header (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html).
 * A query-string pair with key "" matches the value under any key.
 */
function listenerConditions(route: RouteConfig): elbv2.ListenerCondition[] {
  const conditions: elbv2.ListenerCondition[] = [];
  if (route.pathPatterns) conditions.push(elbv2.ListenerCondition.pathPatterns([...route.pathPatterns]));
  if (route.hostHeaders) conditions.push(elbv2.ListenerCondition.hostHeaders([...route.hostHeaders]));
  for (const header of route.httpHeaders ?? []) conditions.push(elbv2.ListenerCondition.httpHeader(header.name, [...header.values]));
  if (route.queryStrings) conditions.push(elbv2.ListenerCondition.queryStrings(route.queryStrings.map((q) => ({ key: q.key || undefined, value: q.value }))));
  if (route.httpRequestMethods) conditions.push(elbv2.ListenerCondition.httpRequestMethods([...route.httpRequestMethods]));
  if (route.sourceIps) conditions.push(elbv2.ListenerCondition.sourceIps([...route.sourceIps]));
  return conditions;
}
