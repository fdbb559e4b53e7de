import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AuroraReaderCleanup } from '../../lib/constructs/reader-cleanup';
import { configFor, featureFlags } from '../helpers/context';
import { deletionOrder } from '../helpers/deletion-order';
import { ENVIRONMENTS, synth } from '../helpers/synth';

const instances = (t: Template) => Object.values(t.findResources('AWS::RDS::DBInstance'));
const keyRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] };
// One key per class of data (lib/stacks/data-stack.ts): storage and Performance Insights, secrets, logs.
const secretsKeyRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('^SecretsKey'), 'Arn'] };
const logKeyRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('^LogKey'), 'Arn'] };

describe.each(ENVIRONMENTS)('Aurora PostgreSQL (%s)', (env) => {
  const cfg = configFor(env);
  const db = cfg.database;
  const { data: t } = synth(env);

  test('cluster: engine, encryption with the data key, IAM auth, backups, log export', () => {
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      Engine: 'aurora-postgresql',
      EngineVersion: db.engineVersion,
      StorageEncrypted: true,
      KmsKeyId: keyRef,
      EnableIAMDatabaseAuthentication: true,
      BackupRetentionPeriod: db.backupRetentionDays,
      EnableCloudwatchLogsExports: ['postgresql'],
      DatabaseName: db.databaseName,
      CopyTagsToSnapshot: true,
      PerformanceInsightsEnabled: true,
      PerformanceInsightsKmsKeyId: keyRef,
      PerformanceInsightsRetentionPeriod: db.performanceInsightsRetentionDays,
      // Protected clusters get their protection from AuroraDeletionProtection, once the stack exists.
      DeletionProtection: cfg.stateful.removalPolicy === 'destroy' ? false : Match.absent(),
    });
  });

  test('removal: snapshot unless the environment says destroy', () => {
    t.hasResource('AWS::RDS::DBCluster', {
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Snapshot',
      UpdateReplacePolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Snapshot',
    });
  });

  test('TLS is forced by the cluster parameter group', () => {
    t.hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
      Family: `aurora-postgresql${db.engineVersion.split('.')[0]}`,
      Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
    });
  });

  test(`one writer and ${db.readers} reader(s), private, of the configured class, with enhanced monitoring`, () => {
    const all = instances(t);
    expect(all).toHaveLength(1 + db.readers);
    for (const i of all) {
      expect(i.Properties).toMatchObject({
        DBInstanceClass: db.instanceClass,
        PubliclyAccessible: false,
        AutoMinorVersionUpgrade: true,
        EnablePerformanceInsights: true,
        MonitoringInterval: db.monitoringIntervalSeconds,
      });
    }
  });

  test('placed in the isolated data subnets of the network stack', () => {
    const [group] = Object.values(t.findResources('AWS::RDS::DBSubnetGroup'));
    const ids = group.Properties.SubnetIds as Array<{ 'Fn::GetStackOutput': { OutputName: string } }>;
    expect(ids).toHaveLength(cfg.network.maxAzs);
    for (const id of ids) expect(id['Fn::GetStackOutput'].OutputName).toMatch(/NetworkVpcDataSubnet\d/);
  });

  test('master credentials in a generated secret encrypted with the secrets key, never "postgres"', () => {
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: JSON.stringify({ username: db.masterUsername }) }),
      KmsKeyId: secretsKeyRef,
    });
    expect(db.masterUsername).not.toBe('postgres');
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) },
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'RetainExceptOnCreate',
    });
  });

  test(`master password rotated every ${db.secretRotationDays} days by a function in the app subnets that reaches the cluster`, () => {
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^DatabaseMasterSecretAttachment') },
      RotationRules: { ScheduleExpression: `rate(${db.secretRotationDays} days)` },
    });
    const [app] = Object.values(t.findResources('AWS::Serverless::Application'));
    expect(JSON.stringify(app.Properties.Parameters.vpcSubnetIds)).toMatch(/NetworkVpcAppSubnet1/);
    expect(JSON.stringify(app.Properties.Parameters.vpcSubnetIds)).not.toMatch(/DataSubnet/);
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseRotationSecurityGroup'), 'GroupId'] },
    });
    expect(JSON.stringify(app.Properties.Parameters.vpcSecurityGroupIds)).toMatch(/DatabaseRotationSecurityGroup/);
  });

  test('the rotation function may reach Secrets Manager (HTTPS, through NAT) and the cluster, nothing else', () => {
    const [[groupId, group]] = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('DatabaseRotationSecurityGroup'));
    expect(group.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '0.0.0.0/0', Description: 'HTTPS to the Secrets Manager API (through NAT)', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }]);
    const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress')).filter((r) => r.Properties.GroupId['Fn::GetAtt'][0] === groupId);
    expect(separate.map((r) => r.Properties)).toEqual([expect.objectContaining({
      DestinationSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseSecurityGroup/), 'GroupId'] },
      IpProtocol: 'tcp',
      FromPort: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Port'] },
    })]);
  });

  test('the postgresql log goes to a group this stack creates first, encrypted, with its retention', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/rds/cluster/scalingblueprint-${env}-data-aurora/postgresql`,
      RetentionInDays: db.logRetentionDays,
      KmsKeyId: logKeyRef,
    });
    t.hasResourceProperties('AWS::RDS::DBCluster', { DBClusterIdentifier: `scalingblueprint-${env}-data-aurora` });
    t.hasResource('AWS::RDS::DBCluster', { DependsOn: Match.arrayWith([Match.stringLikeRegexp('^DatabasePostgresLog')]) });
    t.resourceCountIs('Custom::LogRetention', 0);
  });

  test('enhanced monitoring role: inline, scoped to the RDSOSMetrics log group, no managed policy', () => {
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'monitoring.rds.amazonaws.com' } })] },
      ManagedPolicyArns: Match.absent(),
      Policies: [Match.objectLike({ PolicyName: 'EnhancedMonitoring' })],
    });
  });

  test('the cluster security group has no outbound rule and no CIDR ingress', () => {
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Aurora cluster'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic' })],
    });
    for (const rule of Object.values(t.findResources('AWS::EC2::SecurityGroupIngress'))) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(rule.Properties.SourceSecurityGroupId).toBeDefined();
    }
  });

  if (db.proxy.enabled) {
    test('RDS Proxy: TLS required, IAM auth, pool limits from config, in the data subnets', () => {
      t.hasResourceProperties('AWS::RDS::DBProxy', {
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
        // One secret per service user (lib/constructs/database-roles.ts), never the master's.
        Auth: [
          Match.objectLike({ IAMAuth: 'REQUIRED', AuthScheme: 'SECRETS', SecretArn: { Ref: Match.stringLikeRegexp('^DatabaseRolesApiSecretAttachment') } }),
          Match.objectLike({ IAMAuth: 'REQUIRED', AuthScheme: 'SECRETS', SecretArn: { Ref: Match.stringLikeRegexp('^DatabaseRolesWorkerSecretAttachment') } }),
        ],
      });
      t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
        ConnectionPoolConfigurationInfo: {
          MaxConnectionsPercent: db.proxy.maxConnectionsPercent,
          MaxIdleConnectionsPercent: db.proxy.maxIdleConnectionsPercent,
          ConnectionBorrowTimeout: db.proxy.borrowTimeoutSeconds,
        },
      });
    });

    test('the proxy role may read the secrets it serves (the services\' users\', not the master\'s) and decrypt them only through Secrets Manager, for those secrets', () => {
      const [proxy] = Object.values(t.findResources('AWS::RDS::DBProxy'));
      const roleId = proxy.Properties.RoleArn['Fn::GetAtt'][0] as string;
      const statements = Object.values(t.findResources('AWS::IAM::Policy'))
        .filter((p) => (p.Properties.Roles as Array<{ Ref: string }>).some((r) => r.Ref === roleId))
        .flatMap((p) => p.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Condition?: unknown; Resource: unknown }>);
      const served = [/^DatabaseRolesApiSecretAttachment/, /^DatabaseRolesWorkerSecretAttachment/];
      expect(statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('kms:')))).toEqual([{
        Action: 'kms:Decrypt',
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SecretsKey/), 'Arn'] },
        Condition: {
          StringEquals: {
            'kms:ViaService': { 'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
            'kms:EncryptionContext:SecretARN': served.map((id) => ({ Ref: expect.stringMatching(id) })),
          },
        },
      }]);
      const reads = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('secretsmanager:')));
      expect(reads).toEqual([expect.objectContaining({ Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'], Resource: served.map((id) => ({ Ref: expect.stringMatching(id) })) })]);
      expect(JSON.stringify(statements)).not.toContain('DatabaseMasterSecret');
      // The key policy names no role: the account's principals use the secrets key through Secrets Manager only.
      const [secretsKey] = Object.entries(t.findResources('AWS::KMS::Key')).filter(([id]) => id.startsWith('SecretsKey')).map(([, k]) => k);
      expect(JSON.stringify(secretsKey.Properties.KeyPolicy)).not.toContain(roleId);
    });

    test('a read-only proxy endpoint pools the reads over the readers', () => {
      t.hasResourceProperties('AWS::RDS::DBProxyEndpoint', {
        TargetRole: 'READ_ONLY',
        DBProxyName: { Ref: Match.stringLikeRegexp('^DatabaseClusterProxy') },
      });
    });

    test('only the proxy, the rotation functions and the migrations reach the cluster; only the proxy may leave towards it', () => {
      const sources = Object.values(t.findResources('AWS::EC2::SecurityGroupIngress')).map((r) => r.Properties.SourceSecurityGroupId['Fn::GetAtt'][0] as string);
      expect(sources.map((id) => id.replace(/[0-9A-F]{8}$/, '')).sort()).toEqual(['DatabaseProxySecurityGroup', 'DatabaseRolesSecurityGroup', 'DatabaseRotationSecurityGroup']);
      t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
        SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseProxySecurityGroup'), 'GroupId'] },
        FromPort: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseCluster'), 'Endpoint.Port'] },
      });
      t.hasResourceProperties('AWS::EC2::SecurityGroupEgress', {
        GroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseProxySecurityGroup'), 'GroupId'] },
        DestinationSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DatabaseSecurityGroup'), 'GroupId'] },
      });
    });

    test('the proxy may leave only towards the cluster, on its port: EC2 adds no allow-all rule to its group', () => {
      const [[groupId, group]] = Object.entries(t.findResources('AWS::EC2::SecurityGroup')).filter(([id]) => id.startsWith('DatabaseProxySecurityGroup'));
      // Its one real rule is a separate resource; inline, the group lists only the rule that matches no traffic.
      expect(group.Properties.SecurityGroupEgress).toEqual([{ CidrIp: '255.255.255.255/32', Description: 'Disallow all traffic', IpProtocol: 'icmp', FromPort: 252, ToPort: 86 }]);
      const separate = Object.values(t.findResources('AWS::EC2::SecurityGroupEgress')).filter((r) => r.Properties.GroupId['Fn::GetAtt'][0] === groupId);
      expect(separate.map((r) => r.Properties)).toEqual([expect.objectContaining({
        DestinationSecurityGroupId: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseSecurityGroup/), 'GroupId'] },
        IpProtocol: 'tcp',
        FromPort: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Port'] },
        ToPort: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseCluster/), 'Endpoint.Port'] },
      })]);
    });
  } else {
    test('no proxy when it is off; clients use the cluster endpoints', () => {
      t.resourceCountIs('AWS::RDS::DBProxy', 0);
      t.resourceCountIs('AWS::RDS::DBProxyEndpoint', 0);
      const { database } = synth(env).stacks.data;
      expect(database.proxy).toBeUndefined();
    });
  }

  if (db.readerAutoscaling.enabled) {
    test('readers scale on rds:cluster:ReadReplicaCount, tracking average reader CPU', () => {
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
        ServiceNamespace: 'rds',
        ScalableDimension: 'rds:cluster:ReadReplicaCount',
        ResourceId: { 'Fn::Join': ['', ['cluster:', { Ref: Match.stringLikeRegexp('^DatabaseCluster') }]] },
        MinCapacity: db.readerAutoscaling.minReaders,
        MaxCapacity: db.readerAutoscaling.maxReaders,
        RoleARN: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([Match.stringLikeRegexp('AWSServiceRoleForApplicationAutoScaling_RDSCluster$')])],
        }),
      });
      t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          PredefinedMetricSpecification: { PredefinedMetricType: 'RDSReaderAverageCPUUtilization' },
          TargetValue: db.readerAutoscaling.targetCpuUtilizationPercent,
          ScaleInCooldown: db.readerAutoscaling.scaleInCooldownSeconds,
          ScaleOutCooldown: db.readerAutoscaling.scaleOutCooldownSeconds,
        },
      });
    });

    test('the scalable target waits for the cluster instances', () => {
      const [target] = Object.values(t.findResources('AWS::ApplicationAutoScaling::ScalableTarget'));
      const writer = Object.keys(t.findResources('AWS::RDS::DBInstance')).find((id) => id.includes('Writer'));
      expect(target.DependsOn).toEqual(expect.arrayContaining([writer]));
    });
  } else {
    test('no reader autoscaling when it is off', () => {
      t.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    });
  }
});

describe('Aurora variants', () => {
  test('Serverless v2: capacity range on the cluster, db.serverless instances, first reader scales with the writer', () => {
    const { data: t } = synth('staging', {
      database: { instanceClass: 'db.serverless', serverlessV2MinCapacityAcu: 0.5, serverlessV2MaxCapacityAcu: 8, readers: 2 },
    });
    t.hasResourceProperties('AWS::RDS::DBCluster', {
      ServerlessV2ScalingConfiguration: { MinCapacity: 0.5, MaxCapacity: 8 },
    });
    const all = instances(t);
    expect(all).toHaveLength(3);
    for (const i of all) expect(i.Properties.DBInstanceClass).toBe('db.serverless');
    // promotion tier 1 keeps the first reader at the writer's capacity, ready for failover; the rest scale on their own load
    expect(all.filter((i) => i.Properties.PromotionTier === 1)).toHaveLength(1);
    expect(all.filter((i) => i.Properties.PromotionTier >= 2)).toHaveLength(1);
  });

  test('a config change moves the reader CPU target', () => {
    const { data: t } = synth('staging', { database: { readerAutoscaling: { targetCpuUtilizationPercent: 42 } } });
    t.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: Match.objectLike({ TargetValue: 42 }),
    });
  });

  test('enhanced monitoring off when the interval is 0', () => {
    const { data: t } = synth('dev', { database: { monitoringIntervalSeconds: 0 } });
    for (const i of instances(t)) expect(i.Properties.MonitoringInterval).toBeUndefined();
  });

  test('the handles later stacks use point at the proxy when it is on', () => {
    const { database } = synth('staging').stacks.data;
    expect(database.proxy).toBeDefined();
    expect(database.connections.securityGroups).toEqual(database.proxy!.connections.securityGroups);
    expect(database.connections.defaultPort?.toString()).toBe('5432');
  });
});

// Readers Application Auto Scaling adds are not in the template, and RDS will not delete a cluster that still
// has instances: a custom resource deletes them on stack deletion, between the scalable target and the cluster.
describe.each(ENVIRONMENTS)('autoscaled reader cleanup (%s)', (env) => {
  const cfg = configFor(env);
  const db = cfg.database;
  const { data: t } = synth(env);
  const resources = Object.entries(t.toJSON().Resources as Record<string, { Type: string; Properties: any; DependsOn?: string[]; Metadata?: Record<string, any> }>);
  const ofCleanup = resources.filter(([id]) => id.startsWith('DatabaseReaderCleanup'));
  const functions = ofCleanup.filter(([, r]) => r.Type === 'AWS::Lambda::Function');
  const idOf = (type: string, match = '') => resources.find(([id, r]) => r.Type === type && id.includes(match))![0];

  if (!db.readerAutoscaling.enabled) {
    test('none without reader autoscaling: no custom resource, no function', () => {
      t.resourceCountIs('Custom::AuroraReaderCleanup', 0);
      expect(ofCleanup).toEqual([]);
    });
    return;
  }

  test('one custom resource, given the cluster identifier, deleted with the stack (the cluster is not retained)', () => {
    t.resourceCountIs('Custom::AuroraReaderCleanup', 1);
    t.hasResource('Custom::AuroraReaderCleanup', {
      Properties: { ClusterIdentifier: { Ref: Match.stringLikeRegexp('^DatabaseCluster[0-9A-F]{8}$') } },
      DeletionPolicy: cfg.stateful.removalPolicy === 'retain' ? 'RetainExceptOnCreate' : 'Delete',
    });
  });

  test('deletion order: scalable target, then the cleanup (autoscaled readers gone), then the template\'s instances, then the cluster', () => {
    const cleanup = idOf('Custom::AuroraReaderCleanup');
    const target = idOf('AWS::ApplicationAutoScaling::ScalableTarget');
    const cluster = idOf('AWS::RDS::DBCluster');
    const dbInstances = resources.filter(([, r]) => r.Type === 'AWS::RDS::DBInstance').map(([id]) => id);
    expect(dbInstances).toHaveLength(1 + db.readers);
    const order = deletionOrder(t);
    expect(order.deletedBefore(target, cleanup)).toBe(true);
    for (const instance of dbInstances) {
      expect([instance, order.deletedBefore(cleanup, instance)]).toEqual([instance, true]);
      expect([instance, order.deletedBefore(instance, cluster)]).toEqual([instance, true]);
    }
    // Creation runs the other way: the cleanup is created once the cluster and its instances exist.
    expect(order.deletedBefore(cleanup, cluster)).toBe(true);
    expect(order.acyclic()).toBe(true);
  });

  test('handler role: RDS access to this cluster and to autoscaled instances only, inline, no managed policy', () => {
    const roles = ofCleanup.filter(([, r]) => r.Type === 'AWS::IAM::Role');
    expect(roles.map(([id]) => id.replace(/[0-9A-F]{8}$/, ''))).toEqual(expect.arrayContaining([
      'DatabaseReaderCleanupHandlerRole', 'DatabaseReaderCleanupFrameworkOnEventRole', 'DatabaseReaderCleanupFrameworkCompleteRole',
    ]));
    for (const [, role] of roles) expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const [, handlerRole] = roles.find(([id]) => id.startsWith('DatabaseReaderCleanupHandlerRole'))!;
    const statements = (handlerRole.Properties.Policies as Array<{ PolicyDocument: { Statement: Array<{ Action: string | string[]; Resource: unknown }> } }>)
      .flatMap((p) => p.PolicyDocument.Statement);
    const rdsStatements = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('rds:')));
    expect(rdsStatements).toEqual([
      {
        Action: 'rds:DescribeDBClusters',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', [`arn:aws:rds:${cfg.region}:`, { Ref: 'AWS::AccountId' }, ':cluster:', { Ref: idOf('AWS::RDS::DBCluster') }]] },
      },
      {
        Action: 'rds:DescribeDBInstances',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':rds:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':db:application-autoscaling-*']] },
      },
      {
        // Only this cluster's autoscaled readers: another stack's in the same account carry another tag value.
        Action: 'rds:DeleteDBInstance',
        Effect: 'Allow',
        Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':rds:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':db:application-autoscaling-*']] },
        Condition: { StringEquals: { 'aws:ResourceTag/application-autoscaling:resourceId': { 'Fn::Join': ['', ['cluster:', { Ref: idOf('AWS::RDS::DBCluster') }]] } } },
      },
    ]);
  });

  test('all five functions (two handlers, three of the Provider framework) in the app subnets behind an HTTPS-only security group', () => {
    expect(functions).toHaveLength(5);
    const group = idOf('AWS::EC2::SecurityGroup', 'ReaderCleanup');
    for (const [, fn] of functions) {
      expect(fn.Properties.VpcConfig.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [group, 'GroupId'] }]);
      const subnets = JSON.stringify(fn.Properties.VpcConfig.SubnetIds);
      expect(subnets).toMatch(/NetworkVpcAppSubnet1/);
      expect(subnets).not.toMatch(/DataSubnet|PublicSubnet/);
    }
    t.hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: Match.stringLikeRegexp('^Aurora reader cleanup'),
      SecurityGroupEgress: [Match.objectLike({ CidrIp: '0.0.0.0/0', IpProtocol: 'tcp', FromPort: 443, ToPort: 443 })],
      SecurityGroupIngress: Match.absent(),
    });
  });

  test('handlers: bundled locally, nodejs24.x on arm64, no reserved concurrency (a new account rejects any); the framework on nodejs24.x too', () => {
    const handlers = functions.filter(([id]) => /(OnEvent|IsComplete)Handler/.test(id));
    expect(handlers.map(([, fn]) => fn.Properties.Handler).sort()).toEqual(['index.isComplete', 'index.onEvent']);
    for (const [, fn] of functions) expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
    for (const [, fn] of handlers) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'] });
      expect(fn.Properties.Code.S3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
    }
    for (const [, fn] of functions) expect(fn.Properties.Runtime).toBe('nodejs24.x');
  });

  test(`logs: two encrypted groups with ${db.logRetentionDays} days retention, every function writes to one`, () => {
    const groups = ofCleanup.filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups).toHaveLength(2);
    const key = { 'Fn::GetAtt': [idOf('AWS::KMS::Key', 'LogKey'), 'Arn'] };
    for (const [, group] of groups) expect(group.Properties).toEqual({ RetentionInDays: db.logRetentionDays, KmsKeyId: key });
    const ids = groups.map(([id]) => id);
    for (const [, fn] of functions) expect(ids).toContain(fn.Properties.LoggingConfig.LogGroup.Ref);
  });

  test('the waiter polls every 30 s for at most 50 minutes (inside the one-hour custom resource timeout)', () => {
    const [, machine] = ofCleanup.find(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine')!;
    const definition = (machine.Properties.DefinitionString['Fn::Join'][1] as unknown[]).filter((p) => typeof p === 'string').join('');
    expect(definition).toContain('"IntervalSeconds":30,"MaxAttempts":100,"BackoffRate":1');
    // Its logging and tracing, which the framework does not offer, are the only Control Tower exceptions of
    // its own (short log retention outside production and imported subnets are the stack-wide ones).
    const excepted = ofCleanup.flatMap(([, r]) => (r.Metadata?.['scaling-blueprint:guard-exceptions'] ?? []) as Array<{ rule: string }>).map((e) => e.rule);
    expect(excepted.filter((rule) => !['CT.LAMBDA.PR.3', 'CT.CLOUDWATCH.PR.2'].includes(rule)).sort()).toEqual(['CT.STEPFUNCTIONS.PR.1', 'CT.STEPFUNCTIONS.PR.2']);
  });
});

describe('Aurora reader cleanup variants', () => {
  test('stateful.removalPolicy "retain": the readers stay with the retained cluster (CloudFormation never calls the cleanup)', () => {
    // The construct alone in a small stack: a whole environment's synth would cost seconds for one attribute.
    const stack = new Stack(new App({ context: featureFlags(), builtinCloudFormationValidation: false }), 'Probe', { env: { region: 'us-east-1' } });
    new AuroraReaderCleanup(stack, 'Cleanup', {
      vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 }),
      cluster: rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Cluster', { clusterIdentifier: 'probe' }),
      encryptionKey: new kms.Key(stack, 'Key'),
      logRetentionDays: 7,
      removalPolicy: 'retain',
    });
    // Kept on stack deletion; deleted (and so run) if the deploy that created it, and the cluster, rolls back.
    Template.fromStack(stack).hasResource('Custom::AuroraReaderCleanup', { DeletionPolicy: 'RetainExceptOnCreate', UpdateReplacePolicy: 'Retain' });
  });
});
