import { Cluster, Redis } from 'ioredis';
import type { Settings } from './settings';

export type CacheClient = Redis | Cluster;

/** Valkey/Redis over TLS with the AUTH token; the cluster client when the group is sharded. */
export function connectCache(s: Settings['cache']): CacheClient {
  const options = {
    ...(s.tls && { tls: {} }),
    ...(s.password && { password: s.password }),
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
  };
  if (s.clusterMode) {
    // ElastiCache's TLS certificates name the configuration endpoint: keep it for every node.
    return new Cluster([{ host: s.host, port: s.port }], { dnsLookup: (address, cb) => cb(null, address), redisOptions: options });
  }
  return new Redis({ host: s.host, port: s.port, ...options });
}
