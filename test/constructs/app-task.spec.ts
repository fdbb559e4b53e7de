import { Stack, Validations } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { existsSync, lstatSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';
import type { ComputeConfig, ImageConfig } from '../../lib/config/schema';
import { AppTask, warnReferenceHealthCheck, type AppTaskProps } from '../../lib/constructs/app-task';
import { bareApp, ENVIRONMENTS, synth } from '../helpers/synth';
import { policyStatements, type Statement } from '../helpers/template';

const ROOT = join(__dirname, '..', '..');
const COMPUTE: ComputeConfig = { cpuArchitecture: 'arm64', containerInsights: 'enhanced', logRetentionDays: 30, readOnlyRootFilesystem: true, runAsUser: '1000:1000', taskStartSeconds: 60 };
const REGISTRY_IMAGE: ImageConfig = { uri: 'public.ecr.aws/docker/library/nginx:1.27-alpine', directory: '', command: [], credentialsSecretArn: '' };

function taskOf(props: Partial<AppTaskProps> = {}) {
  const app = bareApp();
  const stack = new Stack(app, 'Tasks');
  const secret = new secretsmanager.Secret(stack, 'DatabaseSecret');
  const task = new AppTask(stack, 'Api', {
    service: 'api',
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
  const built = taskOf({ image: { uri: '', directory: 'workload', command: [], credentialsSecretArn: '' } });
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

describe('AppTask with an image of your own', () => {
  const ECR_URI = '210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.4.2';
  const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ghcr-pull-AbCdEf';
  const own = (image: Partial<ImageConfig>, props: Partial<AppTaskProps> = {}) => taskOf({
    image: { uri: ECR_URI, directory: '', command: null, credentialsSecretArn: '', ...image },
    compute: { ...COMPUTE, runAsUser: null },
    containerPort: 8080,
    healthCheckCommand: null,
    ...props,
  });
  const executionStatements = (t: Template): Statement[] => policyStatements(t, 'ApiTaskDefinitionExecutionRole');
  // CDK appends the id a warning is acknowledged with.
  const warningsOf = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => String(w.entry.data).replace(/ \[ack: [^\]]+\]$/, ''));

  test('a private ECR image: pulled as written, with pull permission on that repository alone, acknowledged for the token', () => {
    const { t, task, container } = own({});
    expect(container.Image).toBe(ECR_URI);
    const repositoryArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ecr:eu-west-1:210987654321:repository/team/api']] };
    expect(executionStatements(t)).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'], Effect: 'Allow', Resource: repositoryArn }),
      expect.objectContaining({ Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' }),
    ]));
    expect(ackIds(task)).toEqual(['Annotation::AwsSolutions-IAM5[Resource::*]']);
    expect(container.RepositoryCredentials).toBeUndefined();
  });

  test('with null command, user and health check it starts as its author built it: no Command, no User, no container health check', () => {
    const { container } = own({});
    expect(container.Command).toBeUndefined();
    expect(container.User).toBeUndefined();
    expect(container.HealthCheck).toBeUndefined();
  });

  test('a user it cannot see is a synth warning; a user set in config is not', () => {
    expect(warningsOf(own({}).stack)).toEqual([expect.stringMatching(/^The api image runs as its own USER \(compute.runAsUser is null\), which synth cannot see; .*Set compute.runAsUser to the image's non-root "uid:gid", or to "" to keep its USER knowingly\./)]);
    expect(warningsOf(own({}, { compute: { ...COMPUTE, runAsUser: '' } }).stack)).toEqual([]);
  });

  test('the command, user and health check from config where given', () => {
    const { container } = own({ command: ['serve', '--port', '3000'] }, {
      compute: { ...COMPUTE, runAsUser: '10001:10001' },
      healthCheckCommand: 'curl -fsS http://127.0.0.1:3000/health || exit 1',
    });
    expect(container).toMatchObject({
      Command: ['serve', '--port', '3000'],
      User: '10001:10001',
      HealthCheck: { Command: ['CMD-SHELL', 'curl -fsS http://127.0.0.1:3000/health || exit 1'] },
    });
  });

  test('a digest pins the image; the repository is the same', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const { t, container } = own({ uri: `210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/api@${digest}` });
    expect(container.Image).toBe(`210987654321.dkr.ecr.eu-west-1.amazonaws.com/team/api@${digest}`);
    expect(JSON.stringify(executionStatements(t))).toContain(':ecr:eu-west-1:210987654321:repository/team/api"');
  });

  test('another private registry: ECS logs in with the secret, which the execution role alone may read', () => {
    const { t, task, container } = own({ uri: 'ghcr.io/acme/api:2', credentialsSecretArn: SECRET });
    expect(container.Image).toBe('ghcr.io/acme/api:2');
    expect(container.RepositoryCredentials).toEqual({ CredentialsParameter: SECRET });
    expect(executionStatements(t)).toEqual(expect.arrayContaining([
      expect.objectContaining({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: SECRET }),
    ]));
    expect(JSON.stringify(executionStatements(t))).not.toContain('ecr:');
    expect(ackIds(task)).toEqual([]);
  });

  test('a public image: no credentials, no permission', () => {
    const { t, container } = own({ uri: 'public.ecr.aws/nginx/nginx:1.27-alpine' });
    expect(container.RepositoryCredentials).toBeUndefined();
    expect(JSON.stringify(executionStatements(t))).not.toMatch(/ecr:|secretsmanager:/);
  });

  test('the reference image keeps its command, user and health check when config says null', () => {
    const reference = { uri: '', directory: 'workload', command: null, credentialsSecretArn: '' };
    const { container: api } = taskOf({ image: reference, compute: { ...COMPUTE, runAsUser: null }, containerPort: 8080, healthCheckCommand: null });
    expect(api).toMatchObject({
      Command: ['api'], User: '1000:1000',
      HealthCheck: { Command: ['CMD-SHELL', 'wget -q -O /dev/null http://127.0.0.1:8080/healthz || exit 1'] },
    });
    const { container: worker } = taskOf({ service: 'worker', image: reference, compute: { ...COMPUTE, runAsUser: null } });
    expect(worker.Command).toEqual(['worker']);
    expect(worker.HealthCheck).toBeUndefined();
  });

  test('the load balancer\'s health check of the reference (/healthz on 8080) is a warning with your own image, and only then', () => {
    const warned = (image: ImageConfig, containerPort: number, path: string) => {
      const stack = new Stack(bareApp(), 'Probe');
      warnReferenceHealthCheck(stack, { image, containerPort }, { path, healthyHttpCodes: '200' });
      return warningsOf(stack);
    };
    const image = { uri: ECR_URI, directory: '', command: null, credentialsSecretArn: '' };
    expect(warned(image, 8080, '/healthz')).toEqual([
      'api.image is your own image, but the load balancer still checks what the reference workload serves: GET /healthz on port 8080 (alb.healthCheck.path, api.containerPort), expecting HTTP 200 (alb.healthCheck.healthyHttpCodes). A task that does not answer so never turns healthy and the deploy rolls back. Set them to what your image serves (docs/own-image.md).',
    ]);
    expect(warned(image, 3000, '/healthz')).toEqual([]);
    expect(warned(image, 8080, '/health')).toEqual([]);
    expect(warned({ ...image, uri: '', directory: 'workload' }, 8080, '/healthz')).toEqual([]);
  });
});

describe('docs/own-image.md: the recipe, synthesized', () => {
  // The JSON block under "## Recipe" is what a user pastes into an environment: synthesized as written.
  const doc = readFileSync(join(ROOT, 'docs', 'own-image.md'), 'utf8');
  const recipe = JSON.parse(/## Recipe[\s\S]*?```json\n([\s\S]*?)```/.exec(doc)![1]) as {
    api: { image: ImageConfig; containerHealthCheckCommand: string };
    worker: { image: ImageConfig };
  };
  const { compute, stacks } = synth('staging', recipe);
  const containers = Object.values(compute.findResources('AWS::ECS::TaskDefinition')).map((d) => d.Properties.ContainerDefinitions[0]);
  const api = containers.find((c) => c.PortMappings);
  const worker = containers.find((c) => !c.PortMappings);

  test('the API: the image as written, pulled with a grant on its repository, no Command, the recipe\'s health check and user', () => {
    expect(api.Image).toBe(recipe.api.image.uri);
    expect(api.Command).toBeUndefined();
    expect(api.HealthCheck).toMatchObject({ Command: ['CMD-SHELL', recipe.api.containerHealthCheckCommand] });
    expect(api.User).toBe('10001:10001');
    const statements = policyStatements(compute, 'WebApiTaskDefinitionExecutionRole');
    expect(statements).toEqual(expect.arrayContaining([
      expect.objectContaining({
        Action: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
        Resource: 'arn:aws:ecr:us-east-1:123456789012:repository/my-api',
      }),
    ]));
  });

  test('the worker: the same image with the recipe\'s command', () => {
    expect(worker.Image).toBe(recipe.worker.image.uri);
    expect(worker.Command).toEqual(recipe.worker.image.command);
  });

  test('no warning of reference assumptions is left', () => {
    const messages = stacks.compute.node.findAll().flatMap((c) => c.node.metadata.filter((m) => m.type === 'aws:cdk:warning').map((m) => String(m.data)));
    expect(messages.filter((m) => /own image|own USER/.test(m))).toEqual([]);
  });
});
