import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BlockList, isIP } from 'net';
import { errorBody, sendError } from './http';
import type { Metrics } from './metrics';
import type { Settings } from './settings';

/**
 * The client a request counts against. Behind an Application Load Balancer every connection comes from the
 * load balancer, which appends the address of the peer it saw to X-Forwarded-For (in its default `append`
 * mode, https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html): only
 * that right-most entry was written by the ALB; anything to its left came from the client and is not to be
 * trusted. So the header is read only from a peer in `trusted` (the load balancer's addresses), and only its
 * last entry; any other peer is the client itself.
 */
export function clientAddress(request: FastifyRequest, trusted: BlockList | undefined): string {
  const peer = normalise(request.raw.socket.remoteAddress ?? '');
  if (!trusted || !peer || !contains(trusted, peer)) return peer || 'unknown';
  const header = request.headers['x-forwarded-for'];
  const hops = (Array.isArray(header) ? header.join(',') : header ?? '').split(',');
  const last = normalise(hops[hops.length - 1]?.trim() ?? '');
  return last && isIP(last) ? last : peer;
}

/** IPv4 addresses arrive as `::ffff:a.b.c.d` on a dual-stack socket: one client, one key. */
const normalise = (address: string) => (address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address);
const contains = (list: BlockList, address: string) => list.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');

export function trustedProxies(cidrs: readonly string[]): BlockList | undefined {
  if (cidrs.length === 0) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, prefix] = cidr.split('/');
    list.addSubnet(address, Number(prefix), isIP(address) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/**
 * Token buckets per client: `perSecond` refill, `burst` capacity, refilled lazily on the client's next request.
 * At most `maxClients` are kept: a Map iterates in insertion order and a client is re-inserted on each
 * request, so the first entry is the least recently seen, and it goes when the map is full.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: { perSecond: number; burst: number; maxClients: number }, private readonly now: () => number = Date.now) {}

  /** 0 when the request may go ahead (and is counted), otherwise the seconds until the client has a token. */
  take(client: string): number {
    const now = this.now();
    const b = this.buckets.get(client) ?? { tokens: this.opts.burst, at: now };
    this.buckets.delete(client);
    b.tokens = Math.min(this.opts.burst, b.tokens + ((now - b.at) / 1000) * this.opts.perSecond);
    b.at = now;
    this.buckets.set(client, b);
    if (this.buckets.size > this.opts.maxClients) this.buckets.delete(this.buckets.keys().next().value!);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.opts.perSecond;
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** Routes never shed or limited: the load balancer's and ECS's liveness check must not fail because the task is busy. */
const EXEMPT = new Set(['/healthz']);

/**
 * Admission, before a request's body is read: a client over its rate gets 429, and a process already working on
 * `maxInFlight` requests answers 503 at once instead of queueing more behind the same database pool and cache
 * (load shedding: the waiting would only turn into timeouts for everyone). Both carry Retry-After and count as
 * LoadShed. A request stops counting when its response ends or its connection closes, whichever comes first.
 */
export function registerAdmission(app: FastifyInstance, s: Settings['http'], metrics?: Metrics): { inFlight: () => number } {
  let inFlight = 0;
  const limiter = s.rateLimit.perSecond > 0 ? new RateLimiter(s.rateLimit) : undefined;
  const trusted = trustedProxies(s.rateLimit.trustedProxies);
  app.addHook('onRequest', async (request, reply) => {
    if (request.routeOptions.url !== undefined && EXEMPT.has(request.routeOptions.url)) return;
    if (limiter) {
      const wait = limiter.take(clientAddress(request, trusted));
      if (wait > 0) {
        metrics?.put('LoadShed', 1);
        return sendError(reply, errorBody(429, 'too many requests from this client, slow down', 'rate_limited'), wait);
      }
    }
    if (inFlight >= s.maxInFlight) {
      metrics?.put('LoadShed', 1);
      return sendError(reply, errorBody(503, 'the service is busy, try again', 'overloaded'), s.retryAfterSeconds);
    }
    inFlight++;
    reply.raw.once('close', () => inFlight--);
  });
  return { inFlight: () => inFlight };
}
