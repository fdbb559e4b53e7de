import { Annotations, Duration, Stack, SymlinkFollowMode, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { Platform } from 'aws-cdk-lib/aws-ecr-assets';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { join, resolve } from 'path';
import type { ComputeConfig, ImageConfig, StatefulConfig } from '../config/schema';
import { isReferenceImage, parseEcrImage, REFERENCE_WORKLOAD, referenceHealthCheckCommand } from '../config/schema/compute';
import type { ContainerSettings } from './data-access';
import { encryptedLogGroup } from './encryption';
import { allowHttpsAnywhere, TaskEgress } from './task-egress';

/** Image build directories in config are relative to the project root (or absolute). */
const PROJECT_ROOT = join(__dirname, '..', '..');

export interface AppTaskProps extends ContainerSettings {
  /** Which of the reference workload's commands the task runs when its image is the reference one. */
  readonly service: keyof typeof REFERENCE_WORKLOAD.command;
  readonly cpu: number;
  readonly memoryMiB: number;
  readonly image: ImageConfig;
  readonly compute: ComputeConfig;
  /** Encrypts the container log group. */
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /** Port the container listens on (none for a worker). */
  readonly containerPort?: number;
  /**
   * Shell command for the container health check; "" or undefined for none; null: the reference workload's
   * (wget on `containerPort`) for the reference image, none for any other.
   */
  readonly healthCheckCommand?: string | null;
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
    const image = containerImageOf(this, this.taskDefinition, props.image, arm);
    Validations.of(this.taskDefinition).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason: 'The environment holds endpoints, ports, sizes, user names and the ARN of the database secret only; no credential reaches the container: the workload reads the database password from Secrets Manager with its task role when it connects (DB_SECRET_ARN), or signs IAM tokens for RDS Proxy (DB_IAM_AUTH) and the cache (CACHE_IAM_AUTH).',
    });
    // What the reference image needs (its command, user and health check) is given to it alone: an image of
    // your own starts as its author built it unless config says otherwise.
    const reference = isReferenceImage(props.image);
    const command = [...props.image.command ?? (reference ? REFERENCE_WORKLOAD.command[props.service] : [])];
    const user = props.compute.runAsUser ?? (reference ? REFERENCE_WORKLOAD.user : '');
    const healthCheckCommand = props.healthCheckCommand === null
      ? (reference && props.containerPort ? referenceHealthCheckCommand(props.containerPort) : '')
      : props.healthCheckCommand;
    if (!reference && props.compute.runAsUser === null) {
      Annotations.of(this).addWarningV2('scaling-blueprint:image-user',
        `The ${props.service} image runs as its own USER (compute.runAsUser is null), which synth cannot see; if that is root, a process that escapes the application owns the container. Set compute.runAsUser to the image's non-root "uid:gid", or to "" to keep its USER knowingly.`);
    }
    // No Linux capability at all: the app listens above 1024 and runs as a non-root user, so it needs none,
    // and a compromised process cannot regain any (drop ALL empties the bounding set too). Fargate accepts
    // dropping any; the only one it would let us add back is SYS_PTRACE, which the app does not need
    // (KernelCapabilities: https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_KernelCapabilities.html).
    const linuxParameters = new ecs.LinuxParameters(this, 'LinuxParameters');
    linuxParameters.dropCapabilities(ecs.Capability.ALL);
    this.container = this.taskDefinition.addContainer('App', {
      linuxParameters,
      image,
      command: command.length > 0 ? command : undefined,
      essential: true,
      readonlyRootFilesystem: props.compute.readOnlyRootFilesystem,
      user: user || undefined,
      privileged: false,
      // A hard limit on the container as well as the task (AWS Control Tower CT.ECS.PR.7).
      memoryLimitMiB: props.memoryMiB,
      environment: props.environment,
      logging: ecs.LogDrivers.awsLogs({ logGroup, streamPrefix: id.toLowerCase(), mode: ecs.AwsLogDriverMode.NON_BLOCKING }),
      portMappings: props.containerPort ? [{ containerPort: props.containerPort, name: 'http' }] : undefined,
      stopTimeout: props.stopTimeoutSeconds ? Duration.seconds(props.stopTimeoutSeconds) : undefined,
      healthCheck: healthCheckCommand
        ? {
            command: ['CMD-SHELL', healthCheckCommand],
            interval: Duration.seconds(15),
            timeout: Duration.seconds(5),
            retries: 3,
            startPeriod: Duration.seconds(30),
          }
        : undefined,
    });
    if (parseEcrImage(props.image.uri)) {
      Annotations.of(this.container).acknowledgeWarning('@aws-cdk/aws-ecs:ecrImageRequiresPolicy',
        'The execution role is granted pull on the repository the URI names (containerImageOf).');
    }
  }
}

