/**
 * The database users the services connect as, one per service, never the master user: the stack creates
 * their secrets and IAM grants under these names, the migration custom resource (lambda/db-migrate) creates
 * them in PostgreSQL with the grants workload/src/migrations.ts lists, and the workload connects as the one
 * DB_USERNAME names. Plain data: the workload imports this through its contracts symlink.
 */
export const DATABASE_SERVICES = ['api', 'worker'] as const;
export type DatabaseService = (typeof DATABASE_SERVICES)[number];

/** The login user of each service. Lower-case, no quoting needed; `<name>_clone` stays within 63 bytes. */
export const DATABASE_USERS: { readonly [S in DatabaseService]: string } = { api: 'app_api', worker: 'app_worker' };

/**
 * The NOLOGIN role that holds a user's privileges. The user and, once multi-user rotation has cloned it, its
 * `<user>_clone` are members and inherit them, so a grant changed here reaches both. Secrets Manager: "If you
 * change the permissions of the original user after you create the clone user, you must also change the
 * clone user's permissions" (https://docs.aws.amazon.com/secretsmanager/latest/userguide/rotation-strategy.html).
 */
export const privilegesRoleOf = (user: string): string => `${user}_privileges`;

/** The user multi-user (alternating users) rotation creates beside `user` and alternates with it. */
export const cloneOf = (user: string): string => `${user}_clone`;
