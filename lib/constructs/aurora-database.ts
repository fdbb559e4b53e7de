import { Aws, type CfnResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { DatabaseConfig, StatefulConfig } from '../config/schema';
import { LIMITLESS_DATABASE } from '../contracts/sharding';
import { autoScalingServiceLinkedRole } from './autoscaling-role';
import { DatabaseRoles, type DatabaseUser } from './database-roles';
import { AuroraDeletionProtection } from './deletion-protection';
import { closeDefaultEgress } from './egress';
import { decryptSecretsStatement, encryptedLogGroup } from './encryption';
import { isRetained, removalPolicyFor } from './removal-policy';
import { physicalName } from './naming';
import { AuroraReaderCleanup } from './reader-cleanup';
import { guardException } from './guard';
import { LimitlessShardGroup, limitlessProblems } from './limitless-database';
import { PROXY_INIT_QUERY } from '../contracts/container-env';
import type { DatabaseService } from '../contracts/database-roles';

export interface AuroraDatabaseProps {
  readonly vpc: ec2.IVpc;
  readonly config: DatabaseConfig;
  /** Encrypts storage (and so snapshots) and Performance Insights; used through RDS. */
  readonly encryptionKey: kms.IKey;
  /** Encrypts the database secrets; used through Secrets Manager. */
  readonly secretsKey: kms.IKey;
  /** Encrypts the log groups: the postgresql log and the custom resources' functions. */
  readonly logKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /**
   * RDS deletion protection on the cluster, turned on once the stack exists (AuroraDeletionProtection) so
   * that a failed first deploy can still roll back. Off, the cluster can be deleted with its stack.
   */
  readonly deletionProtection: boolean;
  /**
   * Which cluster of `database.sharding` (clusters mode) this is: its physical names (cluster identifier, log
   * group, proxy read-only endpoint) carry `-shard<n>` from 1 on. Cluster 0 keeps the names of the single cluster,
   * so that turning sharding on leaves the existing cluster in place.
   * @default 0
   */
  readonly shard?: number;
  /**
   * Aurora PostgreSQL Limitless Database (`database.sharding.mode` limitless): a cluster without instances, a DB
   * shard group with these capacities (LimitlessShardGroup), no proxy and no reader autoscaling.
   * @default - a provisioned or Serverless v2 cluster with writer and readers
   */
  readonly limitless?: DatabaseConfig['sharding']['limitless'];
}

/**
 * Everything this construct would retain goes when the deploy that created it rolls back
 * (RetainExceptOnCreate): nothing in it holds data before its first deploy completes, and the cluster and
 * its postgresql log group have fixed names that a kept copy would block on the retry.
 */
const ON_CREATE_ROLLBACK = { deleteOnCreateRollback: true } as const;

/** PostgreSQL's port on the cluster and the proxy (set explicitly so clients get a number, not a token). */
const POSTGRES_PORT = 5432;

/** Serverless v2 instance class name in config. */
const SERVERLESS_CLASS = 'db.serverless';

/**
 * Aurora PostgreSQL: one writer and `readers` readers in the isolated subnets, storage encrypted with the
 * data key, TLS forced, IAM auth on, a generated master secret, Performance Insights, enhanced monitoring and
 * the postgresql log exported. Optional RDS Proxy in front (with a read-only endpoint, so reads pool too)
 * and Application Auto Scaling of readers on `rds:cluster:ReadReplicaCount`, tracking average reader CPU.
 *
 * Clients connect to `writerEndpoint` / `readerEndpoint`: the proxy's when it is on, the cluster's otherwise.
 *
 * With `limitless`, an Aurora PostgreSQL Limitless Database cluster instead: no instances, a DB shard group
 * (LimitlessShardGroup), no proxy and no reader autoscaling; clients use the cluster's endpoints, which route to
 * the shard group's routers ("you connect to the cluster writer or reader endpoint":
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/limitless-shard.html#limitless-endpoint), in the
 * database `postgres_limitless`. With `shard`, one cluster of `clusters` mode (DataStack builds one per cluster).
 */
export class AuroraDatabase extends Construct {
  readonly cluster: rds.DatabaseCluster;
  readonly secret: secretsmanager.ISecret;
  readonly proxy?: rds.DatabaseProxy;
  /** Where writes go (proxy or cluster endpoint). */
  readonly writerEndpoint: string;
  /** Where reads go (proxy read-only endpoint or cluster reader endpoint). */
  readonly readerEndpoint: string;
  readonly port: number;
  /** Name of the database created in the cluster. */
  readonly databaseName: string;
  /** The log group RDS exports the postgresql log to (created by this construct, a fixed name). */
  readonly postgresLogGroupName: string;
  /** Security-group edges to the database: allow from these, never from a CIDR. */
  readonly connections: ec2.Connections;
  readonly readerScaling?: appscaling.ScalableTarget;
  /** Deletes the readers autoscaling added before the cluster is deleted (only with reader autoscaling). */
  readonly readerCleanup?: AuroraReaderCleanup;
  /** Turns RDS deletion protection on once the stack exists (only with `deletionProtection`). */
  readonly deletionProtection?: AuroraDeletionProtection;
  /** The services' own users and secrets, and the migrations that create them (never the master user). */
  readonly roles: DatabaseRoles;
  /** Each service's user: the one its tasks connect as. */
  readonly users: { readonly [S in DatabaseService]: DatabaseUser };
  /** The DB shard group (only with `limitless`). */
  readonly shardGroup?: LimitlessShardGroup;

  constructor(scope: Construct, id: string, props: AuroraDatabaseProps) {
    super(scope, id);
    const { config, encryptionKey, limitless } = props;
    if (limitless) {
      const problems = limitlessProblems(config);
      if (problems.length) throw new Error(`${this.node.path}: database.sharding.mode is "limitless", which ${problems.join('; ')}`);
    }
    // Limitless clusters run their own engine versions, "<major>.<minor>-limitless" (aws-cdk-lib's
    // AuroraPostgresEngineVersion.VER_16_6_LIMITLESS and siblings; database.sharding.limitless.engineVersion).
    const version = limitless ? limitless.engineVersion : config.engineVersion;
    const engine = rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.of(version, version.split('.')[0]),
    });
    const nameSuffix = props.shard ? `-shard${props.shard}` : '';
    const serverless = config.instanceClass === SERVERLESS_CLASS;
    const performanceInsightRetention = config.performanceInsightsRetentionDays as rds.PerformanceInsightRetention;
    const instance = (instanceId: string, reader: boolean): rds.IClusterInstance => {
      const common = {
        publiclyAccessible: false,
        autoMinorVersionUpgrade: true,
        caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
        enablePerformanceInsights: true,
        performanceInsightRetention,
        performanceInsightEncryptionKey: encryptionKey,
      };
      return serverless
        ? rds.ClusterInstance.serverlessV2(instanceId, { ...common, scaleWithWriter: reader })
        : rds.ClusterInstance.provisioned(instanceId, {
            ...common,
            instanceType: new ec2.InstanceType(config.instanceClass.slice('db.'.length)),
          });
    };

    const parameterGroup = new rds.ParameterGroup(this, 'ClusterParameters', {
      engine,
      description: 'TLS-only connections; slow statements logged',
      parameters: { 'rds.force_ssl': '1', log_min_duration_statement: '1000' },
    });

    const masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', {
      username: config.masterUsername,
      encryptionKey: props.secretsKey,
    });
    // The secret outlives a deleted cluster whose snapshot is kept: a restore needs the password.
    masterSecret.applyRemovalPolicy(removalPolicyFor(props.removalPolicy, ON_CREATE_ROLLBACK));

    // The database and the proxy talk only to each other: no outbound rule other than what `connections` adds.
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Aurora cluster: reachable only from the proxy or the services granted access',
      allowAllOutbound: false,
    });
    closeDefaultEgress(securityGroup);
    // RDS exports the postgresql log to a group named after the cluster. Naming the cluster lets this stack
    // create that group first, encrypted and with its retention, instead of a log-retention Lambda
    // adjusting a group RDS created (unencrypted) on its own. A fixed name: encryptedLogGroup deletes it
    // when the deploy that created it rolls back, or the retry would fail on the name.
    const clusterIdentifier = physicalName(this, `aurora${nameSuffix}`, 63);
    this.postgresLogGroupName = `/aws/rds/cluster/${clusterIdentifier}/postgresql`;
    const postgresLog = encryptedLogGroup(this, 'PostgresLog', {
      logGroupName: this.postgresLogGroupName,
      encryptionKey: props.logKey,
      retentionDays: config.logRetentionDays,
      retentionKey: 'database.logRetentionDays',
      removalPolicy: props.removalPolicy,
    });

    // Snapshot, or where the cluster would be retained, RetainExceptOnCreate: kept on stack deletion, deleted
    // when the deploy that created it rolls back (its name is fixed: a kept one would fail the retry).
    const clusterRemoval = removalPolicyFor(props.removalPolicy, { canSnapshot: true, ...ON_CREATE_ROLLBACK });
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier,
      securityGroups: [securityGroup],
      port: POSTGRES_PORT,
      engine,
      parameterGroup,
      ...(limitless ? LimitlessShardGroup.clusterProps() : {
        writer: instance('Writer', false),
        readers: Array.from({ length: config.readers }, (_, i) => instance(`Reader${i + 1}`, i === 0)),
      }),
      ...(serverless && !limitless && {
        serverlessV2MinCapacity: config.serverlessV2MinCapacityAcu,
        serverlessV2MaxCapacity: config.serverlessV2MaxCapacityAcu,
      }),
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      credentials: rds.Credentials.fromSecret(masterSecret),
      // Limitless: Aurora creates the one database the shard group serves; the cluster may not name another.
      defaultDatabaseName: limitless ? undefined : config.databaseName,
      storageEncrypted: true,
      storageEncryptionKey: encryptionKey,
      iamAuthentication: true,
      backup: { retention: Duration.days(config.backupRetentionDays) },
      copyTagsToSnapshot: true,
      enablePerformanceInsights: true,
      performanceInsightRetention,
      performanceInsightEncryptionKey: encryptionKey,
      ...(config.monitoringIntervalSeconds > 0 && {
        monitoringInterval: Duration.seconds(config.monitoringIntervalSeconds),
        // A Limitless cluster has no instances to monitor one by one.
        ...(limitless && { enableClusterLevelEnhancedMonitoring: true }),
      }),
      cloudwatchLogsExports: ['postgresql'],
      monitoringRole: config.monitoringIntervalSeconds > 0 ? this.enhancedMonitoringRole() : undefined,
      // Protected clusters leave the property out (see AuroraDeletionProtection below); others say false.
      deletionProtection: props.deletionProtection ? undefined : false,
      removalPolicy: clusterRemoval,
    });
    const cfnCluster = this.cluster.node.defaultChild as rds.CfnDBCluster;
    // Only the DB cluster resource waits for its log group: a construct-level dependency would also hold back
    // the proxy's role, which the data key's policy names, and the key is what the log group needs first.
    cfnCluster.addResourceDependency(postgresLog.node.defaultChild as CfnResource);
    if (limitless) {
      this.shardGroup = new LimitlessShardGroup(this, 'ShardGroup', {
        cluster: this.cluster, config: limitless, identifier: physicalName(this, `shards${nameSuffix}`, 63),
        // Kept with a kept cluster; otherwise deleted before it (CloudFormation cannot snapshot a shard group: the
        // cluster's snapshot is the backup).
        removalPolicy: isRetained(clusterRemoval) ? clusterRemoval : RemovalPolicy.DESTROY,
      });
    }
    if (isRetained(clusterRemoval)) {
      // aws-cdk-lib gives the instances and the subnet group of a cluster that is not plainly RETAIN the
      // policy DESTROY: a kept cluster keeps them, and they too go when their creation rolls back.
      for (const child of this.cluster.node.findAll()) {
        if (child instanceof rds.CfnDBInstance || child instanceof rds.CfnDBSubnetGroup) child.applyRemovalPolicy(clusterRemoval);
      }
    }
    if (props.deletionProtection) {
      // Whatever aws-cdk-lib would default it to: in the template, any value is sent again on every update.
      cfnCluster.addPropertyDeletionOverride('DeletionProtection');
      this.deletionProtection = new AuroraDeletionProtection(this, 'DeletionProtection', this.clusterHelperProps(props));
      const afterCreate = `Deletion protection is on, but set by the AuroraDeletionProtection custom resource (Custom::AuroraDeletionProtection, lambda/aurora-deletion-protection), which depends on every other resource of this stack, instead of by this template: with DeletionProtection in the template, a first deploy that fails after the cluster exists cannot roll back (RDS refuses to delete a protected cluster; the stack ends in ROLLBACK_FAILED), and CloudFormation would send the template's value again on every later update of the cluster.`;
      Validations.of(this.cluster).acknowledge({ id: 'AwsSolutions-RDS10', reason: afterCreate });
      guardException(this.cluster, 'CT.RDS.PR.3', afterCreate);
    } else {
      Validations.of(this.cluster).acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: 'stateful.removalPolicy is "destroy" in this environment: it is meant to be torn down with cdk destroy (the loader refuses "destroy" in production).',
      });
      guardException(this.cluster, 'CT.RDS.PR.3',
        'stateful.removalPolicy is "destroy" in this environment: it is meant to be torn down with cdk destroy; production always has deletion protection (the loader refuses "destroy" there).');
    }
    this.secret = this.cluster.secret!;
    // Rotation runs in the app subnets: it must reach the cluster and the Secrets Manager API (through NAT),
    // and nothing else. Its own group: the one addRotationSingleUser would create allows all outbound traffic.
    // DNS needs no rule (security groups do not filter traffic to the Amazon DNS server:
    // https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html).
    const rotationSecurityGroup = new ec2.SecurityGroup(this, 'RotationSecurityGroup', {
      vpc: props.vpc,
      description: 'Master secret rotation function: HTTPS to Secrets Manager, PostgreSQL to the cluster',
      allowAllOutbound: false,
    });
    rotationSecurityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the Secrets Manager API (through NAT)');
    closeDefaultEgress(rotationSecurityGroup);
    // The rotation adds the edge to the cluster itself (ingress on the cluster's group, egress on this one).
    this.cluster.addRotationSingleUser({
      automaticallyAfter: Duration.days(config.secretRotationDays),
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroup: rotationSecurityGroup,
    });
    this.port = POSTGRES_PORT;
    this.databaseName = limitless ? LIMITLESS_DATABASE : config.databaseName;
    this.roles = new DatabaseRoles(this, 'Roles', {
      ...this.clusterHelperProps(props),
      masterSecret: this.secret,
      secretsKey: props.secretsKey,
      databaseName: this.databaseName,
      // The database exists once the shard group does (a Limitless cluster has no instance to wait for).
      ...(this.shardGroup && { connectableAfter: [this.shardGroup.resource], schema: 'limitless' as const }),
      port: POSTGRES_PORT,
      rotationDays: config.secretRotationDays,
      rotationSecurityGroup,
      proxy: config.proxy.enabled,
    });
    this.users = this.roles.users;
    // Clients reach the proxy when it is on, else the cluster; on PostgreSQL's port as a number (the
    // cluster's own connections carry it as a token, the proxy's carry none).
    const clientConnections = (sg: ec2.Connections) =>
      new ec2.Connections({ securityGroups: sg.securityGroups, defaultPort: ec2.Port.tcp(POSTGRES_PORT) });
    this.connections = clientConnections(this.cluster.connections);

    if (config.proxy.enabled) {
      // The proxy's group carries its traffic to the database and nothing else: "The same security group is
      // used for ingress from your applications to the proxy, and for egress from the proxy to the database"
      // (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-creating.html). The proxy
      // reads its secret through the RDS service with its IAM role, not through these network interfaces:
      // they sit in the isolated subnets, with no route to the Secrets Manager API. Its one outbound rule
      // (to the cluster's group, on the cluster's port) is a separate resource, so the group keeps the
      // no-traffic rule inline; otherwise EC2 would add its allow-all rule when creating it.
      const proxySecurityGroup = new ec2.SecurityGroup(this, 'ProxySecurityGroup', {
        vpc: props.vpc,
        description: 'RDS Proxy: reachable only from the services granted access',
        allowAllOutbound: false,
      });
      closeDefaultEgress(proxySecurityGroup);
      const proxyRole = new iam.Role(this, 'ProxyRole', {
        assumedBy: new iam.ServicePrincipal('rds.amazonaws.com'),
        description: 'RDS Proxy: reads the database secrets it authenticates with',
      });
      // One secret per user the clients connect as: "You create a separate Secrets Manager secret for each
      // database user account that the proxy connects to" (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-secrets-arns.html).
      // The services' users only: nothing connects as the master user through the proxy (the migrations go
      // to the cluster endpoint), so the proxy's role cannot read the master password.
      const proxySecrets = this.proxySecrets(Object.values(this.users).map((u) => u.secret), proxyRole, props.secretsKey);
      this.proxy = this.cluster.addProxy('Proxy', {
        vpc: props.vpc,
        vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
        // The proxy's own role: CDK's would get kms:Decrypt on the secrets' key with no condition.
        role: proxyRole,
        secrets: proxySecrets,
        securityGroups: [proxySecurityGroup],
        requireTLS: true,
        iamAuth: true,
        maxConnectionsPercent: config.proxy.maxConnectionsPercent,
        maxIdleConnectionsPercent: config.proxy.maxIdleConnectionsPercent,
        borrowTimeout: Duration.seconds(config.proxy.borrowTimeoutSeconds),
        // The workload's statement, lock and idle-in-transaction timeouts, set on each database connection the
        // proxy opens: from the client a SET would pin its session (rds-proxy-pinning.html).
        initQuery: PROXY_INIT_QUERY,
        debugLogging: false,
      });
      // The L2 proxy has only the read/write endpoint; a READ_ONLY endpoint spreads reads over the readers.
      const readOnly = new rds.CfnDBProxyEndpoint(this, 'ProxyReadOnlyEndpoint', {
        dbProxyName: this.proxy.dbProxyName,
        dbProxyEndpointName: physicalName(this, `ro${nameSuffix}`, 63),
        targetRole: 'READ_ONLY',
        vpcSubnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
        vpcSecurityGroupIds: this.proxy.connections.securityGroups.map((sg) => sg.securityGroupId),
      });
      this.writerEndpoint = this.proxy.endpoint;
      this.readerEndpoint = readOnly.attrEndpoint;
      this.connections = clientConnections(this.proxy.connections);
      this.cluster.connections.allowDefaultPortFrom(this.proxy, 'RDS Proxy to Aurora');
    } else {
      this.writerEndpoint = this.cluster.clusterEndpoint.hostname;
      this.readerEndpoint = this.cluster.clusterReadEndpoint.hostname;
    }

    if (config.readerAutoscaling.enabled) {
      const ras = config.readerAutoscaling;
      this.readerScaling = new appscaling.ScalableTarget(this, 'ReaderScaling', {
        serviceNamespace: appscaling.ServiceNamespace.RDS,
        scalableDimension: 'rds:cluster:ReadReplicaCount',
        resourceId: `cluster:${this.cluster.clusterIdentifier}`,
        minCapacity: ras.minReaders,
        maxCapacity: ras.maxReaders,
        role: autoScalingServiceLinkedRole(this, 'AutoScalingServiceLinkedRole', 'rds'),
      });
      const dbInstances = this.cluster.node.findAll().filter((c) => c instanceof rds.CfnDBInstance);
      // Register the target once the instances exist (the Ref to the cluster alone would not wait for them).
      this.readerScaling.node.addDependency(...dbInstances);
      // Autoscaled readers are not CloudFormation's: without this, deleting the stack fails at the cluster.
      // CloudFormation deletes a resource only after everything that depends on it, so the chain
      // scalable target → cleanup → every instance of the template → cluster deletes in this order: the
      // scalable target (no new readers), the cleanup (autoscaled readers deleted and waited for), the writer
      // and readers of the template, the cluster. With the autoscaled readers gone first, RDS cannot fail
      // over to one of them while the template's instances go. On create it runs the other way: the cleanup
      // (a no-op then) comes once the instances exist, the scalable target after it.
      // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-attribute-dependson.html
      this.readerCleanup = new AuroraReaderCleanup(this, 'ReaderCleanup', this.clusterHelperProps(props));
      this.readerScaling.node.addDependency(this.readerCleanup.resource);
      this.readerCleanup.resource.node.addDependency(...dbInstances);
      this.readerScaling.scaleToTrackMetric('ReaderCpuTracking', {
        predefinedMetric: appscaling.PredefinedMetric.RDS_READER_AVERAGE_CPU_UTILIZATION,
        targetValue: ras.targetCpuUtilizationPercent,
        scaleOutCooldown: Duration.seconds(ras.scaleOutCooldownSeconds),
        scaleInCooldown: Duration.seconds(ras.scaleInCooldownSeconds),
      });
    }
  }

  /**
   * Enhanced monitoring's role with the permissions of the AWS-managed AmazonRDSEnhancedMonitoringRole,
   * inline and scoped to the one log group RDS writes OS metrics to.
   */
  private enhancedMonitoringRole(): iam.Role {
    const group = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:RDSOSMetrics`;
    const role = new iam.Role(this, 'MonitoringRole', {
      assumedBy: new iam.ServicePrincipal('monitoring.rds.amazonaws.com'),
      inlinePolicies: {
        EnhancedMonitoring: new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['logs:CreateLogGroup', 'logs:PutRetentionPolicy'], resources: [group] }),
            new iam.PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams', 'logs:GetLogEvents'],
              resources: [`${group}:log-stream:*`],
            }),
          ],
        }),
      },
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:RDSOSMetrics:log-stream:*]`,
      reason: 'RDS names one OS-metrics log stream per instance (by its resource id, unknown at synth); the grant is limited to the RDSOSMetrics group.',
    });
    return role;
  }

  /**
   * The secrets the proxy authenticates with, handed to it imported by ARN: DatabaseProxy grants its role
   * GetSecretValue on each, and on a secret object that carries its key also kms:Decrypt on that key with no
   * condition (aws-cdk-lib aws-rds/lib/proxy.ts). The role gets Decrypt here instead, through Secrets Manager
   * and for these secrets only (decryptSecretsStatement).
   */
  private proxySecrets(secrets: secretsmanager.ISecret[], role: iam.IRole, key: kms.IKey): secretsmanager.ISecret[] {
    role.addToPrincipalPolicy(decryptSecretsStatement(key, secrets.map((s) => s.secretArn)));
    return secrets.map((secret, i) => secretsmanager.Secret.fromSecretCompleteArn(this, `ProxySecret${i + 1}`, secret.secretArn));
  }

  /** What both of the cluster's custom resources (deletion protection, reader cleanup) are given. */
  private clusterHelperProps(props: AuroraDatabaseProps) {
    return {
      vpc: props.vpc,
      cluster: this.cluster,
      encryptionKey: props.logKey,
      logRetentionDays: props.config.logRetentionDays,
      logRetentionKey: 'database.logRetentionDays',
      removalPolicy: props.removalPolicy,
    };
  }
}
