import { ConfigError, loadConfig } from '../../lib/config/loader';
import { isReferenceImage, parseEcrImage } from '../../lib/config/schema/compute';
import { contextWith, type Overrides } from '../helpers/context';

// The rules for an image of your own (docs/own-image.md): every message whole, with the key path as the user
// wrote it, the value and the fix.
const ECR = '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/api:1.4.2';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:ghcr-pull-AbCdEf';
const ECR_FORM = 'names an Amazon ECR registry, but not as <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@sha256:digest], so the task would get no permission to pull it. Fix: copy the URI from the ECR console (12-digit account, region, repository), e.g. "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1.4.2".';

function problems(overrides: Overrides): readonly string[] {
  try {
    loadConfig(contextWith('staging', overrides), 'staging');
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
}

describe('image rules', () => {
  test('a URI with a scheme', () => {
    expect(problems({ api: { image: { uri: `https://${ECR}`, directory: '' } } })).toEqual([
      `scaling-blueprint.environments.staging.api.image.uri = "https://${ECR}": must be an image reference such as "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1.4.2" (no https://, repository in lower case), or "". Fix: write an image reference such as "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-api:1.4.2" (no https://, repository in lower case), or "".`,
    ]);
  });

  test('an ECR registry with a short account id', () => {
    expect(problems({ api: { image: { uri: '12345.dkr.ecr.us-east-1.amazonaws.com/api:1', directory: '' } } })).toEqual([
      `scaling-blueprint.environments.staging.api.image.uri = "12345.dkr.ecr.us-east-1.amazonaws.com/api:1": ${ECR_FORM}`,
    ]);
  });

  test('an ECR registry without a repository', () => {
    expect(problems({ worker: { image: { uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com', directory: '' } } })).toEqual([
      `scaling-blueprint.environments.staging.worker.image.uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com": ${ECR_FORM}`,
    ]);
  });

  test('registry credentials for an ECR image', () => {
    expect(problems({ api: { image: { uri: ECR, directory: '', credentialsSecretArn: SECRET } } })).toEqual([
      `scaling-blueprint.environments.staging.api.image.credentialsSecretArn = "${SECRET}": is set for an Amazon ECR image (api.image.uri); ECS pulls from ECR with the task execution role, which gets pull permission on that repository, and registry credentials are for registries outside ECR (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html). Fix: set api.image.credentialsSecretArn to "".`,
    ]);
  });

  test('registry credentials for an image built from a directory', () => {
    expect(problems({ worker: { image: { credentialsSecretArn: SECRET } } })).toEqual([
      `scaling-blueprint.environments.staging.worker.image.credentialsSecretArn = "${SECRET}": is set, but worker.image.uri is "": an image built from worker.image.directory is pushed to the CDK assets repository in ECR, which needs no registry credentials. Fix: set worker.image.credentialsSecretArn to "".`,
    ]);
  });

  test('registry credentials by name instead of ARN', () => {
    expect(problems({ api: { image: { uri: 'ghcr.io/acme/api:2', directory: '', credentialsSecretArn: 'ghcr-pull' } } })).toEqual([
      'scaling-blueprint.environments.staging.api.image.credentialsSecretArn = "ghcr-pull": must be a Secrets Manager secret ARN with its 6-character suffix, or "". Fix: write a Secrets Manager secret ARN with its 6-character suffix, or "".',
    ]);
  });

  test('what loads: an ECR tag or digest, another registry with or without credentials, a local registry port', () => {
    for (const image of [
      { uri: ECR, directory: '' },
      { uri: `123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com/api@sha256:${'a'.repeat(64)}`, directory: '' },
      { uri: 'ghcr.io/acme/api:2', directory: '', credentialsSecretArn: SECRET },
      { uri: 'public.ecr.aws/nginx/nginx:1.27-alpine', directory: '' },
      { uri: 'registry.internal:5000/team/api:v1', directory: '' },
    ]) expect({ image, problems: problems({ api: { image } }) }).toEqual({ image, problems: [] });
  });
});

describe('parseEcrImage', () => {
  test('account, region, repository and the tag or digest ECS pulls', () => {
    expect(parseEcrImage(ECR)).toEqual({ account: '123456789012', region: 'eu-west-1', repositoryName: 'team/api', tagOrDigest: '1.4.2' });
    expect(parseEcrImage('123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/api')).toEqual({ account: '123456789012', region: 'cn-north-1', repositoryName: 'api', tagOrDigest: 'latest' });
    expect(parseEcrImage(`123456789012.dkr.ecr.us-east-1.amazonaws.com/api:1@sha256:${'b'.repeat(64)}`)?.tagOrDigest).toBe(`sha256:${'b'.repeat(64)}`);
  });

  test('anything else is another registry', () => {
    for (const uri of ['public.ecr.aws/nginx/nginx:1', 'ghcr.io/acme/api:2', 'nginx', '123456789012.dkr.ecr.us-east-1.amazonaws.com']) expect(parseEcrImage(uri)).toBeUndefined();
  });
});

test('the reference image is the one built from workload/, however the directory is spelt', () => {
  for (const directory of ['workload', './workload', 'workload/']) expect(isReferenceImage({ uri: '', directory })).toBe(true);
  expect(isReferenceImage({ uri: '', directory: 'services/api' })).toBe(false);
  expect(isReferenceImage({ uri: ECR, directory: '' })).toBe(false);
});
