import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { ArnFormat, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { CacheConfig, StatefulConfig } from '../config/schema';
import { closeDefaultEgress } from './egress';
import { isRetained, removalPolicyFor } from './removal-policy';
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
 * Prefix of every key the application writes: the Compute stack hands it to the containers as
 * CACHE_KEY_PREFIX (lib/constructs/data-access.ts) and the application user may touch no other key.
 * No glob characters (`*`, `?`, `[`, `]`, backslash), so `~<prefix>*` matches exactly the keys that start with it.
 */
export const CACHE_KEY_PREFIX = 'app:';

/**
 * The commands the reference workload (workload/src/item-cache.ts, workload/src/cache.ts with ioredis) sends:
 * GET, SET (with EX, and NX / GET for stores that never replace a newer entry: `+set` covers every SET option,
 * and GET's read of the key is within the key pattern), DEL for cache-aside, PING for readiness and the circuit
 * breaker's probe, INFO for ioredis's ready check on every connect;
 * in cluster mode (sharded group, serverless) CLUSTER SLOTS for slot discovery, CLUSTER INFO for the cluster
 * ready check and ASKING for the redirections of a slot that is moving (online resharding). Nothing else:
 * AUTH and HELLO need no permission (the engine flags them no-auth and checks no ACL for them), CLIENT SETINFO
 * is switched off in the client, and with reads from the primary only (scaleReads "master") the client sends no
 * READONLY. Pub/sub, scripting, SCAN, KEYS, FLUSH*, CONFIG and every other command are refused, and so is any
 * key outside CACHE_KEY_PREFIX; channel permissions do not matter with no pub/sub command allowed.
 */
export const CACHE_APP_COMMANDS = ['get', 'set', 'del', 'ping', 'info', 'cluster|slots', 'cluster|info', 'asking'] as const;

/**
 * The application user's access string: on, keys under `prefix` only, no command (`-@all`) but those listed.
 * Valkey/Redis ACL rules (https://valkey.io/topics/acl/: `~<pattern>` key patterns, `-@all`, `+<command>` and
 * `+<command>|<subcommand>`); ElastiCache takes them as an access string with its limits: `on`/`off` required,
 * no passwords and no `reset` in it, forbidden or renamed commands rejected (ElastiCache User Guide, "Role-Based
 * Access Control (RBAC)", https://docs.aws.amazon.com/AmazonElastiCache/latest/dg/Clusters.RBAC.html). Every
 * engine version this project allows is 7.0+ (IAM authentication needs it), so subcommand rules are understood.
 */
export function cacheAccessString(prefix: string, commands: readonly string[] = CACHE_APP_COMMANDS): string {
  if (prefix === '' || /[*?[\]\\\s]/.test(prefix)) {
    throw new Error(`cache key prefix "${prefix}" must be non-empty, without glob characters or spaces: it becomes the ACL key pattern "~${prefix}*"`);
  }
  return ['on', `~${prefix}*`, '-@all', ...commands.map((c) => `+${c}`)].join(' ');
}

/** What the stack deploys for the application user (tests run the workload against exactly this). */
export const CACHE_APP_ACCESS_STRING = cacheAccessString(CACHE_KEY_PREFIX);

/**
 * ElastiCache user and user-group ids (API reference, CreateUser/CreateUserGroup: pattern
 * `[a-zA-Z][a-zA-Z0-9\-]*`, stored lower-case; the CloudFormation schema allows only `[a-z][a-z0-9\-]*`):
 * a lower-case letter first, lower-case letters, digits and single hyphens, no hyphen at the end. The APIs
 * document only a minimum length; 40, the limit of the replication group and serverless cache ids, is ours.
 * An IAM-enabled user's name must equal its id ("Authenticating with IAM", Limitations), so the same rule
 * holds for its name.
 */
const RBAC_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
const RBAC_ID_MAX_LENGTH = 40;

/** Returns `id` if ElastiCache accepts it as a user or user-group id (and as an IAM user's name), else throws. */
export function checkRbacId(id: string): string {
  if (id.length > RBAC_ID_MAX_LENGTH || !RBAC_ID.test(id)) {
    throw new Error(`ElastiCache user or user-group id "${id}" (made from the stack name) must be 1 to ${RBAC_ID_MAX_LENGTH} characters: a lower-case letter first, then lower-case letters, digits and single hyphens, not ending in a hyphen. Fix: rename the stack`);
  }
  return id;
}

const rbacId = (scope: Construct, suffix: string) => checkRbacId(physicalName(scope, suffix, RBAC_ID_MAX_LENGTH));

/**
 * ElastiCache (Valkey or Redis OSS) in the isolated subnets, encrypted at rest with the data key and in
 * transit (TLS required).
 *
 * `replication-group`: one shard, or `shards` shards in cluster mode (the keyspace split over node groups),
 * each with `replicas` replicas; Multi-AZ with automatic failover once there is a replica. `serverless`:
 * ElastiCache Serverless, which scales itself and is Multi-AZ by design.
 *
 * Access control in both modes is RBAC with IAM authentication, and no password exists anywhere: a user group
 * holds the application user (authentication mode `iam`: clients sign a 15-minute token with their AWS
 * credentials; `grantConnect` lets a role do so) and a disabled `default` user, which every user group must
 * contain. IAM authentication needs TLS and Valkey 7.2+ or Redis OSS 7.0+ (ElastiCache User Guide,
 * "Authenticating with IAM", Limitations); every version in lib/config/supported.ts qualifies.
 */
export class Cache extends Construct {
  /** Primary endpoint (cluster mode: the configuration endpoint). */
  readonly endpointAddress: string;
  readonly port: number;
  /** Endpoint for reads from replicas, where the mode has one. */
  readonly readerEndpointAddress?: string;
  /** True when clients must speak the cluster protocol (sharded replication group). */
  readonly clusterMode: boolean;
  /**
   * The IAM-enabled ElastiCache user clients connect as: AUTH with this user name (equal to its id) and an IAM
   * token signed for `cacheId` (see `grantConnect`).
   */
  readonly userId: string;
  /** Prefix of every key the application user may touch (CACHE_KEY_PREFIX in the containers). */
  readonly keyPrefix = CACHE_KEY_PREFIX;
  /** The user group with the application user and the disabled default user, attached to the cache. */
  readonly userGroup: elasticache.CfnUserGroup;
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
  /** ARN of the cache in the form `elasticache:Connect` policies name it. */
  private readonly connectArn: string;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    const { config } = props;
    const subnetIds = props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds;
    // The cache opens no connection of its own: no outbound rule, and none for EC2 to add either.
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'ElastiCache: reachable only from the services granted access',
      allowAllOutbound: false,
    });
    closeDefaultEgress(this.securityGroup);
    const serverless = config.mode === 'serverless';
    this.serverless = serverless;
    const defaultPort = serverless
      ? ec2.Port.tcpRange(SERVERLESS_PORTS.primary, SERVERLESS_PORTS.reader)
      : ec2.Port.tcp(config.port);
    this.connections = new ec2.Connections({ securityGroups: [this.securityGroup], defaultPort });
    const major = config.engineVersion.split('.')[0];
    // Users and their group live as long as the cache that uses them: a user group still attached to a
    // retained cache cannot be deleted, and one left behind by a deleted cache would block the next deploy.
    // Where they are retained, they and the cache go when the deploy that created them rolls back
    // (RetainExceptOnCreate): users, user group and the serverless cache have fixed names, and kept after a
    // failed first deploy they would make the retry fail with "already exists".
    const cacheRemoval = removalPolicyFor(props.removalPolicy, { canSnapshot: !serverless, deleteOnCreateRollback: true });
    const accessRemoval = isRetained(cacheRemoval) ? cacheRemoval : RemovalPolicy.DESTROY;
    this.userId = rbacId(this, 'cache-app');
    this.userGroup = this.accessControl(accessRemoval);

    if (serverless) {
      const name = physicalName(this, 'cache');
      const cache = new elasticache.CfnServerlessCache(this, 'Serverless', {
        serverlessCacheName: name,
        description: 'Application cache',
        engine: config.engine,
        majorEngineVersion: major,
        kmsKeyId: props.encryptionKey.keyArn,
        securityGroupIds: [this.securityGroup.securityGroupId],
        subnetIds,
        snapshotRetentionLimit: config.snapshotRetentionDays,
        userGroupId: this.userGroup.ref,
        cacheUsageLimits: {
          dataStorage: { maximum: config.serverlessMaxDataStorageGb, unit: 'GB' },
          ecpuPerSecond: { maximum: config.serverlessMaxEcpuPerSecond },
        },
      });
      cache.applyRemovalPolicy(cacheRemoval);
      this.resource = cache;
      this.endpointAddress = cache.attrEndpointAddress;
      this.readerEndpointAddress = cache.attrReaderEndpointAddress;
      this.port = SERVERLESS_PORTS.primary;
      this.clusterMode = false;
      this.cacheId = cache.ref;
      // From the name, not the cache's ARN attribute: the grant then needs no export from this stack.
      this.connectArn = Stack.of(this).formatArn({ service: 'elasticache', resource: 'serverlesscache', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
      this.nodeIds = [];
      return;
    }

    this.clusterMode = config.shards > 1;
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
      // RBAC instead of an AUTH token (AWS Control Tower CT.ELASTICACHE.PR.8: Redis 6+ groups use user groups).
      userGroupIds: [this.userGroup.ref],
      autoMinorVersionUpgrade: true,
      snapshotRetentionLimit: config.snapshotRetentionDays,
    });
    group.applyRemovalPolicy(cacheRemoval);
    Validations.of(group).acknowledge({
      id: 'AwsSolutions-AEC6',
      reason: 'Clients authenticate per user through the RBAC user group (UserGroupIds) with 15-minute IAM tokens and the default user is off; the rule looks only for an AUTH token, the shared password RBAC replaces (AWS moves a group from AUTH to RBAC by deleting the token: ModifyReplicationGroup --auth-token-update-strategy DELETE --user-group-ids-to-add).',
    });
    if (!replicated) {
      Validations.of(group).acknowledge({
        id: 'AwsSolutions-AEC4',
        reason: 'cache.replicas is 0 in this environment (cost); Multi-AZ needs a replica, and the loader requires one in production.',
      });
    }
    this.resource = group;
    this.port = config.port;
    this.cacheId = group.ref;
    this.connectArn = elasticache.CfnReplicationGroup.arnForReplicationGroup(group);
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

  /**
   * Lets `grantee` connect as the application user with IAM authentication: `elasticache:Connect` on this
   * cache and this user only (the IAM policy must name both: "Authenticating with IAM", Setup). ARN formats from
   * the Service Authorization Reference, "Resource types defined by Amazon ElastiCache".
   */
  grantConnect(grantee: iam.IGrantable): iam.Grant {
    const userArn = Stack.of(this).formatArn({ service: 'elasticache', resource: 'user', resourceName: this.userId, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
    return iam.Grant.addToPrincipal({ grantee, actions: ['elasticache:Connect'], resourceArns: [this.connectArn, userArn] });
  }

  /**
   * The user group: the application user (IAM) and a disabled `default` user. AWS requires a user named
   * `default` in every user group (CloudFormation, AWS::ElastiCache::UserGroup, UserIds), and the one AWS
   * provides is `on nopass ~* +@all`, so this group brings its own under a different id: `off` (no one can
   * authenticate as it: Valkey/Redis ACL, "off") and `-@all`. Its authentication mode is `no-password-required`
   * (CreateUser, AuthenticationMode): there is no password to store, and a disabled user needs none. Users and
   * group use the engine `redis`, which serves Valkey and Redis OSS caches alike: a `valkey` user group would
   * accept only users with a password or IAM authentication (ElastiCache User Guide, "Role-Based Access
   * Control (RBAC)").
   */
  private accessControl(removal: RemovalPolicy): elasticache.CfnUserGroup {
    const engine = 'redis';
    const app = new elasticache.CfnUser(this, 'AppUser', {
      engine,
      userId: this.userId,
      userName: this.userId,
      authenticationMode: { Type: 'iam' },
      accessString: CACHE_APP_ACCESS_STRING,
    });
    const disabledDefault = new elasticache.CfnUser(this, 'DefaultUser', {
      engine,
      userId: rbacId(this, 'cache-default'),
      userName: 'default',
      authenticationMode: { Type: 'no-password-required' },
      accessString: 'off -@all',
    });
    const group = new elasticache.CfnUserGroup(this, 'UserGroup', {
      engine,
      userGroupId: rbacId(this, 'cache-users'),
      userIds: [disabledDefault.userId, app.userId],
    });
    for (const user of [app, disabledDefault]) {
      group.addResourceDependency(user);
      user.applyRemovalPolicy(removal);
    }
    group.applyRemovalPolicy(removal);
    return group;
  }
}
