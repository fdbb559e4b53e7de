import { configFor, oneProblem } from '../helpers/context';

const CERT = 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

describe('nlb', () => {
  test('off in every shipped environment (opt-in), with source-IP stickiness ready when turned on', () => {
    for (const env of ['dev', 'staging', 'prod']) {
      expect(configFor(env).nlb).toEqual({ enabled: false, certificateArn: '', listenerPort: 443, allowedCidrs: ['0.0.0.0/0'], stickiness: true, deregistrationDelaySeconds: 30 });
    }
  });

  test('enabled without a certificate fails, naming nlb.certificateArn, the value and the fix', () => {
    expect(oneProblem('dev', { nlb: { enabled: true } })).toBe(
      'scaling-blueprint.defaults.nlb.certificateArn = "": is empty while nlb.enabled is true; the Network Load Balancer has only a TLS listener, which needs a certificate. '
      + 'Fix: set nlb.certificateArn to an issued ACM certificate in us-east-1 for the name clients use to reach the NLB (alb.certificateArn will do if it covers that name), or set nlb.enabled to false.');
  });

  test('a range listed twice fails', () => {
    expect(oneProblem('dev', { nlb: { enabled: true, certificateArn: CERT, allowedCidrs: ['198.51.100.0/24', '198.51.100.0/24'] } })).toBe(
      'scaling-blueprint.environments.dev.nlb.allowedCidrs = ["198.51.100.0/24","198.51.100.0/24"]: lists a range twice. Fix: list each range once.');
  });

  test('a range that is not an IPv4 CIDR is a type error naming the key', () => {
    expect(oneProblem('dev', { nlb: { allowedCidrs: ['10.0.0.0/33'] } })).toMatch(/^scaling-blueprint\.environments\.dev\.nlb\.allowedCidrs\.0 = "10\.0\.0\.0\/33": .*an IPv4 CIDR such as "203\.0\.113\.0\/24" or "0\.0\.0\.0\/0"/);
  });

  test('with a certificate it loads', () => {
    expect(configFor('dev', { nlb: { enabled: true, certificateArn: CERT } }).nlb.enabled).toBe(true);
  });
});

describe('alb.minimumCapacityUnits (LCU reservation)', () => {
  test('0 (none) in every shipped environment', () => {
    for (const env of ['dev', 'staging', 'prod']) expect(configFor(env).alb.minimumCapacityUnits).toBe(0);
  });

  test('between 1 and 99 fails with the least value AWS accepts', () => {
    expect(oneProblem('prod', { alb: { minimumCapacityUnits: 50 } })).toBe(
      'scaling-blueprint.environments.prod.alb.minimumCapacityUnits = 50: is below 100, the least LCU reservation an Application Load Balancer accepts ("The total reservation request must be at least 100 LCU", https://docs.aws.amazon.com/elasticloadbalancing/latest/application/capacity-unit-reservation.html). '
      + 'Fix: set it to 0 for no reservation, or to 100 or more.');
  });

  test('100 and more load', () => {
    expect(configFor('prod', { alb: { minimumCapacityUnits: 100 } }).alb.minimumCapacityUnits).toBe(100);
  });
});

describe('network.interfaceEndpoints', () => {
  test('all seven in prod, none in dev and staging', () => {
    expect(configFor('prod').network.interfaceEndpoints).toEqual(['sqs', 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sts', 'monitoring']);
    expect(configFor('dev').network.interfaceEndpoints).toEqual([]);
    expect(configFor('staging').network.interfaceEndpoints).toEqual([]);
  });

  test('one of ECR\'s two endpoints without the other fails, naming the missing one', () => {
    expect(oneProblem('dev', { network: { interfaceEndpoints: ['sqs', 'ecr.dkr'] } })).toBe(
      'scaling-blueprint.environments.dev.network.interfaceEndpoints = ["sqs","ecr.dkr"]: has ecr.dkr without ecr.api; a Fargate image pull calls both, so one alone still pulls through the NAT gateways. '
      + 'Fix: add "ecr.api", or remove "ecr.dkr".');
    expect(oneProblem('dev', { network: { interfaceEndpoints: ['ecr.api'] } })).toBe(
      'scaling-blueprint.environments.dev.network.interfaceEndpoints = ["ecr.api"]: has ecr.api without ecr.dkr; a Fargate image pull calls both, so one alone still pulls through the NAT gateways. '
      + 'Fix: add "ecr.dkr", or remove "ecr.api".');
  });

  test('an endpoint listed twice fails', () => {
    expect(oneProblem('dev', { network: { interfaceEndpoints: ['sqs', 'sqs'] } })).toBe(
      'scaling-blueprint.environments.dev.network.interfaceEndpoints = ["sqs","sqs"]: lists an endpoint twice. Fix: list each endpoint once.');
  });

  test('a service outside the list is a type error naming the key', () => {
    expect(oneProblem('dev', { network: { interfaceEndpoints: ['kms'] } })).toMatch(/^scaling-blueprint\.environments\.dev\.network\.interfaceEndpoints\.0 = "kms": /);
  });
});
