import { Match, type Template } from 'aws-cdk-lib/assertions';
import { configFor } from '../helpers/context';
import { ENVIRONMENTS, synth } from '../helpers/synth';

const instances = (t: Template) => Object.values(t.findResources('AWS::RDS::DBInstance'));
const keyRef = { 'Fn::GetAtt': [Match.stringLikeRegexp('^DataKey'), 'Arn'] };

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
      DeletionProtection: cfg.production || cfg.stateful.removalPolicy !== 'destroy',
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
    const ids = group.Properties.SubnetIds as Array<{ 'Fn::ImportValue': string }>;
    expect(ids).toHaveLength(cfg.network.maxAzs);
    for (const id of ids) expect(id['Fn::ImportValue']).toMatch(/NetworkVpcDataSubnet\d/);
  });

  test('master credentials in a generated secret encrypted with the data key, never "postgres"', () => {
    t.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: Match.objectLike({ SecretStringTemplate: JSON.stringify({ username: db.masterUsername }) }),
      KmsKeyId: keyRef,
    });
    expect(db.masterUsername).not.toBe('postgres');
    t.hasResource('AWS::SecretsManager::Secret', {
      Properties: { GenerateSecretString: Match.objectLike({ GenerateStringKey: 'password' }) },
      DeletionPolicy: cfg.stateful.removalPolicy === 'destroy' ? 'Delete' : 'Retain',
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
      SourceSecurityGroupId: { 'Fn::GetAtt': [Match.stringLikeRegexp('RotationSingleUserSecurityGroup'), 'GroupId'] },
    });
  });

  test('the postgresql log goes to a group this stack creates first, encrypted, with its retention', () => {
    t.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: `/aws/rds/cluster/scalingblueprint-${env}-data-aurora/postgresql`,
      RetentionInDays: db.logRetentionDays,
      KmsKeyId: keyRef,
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
        Auth: [Match.objectLike({ IAMAuth: 'REQUIRED', AuthScheme: 'SECRETS' })],
      });
      t.hasResourceProperties('AWS::RDS::DBProxyTargetGroup', {
        ConnectionPoolConfigurationInfo: {
          MaxConnectionsPercent: db.proxy.maxConnectionsPercent,
          MaxIdleConnectionsPercent: db.proxy.maxIdleConnectionsPercent,
          ConnectionBorrowTimeout: db.proxy.borrowTimeoutSeconds,
        },
      });
    });

    test('a read-only proxy endpoint pools the reads over the readers', () => {
      t.hasResourceProperties('AWS::RDS::DBProxyEndpoint', {
        TargetRole: 'READ_ONLY',
        DBProxyName: { Ref: Match.stringLikeRegexp('^DatabaseClusterProxy') },
      });
    });

    test('only the proxy (and the rotation function) reach the cluster; only the proxy may leave towards it', () => {
      t.resourceCountIs('AWS::EC2::SecurityGroupIngress', 2);
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
