import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, type IDependable } from 'constructs';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { StatefulConfig } from '../config/schema';
import { DATABASE_SERVICES, DATABASE_USERS, type DatabaseService } from '../contracts/database-roles';
import { databaseAdminFunction } from './database-admin-function';
import { removalPolicyFor } from './removal-policy';
import { VPC_FUNCTION_SUBNETS, type VpcFunctionsProps } from './vpc-function';

/** One service's database user: its name and the secret generated for it (JSON with username and password). */
export interface DatabaseUser {
  readonly username: string;
  readonly secret: secretsmanager.ISecret;
}

export interface DatabaseRolesProps extends VpcFunctionsProps {
  readonly cluster: rds.DatabaseCluster;
  /** The master secret: the migrations run with it, and multi-user rotation clones the users with it. */
  readonly masterSecret: secretsmanager.ISecret;
  /** Encrypts the users' secrets (the key the master secret uses). */
  readonly secretsKey: kms.IKey;
  readonly databaseName: string;
  readonly port: number;
  readonly rotationDays: number;
  /** Where the rotation functions run: HTTPS to Secrets Manager, PostgreSQL to the cluster. */
  readonly rotationSecurityGroup: ec2.ISecurityGroup;
  /**
   * Whether RDS Proxy authenticates with the users' secrets. Then their rotation is single-user, not
   * alternating users: see DatabaseRoles.
   */
  readonly proxy: boolean;
  readonly removalPolicy: StatefulConfig['removalPolicy'];
  /**
   * What must exist before the migrations can connect. A Limitless cluster has no instances: its database
   * exists once its DB shard group does.
   * @default - the cluster's DB instances
   */
  readonly connectableAfter?: IDependable[];
  /**
   * The schema the migrations create: `limitless` (database.sharding.mode limitless) runs
   * workload/src/limitless.ts LIMITLESS_MIGRATIONS, the tables created sharded, instead of the standard ones.
   * @default 'standard'
   */
  readonly schema?: 'standard' | 'limitless';
}

/** The handler and what it runs, hashed: a change to any of them runs the migrations again on the next deploy. */
const MIGRATION_SOURCES = [
  ['workload', 'src', 'migrations.ts'],
  ['workload', 'src', 'limitless.ts'],
  ['lib', 'contracts', 'database-roles.ts'],
  ['lambda', 'db-migrate', 'migrate.ts'],
  ['lambda', 'db-migrate', 'index.ts'],
  ['lambda', 'shared', 'master-connection.ts'],
  ['lambda', 'shared', 'database-custom-resource.ts'],
].map((parts) => join(__dirname, '..', '..', ...parts));

export function migrationsHash(): string {
  const hash = createHash('sha256');
  for (const file of MIGRATION_SOURCES) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
}

const pascal = (s: string) => s[0].toUpperCase() + s.slice(1);

/**
 * The services' own database users, and the one-off that creates them and the schema.
 *
 * Each service (lib/contracts/database-roles.ts) gets a user with only the privileges its SQL needs
 * (SERVICE_PRIVILEGES in workload/src/migrations.ts, held by a NOLOGIN `<user>_privileges` role), and a
 * Secrets Manager secret of its own (generated password, the secrets key, rotated every
 * `database.secretRotationDays`):
 * - without RDS Proxy the tasks read their secret when they open a connection, and it rotates with the
 *   alternating-users strategy: each rotation changes the password of the user the secret does not name
 *   (`<user>` or `<user>_clone`, which the first rotation creates as a member of `<user>`, with the master
 *   secret) and then names it, so the credentials a task holds stay valid through the rotation
 *   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html#rotating-secrets-two-users);
 * - with RDS Proxy the proxy reads the secrets and the tasks sign IAM tokens for `<user>`, which the proxy
 *   matches to the secret of that user name. Alternating users would rename the secret's user to
 *   `<user>_clone` and the tasks' tokens would match no secret (aws/aws-cdk#25568,
 *   aws-samples/aws-secrets-manager-rotation-lambdas#108), so there the rotation is single-user: the user
 *   changes its own password, and only the proxy's new database connections may meet the moment between
 *   the two changes (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html#rotating-secrets-one-user-one-password).
 * Both are the Secrets Manager rotation applications the master secret's rotation uses (SecretRotation,
 * what `addRotationSingleUser` / `addRotationMultiUser` create), in the same subnets and security group.
 *
 * The migrations run as a CloudFormation custom resource (Custom::DatabaseMigrations, lambda/db-migrate),
 * not in the service tasks: with the master secret, against the cluster endpoint, on every deploy that
 * changes them (`Hash`), and in the Data stack, which deploys before Compute, so the schema a release
 * needs exists before its tasks start (expand, then contract in a later release). Then it creates or
 * updates the roles and grants. A one-off ECS task would need an image and a cluster from the Compute stack,
 * which comes after. The users' rotation waits for it: the first rotation logs in as the user.
 */
