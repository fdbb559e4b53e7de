import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app';
import { loadConfig } from '../../lib/config/loader';
import { blueprintContext, featureFlags } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

// Traps that only show at deploy time, caught on the templates.

/** Every stack of an environment with a long name (a user's "performance-testing-eu-central-1" and its twin). */
function longNamed(envName: string) {
  const ctx = blueprintContext();
  ctx.environments[envName] = { ...ctx.environments.staging, cache: { mode: 'serverless' } };
  const app = new App({ context: featureFlags(), builtinCloudFormationValidation: false });
  const stacks = buildApp(app, loadConfig(ctx, envName));
  return Template.fromStack(stacks.data);
}

describe('names AWS limits', () => {
  const a = longNamed('performance-testing-eu-central-1');
  const b = longNamed('performance-testing-eu-central-2');
  const names = (t: Template) => {
    const [cluster] = Object.values(t.findResources('AWS::RDS::DBCluster'));
    const [endpoint] = Object.values(t.findResources('AWS::RDS::DBProxyEndpoint'));
    const [cache] = Object.values(t.findResources('AWS::ElastiCache::ServerlessCache'));
    const log = Object.values(t.findResources('AWS::Logs::LogGroup')).find((g) => typeof g.Properties.LogGroupName === 'string')!;
    return {
      cluster: cluster.Properties.DBClusterIdentifier as string,
      endpoint: endpoint.Properties.DBProxyEndpointName as string,
      cache: cache.Properties.ServerlessCacheName as string,
      log: log.Properties.LogGroupName as string,
    };
  };

  test('stay inside the limits for a long environment name', () => {
    const n = names(a);
    expect(n.cluster).toMatch(/^[a-z](?!.*--)[a-z0-9-]{0,62}$/); // DB cluster identifier: 63, letter first
    expect(n.cluster).not.toMatch(/-$/);
    expect(n.endpoint).toMatch(/^[a-z](?!.*--)[a-z0-9-]{0,62}$/);
    expect(n.cache.length).toBeLessThanOrEqual(40); // serverless cache name: 40
    expect(n.log.length).toBeLessThanOrEqual(512);
  });

  test('two long names that share a prefix do not collide after truncation', () => {
    const [x, y] = [names(a), names(b)];
    expect(x.cluster).not.toBe(y.cluster);
    expect(x.endpoint).not.toBe(y.endpoint);
    expect(x.cache).not.toBe(y.cache);
  });
});

describe.each(ENVIRONMENTS)('%s', (env) => {
  const s = synth(env);
  const all = [s.network, s.data, s.compute, s.monitoring];

  test('every log group has a retention', () => {
    for (const t of all) {
      for (const group of Object.values(t.findResources('AWS::Logs::LogGroup'))) expect(group.Properties.RetentionInDays).toBeGreaterThan(0);
    }
  });

  test('stateful resources carry explicit DeletionPolicy and UpdateReplacePolicy', () => {
    const stateful = ['AWS::RDS::DBCluster', 'AWS::ElastiCache::ReplicationGroup', 'AWS::ElastiCache::ServerlessCache', 'AWS::SQS::Queue',
      'AWS::KMS::Key', 'AWS::SecretsManager::Secret', 'AWS::Logs::LogGroup', 'AWS::S3::Bucket'];
    let seen = 0;
    for (const t of all) {
      for (const type of stateful) {
        for (const [id, r] of Object.entries(t.findResources(type))) {
          seen++;
          expect({ id, deletion: r.DeletionPolicy, replace: r.UpdateReplacePolicy }).toEqual({ id, deletion: expect.any(String), replace: expect.any(String) });
        }
      }
    }
    expect(seen).toBeGreaterThan(10);
  });

  test('the cache AUTH token is 16–128 characters without @, " or /', () => {
    const [secret] = Object.values(s.data.findResources('AWS::SecretsManager::Secret', { Properties: { Description: 'ElastiCache AUTH token' } }));
    const gen = secret.Properties.GenerateSecretString;
    expect(gen.PasswordLength).toBeGreaterThanOrEqual(16);
    expect(gen.PasswordLength).toBeLessThanOrEqual(128);
    expect(gen.ExcludePunctuation).toBe(true);
  });

  test('ALB access logs go to an SSE-S3 bucket (a KMS-encrypted bucket makes log delivery fail)', () => {
    const [bucket] = Object.values(s.compute.findResources('AWS::S3::Bucket'));
    expect(bucket.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault).toEqual({ SSEAlgorithm: 'AES256' });
  });

  test('cross-stack references only from stateless to stateful stacks: Data and Network import nothing from Compute or Monitoring', () => {
    for (const t of [s.network, s.data]) expect(JSON.stringify(t.toJSON())).not.toMatch(/ImportValue":"ScalingBlueprint-\w+-(Compute|Monitoring)/);
  });
});
