import { CACHE_KEY_PREFIX } from '../../lib/constructs/cache';
import { CONTAINER_ENV_NAMES, containerEnvSchema, type ContainerEnvName } from '../../lib/contracts/container-env';
import { DATABASE_USERS } from '../../lib/contracts/database-roles';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// The container's environment crosses a process boundary: the Compute stack writes it (data-access.ts) and
// the workload parses it at start (workload/src/settings.ts), both by the contract in
// lib/contracts/container-env.ts. A variable the workload requires and the stack does not set, or a literal
// it would reject, is a task that exits at start on every deploy; these tests catch it at synth.
const known = new Set<string>(CONTAINER_ENV_NAMES);
const field = (name: string) => containerEnvSchema.shape[name as ContainerEnvName];
const required = CONTAINER_ENV_NAMES.filter((name) => !field(name).safeParse(undefined).success);

interface Container {
  readonly Environment: Array<{ Name: string; Value: unknown }>;
  readonly Secrets?: Array<{ Name: string }>;
}

describe.each(ENVIRONMENTS)('container environment contract (%s)', (env) => {
  const { compute, data } = synth(env);
  const containers = Object.entries(compute.findResources('AWS::ECS::TaskDefinition'))
    .map(([id, def]) => [id.replace(/TaskDefinition.*$/, ''), def.Properties.ContainerDefinitions[0] as Container] as const);

  test('both tasks are checked: the API and the worker', () => {
    expect(containers).toHaveLength(2);
  });

  test.each(containers)('%s: every variable and secret is one the workload reads, each set once, every required one set', (_id, container) => {
    const names = [...container.Environment.map((e) => e.Name), ...(container.Secrets ?? []).map((s) => s.Name)];
    expect(names.filter((n) => !known.has(n))).toEqual([]);
    expect(names.length).toBe(new Set(names).size);
    expect(required.filter((n) => !names.includes(n))).toEqual([]);
  });

  test.each(containers)('%s: every literal value parses as the workload parses it', (_id, container) => {
    const literals = Object.fromEntries(container.Environment.filter((e) => typeof e.Value === 'string').map((e) => [e.Name, e.Value as string]));
    const rejected = Object.entries(literals)
      .map(([name, value]) => ({ name, value, result: field(name).safeParse(value) }))
      .filter((r) => !r.result.success)
      .map(({ name, value, result }) => `${name}=${value}: ${result.error!.issues.map((i) => i.message).join('; ')}`);
    expect(rejected).toEqual([]);
    // The one rule across variables: IAM auth to the cache names the user and the cache.
    if (literals.CACHE_IAM_AUTH === 'true') {
      const set = container.Environment.map((e) => e.Name);
      expect(set).toEqual(expect.arrayContaining(['CACHE_USER', 'CACHE_NAME']));
    }
  });

  test.each(containers)('%s: writes its cache keys under the one prefix the cache user\'s ACL allows', (_id, container) => {
    expect(container.Environment.find((e) => e.Name === 'CACHE_KEY_PREFIX')?.Value).toBe(CACHE_KEY_PREFIX);
    const app = Object.values(data.findResources('AWS::ElastiCache::User')).find((u) => u.Properties.UserName !== 'default')!;
    expect(app.Properties.AccessString.split(' ').filter((r: string) => r.startsWith('~'))).toEqual([`~${CACHE_KEY_PREFIX}*`]);
  });
});