export class DatabaseRoles extends Construct {
  readonly users: { readonly [S in DatabaseService]: DatabaseUser };
  readonly migrations: CustomResource;
  readonly handler: NodejsFunction;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: DatabaseRolesProps) {
    super(scope, id);
    const { cluster, vpc } = props;
    const users = {} as { [S in DatabaseService]: DatabaseUser };
    for (const service of DATABASE_SERVICES) {
      const username = DATABASE_USERS[service];
      const generated = new rds.DatabaseSecret(this, `${pascal(service)}Secret`, {
        username,
        dbname: props.databaseName,
        encryptionKey: props.secretsKey,
        // `masterarn` in the secret: the alternating-users rotation clones the user with the master secret.
        ...(!props.proxy && { masterSecret: props.masterSecret }),
      });
      generated.applyRemovalPolicy(removalPolicyFor(props.removalPolicy, { deleteOnCreateRollback: true }));
      // host, port, engine and the cluster's id, which the rotation function reads.
      const secret = generated.attach(cluster);
      new secretsmanager.SecretRotation(this, `${pascal(service)}Rotation`, {
        application: props.proxy
          ? secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER
          : secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_MULTI_USER,
        secret,
        ...(!props.proxy && { masterSecret: props.masterSecret }),
        target: cluster,
        vpc,
        vpcSubnets: VPC_FUNCTION_SUBNETS,
        securityGroup: props.rotationSecurityGroup,
        automaticallyAfter: Duration.days(props.rotationDays),
      });
      users[service] = { username, secret };
    }
    this.users = users;

    const port = cluster.connections.defaultPort;
    if (!port) throw new Error(`${this.node.path}: the cluster has no default port to open to the migrations`);
    const secretArns = [props.masterSecret.secretArn, ...DATABASE_SERVICES.map((s) => users[s].secret.secretArn)];
    const admin = databaseAdminFunction(this, {
      ...props,
      securityGroupDescription: 'Database migrations: HTTPS to Secrets Manager and Lambda, PostgreSQL to the cluster',
      targets: [{ connections: cluster.connections, port, description: 'Database migrations to Aurora' }],
      secretArns,
      ids: { role: 'HandlerRole', function: 'Handler' },
      lambdaDir: 'db-migrate',
      handler: 'onEvent',
      description: 'Applies the schema migrations and the services\' database roles and grants, as the master user',
      timeout: Duration.minutes(14),
      provider: true,
    });
    this.securityGroup = admin.securityGroup;
    this.handler = admin.function;

    this.migrations = new CustomResource(this, 'Migrations', {
      serviceToken: admin.provider.serviceToken,
      resourceType: 'Custom::DatabaseMigrations',
      properties: {
        MasterSecretArn: props.masterSecret.secretArn,
        Host: cluster.clusterEndpoint.hostname,
        Port: String(props.port),
        Database: props.databaseName,
        Users: Object.fromEntries(DATABASE_SERVICES.map((s) => [s, { Name: users[s].username, SecretArn: users[s].secret.secretArn }])),
        Hash: migrationsHash(),
        // Only where it is not the standard schema: the other modes' resource keeps its properties.
        ...(props.schema === 'limitless' && { Schema: 'limitless' }),
      },
      // Delete does nothing: the schema and the users stay with the data.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The writer must be up to connect to; the cluster's Ref alone does not wait for its instances.
    this.migrations.node.addDependency(...(props.connectableAfter ?? cluster.node.findAll().filter((c) => c instanceof rds.CfnDBInstance)));
    // The first rotation logs in as the user (or clones it): it runs once the user exists.
    for (const service of DATABASE_SERVICES) {
      for (const schedule of (users[service].secret as Construct).node.findAll().filter((c) => c instanceof secretsmanager.CfnRotationSchedule)) {
        schedule.node.addDependency(this.migrations);
      }
    }
  }
}
