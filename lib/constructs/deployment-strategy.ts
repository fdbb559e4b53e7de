import { Duration, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { join } from 'path';
import { ALARM_KINDS } from '../config/alarm-kinds';
import { shiftsTraffic } from '../config/capacity';
import type { AlarmsConfig, SloConfig, StatefulConfig } from '../config/schema';
import type { DeploymentConfig } from '../config/schema/deployment';
import { encryptedLogGroup } from './encryption';
import { kpiAlarmName } from './naming';
import { vpcFunctionRole } from './vpc-function';

/**
 * Deployment strategies of an HTTP service (`api.deployment`), on ECS's own deployment controller:
 * - rolling: what the service had before (minHealthyPercent/maxHealthyPercent and the circuit breaker);
 * - blue_green, canary, linear: the new revision starts at full size behind an ALTERNATE target group, and ECS
 *   moves the weights of the PRODUCTION listener rule from the primary target group to it, all at once, in a
 *   canary slice then the rest, or in equal steps, with bake time after the last shift; it rolls back when a
 *   deployment alarm goes to ALARM (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html,
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html,
 *   https://docs.aws.amazon.com/AmazonECS/latest/developerguide/linear-deployment.html).
 *
 * Two pieces: {@link deploymentServiceProps} goes into the FargateService's constructor (the L2 takes the
 * strategy only there), and {@link ServiceDeployment}, created right after the target group and the listener,
 * registers the service with the target group (with its alternate target when traffic shifts), and adds the
 * production rule, the optional test rule and smoke test.
 */

/** HttpService's request-count policy (on the scalable target). */
const REQUEST_POLICY_ID = 'RequestTracking';

/** The header value the test listener rule matches (the header's name is `smokeTest.headerName`). */
export const SMOKE_TEST_HEADER_VALUE = 'green';

/**
 * The Monitoring stack's alarms each rollback choice stands for, by construct id under KpiAlarms: the Critical
 * alarms of the http5xxPercent and latencyP99Ms rows, and the burn-rate composites (`Slo<objective>Burn<n>`).
 * KpiAlarms names them with kpiAlarmName, which this stack computes too: the names match by construction
 * (test/constructs/deployment-strategy.spec.ts compares the two templates).
 */
function rollbackAlarmIds(deployment: DeploymentConfig, alarms: AlarmsConfig, slo: SloConfig): string[] {
  const critical = (key: 'http5xxPercent' | 'latencyP99Ms') =>
    alarms[key].critical === null ? [] : ALARM_KINDS[key].alarms.map((row) => `${row.id}Critical`);
  return deployment.rollbackAlarms.flatMap((choice) => {
    switch (choice) {
      case 'http5xx': return critical('http5xxPercent');
      case 'latencyP99': return critical('latencyP99Ms');
      case 'sloBurnRate': return slo.burnRates.flatMap((_, i) => ['Availability', 'Latency'].map((objective) => `Slo${objective}Burn${i + 1}`));
    }
  });
}

/** DeploymentConfiguration.Strategy as CloudFormation spells it. */
const STRATEGIES: Record<Exclude<DeploymentConfig['strategy'], 'rolling'>, ecs.DeploymentStrategy> = {
  blue_green: ecs.DeploymentStrategy.BLUE_GREEN,
  canary: ecs.DeploymentStrategy.CANARY,
  linear: ecs.DeploymentStrategy.LINEAR,
};

export interface ServiceDeploymentProps {
  readonly service: ecs.FargateService;
  /** The service's task count, whose request policy (`RequestTracking`) is made to follow both target groups. */
  readonly scaling: ecs.ScalableTaskCount;
  /** The service's (primary) target group, the service already registered with it (its `loadBalancers` entry). */
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly listener: elbv2.ApplicationListener;
  readonly loadBalancer: elbv2.IApplicationLoadBalancer;
  readonly deployment: DeploymentConfig;
  /**
   * The listener rule that forwards to this service alone (a route), when it is not the listener's default
   * service. @default - a catch-all rule (path "/*") at `deployment.productionRulePriority` forwarding to it
   */
  readonly productionRule?: elbv2.ApplicationListenerRule;
  /** The listener serves HTTPS: the smoke test calls `deployment.smokeTest.host` over HTTPS. */
  readonly https: boolean;
  readonly logKey: kms.IKey;
  readonly logRetentionDays: number;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** The KPI alarms' thresholds and the SLO: which rollback alarms exist (rollbackAlarmIds). */
  readonly alarms: AlarmsConfig;
  readonly slo: SloConfig;
}

/**
 * Registers the service with its target group and, for blue_green, canary and linear, adds what ECS needs to
 * shift traffic: the alternate target group (the primary's settings, copied), the production listener rule,
 * a role ECS uses on the load balancer (inline, scoped to these rules and groups), and with a smoke test, a
 * test listener rule and the hook Lambda.
 */
export class ServiceDeployment extends Construct {
  /** Where ECS starts the new revision; undefined for rolling. */
  readonly alternateTargetGroup?: elbv2.ApplicationTargetGroup;
  /** The rule whose weights ECS moves; undefined for rolling. */
  readonly productionRule?: elbv2.ApplicationListenerRule;
  readonly testRule?: elbv2.ApplicationListenerRule;
  readonly smokeTest?: NodejsFunction;

  constructor(scope: Construct, id: string, props: ServiceDeploymentProps) {
    super(scope, id);
    const { service, targetGroup, listener, deployment } = props;
    if (!shiftsTraffic(deployment.strategy)) return;

    this.alternateTargetGroup = alternateOf(this, targetGroup, service.cluster.vpc);
    // The production traffic must come through a RULE (AdvancedConfiguration.ProductionListenerRule is a rule
    // ARN for an ALB): the listener's default action cannot be shifted. As the catch-all rule it only takes what
    // no route took, as the default action would. Its properties depend on nothing that changes between
    // deploys, so CloudFormation never updates it after creation (see docs/scaling.md#deployments, aws-cdk#36649).
    this.productionRule = props.productionRule ?? new elbv2.ApplicationListenerRule(this, 'ProductionRule', {
      listener,
      priority: deployment.productionRulePriority,
      conditions: [elbv2.ListenerCondition.pathPatterns(['/*'])],
      action: elbv2.ListenerAction.forward([targetGroup]),
    });
    if (deployment.smokeTest.enabled) {
      this.testRule = new elbv2.ApplicationListenerRule(this, 'TestRule', {
        listener,
        priority: deployment.smokeTest.rulePriority,
        conditions: [
          elbv2.ListenerCondition.pathPatterns(['/*']),
          elbv2.ListenerCondition.httpHeader(deployment.smokeTest.headerName, [SMOKE_TEST_HEADER_VALUE]),
        ],
        action: elbv2.ListenerAction.forward([targetGroup]),
      });
    }

    const role = this.loadBalancerRole(targetGroup, this.alternateTargetGroup, listener, [this.productionRule, ...(this.testRule ? [this.testRule] : [])]);
    const advanced = new ecs.AlternateTarget('AlternateTarget', {
      alternateTargetGroup: this.alternateTargetGroup,
      productionListener: ecs.ListenerRuleConfiguration.applicationListenerRule(this.productionRule),
      ...(this.testRule && { testListener: ecs.ListenerRuleConfiguration.applicationListenerRule(this.testRule) }),
      role,
    }).bind(this);
    // The service is already registered with its target group (HttpService); the entry gains the alternate
    // target group and the rules (LoadBalancers[].AdvancedConfiguration), which is what
    // loadBalancerTarget({ alternateTarget }) would have written.
    const entries = service.loadBalancers;
    const own = entries.filter((entry) => entry.targetGroupArn === targetGroup.targetGroupArn);
    if (own.length !== 1) throw new Error(`${this.node.path}: the service must be registered with its target group exactly once (found ${own.length})`);
    service.loadBalancers = entries.map((entry) => (entry === own[0] ? { ...entry, advancedConfiguration: advanced } : entry));
    this.trackRequestsOnBothTargetGroups(props.scaling, targetGroup, this.alternateTargetGroup);
    this.configureStrategy(service, deployment, rollbackAlarmIds(deployment, props.alarms, props.slo).map((alarmId) => kpiAlarmName(this, alarmId)));

    if (this.testRule) {
      this.smokeTest = this.smokeTestFunction(props);
      const hookRole = new iam.Role(this, 'SmokeTestHookRole', {
        assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
        description: 'ECS invokes the deployment smoke test with this role',
      });
      service.addLifecycleHook(new ecs.DeploymentLifecycleLambdaTarget(this.smokeTest, 'SmokeTestHook', {
        // After the test rule points at the new revision and before any production traffic moves
        // (DeploymentLifecycleHook.LifecycleStages: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeploymentLifecycleHook.html).
        lifecycleStages: [ecs.DeploymentLifecycleStage.POST_TEST_TRAFFIC_SHIFT],
        role: hookRole,
      }));
      // The function itself, not `<arn>:*` as grantInvoke() adds: ECS invokes the unqualified function, which has
      // no versions or aliases.
      hookRole.addToPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [this.smokeTest.functionArn] }));
    }
  }

  /**
   * The strategy, its traffic shift and bake time (DeploymentConfiguration.Strategy, CanaryConfiguration,
   * LinearConfiguration, BakeTimeInMinutes:
   * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-properties-ecs-service-deploymentconfiguration.html),
   * and the deployment alarms by name that roll back (DeploymentAlarms with Rollback:
   * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html). ECS watches them
   * from the start of a deployment to the end of its bake time. The L2 takes the strategy only in the service's
   * constructor, which belongs to HttpService; the same properties are written here on the service's
   * DeploymentConfiguration, next to the circuit breaker the service already has.
   */
  private configureStrategy(service: ecs.FargateService, d: DeploymentConfig, alarmNames: string[]): void {
    if (d.strategy === 'rolling') return;
    const cfn = service.node.defaultChild as ecs.CfnService;
    cfn.addPropertyOverride('DeploymentConfiguration.Strategy', STRATEGIES[d.strategy]);
    cfn.addPropertyOverride('DeploymentConfiguration.BakeTimeInMinutes', d.bakeTimeMinutes);
    if (d.strategy === 'canary') {
      cfn.addPropertyOverride('DeploymentConfiguration.CanaryConfiguration', { CanaryPercent: d.canary.percent, CanaryBakeTimeInMinutes: d.canary.bakeTimeMinutes });
    }
    if (d.strategy === 'linear') {
      cfn.addPropertyOverride('DeploymentConfiguration.LinearConfiguration', { StepPercent: d.linear.stepPercent, StepBakeTimeInMinutes: d.linear.stepBakeTimeMinutes });
    }
    // The loader refuses a traffic-shifting strategy without a rollback alarm.
    if (alarmNames.length > 0) service.enableDeploymentAlarms(alarmNames, { behavior: ecs.AlarmBehavior.ROLLBACK_ON_ALARM });
  }

  /**
   * Makes the service's request policy (HttpService's `RequestTracking`, same logical id and target value) track
   * RequestCountPerTarget of BOTH target groups (the sum, each FILLed with 0) instead of ALBRequestCountPerTarget
   * of the primary. The predefined metric names one target group, and after every blue/green deployment the service's
   * traffic sits on the other one: ECS documents that "the ALBRequestCountPerTarget metric for target tracking
   * scaling policies is not supported for the blue/green deployment type"
   * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-autoscaling-targettracking.html).
   * Outside a deployment one group has all the targets and the other none, so the sum is the per-task rate;
   * during one it counts both revisions' rates, which only errs towards more tasks.
   */
  private trackRequestsOnBothTargetGroups(scaling: ecs.ScalableTaskCount, primary: elbv2.ApplicationTargetGroup, alternate: elbv2.ApplicationTargetGroup): void {
    const target = scaling.node.findChild('Target');
    const policy = target.node.tryFindChild(REQUEST_POLICY_ID) as appscaling.TargetTrackingScalingPolicy | undefined;
    if (!policy) throw new Error(`${this.node.path}: no ${REQUEST_POLICY_ID} policy on ${scaling.node.path} to follow both target groups`);
    const cfn = policy.node.defaultChild as appscaling.CfnScalingPolicy;
    const config = cfn.targetTrackingScalingPolicyConfiguration as appscaling.CfnScalingPolicy.TargetTrackingScalingPolicyConfigurationProperty;
    cfn.targetTrackingScalingPolicyConfiguration = {
      ...config,
      predefinedMetricSpecification: undefined,
      customizedMetricSpecification: { metrics: requestCountPerTargetQueries([primary, alternate]) },
    };
  }

  /**
   * The role ECS uses to register tasks and move the rules' weights: what the AWS-managed
   * AmazonECSInfrastructureRolePolicyForLoadBalancers grants for an ALB, inline and limited to this service's
   * two target groups, its listener and its rules
   * (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForLoadBalancers.html).
   */
  private loadBalancerRole(primary: elbv2.ApplicationTargetGroup, alternate: elbv2.ApplicationTargetGroup, listener: elbv2.ApplicationListener, rules: elbv2.ApplicationListenerRule[]): iam.Role {
    const role = new iam.Role(this, 'LoadBalancerRole', {
      assumedBy: new iam.ServicePrincipal('ecs.amazonaws.com'),
      description: 'ECS moves this service\'s listener rule weights and registers its tasks during blue/green, canary and linear deployments',
      inlinePolicies: {
        ShiftTraffic: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ['elasticloadbalancing:DescribeListeners', 'elasticloadbalancing:DescribeRules', 'elasticloadbalancing:DescribeTargetGroups', 'elasticloadbalancing:DescribeTargetHealth'],
              resources: ['*'],
            }),
            new iam.PolicyStatement({
              actions: ['elasticloadbalancing:RegisterTargets', 'elasticloadbalancing:DeregisterTargets'],
              resources: [primary.targetGroupArn, alternate.targetGroupArn],
            }),
            new iam.PolicyStatement({ actions: ['elasticloadbalancing:ModifyListener'], resources: [listener.listenerArn] }),
            new iam.PolicyStatement({ actions: ['elasticloadbalancing:ModifyRule'], resources: rules.map((rule) => rule.listenerRuleArn) }),
          ],
        }),
      },
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: 'elasticloadbalancing:Describe* have no resource-level permissions (Service Authorization Reference, Elastic Load Balancing V2); every action that changes something is limited to this service\'s target groups, listener and rules.',
    });
    return role;
  }

  /** The smoke-test hook: in the app subnets, HTTP(S) out only, its own role (logs and network interfaces). */
  private smokeTestFunction(props: ServiceDeploymentProps): NodejsFunction {
    const test = props.deployment.smokeTest;
    const vpc = props.service.cluster.vpc;
    const securityGroup = new ec2.SecurityGroup(this, 'SmokeTestSecurityGroup', {
      vpc,
      description: 'Deployment smoke test: HTTP(S) out to the load balancer only',
      allowAllOutbound: false,
    });
    // The load balancer is internet-facing: from the app subnets its DNS name resolves to public addresses ("The
    // DNS name of an Internet-facing load balancer is publicly resolvable to the public IP addresses of the
    // nodes", CreateLoadBalancer's Scheme: https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_CreateLoadBalancer.html),
    // reached through NAT, so its security group cannot be named as the peer.
    const port = props.https ? 443 : 80;
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `${props.https ? 'HTTPS' : 'HTTP'} to the load balancer's public address (through NAT)`);
    const logGroup = encryptedLogGroup(this, 'SmokeTestLogs', {
      encryptionKey: props.logKey,
      retentionDays: props.logRetentionDays,
      retentionKey: 'compute.logRetentionDays',
      removalPolicy: props.removalPolicy,
    });
    const url = props.https ? `https://${test.host}${test.path}` : `http://${props.loadBalancer.loadBalancerDnsName}${test.path}`;
    const attempts = 3;
    const retryDelayMs = 1000;
    return new NodejsFunction(this, 'SmokeTest', {
      entry: join(__dirname, '..', '..', 'lambda', 'deploy-smoke-test', 'index.ts'),
      handler: 'handler',
      description: `Deployment smoke test of ${props.service.node.path}: GET ${test.path} on the new revision`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(attempts * (test.timeoutSeconds + retryDelayMs / 1000) + 10),
      role: vpcFunctionRole(this, 'SmokeTestRole', logGroup),
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [securityGroup],
      logGroup,
      // No reserved concurrency: ECS runs one hook per deployment (and Lambda refuses reservations on an account
      // at the new-account limit: https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        SMOKE_TEST_URL: url,
        SMOKE_TEST_HEADER_NAME: test.headerName,
        SMOKE_TEST_HEADER_VALUE: SMOKE_TEST_HEADER_VALUE,
        SMOKE_TEST_TIMEOUT_MS: String(test.timeoutSeconds * 1000),
        SMOKE_TEST_ATTEMPTS: String(attempts),
        SMOKE_TEST_RETRY_DELAY_MS: String(retryDelayMs),
      },
      bundling: { minify: true, sourceMap: true, forceDockerBundling: false },
    });
  }
}

