import { Duration, SymlinkFollowMode, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { join, resolve } from 'path';
import type { ComputeConfig, ImageConfig, StatefulConfig } from '../config/schema';
import type { ContainerSettings } from './data-access';
import { encryptedLogGroup } from './encryption';

/** Image build directories in config are relative to the project root (or absolute). */
const PROJECT_ROOT = join(__dirname, '..', '..');

export interface AppTaskProps extends ContainerSettings {
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly image: ImageConfig;
  readonly compute: ComputeConfig;
  /** Encrypts the container log group. */
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** Port the container listens on (none for a worker). */
  readonly containerPort?: number;
  /** Shell command for the container health check; "" or undefined for none. */
  readonly healthCheckCommand?: string;
  /** Grace between SIGTERM and SIGKILL (s). */
  readonly stopTimeoutSeconds?: number;
}

/**
 * One Fargate task definition with one application container: the architecture from config, the image
 * from a registry or a local build context, logs to an encrypted log group, the data tier's endpoints.
 * No ECS `secrets`: ECS resolves them once, at task start, and a rotated one would go stale in a running
 * task (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html);
 * the workload reads what it needs with the task role when it needs it. The API and the worker are the same
 * kind of task with different commands.
 */
export class AppTask extends Construct {
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;

  constructor(scope: Construct, id: string, props: AppTaskProps) {
    super(scope, id);
    const arm = props.compute.cpuArchitecture === 'arm64';
    this.taskDefinition = new ecs.FargateTaskDefinition(this, 'TaskDefinition', {
      cpu: props.cpu,
      memoryLimitMiB: props.memoryMiB,
      runtimePlatform: {
        cpuArchitecture: arm ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
        operatingSystemFamily: ecs.OperatingSystemFamily.LINUX,
      },
    });
    const logGroup = encryptedLogGroup(this, 'Logs', {
      encryptionKey: props.logKey,
      retentionDays: props.compute.logRetentionDays,
      retentionKey: 'compute.logRetentionDays',
      removalPolicy: props.removalPolicy,
    });
    if (!props.image.uri) {
      Validations.of(this.taskDefinition.obtainExecutionRole()).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: 'ecr:GetAuthorizationToken, needed to pull the image from ECR, has no resource-level permissions; every other action is scoped.',
      });
    }
    const image = props.image.uri
      ? ecs.ContainerImage.fromRegistry(props.image.uri)
      : ecs.ContainerImage.fromAsset(resolve(PROJECT_ROOT, props.image.directory), {
          platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
          // The build context is the directory alone: what it links to outside (workload/contracts ->
          // ../lib/contracts) must be staged as a copy, or the image build could not see it. aws-cdk-lib
          // copies so today but documents NEVER as the default, hence explicit.
          followSymlinks: SymlinkFollowMode.EXTERNAL,
        });
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds endpoints, ports, sizes, user names and the ARN of the database secret only; no credential reaches the container: the workload reads the database password from Secrets Manager with its task role when it connects (DB_SECRET_ARN), or signs IAM tokens for RDS Proxy (DB_IAM_AUTH) and the cache (CACHE_IAM_AUTH).',
    });
    // No Linux capability at all: the app listens above 1024 and runs as a non-root user, so it needs none,
    // and a compromised process cannot regain any (drop ALL empties the bounding set too). Fargate accepts
    // dropping any; the only one it would let us add back is SYS_PTRACE, which the app does not need
    // (KernelCapabilities: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html).
    const linuxParameters = new ecs.LinuxParameters(this, 'LinuxParameters');
    linuxParameters.dropCapabilities(ecs.Capability.ALL);
    this.container = this.taskDefinition.addContainer('App', {
      linuxParameters,
      image,
      command: props.image.command.length > 0 ? [...props.image.command] : undefined,
      essential: true,
      readonlyRootFilesystem: props.compute.readOnlyRootFilesystem,
      user: props.compute.runAsUser || undefined,
      privileged: false,
      // A hard limit on the container as well as the task (AWS Control Tower CT.ECS.PR.7).
      memoryLimitMiB: props.memoryMiB,
      environment: props.environment,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: id.toLowerCase(), mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
      portMappings: props.containerPort ? [{ containerPort: props.containerPort, name: 'http' }] : undefined,
      stopTimeout: props.stopTimeoutSeconds ? Duration.seconds(props.stopTimeoutSeconds) : undefined,
      healthCheck: props.healthCheckCommand
        ? {
            command: ['CMD-SHELL', props.healthCheckCommand],
            interval: Duration.seconds(15),
            timeout: Duration.seconds(5),
            retries: 3,
            startPeriod: Duration.seconds(30),
          }
        : undefined,
    });
  }
}

/**
 * What every service of the blueprint shares: the app subnets without public IPs, its own security group,
 * rolling deploys that the circuit breaker rolls back when the new tasks do not stabilise, tags on tasks.
 */
export function serviceDefaults(scope: Construct, cluster: ecs.ICluster, taskDefinition: ecs.FargateTaskDefinition, securityGroupDescription: string) {
  return {
    cluster,
    taskDefinition,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
    securityGroups: [serviceSecurityGroup(scope, cluster.vpc, securityGroupDescription)],
    assignPublicIp: false,
    circuitBreaker: { enable: true, rollback: true },
    deploymentController: { type: ecs.DeploymentControllerType.ECS },
    propagateTags: ecs.PropagatedTagSource.SERVICE,
    enableECSManagedTags: true,
  } satisfies ecs.FargateServiceProps;
}

/**
 * A service's security group: HTTPS out (AWS APIs, the image registry, through the NAT gateways) and
 * nothing else until `connections` opens an edge (database, cache, load balancer).
 */
export function serviceSecurityGroup(scope: Construct, vpc: ec2.IVpc, description: string): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, 'SecurityGroup', { vpc, description, allowAllOutbound: false });
  sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to AWS APIs and the image registry');
  return sg;
}