test('the contract rejects what the workload cannot run with, with the variable named', () => {
  const base = { DB_WRITER_HOST: 'w', DB_READER_HOST: 'r', DB_NAME: 'app', DB_USERNAME: 'app', CACHE_HOST: 'c', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs' };
  expect(containerEnvSchema.safeParse(base).success).toBe(true);
  const paths = (env: Record<string, string>) => containerEnvSchema.safeParse(env).error?.issues.map((i) => i.path.join('.'));
  expect(paths({ ...base, DB_POOL_SIZE: '0', DB_IAM_AUTH: 'yes' })).toEqual(['DB_IAM_AUTH', 'DB_POOL_SIZE']);
  expect(paths({ ...base, CACHE_IAM_AUTH: 'true' })).toEqual(['CACHE_USER', 'CACHE_NAME']);
  const { QUEUE_URL: _omitted, ...withoutQueue } = base;
  expect(paths(withoutQueue)).toEqual(['QUEUE_URL']);
  // The password has one source: the secret (read at connect time), or a fixed one for local runs; none with IAM auth.
  const secretArn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf';
  expect(containerEnvSchema.safeParse({ ...base, DB_SECRET_ARN: secretArn }).success).toBe(true);
  expect(paths({ ...base, DB_SECRET_ARN: 'db-AbCdEf' })).toEqual(['DB_SECRET_ARN']);
  const issues = (env: Record<string, string>) => containerEnvSchema.safeParse(env).error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  expect(issues({ ...base, DB_SECRET_ARN: secretArn, DB_IAM_AUTH: 'true' }))
    .toEqual(['DB_SECRET_ARN: unused with DB_IAM_AUTH=true (tokens replace the password): do not give the task the password']);
  expect(issues({ ...base, DB_SECRET_ARN: secretArn, DB_PASSWORD: 'fixed' }))
    .toEqual(['DB_PASSWORD: set together with DB_SECRET_ARN: the password comes from one of them, unset DB_PASSWORD']);
});

interface Statement {
  readonly Action: string | string[];
  readonly Resource: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}
const actionsOf = (s: Statement) => [s.Action].flat();

// ECS resolves a task definition's `secrets` once, at task start; the master password rotates every
// database.secretRotationDays, after which a task holding the old one can open no new connection. So the
// password never reaches a task definition: where the tasks use it (no proxy) they read it from the secret
// with their task role when they connect; where they sign IAM tokens (proxy), nothing of the secret reaches them.
describe.each(ENVIRONMENTS)('database credentials: read at connect time where needed, nowhere else (%s)', (env) => {
  const { compute, data, stacks } = synth(env);
  const iamAuth = stacks.data.database.proxy !== undefined;
  const definitions = Object.values(compute.findResources('AWS::ECS::TaskDefinition')).map((d) => d.Properties);
  const policies = Object.values(compute.findResources('AWS::IAM::Policy')).map((p) => p.Properties);
  const statementsOf = (roleArn: { 'Fn::GetAtt': [string, 'Arn'] }) => policies
    .filter((p) => (p.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleArn['Fn::GetAtt'][0]))
    .flatMap((p) => p.PolicyDocument.Statement as Statement[]);
  const readsSecrets = (s: Statement) => actionsOf(s).some((a) => a.startsWith('secretsmanager:'));
  const decryptsViaSecretsManager = (s: Statement) => actionsOf(s).includes('kms:Decrypt')
    && JSON.stringify(s.Condition?.StringEquals?.['kms:ViaService'] ?? '').includes('secretsmanager.');
  // The master secret's ARN as the Compute stack sees it: the import of what the Data stack exports.
  const secretRef = stacks.data.resolve(stacks.data.database.secret.secretArn);
  const [secretExport] = Object.values(data.toJSON().Outputs as Record<string, { Value: unknown; Export: { Name: string } }>)
    .filter((o) => JSON.stringify(o.Value) === JSON.stringify(secretRef));
  const envOf = (def: (typeof definitions)[number]) => def.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>;

  /** Which service a task definition runs: its DB_USERNAME, one of the services' users. */
  const serviceOf = (def: (typeof definitions)[number]) => {
    const user = envOf(def).find((e) => e.Name === 'DB_USERNAME')!.Value;
    return (Object.keys(DATABASE_USERS) as Array<keyof typeof DATABASE_USERS>).find((s) => DATABASE_USERS[s] === user)!;
  };
  /** The ARN of a service's user secret as the Compute stack sees it (an import of the Data stack's export). */
  const userSecretImport = (service: keyof typeof DATABASE_USERS) => ({ 'Fn::GetStackOutput': expect.objectContaining({
    StackName: stacks.data.stackName,
    OutputName: expect.stringMatching(new RegExp(`DatabaseRoles${service[0].toUpperCase()}${service.slice(1)}SecretAttachment`)),
  }) });

  test('no container gets a secret resolved at task start, nor a password in its environment; each connects as its own service\'s user and does not migrate', () => {
    expect(definitions).toHaveLength(2);
    expect(definitions.map(serviceOf).sort()).toEqual(['api', 'worker']);
    for (const def of definitions) {
      expect(def.ContainerDefinitions[0].Secrets).toBeUndefined();
      expect(envOf(def).map((e) => e.Name)).not.toContain('DB_PASSWORD');
      expect(envOf(def)).toContainEqual({ Name: 'DB_MIGRATE_ON_START', Value: 'false' });
    }
  });

  test('no task definition, task role or execution role references the master secret (nor the master user)', () => {
    const master = JSON.stringify(secretRef);
    const masterImport = secretExport && JSON.stringify(secretExport.Export.Name);
    for (const def of definitions) {
      const text = JSON.stringify([def, statementsOf(def.TaskRoleArn), statementsOf(def.ExecutionRoleArn)]);
      expect(text).not.toContain(master);
      expect(text).not.toMatch(/DatabaseMasterSecret/);
      if (masterImport) expect(text).not.toContain(masterImport);
      expect(envOf(def).find((e) => e.Name === 'DB_USERNAME')!.Value).not.toBe(configFor(env).database.masterUsername);
    }
  });

  test('no execution role may read a secret or decrypt through Secrets Manager: ECS resolves nothing at start', () => {
    for (const def of definitions) {
      expect(statementsOf(def.ExecutionRoleArn).filter((s) => readsSecrets(s) || decryptsViaSecretsManager(s))).toEqual([]);
    }
  });

  if (iamAuth) {
    test('IAM auth (proxy): no task gets the secret ARN, and no role of the Compute stack may read any secret', () => {
      for (const def of definitions) {
        expect(envOf(def)).toContainEqual({ Name: 'DB_IAM_AUTH', Value: 'true' });
        expect(envOf(def).map((e) => e.Name)).not.toContain('DB_SECRET_ARN');
      }
      const all = policies.flatMap((p) => p.PolicyDocument.Statement as Statement[]);
      expect(all.filter((s) => readsSecrets(s) || decryptsViaSecretsManager(s))).toEqual([]);
    });
  } else {
    test('password auth: each container names its own user\'s secret, and its task role may read exactly that one secret, decrypting only through Secrets Manager', () => {
      for (const def of definitions) {
        const imported = userSecretImport(serviceOf(def));
        expect(envOf(def)).toContainEqual({ Name: 'DB_IAM_AUTH', Value: 'false' });
        expect(envOf(def)).toContainEqual({ Name: 'DB_SECRET_ARN', Value: imported });
        const statements = statementsOf(def.TaskRoleArn);
        expect(statements.filter(readsSecrets)).toEqual([
          { Effect: 'Allow', Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: imported },
        ]);
        // The secrets key, through Secrets Manager, for this one secret (its ARN is the encryption context).
        expect(statements.filter(decryptsViaSecretsManager)).toEqual([expect.objectContaining({
          Action: 'kms:Decrypt',
          Resource: { 'Fn::GetStackOutput': expect.objectContaining({ OutputName: expect.stringMatching(/SecretsKey.*Arn/) }) },
          Condition: {
            StringEquals: {
              'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
              'kms:EncryptionContext:SecretARN': [imported],
            },
          },
        })]);
      }
      // Nobody else in the stack: the two task roles hold the only grants.
      const grants = policies.flatMap((p) => p.PolicyDocument.Statement as Statement[]).filter(readsSecrets);
      expect(grants).toHaveLength(definitions.length);
    });
  }

  test('the Data stack exports the secret ARNs whether or not the tasks import them: switching the proxy on removes no export in use', () => {
    expect(secretExport).toBeDefined();
    const outputs = JSON.stringify(data.toJSON().Outputs);
    for (const user of Object.values(stacks.data.database.users)) expect(outputs).toContain(JSON.stringify(stacks.data.resolve(user.secret.secretArn)));
  });

  if (iamAuth) {
    test('IAM auth (proxy): each task role may connect to the proxy as its own service\'s user only', () => {
      for (const def of definitions) {
        const connect = statementsOf(def.TaskRoleArn).filter((s) => actionsOf(s).includes('rds-db:connect'));
        expect(connect).toHaveLength(1);
        const resource = JSON.stringify(connect[0].Resource);
        expect(resource).toContain(`/${DATABASE_USERS[serviceOf(def)]}"`);
        for (const other of Object.values(DATABASE_USERS).filter((u) => u !== DATABASE_USERS[serviceOf(def)])) expect(resource).not.toContain(`/${other}"`);
        expect(resource).not.toContain(`/${configFor(env).database.masterUsername}"`);
      }
    });
  }
});
