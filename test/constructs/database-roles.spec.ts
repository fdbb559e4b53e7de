import { Match } from 'aws-cdk-lib/assertions';
import { migrationsHash } from '../../lib/constructs/database-roles';
import { DATABASE_SERVICES, DATABASE_USERS } from '../../lib/contracts/database-roles';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';
import { actions, policyStatements } from '../helpers/template';

type Resource = { Type: string; Properties: any; DependsOn?: string[] };

// The services connect as users of their own (lib/constructs/database-roles.ts), each with its own secret and
// rotation, registered with the proxy; the schema and the grants come from a custom resource of the Data stack
// that runs with the master secret, never from a service task.
describe.each(ENVIRONMENTS)('database roles (%s)', (env) => {
  const cfg = configFor(env);
  const { data: t, compute, stacks } = synth(env);
  const proxy = cfg.database.proxy.enabled;
  const resources = t.toJSON().Resources as Record<string, Resource>;
  const ref = (token: string) => stacks.data.resolve(token);
  const users = stacks.data.database.users;
  const idOf = (token: string) => (ref(token) as { Ref: string }).Ref;

  test('one secret per service user, generated, encrypted with the secrets key, naming its database', () => {
    const secrets = Object.values(resources).filter((r) => r.Type === 'AWS::SecretsManager::Secret');
    for (const service of DATABASE_SERVICES) {
      // The template is a Fn::Join where it carries the master secret's ARN (masterarn, for the clone).
      const [secret] = secrets.filter((r) => JSON.stringify(r.Properties.GenerateSecretString.SecretStringTemplate).includes(`\\"username\\":\\"${DATABASE_USERS[service]}\\"`));
      expect(secret.Properties).toEqual(expect.objectContaining({ KmsKeyId: ref(stacks.data.keys.secrets.keyArn) }));
      expect(secret.Properties.GenerateSecretString.GenerateStringKey).toBe('password');
      const template = JSON.stringify(secret.Properties.GenerateSecretString.SecretStringTemplate);
      expect(template).toContain(`\\"dbname\\":\\"${cfg.database.databaseName}\\"`);
      expect(template.includes('masterarn')).toBe(!proxy);
    }
    expect(new Set(Object.values(DATABASE_USERS)).size).toBe(DATABASE_SERVICES.length);
    expect(Object.values(DATABASE_USERS)).not.toContain(cfg.database.masterUsername);
  });

  test(`each user's secret rotates every database.secretRotationDays, ${proxy ? 'single-user (the proxy matches tokens to the secret\'s user name)' : 'alternating users, cloned with the master secret'}, after the migrations created the user`, () => {
    const schedules = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::SecretsManager::RotationSchedule');
    const migrations = Object.entries(resources).find(([, r]) => r.Type === 'Custom::DatabaseMigrations')![0];
    for (const service of DATABASE_SERVICES) {
      const secretId = idOf(users[service].secret.secretArn);
      const [, schedule] = schedules.find(([, r]) => r.Properties.SecretId.Ref === secretId)!;
      expect(schedule.Properties.RotationRules).toEqual(expect.objectContaining({ ScheduleExpression: `rate(${cfg.database.secretRotationDays} days)` }));
      expect(schedule.DependsOn).toContain(migrations);
    }
    // The rotation application's id is in the mapping its Location names.
    const mappings = t.toJSON().Mappings as Record<string, Record<string, { applicationId: string }>>;
    const apps = Object.values(resources).filter((r) => r.Type === 'AWS::Serverless::Application')
      .map((r) => mappings[r.Properties.Location.ApplicationId['Fn::FindInMap'][0]].aws.applicationId);
    const multi = apps.filter((a) => a.endsWith('/SecretsManagerRDSPostgreSQLRotationMultiUser'));
    // The master secret's own rotation is single-user: it rotates itself.
    expect(multi).toHaveLength(proxy ? 0 : DATABASE_SERVICES.length);
    expect(apps).toHaveLength(1 + DATABASE_SERVICES.length);
  });

  if (proxy) {
    test('the proxy authenticates with the services\' secrets, not the master secret, and its role can read only those', () => {
      const [proxyResource] = Object.values(resources).filter((r) => r.Type === 'AWS::RDS::DBProxy');
      const arns = DATABASE_SERVICES.map((s) => ref(users[s].secret.secretArn));
      expect(proxyResource.Properties.Auth.map((a: { SecretArn: unknown }) => a.SecretArn)).toEqual(arns);
      expect(proxyResource.Properties.Auth.every((a: { IAMAuth: string }) => a.IAMAuth === 'REQUIRED')).toBe(true);
      const proxyRole = proxyResource.Properties.RoleArn['Fn::GetAtt'][0] as string;
      const reads = policyStatements(t, proxyRole).filter((s) => [s.Action].flat().some((a) => a.startsWith('secretsmanager:')));
      expect(JSON.stringify(reads)).not.toContain(JSON.stringify(ref(stacks.data.database.secret.secretArn)));
    });
  }

  test('the migrations run as a custom resource with the master secret, against the cluster endpoint (not the proxy), again when they change', () => {
    t.hasResourceProperties('Custom::DatabaseMigrations', {
      MasterSecretArn: ref(stacks.data.database.secret.secretArn),
      Host: ref(stacks.data.database.cluster.clusterEndpoint.hostname),
      Port: '5432',
      Database: cfg.database.databaseName,
      Users: Object.fromEntries(DATABASE_SERVICES.map((s) => [s, { Name: DATABASE_USERS[s], SecretArn: ref(users[s].secret.secretArn) }])),
      Hash: migrationsHash(),
    });
    const [, migrations] = Object.entries(resources).find(([, r]) => r.Type === 'Custom::DatabaseMigrations')!;
    // After the writer exists.
    const instances = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::RDS::DBInstance').map(([id]) => id);
    expect(migrations.DependsOn).toEqual(expect.arrayContaining(instances));
  });

  test('its function runs in the VPC, reads only the master and the users\' secrets, and reaches the cluster and HTTPS only', () => {
    const handlerRole = Object.keys(resources).find((id) => id.startsWith('DatabaseRolesHandlerRole'))!;
    const statements = policyStatements(t, handlerRole);
    const secretArns = [stacks.data.database.secret.secretArn, ...DATABASE_SERVICES.map((s) => users[s].secret.secretArn)].map(ref);
    expect(statements.filter((s) => actions([s]).includes('secretsmanager:GetSecretValue'))).toEqual([
      expect.objectContaining({ Resource: secretArns }),
    ]);
    expect(actions(statements).filter((a) => a.startsWith('kms:'))).toEqual(['kms:Decrypt']);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Role: { 'Fn::GetAtt': [handlerRole, 'Arn'] },
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
      Environment: { Variables: Match.objectLike({ NODE_EXTRA_CA_CERTS: '/var/runtime/ca-cert.pem' }) },
    });
    const group = Object.keys(resources).find((id) => id.startsWith('DatabaseRolesSecurityGroup'))!;
    const egress = [
      ...resources[group].Properties.SecurityGroupEgress ?? [],
      ...Object.values(resources).filter((r) => r.Type === 'AWS::EC2::SecurityGroupEgress' && r.Properties.GroupId['Fn::GetAtt']?.[0] === group).map((r) => r.Properties),
    ];
    const clusterGroup = stacks.data.resolve(stacks.data.database.cluster.connections.securityGroups[0].securityGroupId);
    expect(egress.filter((e) => e.FromPort === 443).map((e) => e.CidrIp)).toEqual(['0.0.0.0/0']);
    expect(egress.filter((e) => e.FromPort !== 443)).toEqual([expect.objectContaining({ IpProtocol: 'tcp', DestinationSecurityGroupId: clusterGroup })]);
    expect(egress.filter((e) => e.IpProtocol === '-1' && e.CidrIp === '0.0.0.0/0')).toEqual([]);
  });

  test('no service task definition references the master secret', () => {
    const master = JSON.stringify(ref(stacks.data.database.secret.secretArn));
    for (const def of Object.values(compute.findResources('AWS::ECS::TaskDefinition'))) {
      const text = JSON.stringify(def);
      expect(text).not.toContain(master);
      expect(text).not.toMatch(/DatabaseMasterSecret/);
    }
  });
});
