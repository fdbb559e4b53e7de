import { Match, type Template } from 'aws-cdk-lib/assertions';
import { containerEnvSchema } from '../../lib/contracts/container-env';
import { trustedProxies } from '../../workload/src/limits';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { REPORTS, twoServices } from '../helpers/two-services';

/** The container environment of the task definition whose logical id starts with `prefix`, as a map. */
function environmentOf(t: Template, prefix: string): Record<string, unknown> {
  const [, task] = Object.entries(t.findResources('AWS::ECS::TaskDefinition')).find(([id]) => id.startsWith(prefix))!;
  return Object.fromEntries((task.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: unknown }>).map((e) => [e.Name, e.Value]));
}

const REQUIRED_STAND_INS = {
  DB_WRITER_HOST: 'writer', DB_READER_HOST: 'reader', DB_NAME: 'app', DB_USERNAME: 'app_api', CACHE_HOST: 'cache',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/jobs',
};

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

  test('the workload reads them as set: a CIDR it accepts, which trusts the public subnets (the ALB\'s nodes) and no internet address', () => {
    const env_ = environmentOf(compute, 'WebApiTaskDefinition');
    // The template's other values are CloudFormation references; stand-ins for the keys the contract requires.
    const parsed = containerEnvSchema.parse({
      ...REQUIRED_STAND_INS, RATE_LIMIT_PER_SECOND: env_.RATE_LIMIT_PER_SECOND, RATE_LIMIT_TRUSTED_PROXIES: env_.RATE_LIMIT_TRUSTED_PROXIES,
    });
    expect(parsed.RATE_LIMIT_PER_SECOND).toBe(cfg.api.rateLimitPerClientPerSecond);
    const trusted = trustedProxies(String(env_.RATE_LIMIT_TRUSTED_PROXIES).split(',').filter(Boolean));
    if (cfg.api.rateLimitPerClientPerSecond === 0) {
      expect(trusted).toBeUndefined();
      return;
    }
    const publicSubnets = Object.values(synth(env).network.findResources('AWS::EC2::Subnet', { Properties: { MapPublicIpOnLaunch: false, Tags: Match.arrayWith([{ Key: 'aws-cdk:subnet-type', Value: 'Public' }]) } }));
    expect(publicSubnets.length).toBeGreaterThan(0);
    for (const subnet of publicSubnets) {
      const [base] = (subnet.Properties.CidrBlock as string).split('/');
      const node = base.replace(/\d+$/, (last) => String(Number(last) + 10));
      expect(trusted!.check(node, 'ipv4')).toBe(true);
    }
    expect(trusted!.check('203.0.113.7', 'ipv4')).toBe(false);
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
