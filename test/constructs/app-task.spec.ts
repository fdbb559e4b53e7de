import { Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { existsSync, lstatSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';
import type { ComputeConfig } from '../../lib/config/schema';
import { AppTask, type AppTaskProps } from '../../lib/constructs/app-task';
import { bareApp, ENVIRONMENTS, synth } from '../helpers/synth';

const ROOT = join(__dirname, '..', '..');
const COMPUTE: ComputeConfig = { cpuArchitecture: 'arm64', containerInsights: 'enhanced', logRetentionDays: 30, readOnlyRootFilesystem: true, runAsUser: '1000:1000', taskStartSeconds: 60 };
const REGISTRY_IMAGE = { uri: 'public.ecr.aws/docker/library/nginx:1.27-alpine', directory: '', command: [] };

function taskOf(props: Partial<AppTaskProps> = {}) {
  const app = bareApp();
  const stack = new Stack(app, 'Tasks');
  const secret = new secretsmanager.Secret(stack, 'DatabaseSecret');
  const task = new AppTask(stack, 'Api', {
    cpu: 512,
    memoryMiB: 1024,
    image: REGISTRY_IMAGE,
    compute: COMPUTE,
    logKey: new kms.Key(stack, 'LogKey'),
    removalPolicy: 'retain',
    environment: { DB_NAME: 'app', DB_POOL_SIZE: '5', DB_SECRET_ARN: secret.secretArn },
    ...props,
  });
  const t = Template.fromStack(stack);
  const [def] = Object.values(t.findResources('AWS::ECS::TaskDefinition'));
  return { app, stack, task, t, def: def.Properties, container: def.Properties.ContainerDefinitions[0] };
}

const ackIds = (task: AppTask) => task.taskDefinition.obtainExecutionRole().node.metadata
  .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
  .flatMap((m) => Object.keys(m.data as object));

describe('AppTask', () => {
  const { def, container } = taskOf();

  test('the container runs as the configured user on a read-only root filesystem, unprivileged, with a hard memory limit', () => {
    expect(container).toMatchObject({
      Name: 'App', Essential: true, User: '1000:1000', ReadonlyRootFilesystem: true, Privileged: false,
      // The container's own limit, as well as the task's (CT.ECS.PR.7): the kernel kills it rather than the task.
      Memory: 1024,
    });
    expect(def).toMatchObject({ Cpu: '512', Memory: '1024', RequiresCompatibilities: ['FARGATE'], RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' } });
  });

  test('the container drops every Linux capability and adds none back', () => {
    expect(container.LinuxParameters).toEqual({ Capabilities: { Drop: ['ALL'] } });
  });

  test('the environment as given, and no ECS secrets: a value resolved once at task start goes stale when the secret rotates', () => {
    expect(container.Environment).toEqual([
      { Name: 'DB_NAME', Value: 'app' }, { Name: 'DB_POOL_SIZE', Value: '5' },
      { Name: 'DB_SECRET_ARN', Value: { Ref: expect.stringMatching(/^DatabaseSecret/) } },
    ]);
    expect(container.Secrets).toBeUndefined();
  });

  test('logs go non-blocking to its own log group, encrypted with the given key and kept for the configured days', () => {
    const { t } = taskOf();
    expect(container.LogConfiguration).toEqual({
      LogDriver: 'awslogs',
      Options: { 'awslogs-group': { Ref: expect.stringMatching(/^ApiLogs/) }, 'awslogs-stream-prefix': 'api', 'awslogs-region': { Ref: 'AWS::Region' }, mode: 'non-blocking' },
    });
    t.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] } });
  });

  test('port, health check, stop timeout and command only when asked for', () => {
    expect(container.PortMappings).toBeUndefined();
    expect(container.HealthCheck).toBeUndefined();
    expect(container.StopTimeout).toBeUndefined();
    expect(container.Command).toBeUndefined();
    const { container: api } = taskOf({
      containerPort: 8080, healthCheckCommand: 'wget -q -O /dev/null http://127.0.0.1:8080/healthz', stopTimeoutSeconds: 40,
      image: { ...REGISTRY_IMAGE, command: ['worker'] },
    });
    expect(api).toMatchObject({
      PortMappings: [{ ContainerPort: 8080, Name: 'http', Protocol: 'tcp' }],
      HealthCheck: { Command: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/healthz'], Interval: 15, Timeout: 5, Retries: 3, StartPeriod: 30 },
      StopTimeout: 40,
      Command: ['worker'],
    });
  });

  test('x86_64 and the image USER ("" runAsUser) when config says so', () => {
    const { def: x86, container: imageUser } = taskOf({ compute: { ...COMPUTE, cpuArchitecture: 'x86_64', runAsUser: '', readOnlyRootFilesystem: false } });
    expect(x86.RuntimePlatform.CpuArchitecture).toBe('X86_64');
    expect(imageUser.User).toBeUndefined();
    expect(imageUser.ReadonlyRootFilesystem).toBe(false);
  });

  test('a registry image is used as is: no ECR pull permissions to acknowledge', () => {
    const { task, container: c } = taskOf();
    expect(c.Image).toBe(REGISTRY_IMAGE.uri);
    expect(ackIds(task)).toEqual([]);
  });
});

describe('AppTask built from workload/', () => {
  const built = taskOf({ image: { uri: '', directory: 'workload', command: [] } });
  // Where cdk staged the build context, as the asset manifest tells cdk-assets (and so `docker build`).
  const assembly = built.app.synth();
  const manifest = JSON.parse(readFileSync(join(assembly.directory, `${built.stack.artifactId}.assets.json`), 'utf8')) as {
    dockerImages: Record<string, { source: { directory: string } }>;
  };
  const [image] = Object.values(manifest.dockerImages);
  const context = join(assembly.directory, image.source.directory);
  afterAll(() => rmSync(assembly.directory, { recursive: true, force: true }));

  test('the staged build context holds the container-env contract as a file, not the symlink workload/contracts', () => {
    expect(lstatSync(join(ROOT, 'workload', 'contracts')).isSymbolicLink()).toBe(true);
    const staged = join(context, 'contracts', 'container-env.ts');
    expect(lstatSync(join(context, 'contracts')).isDirectory()).toBe(true);
    expect(lstatSync(staged).isFile()).toBe(true);
    expect(readFileSync(staged, 'utf8')).toBe(readFileSync(join(ROOT, 'lib', 'contracts', 'container-env.ts'), 'utf8'));
    // The image build runs npm ci itself (workload/.dockerignore).
    expect(existsSync(join(context, 'node_modules'))).toBe(false);
    expect(readFileSync(join(context, 'Dockerfile'), 'utf8')).toMatch(/^COPY contracts \.\/contracts$/m);
  });

  test('the execution role pulls from ECR, acknowledged for its one action without resource-level permissions', () => {
    expect(ackIds(built.task)).toEqual(['Annotation::AwsSolutions-IAM5[Resource::*]']);
  });
});

describe.each(ENVIRONMENTS)('Linux capabilities of every service container (%s)', (env) => {
  test('the API and the worker drop ALL and add none (Fargate could add back only SYS_PTRACE)', () => {
    const containers = Object.values(synth(env).compute.findResources('AWS::ECS::TaskDefinition'))
      .flatMap((d) => d.Properties.ContainerDefinitions as Array<{ Name: string; LinuxParameters?: unknown }>);
    expect(containers.length).toBeGreaterThanOrEqual(2);
    for (const c of containers) expect({ name: c.Name, linux: c.LinuxParameters }).toEqual({ name: c.Name, linux: { Capabilities: { Drop: ['ALL'] } } });
  });
});