/**
 * A synth warning where an image of your own still meets the reference workload's load-balancer health check
 * (GET /healthz on port 8080): a target that does not answer it never turns healthy, and the circuit breaker
 * rolls the deploy back. The keys are the load balancer's and the API's, so the warning names them.
 */
export function warnReferenceHealthCheck(scope: Construct, api: { image: ImageConfig; containerPort: number }, healthCheck: { path: string; healthyHttpCodes: string }): void {
  if (isReferenceImage(api.image) || api.containerPort !== REFERENCE_WORKLOAD.port || healthCheck.path !== REFERENCE_WORKLOAD.healthPath) return;
  Annotations.of(scope).addWarningV2('scaling-blueprint:reference-health-check',
    `api.image is your own image, but the load balancer still checks what the reference workload serves: GET ${healthCheck.path} on port ${api.containerPort} (alb.healthCheck.path, api.containerPort), expecting HTTP ${healthCheck.healthyHttpCodes} (alb.healthCheck.healthyHttpCodes). A task that does not answer so never turns healthy and the deploy rolls back. Set them to what your image serves (docs/own-image.md).`);
}

/**
 * The image and its pull permission. Built from a directory: a Docker image asset in the CDK assets repository
 * (CDK grants the pull). A private ECR URI: pulled as written, with pull permission on that repository alone
 * granted to the execution role, which is what pulls on Fargate
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html); another
 * account's repository must also allow it in its repository policy
 * (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html). Another registry:
 * anonymous, or logged in with a Secrets Manager secret the execution role may read
 * (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html).
 */
function containerImageOf(scope: Construct, taskDefinition: ecs.TaskDefinition, image: ImageConfig, arm: boolean): ecs.ContainerImage {
  const ackGetAuthorizationToken = () => Validations.of(taskDefinition.obtainExecutionRole()).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: 'ecr:GetAuthorizationToken, needed to pull the image from ECR, has no resource-level permissions; every other action is scoped.',
  });
  if (!image.uri) {
    ackGetAuthorizationToken();
    return ecs.ContainerImage.fromAsset(resolve(PROJECT_ROOT, image.directory), {
      platform: arm ? Platform.LINUX_ARM64 : Platform.LINUX_AMD64,
      // The build context is the directory alone: what it links to outside (workload/contracts ->
      // ../lib/contracts) must be staged as a copy, or the image build could not see it. aws-cdk-lib
      // copies so today but documents NEVER as the default, hence explicit.
      followSymlinks: SymlinkFollowMode.EXTERNAL,
    });
  }
  const ecrImage = parseEcrImage(image.uri);
  if (ecrImage) {
    const repository = ecr.Repository.fromRepositoryAttributes(scope, 'ImageRepository', {
      repositoryName: ecrImage.repositoryName,
      repositoryArn: Stack.of(scope).formatArn({
        service: 'ecr', account: ecrImage.account, region: ecrImage.region, resource: 'repository', resourceName: ecrImage.repositoryName,
      }),
    });
    repository.grantPull(taskDefinition.obtainExecutionRole());
    ackGetAuthorizationToken();
    // The URI as written (a FIPS endpoint, a tag with a digest): ContainerImage.fromEcrRepository would
    // rebuild it from the repository's parts.
    return ecs.ContainerImage.fromRegistry(image.uri);
  }
  const credentials = image.credentialsSecretArn
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'RegistryCredentials', image.credentialsSecretArn)
    : undefined;
  return ecs.ContainerImage.fromRegistry(image.uri, { credentials });
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
function serviceSecurityGroup(scope: Construct, vpc: ec2.IVpc, description: string): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, 'SecurityGroup', { vpc, description, allowAllOutbound: false });
  // network.taskEgress (TaskEgress, created by the Compute stack); a stack without one: HTTPS anywhere.
  const egress = TaskEgress.of(scope);
  if (egress) egress.allowHttps(sg);
  else allowHttpsAnywhere(sg);
  return sg;
}
