import { Signer } from '@aws-sdk/rds-signer';
import { readFileSync } from 'fs';
import { Pool, type PoolConfig } from 'pg';
import type { Settings } from './settings';

export interface Database {
  /** Writes (and reads that must see them) go to the writer (the proxy's read/write endpoint). */
  readonly writer: Pool;
  /** Reads go to the reader endpoint (the proxy's read-only endpoint, or the cluster's reader endpoint). */
  readonly reader: Pool;
  close(): Promise<void>;
}

/** Two pools of `poolSize` each: the size the connection budget in cdk.json was checked with. */
export function connectDatabase(s: Settings['db'], region: string): Database {
  const ssl = s.tls ? { rejectUnauthorized: true, ...(s.caFile && { ca: readFileSync(s.caFile, 'utf8') }) } : false;
  const pool = (host: string) => {
    const config: PoolConfig = {
      host, port: s.port, database: s.name, user: s.user, ssl,
      max: s.poolSize,
      idleTimeoutMillis: 30_000,
      connectionTimeoutMillis: 5_000,
      // IAM tokens live 15 minutes: sign one per new connection.
      password: s.iamAuth
        ? () => new Signer({ hostname: host, port: s.port, username: s.user, region }).getAuthToken()
        : s.password,
    };
    const p = new Pool(config);
    // An idle connection the server ends (failover, proxy restart, an admin) emits 'error' on the pool;
    // unhandled, it would crash the process. The pool drops that client and opens another when needed.
    p.on('error', (err) => process.stderr.write(`${JSON.stringify({ event: 'db_idle_client_error', host, error: err.message })}\n`));
    return p;
  };
  const writer = pool(s.writerHost);
  const reader = s.readerHost === s.writerHost ? writer : pool(s.readerHost);
  return {
    writer,
    reader,
    async close() {
      await writer.end();
      if (reader !== writer) await reader.end();
    },
  };
}
