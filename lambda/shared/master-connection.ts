import { Pool, type PoolConfig } from 'pg';

/** A cluster as a database custom resource's function reaches it: its writer endpoint, as the master user. */
export interface MasterConnection {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** The master user (it owns the schema and may create roles). */
  readonly user: string;
  readonly password?: string;
  readonly ssl: PoolConfig['ssl'];
  /** Longest wait for a connection (ms). @default 10000 */
  readonly connectTimeoutMs?: number;
}

/** A pool of at most `max` connections to `c`, of its own: not through RDS Proxy. */
export function masterPool(c: MasterConnection, max: number): Pool {
  const pool = new Pool({
    host: c.host, port: c.port, database: c.database, user: c.user, password: c.password, ssl: c.ssl,
    max, connectionTimeoutMillis: c.connectTimeoutMs ?? 10_000,
  });
  // An idle connection the server ends emits 'error' on the pool; the run itself sees its own errors.
  pool.on('error', () => undefined);
  return pool;
}
