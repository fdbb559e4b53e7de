import { ConfigError, loadConfig } from '../../lib/config/loader';
import { configFor, contextWith, type Overrides } from '../helpers/context';

// network.taskEgress "vpcEndpoints" (lib/constructs/task-egress.ts): the tasks have no route out, so the
// loader refuses what they could then not reach. Every message whole: key path, value, fix.
const PREFIX = 'scaling-blueprint.environments.prod';
const ALL_SEVEN = ['sqs', 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sts', 'monitoring'];

function problems(overrides: Overrides): readonly string[] {
  try {
    loadConfig(contextWith('prod', overrides), 'prod');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

test('defaults: "internet" in dev and staging, "vpcEndpoints" in prod, which lists all seven endpoints', () => {
  expect(configFor('dev').network.taskEgress).toBe('internet');
  expect(configFor('staging').network.taskEgress).toBe('internet');
  expect(configFor('prod').network.taskEgress).toBe('vpcEndpoints');
  expect(configFor('prod').network.interfaceEndpoints).toEqual(ALL_SEVEN);
});

test('"vpcEndpoints" without the endpoints the tasks call', () => {
  expect(problems({ network: { interfaceEndpoints: ['ecr.api', 'ecr.dkr', 'sts'] } })).toEqual([
    `${PREFIX}.network.taskEgress = "vpcEndpoints": is "vpcEndpoints", but network.interfaceEndpoints lacks "sqs", "logs", "secretsmanager"; without a route out the tasks reach AWS only through these endpoints, so sqs, logs, secretsmanager calls would time out. Fix: add "sqs", "logs", "secretsmanager" to network.interfaceEndpoints, or set network.taskEgress to "internet".`,
  ]);
});

test('sts and monitoring are not required: the workload calls neither', () => {
  expect(problems({ network: { interfaceEndpoints: ['sqs', 'ecr.api', 'ecr.dkr', 'logs', 'secretsmanager'] } })).toEqual([]);
});

test('an image from another registry', () => {
  expect(problems({ api: { image: { uri: 'ghcr.io/acme/api:1.4.2', directory: '', credentialsSecretArn: '' } } })).toEqual([
    `${PREFIX}.api.image.uri = "ghcr.io/acme/api:1.4.2": is not in Amazon ECR, and network.taskEgress "vpcEndpoints" leaves the tasks no route to it: they pull only through the ECR endpoints and S3 gateway endpoint of us-east-1. Fix: copy the image into an ECR repository of us-east-1 (or build it from api.image.directory), or set network.taskEgress to "internet".`,
  ]);
});

test('an ECR image of another region, on a worker', () => {
  const uri = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/worker:2';
  expect(problems({ worker: { image: { uri, directory: '' } } })).toEqual([
    `${PREFIX}.worker.image.uri = "${uri}": is in Amazon ECR of eu-west-1, not of region us-east-1, and network.taskEgress "vpcEndpoints" leaves the tasks no route to it: they pull only through the ECR endpoints and S3 gateway endpoint of us-east-1. Fix: copy the image into an ECR repository of us-east-1 (or build it from worker.image.directory), or set network.taskEgress to "internet".`,
  ]);
});

test('an ECR image of this region (any account: the endpoint policies let configured repositories through) loads', () => {
  expect(problems({ api: { image: { uri: '210987654321.dkr.ecr.us-east-1.amazonaws.com/team/api:3', directory: '' } } })).toEqual([]);
});

test('"internet" takes any registry and no endpoint', () => {
  expect(problems({ network: { taskEgress: 'internet', interfaceEndpoints: [] }, api: { image: { uri: 'ghcr.io/acme/api:1.4.2', directory: '' } } })).toEqual([]);
});