/**
 * An alternate target group with the primary's settings: the same port, protocol, health check and attributes
 * (algorithm, stickiness, slow start, deregistration delay), copied from the primary's CloudFormation
 * properties so the two never drift apart. AWS: both target groups "should be configured" alike
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html).
 */
function alternateOf(scope: Construct, primary: elbv2.ApplicationTargetGroup, vpc: ec2.IVpc): elbv2.ApplicationTargetGroup {
  const from = primary.node.defaultChild as elbv2.CfnTargetGroup;
  const alternate = new elbv2.ApplicationTargetGroup(scope, 'AlternateTargetGroup', {
    vpc,
    targetType: elbv2.TargetType.IP,
    protocol: elbv2.ApplicationProtocol.HTTP,
  });
  const to = alternate.node.defaultChild as elbv2.CfnTargetGroup;
  for (const key of COPIED_TARGET_GROUP_PROPERTIES) (to as unknown as Record<string, unknown>)[key] = (from as unknown as Record<string, unknown>)[key];
  return alternate;
}

/** The CfnTargetGroup properties an alternate target group takes over from its primary (all but the name and targets). */
export const COPIED_TARGET_GROUP_PROPERTIES = [
  'healthCheckEnabled', 'healthCheckIntervalSeconds', 'healthCheckPath', 'healthCheckPort', 'healthCheckProtocol',
  'healthCheckTimeoutSeconds', 'healthyThresholdCount', 'unhealthyThresholdCount', 'matcher', 'port', 'protocol',
  'protocolVersion', 'ipAddressType', 'targetType', 'vpcId', 'targetGroupAttributes',
] as const;

