import { Annotations, Duration, RemovalPolicy, TimeZone, Validations, type CfnResource } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { processesForCpu } from '../config/capacity';
import type { AlbConfig, ApiConfig, ComputeConfig, StatefulConfig } from '../config/schema';
import { isExampleCertificateArn } from '../config/schema/alb-security';
import { AppTask, serviceDefaults } from './app-task';
import { closeDefaultEgress } from './egress';
import { connectToDataTier, dataTierSettings, type DataTier } from './data-access';
import { removalPolicyFor } from './removal-policy';
import { guardException } from './guard';
import { LoadBalancerWebAcl } from './waf';
import { apiTimeoutsForAlb } from '../contracts/container-env';

export interface WebServiceProps {
  readonly cluster: ecs.ICluster;
  readonly tier: DataTier;
  readonly api: ApiConfig;
  readonly alb: AlbConfig;
  readonly compute: ComputeConfig;
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** Deletion protection on the load balancer. */
  readonly production: boolean;
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
export const HTTPS_RESPONSE_HEADERS = {
  'routing.http.response.strict_transport_security.header_value': 'max-age=31536000',
  'routing.http.response.x_content_type_options.header_value': 'nosniff',
} as const;

/** Listener rule priority of `alb.blockedPaths`: before every `alb.routes` entry (those start at 2). */
export const BLOCKED_PATHS_PRIORITY = 1;

const ALGORITHMS: Record<AlbConfig['routingAlgorithm'], elbv2.TargetGroupLoadBalancingAlgorithmType> = {
  round_robin: elbv2.TargetGroupLoadBalancingAlgorithmType.ROUND_ROBIN,
  least_outstanding_requests: elbv2.TargetGroupLoadBalancingAlgorithmType.LEAST_OUTSTANDING_REQUESTS,
  weighted_random: elbv2.TargetGroupLoadBalancingAlgorithmType.WEIGHTED_RANDOM,
};

const DESYNC: Record<AlbConfig['desyncMitigationMode'], elbv2.DesyncMitigationMode> = {
  monitor: elbv2.DesyncMitigationMode.MONITOR,
  defensive: elbv2.DesyncMitigationMode.DEFENSIVE,
  strictest: elbv2.DesyncMitigationMode.STRICTEST,
};

/**
 * The public entry: an internet-facing ALB in the public subnets over the API as a Fargate service in the
 * app subnets.
 *
 * - HTTPS on 443 (HTTPS_SSL_POLICY, HSTS and nosniff headers) and port 80 answering 301 to it when a
 *   certificate is configured, which production must have (the config loader refuses it otherwise); plain
 *   HTTP on 80 without one, with a synth note (info annotation) that says so.
 * - `alb.blockedPaths` answered 404 by the load balancer itself, before any route; the target group's health
 *   checks go straight to the targets and are not affected. `alb.waf` puts an AWS WAF web ACL in front
 *   (LoadBalancerWebAcl).
 * - Target group from `alb.*`: health check, routing algorithm, anomaly mitigation, stickiness, slow start,
 *   deregistration delay; optional path rules with a fixed 404 for everything else.
 * - Invalid header fields dropped, desync mitigation, access logs to an encrypted bucket that expires them.
 * - Autoscaling from `api.*`: target tracking on CPU, memory and requests per target, separate cooldowns,
 *   scheduled ranges; CPU and memory on 20-second metrics where `api.metricResolutionSeconds` is 20;
 *   predictive scaling where `api.predictiveScaling` is on.
 * - One Node.js process per vCPU in each task (WORKLOAD_PROCESSES), the count the connection budget uses.
 * - Rolling deploys with the circuit breaker rolling back a deploy that does not stabilise; no desired
 *   count in the template, so a deploy does not reset what autoscaling chose.
 */
export class WebService extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly listener: elbv2.ApplicationListener;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly service: ecs.FargateService;
  readonly scaling: ecs.ScalableTaskCount;
  readonly accessLogBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: WebServiceProps) {
    super(scope, id);
    const { api, alb, cluster } = props;
    const vpc = cluster.vpc;

    const dataTier = dataTierSettings(this, props.tier, api.dbPoolSize);
    const task = new AppTask(this, 'Api', {
      service: 'api',
      // The reference image forks this many processes on one port; each opens its own pools, which is why the
      // loader's connection budget multiplies by the same function of api.cpu.
      environment: { ...dataTier.environment, WORKLOAD_PROCESSES: String(processesForCpu(api.cpu)), ...apiTimeoutsForAlb(alb.idleTimeoutSeconds) },
      cpu: api.cpu,
      memoryMiB: api.memoryMiB,
      image: api.image,
      compute: props.compute,
      logKey: props.logKey,
      removalPolicy: props.removalPolicy,
      containerPort: api.containerPort,
      healthCheckCommand: api.containerHealthCheckCommand,
    });

    this.service = new ecs.FargateService(this, 'Service', {
      ...serviceDefaults(this, cluster, task.taskDefinition, 'API tasks: from the load balancer; HTTPS, database and cache out'),
      minHealthyPercent: api.minHealthyPercent,
      maxHealthyPercent: api.maxHealthyPercent,
      healthCheckGracePeriod: Duration.seconds(api.healthCheckGracePeriodSeconds),
    });
    connectToDataTier(this.service, props.tier, 'API');
    props.tier.jobs.grantSend(task.taskDefinition.taskRole);

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

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, 'TargetGroup', {
      vpc,
      targetType: elbv2.TargetType.IP,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: api.containerPort,
      targets: [this.service.loadBalancerTarget({ containerName: task.container.containerName, containerPort: api.containerPort })],
      healthCheck: {
        path: alb.healthCheck.path,
        interval: Duration.seconds(alb.healthCheck.intervalSeconds),
        timeout: Duration.seconds(alb.healthCheck.timeoutSeconds),
        healthyThresholdCount: alb.healthCheck.healthyThresholdCount,
        unhealthyThresholdCount: alb.healthCheck.unhealthyThresholdCount,
        healthyHttpCodes: alb.healthCheck.healthyHttpCodes,
      },
      loadBalancingAlgorithmType: ALGORITHMS[alb.routingAlgorithm],
      enableAnomalyMitigation: alb.anomalyMitigation || undefined,
      slowStart: alb.slowStartSeconds > 0 ? Duration.seconds(alb.slowStartSeconds) : undefined,
      deregistrationDelay: Duration.seconds(alb.deregistrationDelaySeconds),
      ...(alb.stickiness.mode !== 'off' && { stickinessCookieDuration: Duration.seconds(alb.stickiness.durationSeconds) }),
      ...(alb.stickiness.mode === 'app_cookie' && { stickinessCookieName: alb.stickiness.cookieName }),
    });

    this.listener = this.addListeners(alb);
    if (alb.waf.enabled) {
      new LoadBalancerWebAcl(this, 'Waf', {
        loadBalancer: this.loadBalancer, waf: alb.waf, blockedPaths: alb.blockedPaths, logKey: props.logKey, removalPolicy: props.removalPolicy,
      });
    }
    // The group's only egress ("Load balancer to target") is a separate AWS::EC2::SecurityGroupEgress resource,
    // so without this EC2 would also give it its allow-all rule (lib/constructs/egress.ts says why).
    closeDefaultEgress(this.loadBalancer.connections.securityGroups[0] as ec2.SecurityGroup);
    this.scaling = this.addAutoscaling(api);
  }

  /** HTTPS with a redirect from HTTP when there is a certificate, else HTTP; then the blocked paths and the routes. */
  private addListeners(alb: AlbConfig): elbv2.ApplicationListener {
    const routed = alb.routes.length > 0;
    const notFound = elbv2.ListenerAction.fixedResponse(404, { contentType: 'application/json', messageBody: '{"error":"not found"}' });
    const defaultAction = routed ? notFound : elbv2.ListenerAction.forward([this.targetGroup]);
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
      new elbv2.ApplicationListenerRule(this, `Route${route.priority}`, {
        listener,
        priority: route.priority,
        conditions: [elbv2.ListenerCondition.pathPatterns([...route.pathPatterns])],
        action: elbv2.ListenerAction.forward([this.targetGroup]),
      });
    }
    return listener;
  }

  /**
   * Three target-tracking policies (the largest desired count wins), predictive scaling when configured, and
   * the scheduled ranges.
   */
  private addAutoscaling(api: ApiConfig): ecs.ScalableTaskCount {
    const scaling = this.service.autoScaleTaskCount({ minCapacity: api.minTasks, maxCapacity: api.maxTasks });
    // ScalableTaskCount keeps its scalable target to itself; its policies are created on it (scaling/Target/<id>),
    // so tracking a metric the L2 enum does not name, on the same target, keeps the policies' logical ids.
    const target = scaling.node.findChild('Target') as appscaling.ScalableTarget;
    const cooldowns = {
      scaleOutCooldown: Duration.seconds(api.scaleOutCooldownSeconds),
      scaleInCooldown: Duration.seconds(api.scaleInCooldownSeconds),
    };
    const highResolution = api.metricResolutionSeconds === HIGH_RESOLUTION_SECONDS;
    if (highResolution) this.publishHighResolutionMetrics();
    const metrics = highResolution ? HIGH_RESOLUTION_METRICS : STANDARD_METRICS;
    const cpu = target.scaleToTrackMetric('CpuTracking', { predefinedMetric: metrics.cpu, targetValue: api.targetCpuUtilizationPercent, ...cooldowns });
    const memory = target.scaleToTrackMetric('MemoryTracking', { predefinedMetric: metrics.memory, targetValue: api.targetMemoryUtilizationPercent, ...cooldowns });
    if (highResolution) {
      for (const [policy, type] of [[cpu, metrics.cpu], [memory, metrics.memory]] as const) {
        lintException(policy.node.defaultChild as CfnResource, 'E3030',
          `PredefinedMetricType ${type} (api.metricResolutionSeconds 20) is documented by Application Auto Scaling (API_PredefinedMetricSpecification); cfn-lint 1.51's enum of the property does not list it yet.`);
      }
    }
    scaling.scaleOnRequestCount('RequestTracking', { requestsPerTarget: api.requestsPerTarget, targetGroup: this.targetGroup, ...cooldowns });
    if (api.predictiveScaling !== 'off') this.addPredictiveScaling(target, api.predictiveScaling, api.targetCpuUtilizationPercent);
    for (const entry of api.scheduledScaling) {
      scaling.scaleOnSchedule(`Schedule-${entry.name}`, {
        schedule: appscaling.Schedule.expression(entry.schedule),
        timeZone: TimeZone.of(entry.timeZone),
        minCapacity: entry.minTasks,
        maxCapacity: entry.maxTasks,
      });
    }
    return scaling;
  }

  /**
   * Has ECS publish the service's CPUUtilization and MemoryUtilization every 20 seconds, for the CPU and memory
   * policies to track with HIGH_RESOLUTION_METRICS. ECS: "By default, Amazon ECS publishes CPUUtilization and
   * MemoryUtilization metrics at 60-second resolution. You can configure 20-second resolution to drive faster
   * service auto scaling", through the service's MonitoringConfiguration, and target tracking then uses
   * ECSServiceAverageCPUUtilizationHighResolution / ECSServiceAverageMemoryUtilizationHighResolution
   * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/target-tracking-faster-auto-scaling.html).
   * Application Auto Scaling: "You must enable high-resolution metrics in Amazon ECS before creating a scaling
   * policy with this metric type"
   * (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html):
   * the policies reference the scalable target, which references the service, so CloudFormation creates and
   * updates the service first.
   *
   * Neither has a place in the L2 yet: the service's `Monitoring` is set on the L1 (CfnService.monitoring),
   * and the two metric types, absent from appscaling.PredefinedMetric, are passed as that type. cfn-lint
   * (1.51) knows neither; each finding is ignored on exactly the resource that has it, with the reason.
   */
  private publishHighResolutionMetrics(): void {
    const service = this.service.node.defaultChild as ecs.CfnService;
    service.monitoring = { metricConfigurations: [{ metricNames: ['CPUUtilization', 'MemoryUtilization'], resolutionSeconds: HIGH_RESOLUTION_SECONDS }] };
    lintException(service, 'E3002',
      'Monitoring (20-second CPUUtilization and MemoryUtilization, api.metricResolutionSeconds 20) is a property of AWS::ECS::Service in the CloudFormation resource schema (aws-cdk-lib CfnService.monitoring); cfn-lint 1.51\'s schema of the resource does not list it yet.');
  }

  /**
   * A predictive scaling policy on the API's scalable target (`api.predictiveScaling`). From up to 14 days of
   * the service's history (24 hours at least) it forecasts the next 48 hours, hourly, and in ForecastAndScale
   * mode raises the task count ahead of the forecast; it never scales in, the target-tracking policies do
   * (https://docs.aws.amazon.com/autoscaling/application/userguide/aas-predictive-scaling-how-it-works.html).
   * ForecastOnly publishes the forecast without acting, so it can be checked against what happened first.
   *
   * The metric pair ECSServiceCPUUtilization: the service's total CPU as the load, its average CPU per task as
   * the scaling metric, held at the CPU policy's target (the policy's shape:
   * https://docs.aws.amazon.com/autoscaling/application/userguide/aas-create-predictive-scaling-policy.html;
   * CloudFormation's properties:
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-applicationautoscaling-scalingpolicy-predictivescalingpolicyconfiguration.html,
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-applicationautoscaling-scalingpolicy-predictivescalingpredefinedmetricpair.html).
   * HonorMaxCapacity: a forecast never takes the service past api.maxTasks, the ceiling the connection budget
   * was checked at. The L2 has no predictive policy for Application Auto Scaling, hence the L1.
   */
  private addPredictiveScaling(target: appscaling.ScalableTarget, mode: PredictiveMode, targetCpuUtilizationPercent: number): appscaling.CfnScalingPolicy {
    return new appscaling.CfnScalingPolicy(this, 'PredictiveScaling', {
      policyName: `${this.node.id}PredictiveScaling`,
      policyType: 'PredictiveScaling',
      scalingTargetId: target.scalableTargetId,
      predictiveScalingPolicyConfiguration: {
        mode: PREDICTIVE_MODES[mode],
        maxCapacityBreachBehavior: 'HonorMaxCapacity',
        metricSpecifications: [{
          targetValue: targetCpuUtilizationPercent,
          predefinedMetricPairSpecification: { predefinedMetricType: 'ECSServiceCPUUtilization' },
        }],
      },
    });
  }
}

