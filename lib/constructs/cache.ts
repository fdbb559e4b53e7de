import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { CacheConfig, StatefulConfig } from '../config/schema';
import { removalPolicyFor } from './encryption';
import { physicalName } from './naming';

export interface CacheProps {
  readonly vpc: ec2.IVpc;
  readonly config: CacheConfig;
  readonly encryptionKey: kms.IKey;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
}

/** ElastiCache Serverless listens on 6379 (primary) and 6380 (reads from replicas); the port is not configurable. */
const SERVERLESS_PORTS = { primary: 6379, reader: 6380 } as const;

/**
 * ElastiCache (Valkey or Redis OSS) in the isolated subnets, encrypted at rest with the data key and in
 * transit (TLS required).
 *
 * `replication-group`: one shard, or `shards` shards in cluster mode (the keyspace split over node groups),
 * each with `replicas` replicas; Multi-AZ with automatic failover once there is a replica; AUTH token from a
 * generated secret. `serverless`: ElastiCache Serverless, which scales itself and is Multi-AZ by design.
 */
export class Cache extends Construct {
  /** Primary endpoint (cluster mode: the configuration endpoint). */
  readonly endpointAddress: string;
  readonly port: number;
  /** Endpoint for reads from replicas, where the mode has one. */
  readonly readerEndpointAddress?: string;
  /** True when clients must speak the cluster protocol (sharded replication group). */
  readonly clusterMode: boolean;
  /** AUTH token clients send (replication group only). */
  readonly authSecret?: secretsmanager.ISecret;
  readonly securityGroup: ec2.SecurityGroup;
  readonly connections: ec2.Connections;
  /** The L1 resource, for alarms and tests. */
  readonly resource: elasticache.CfnReplicationGroup | elasticache.CfnServerlessCache;
  /** The replication group id, or the serverless cache name: what CloudWatch metrics are keyed by. */
  readonly cacheId: string;
  /**
   * CacheClusterId of every node of a replication group (ElastiCache publishes node-based metrics per
   * node): `<group>-001…` without cluster mode, `<group>-<shard 0001…>-<node 001…>` with it. [] for serverless.
   */
  readonly nodeIds: string[];
  readonly serverless: boolean;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const { config } = props;
    const subnetIds = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'ElastiCache: reachable only from the services granted access',
      allowAllOutbound: false,
    });
    const serverless = config.mode === 'serverless';
    this.serverless = serverless;
    const defaultPort = serverless
      ? ec2.Port.tcpRange(SERVERLESS_PORTS.primary, SERVERLESS_PORTS.reader)
      : ec2.Port.tcp(config.port);
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort });
    const major = config.engineVersion.split('.')[0];

    if (serverless) {
      const cache = new elasticache.CfnServerlessCache(this, 'Serverless', {
        serverlessCacheName: physicalName(this, 'cache'),
        description: 'Application cache',
        engine: config.engine,
        majorEngineVersion: major,
        kmsKeyId: props.encryptionKey.keyArn,
        securityGroupIds: [this.securityGroup.securityGroupId],
        subnetIds,
        snapshotRetentionLimit: config.snapshotRetentionDays,
        cacheUsageLimits: {
          dataStorage: { maximum: config.serverlessMaxDataStorageGb, unit: 'GB' },
          ecpuPerSecond: { maximum: config.serverlessMaxEcpuPerSecond },
        },
      });
      cache.applyRemovalPolicy(removalPolicyFor(props.removalPolicy));
      this.resource = cache;
      this.endpointAddress = cache.attrEndpointAddress;
      this.readerEndpointAddress = cache.attrReaderEndpointAddress;
      this.port = SERVERLESS_PORTS.primary;
      this.clusterMode = false;
      this.cacheId = cache.ref;
      this.nodeIds = [];
      return;
    }

    this.clusterMode = config.shards > 1;
    this.authSecret = new secretsmanager.Secret(this, 'AuthToken', {
      description: 'ElastiCache AUTH token',
      encryptionKey: props.encryptionKey,
      // AUTH tokens allow printable ASCII except @, " and /; letters and digits avoid escaping problems.
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      removalPolicy: removalPolicyFor(props.removalPolicy),
    });
    Validations.of(this.authSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason: 'ElastiCache has no managed rotation for AUTH tokens: rotating one is a ModifyReplicationGroup ROTATE then SET sequence that clients must follow; not automated yet (see README, known exceptions).',
    });
    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'Isolated data subnets',
      subnetIds,
    });
    const replicated = config.replicas > 0;
    const group = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Application cache',
      engine: config.engine,
      engineVersion: config.engineVersion,
      cacheNodeType: config.nodeType,
      cacheParameterGroupName: `default.${config.engine}${major}${this.clusterMode ? '.cluster.on' : ''}`,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      port: config.port,
      ...(this.clusterMode
        ? { clusterMode: 'enabled', numNodeGroups: config.shards, replicasPerNodeGroup: config.replicas }
        : { clusterMode: 'disabled', numCacheClusters: 1 + config.replicas }),
      // Cluster mode always fails over automatically; without a replica there is nothing to fail over to.
      automaticFailoverEnabled: this.clusterMode || replicated,
      multiAzEnabled: replicated,
      atRestEncryptionEnabled: true,
      kmsKeyId: props.encryptionKey.keyArn,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      authToken: this.authSecret.secretValue.unsafeUnwrap(),
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: config.snapshotRetentionDays,
    });
    group.applyRemovalPolicy(removalPolicyFor(props.removalPolicy, true));
    if (!replicated) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: 'cache.replicas is 0 in this environment (cost); Multi-AZ needs a replica, and the loader requires one in production.',
      });
    }
    this.resource = group;
    this.port = config.port;
    this.cacheId = group.ref;
    const nodes = Array.from({ length: 1 + config.replicas }, (_, n) => String(n + 1).padStart(3, '0'));
    this.nodeIds = this.clusterMode
      ? Array.from({ length: config.shards }, (_, g) => String(g + 1).padStart(4, '0')).flatMap((shard) => nodes.map((n) => `${group.ref}-${shard}-${n}`))
      : nodes.map((n) => `${group.ref}-${n}`);
    if (this.clusterMode) {
      this.endpointAddress = group.attrConfigurationEndPointAddress;
    } else {
      this.endpointAddress = group.attrPrimaryEndPointAddress;
      this.readerEndpointAddress = group.attrReaderEndPointAddress;
    }
  }
}