/**
 * RequestCountPerTarget of each target group (CloudWatch's per-minute Sum, dimension TargetGroup), summed with
 * missing data as 0: the metric ALBRequestCountPerTarget tracks, over both groups of a blue/green pair
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html).
 */
function requestCountPerTargetQueries(groups: readonly elbv2.ITargetGroup[]): appscaling.CfnScalingPolicy.TargetTrackingMetricDataQueryProperty[] {
  const ids = groups.map((_, i) => `tg${i}`);
  return [
    ...groups.map((group, i) => ({
      id: ids[i],
      metricStat: {
        metric: { namespace: 'AWS/ApplicationELB', metricName: 'RequestCountPerTarget', dimensions: [{ name: 'TargetGroup', value: (group as elbv2.ApplicationTargetGroup).targetGroupFullName }] },
        stat: 'Sum',
      },
      returnData: false,
    })),
    { id: 'requestsPerTarget', expression: ids.map((id) => `FILL(${id}, 0)`).join(' + '), label: 'Requests per target (both target groups)', returnData: true },
  ];
}

/** What addServiceDeployments needs of one HTTP service (HttpService). */
export interface DeployedHttpService extends Construct {
  readonly service: ecs.FargateService;
  readonly scaling: ecs.ScalableTaskCount;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  /** The routes' rules that forward to it. */
  readonly listenerRules: readonly elbv2.ApplicationListenerRule[];
}

export interface ServiceDeploymentsProps extends Pick<ServiceDeploymentProps, 'listener' | 'loadBalancer' | 'logKey' | 'logRetentionDays' | 'removalPolicy' | 'alarms' | 'slo'> {
  /** Every HTTP service by name, with its `deployment` block. */
  readonly services: ReadonlyArray<{ readonly name: string; readonly http: DeployedHttpService; readonly deployment: DeploymentConfig }>;
  /** `alb.defaultService`: that service's production rule is a catch-all of its own; any other's is its one route. */
  readonly defaultService: string;
  readonly https: boolean;
}

/** A ServiceDeployment (id `Deployment`) in each HTTP service, once the listener and its routes exist. */
export function addServiceDeployments(props: ServiceDeploymentsProps): ServiceDeployment[] {
  const { services, defaultService, ...shared } = props;
  return services.map(({ name, http, deployment }) => new ServiceDeployment(http, 'Deployment', {
    ...shared,
    service: http.service,
    scaling: http.scaling,
    targetGroup: http.targetGroup,
    deployment,
    // The loader allows a traffic-shifting strategy for a routed service only with exactly one route to it alone.
    productionRule: name === defaultService ? undefined : http.listenerRules[0],
  }));
}