/** `api.metricResolutionSeconds` that turns the high-resolution metrics on. */
const HIGH_RESOLUTION_SECONDS = 20;

interface TrackedMetrics {
  readonly cpu: appscaling.PredefinedMetric;
  readonly memory: appscaling.PredefinedMetric;
}

const STANDARD_METRICS: TrackedMetrics = {
  cpu: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
  memory: appscaling.PredefinedMetric.ECS_SERVICE_AVERAGE_MEMORY_UTILIZATION,
};

/** Documented metric types the L2 enum does not list yet (see publishHighResolutionMetrics). */
const HIGH_RESOLUTION_METRICS: TrackedMetrics = {
  cpu: 'ECSServiceAverageCPUUtilizationHighResolution' as unknown as appscaling.PredefinedMetric,
  memory: 'ECSServiceAverageMemoryUtilizationHighResolution' as unknown as appscaling.PredefinedMetric,
};

type PredictiveMode = Exclude<ApiConfig['predictiveScaling'], 'off'>;

const PREDICTIVE_MODES: Record<PredictiveMode, string> = {
  'forecast-only': 'ForecastOnly',
  'forecast-and-scale': 'ForecastAndScale',
};

/**
 * A cfn-lint rule ignored on one resource, with the reason next to it (cfn-lint reads
 * `Metadata.cfn-lint.config.ignore_checks` of a resource); for what the machine's cfn-lint does not know yet.
 */
function lintException(resource: CfnResource, rule: string, reason: string): void {
  const current = resource.getMetadata('cfn-lint') as { config: { ignore_checks: string[] }; reasons: Record<string, string> } | undefined;
  const merged = current ?? { config: { ignore_checks: [] }, reasons: {} };
  merged.config.ignore_checks.push(rule);
  merged.reasons[rule] = reason;
  resource.addMetadata('cfn-lint', merged);
}
