import { Match, type Template } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { REPORTS, twoServices } from '../helpers/two-services';

/** The container environment of the task definition whose logical id starts with `prefix`, as a map. */
function environmentOf(t: Template, prefix: string): Record<string, unknown> {
  const [, task] = Object.entries(t.findResources('AWS::ECS::TaskDefinition')).find(([id]) => id.startsWith(prefix))!;
  return Object.fromEntries((task.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]));
}

describe.each(ENVIRONMENTS)('in-app rate limit per client from the stack (%s)', (env) => {
  const cfg = configFor(env);
  const { compute } = synth(env);

  test('the API gets api.rateLimitPerClientPerSecond, and trusts X-Forwarded-For only from the VPC where the limit is on', () => {
    const limit = cfg.api.rateLimitPerClientPerSecond;
    compute.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Environment: Match.arrayWith([
          { Name: 'METRICS_SERVICE', Value: 'api' },
          { Name: 'RATE_LIMIT_PER_SECOND', Value: String(limit) },
          { Name: 'RATE_LIMIT_TRUSTED_PROXIES', Value: limit > 0 ? cfg.network.cidr : '' },
        ]),
      })],
    });
  });

  test('as shipped: on in staging and prod, off in dev', () => {
    expect(cfg.api.rateLimitPerClientPerSecond > 0).toBe(env !== 'dev');
  });
});

describe('in-app rate limit of another HTTP service (staging with services: reports)', () => {
  const cfg = configFor('staging', twoServices());
  const { compute } = synth('staging', twoServices());

  test('each service gets its own limit, with the same trusted CIDR', () => {
    expect(environmentOf(compute, 'WebReportsService')).toMatchObject({
      METRICS_SERVICE: REPORTS,
      RATE_LIMIT_PER_SECOND: String(cfg.services[0].rateLimitPerClientPerSecond),
      RATE_LIMIT_TRUSTED_PROXIES: cfg.network.cidr,
    });
    expect(environmentOf(compute, 'WebApiTaskDefinition')).toMatchObject({
      RATE_LIMIT_PER_SECOND: String(cfg.api.rateLimitPerClientPerSecond),
      RATE_LIMIT_TRUSTED_PROXIES: cfg.network.cidr,
    });
    expect(cfg.services[0].rateLimitPerClientPerSecond).not.toBe(cfg.api.rateLimitPerClientPerSecond);
  });
});
