import { createHash, createHmac, randomBytes } from 'crypto';
import { Redis } from 'ioredis';
import { CACHE_APP_ACCESS_STRING, CACHE_KEY_PREFIX } from '../../lib/constructs/cache';
import { connectCache, elastiCacheIamToken, IAM_TOKEN_EXPIRY_SECONDS, type CacheClient } from '../../workload/src/cache';
import { readSettings } from '../../workload/src/settings';
import { serviceEnv } from './harness';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+1==' };
const at = new Date('2024-01-02T03:04:05Z');
const replicationGroup = { userId: 'app-user', cacheName: 'My-Group', serverless: false, region: 'eu-west-1' };

/** AWS Signature Version 4 written out from the General Reference (query-string signing), as the oracle. */
function sigV4QuerySignature(token: string, secretAccessKey: string): { expected: string; actual: string } {
  const [host, query] = token.split('/?');
  const params = [...new URLSearchParams(query)];
  const actual = params.find(([k]) => k === 'X-Amz-Signature')![1];
  const rfc3986 = (v: string) => encodeURIComponent(v).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = params.filter(([k]) => k !== 'X-Amz-Signature').map(([k, v]) => `${rfc3986(k)}=${rfc3986(v)}`).sort().join('&');
  const sha256 = (v: string) => createHash('sha256').update(v).digest('hex');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${host}`, '', 'host', sha256('')].join('\n');
  const date = params.find(([k]) => k === 'X-Amz-Date')![1];
  const [, , region, service] = params.find(([k]) => k === 'X-Amz-Credential')![1].split('/');
  const scope = `${date.slice(0, 8)}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', date, scope, sha256(canonicalRequest)].join('\n');
  const hmac = (key: string | Buffer, v: string) => createHmac('sha256', key).update(v).digest();
  const key = [date.slice(0, 8), region, service, 'aws4_request'].reduce<Buffer | string>((k, part) => hmac(k, part), `AWS4${secretAccessKey}`);
  return { expected: createHmac('sha256', key).update(stringToSign).digest('hex'), actual };
}

describe('the ElastiCache IAM token', () => {
  test('is the host-less presigned connect request, signed for elasticache, valid 900 s', async () => {
    const token = await elastiCacheIamToken(replicationGroup, credentials, at);
    expect(token).toMatch(new RegExp([
      '^my-group/\\?Action=connect&User=app-user',
      '&X-Amz-Algorithm=AWS4-HMAC-SHA256',
      '&X-Amz-Credential=AKIDEXAMPLE%2F20240102%2Feu-west-1%2Felasticache%2Faws4_request',
      '&X-Amz-Date=20240102T030405Z',
      `&X-Amz-Expires=${IAM_TOKEN_EXPIRY_SECONDS}`,
      '&X-Amz-Security-Token=session%2Ftoken%2B1%3D%3D',
      '&X-Amz-Signature=[0-9a-f]{64}',
      '&X-Amz-SignedHeaders=host$',
    ].join('')));
    expect(IAM_TOKEN_EXPIRY_SECONDS).toBe(900);
  });

  test('carries a SigV4 signature an independent implementation agrees with', async () => {
    for (const target of [replicationGroup, { ...replicationGroup, cacheName: 'my-serverless', serverless: true }]) {
      const { expected, actual } = sigV4QuerySignature(await elastiCacheIamToken(target, credentials, at), credentials.secretAccessKey);
      expect(actual).toBe(expected);
    }
  });

  test('is deterministic for fixed credentials and clock, and changes with the clock', async () => {
    const a = await elastiCacheIamToken(replicationGroup, credentials, at);
    expect(await elastiCacheIamToken(replicationGroup, credentials, at)).toBe(a);
    expect(await elastiCacheIamToken(replicationGroup, credentials, new Date(at.getTime() + 1000))).not.toBe(a);
  });

  test('names the serverless resource type for a serverless cache, and takes a credential provider', async () => {
    const token = await elastiCacheIamToken({ ...replicationGroup, cacheName: 'my-serverless', serverless: true }, async () => credentials, at);
    expect(token).toMatch(/^my-serverless\/\?Action=connect&ResourceType=ServerlessCache&User=app-user&X-Amz-Algorithm=/);
  });
});

describe('settings', () => {
  const base: Record<string, string> = { ...serviceEnv(), QUEUE_URL: 'http://127.0.0.1:1/queue' };

  test('IAM authentication needs the user and the cache name, and says which is missing', () => {
    expect(() => readSettings({ ...base, CACHE_IAM_AUTH: 'true', CACHE_NAME: 'group' })).toThrow(/CACHE_USER: required when CACHE_IAM_AUTH=true/);
    expect(readSettings({ ...base, CACHE_IAM_AUTH: 'true', CACHE_USER: 'u', CACHE_NAME: 'g', CACHE_SERVERLESS: 'true', AWS_REGION: 'eu-west-1' }).cache.iam)
      .toEqual({ userId: 'u', cacheName: 'g', serverless: true, region: 'eu-west-1' });
  });

  test('locally (no CACHE_IAM_AUTH) there is no cache authentication', () => {
    expect(readSettings(base).cache.iam).toBeUndefined();
  });
});

