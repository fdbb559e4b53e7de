import { CONTAINER_ENV_NAMES, containerEnvSchema, type ContainerEnvName } from '../../lib/contracts/container-env';
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
  const { compute } = synth(env);
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
});

test('the contract rejects what the workload cannot run with, with the variable named', () => {
  const base = { DB_WRITER_HOST: 'w', DB_READER_HOST: 'r', DB_NAME: 'app', DB_USERNAME: 'app', CACHE_HOST: 'c', QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs' };
  expect(containerEnvSchema.safeParse(base).success).toBe(true);
  const paths = (env: Record<string, string>) => containerEnvSchema.safeParse(env).error?.issues.map((i) => i.path.join('.'));
  expect(paths({ ...base, DB_POOL_SIZE: '0', DB_IAM_AUTH: 'yes' })).toEqual(['DB_IAM_AUTH', 'DB_POOL_SIZE']);
  expect(paths({ ...base, CACHE_IAM_AUTH: 'true' })).toEqual(['CACHE_USER', 'CACHE_NAME']);
  const { QUEUE_URL: _omitted, ...withoutQueue } = base;
  expect(paths(withoutQueue)).toEqual(['QUEUE_URL']);
});