// Against the local Redis (scripts/services.sh), with an ACL user standing in for the IAM-enabled ElastiCache
// user: its access string is the one the Cache construct deploys, and its password is whatever token the
// client was handed last.
describe('the cache client with IAM authentication', () => {
  const env: Record<string, string> = { ...serviceEnv(), QUEUE_URL: 'http://127.0.0.1:1/queue' };
  const user = `iam-test-${randomBytes(4).toString('hex')}`;
  let admin: Redis;
  let client: CacheClient | undefined;
  let token = 'token-1';
  const tokensIssued: string[] = [];
  const auth = { token: async () => { tokensIssued.push(token); return token; } };
  /**
   * The ACL user a client's connection runs as, as the server sees it: the application user may not run
   * ACL WHOAMI, so the admin connection finds the connection by its client-side port (CLIENT LIST).
   */
  const connectedAs = async (c: CacheClient) => {
    const { localPort } = (c as Redis).stream;
    const line = String(await admin.call('CLIENT', 'LIST')).split('\n').find((l) => l.includes(` addr=127.0.0.1:${localPort} `));
    return line?.match(/ user=(\S+)/)?.[1];
  };

  beforeAll(async () => {
    admin = new Redis({ host: env.CACHE_HOST, port: Number(env.CACHE_PORT) });
    await admin.call('ACL', 'SETUSER', user, 'reset', ...CACHE_APP_ACCESS_STRING.split(' '), `>${token}`);
  });
  afterAll(async () => {
    client?.disconnect();
    await admin.call('ACL', 'DELUSER', user);
    admin.disconnect();
  });

  test('AUTHs as the user with a token, gets the access string the construct deploys, and takes a new token to reconnect', async () => {
    const settings = readSettings({ ...env, CACHE_IAM_AUTH: 'true', CACHE_USER: user, CACHE_NAME: 'local' }).cache;
    client = connectCache(settings, auth);
    expect(await client.ping()).toBe('PONG');
    await expect(connectedAs(client)).resolves.toBe(user);
    await expect(client.flushall()).rejects.toThrow(/NOPERM/);

    // The old token stops working (as an IAM token does after 15 minutes); the reconnect must bring the new one.
    token = 'token-2';
    await admin.call('ACL', 'SETUSER', user, 'resetpass', `>${token}`);
    const issued = tokensIssued.length;
    const reconnected = new Promise((resolve) => client!.once('ready', resolve));
    client.disconnect(true);
    await reconnected;
    await expect(connectedAs(client)).resolves.toBe(user);
    expect(tokensIssued.slice(issued)).toEqual(['token-2']);
  });

  test('with the access string the stack deploys, the workload\'s cache operations work on its prefix, and nothing else does', async () => {
    const settings = readSettings({ ...env, CACHE_IAM_AUTH: 'true', CACHE_USER: user, CACHE_NAME: 'local', CACHE_KEY_PREFIX }).cache;
    const c = connectCache(settings, auth);
    const errors: Error[] = [];
    c.on('error', (err) => errors.push(err));
    try {
      // What workload/src/item-cache.ts sends on `${keyPrefix}item:<id>`: GET; SET with EX, NX and GET (store
      // unless present, answering what is there); SET with EX and GET (swap, answering what was there); DEL; and
      // PING for /readyz and the breaker's probe. The GET option of SET needs read access to the key as well.
      const key = `${settings.keyPrefix}item:${randomBytes(4).readUInt32BE()}`;
      expect(await c.get(key)).toBeNull();
      expect(await c.set(key, '{"id":1}', 'EX', 60)).toBe('OK');
      expect(await c.get(key)).toBe('{"id":1}');
      expect(await c.del(key)).toBe(1);
      expect(await c.set(key, 'v1', 'EX', 60, 'NX', 'GET')).toBeNull();
      expect(await c.set(key, 'v2', 'EX', 60, 'NX', 'GET')).toBe('v1');
      expect(await c.set(key, 'v3', 'EX', 60, 'GET')).toBe('v1');
      expect(await c.get(key)).toBe('v3');
      expect(await c.del(key)).toBe(1);
      expect(await c.ping()).toBe('PONG');
      // The cluster client's discovery and ready check pass the ACL (the local Redis has no cluster mode,
      // so past the ACL it answers with that; the cluster protocol itself is not tested here).
      for (const sub of ['SLOTS', 'INFO']) await expect(c.call('CLUSTER', sub)).rejects.toThrow(/cluster support disabled/);

      const refused: Array<[string, Promise<unknown>]> = [
        ['FLUSHALL', c.flushall()],
        ['KEYS *', c.keys('*')],
        ['EVAL', c.eval('return 1', 0)],
        ['CONFIG GET', c.config('GET', 'maxmemory')],
        ['SCAN', c.scan('0')],
        ['PUBLISH', c.publish('channel', 'x')],
        ['ACL WHOAMI', c.call('ACL', 'WHOAMI')],
        ['GET outside the prefix', c.get('other:item:1')],
        ['SET outside the prefix', c.set('item:1', 'x')],
        ['DEL outside the prefix', c.del('other:item:1')],
      ];
      for (const [what, reply] of refused) await expect(reply.then(() => `${what}: allowed`, (err: Error) => err.message)).resolves.toMatch(/^NOPERM/);
      // ioredis's connect-time commands needed no more than the ACL allows: no error reached the listeners.
      expect(errors).toEqual([]);
    } finally {
      c.disconnect();
    }
  });

  test('without a token (no credentials) commands fail with the reason instead of waiting forever', async () => {
    const settings = readSettings({ ...env, CACHE_IAM_AUTH: 'true', CACHE_USER: user, CACHE_NAME: 'local' }).cache;
    const failing = connectCache(settings, { token: async () => { throw new Error('no credentials in the chain'); } });
    const errors: Error[] = [];
    failing.on('error', (err) => errors.push(err));
    try {
      await expect(failing.ping()).rejects.toThrow('no credentials in the chain');
      expect(errors.map((e) => e.message)).toContain('no credentials in the chain');
    } finally {
      failing.disconnect();
    }
  });
});
