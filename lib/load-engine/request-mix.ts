import type { RequestSpec } from '../contracts/loadtest';

/** A small seeded PRNG (mulberry32): the same seed gives the same mix and the same `{{rand:N}}` values. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RAND = /\{\{rand:(\d+)\}\}/g;

interface Compiled {
  readonly spec: RequestSpec;
  readonly head: boolean;
  /** The whole request, when its path has no `{{rand:N}}`. */
  readonly fixed?: Buffer;
  /** Otherwise: literal path pieces around the random numbers, and the rest of the request. */
  readonly pieces?: readonly string[];
  readonly bounds?: readonly number[];
  readonly rest?: string;
}

/**
 * The weighted request mix, serialised once for one target: a request without `{{rand:N}}` is a single
 * Buffer written as is; one with it is a string built from its pieces.
 */
export class RequestMix {
  private readonly compiled: Compiled[];
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(mix: readonly RequestSpec[], target: URL, private readonly random: () => number) {
    if (mix.length === 0) throw new Error('the request mix is empty');
    let sum = 0;
    this.cumulative = mix.map((r) => {
      if (!(r.weight > 0)) throw new Error(`request "${r.name}": weight must be > 0, got ${r.weight}`);
      if (!r.path.startsWith('/')) throw new Error(`request "${r.name}": path must start with "/", got ${r.path}`);
      return (sum += r.weight);
    });
    this.total = sum;
    const basePath = target.pathname.replace(/\/+$/, '');
    this.compiled = mix.map((spec) => compile(spec, target.host, basePath));
  }

  /** Index of a request drawn by weight. */
  pick(): number {
    const x = this.random() * this.total;
    const c = this.cumulative;
    let i = 0;
    while (i < c.length - 1 && x >= c[i]) i++;
    return i;
  }

  isHead(i: number): boolean {
    return this.compiled[i].head;
  }

  name(i: number): string {
    return this.compiled[i].spec.name;
  }

  /** The bytes of request `i`, with fresh random numbers. */
  payload(i: number): Buffer | string {
    const c = this.compiled[i];
    if (c.fixed) return c.fixed;
    const pieces = c.pieces!;
    const bounds = c.bounds!;
    let s = pieces[0];
    for (let j = 0; j < bounds.length; j++) s += (1 + Math.floor(this.random() * bounds[j])) + pieces[j + 1];
    return s + c.rest!;
  }
}

function compile(spec: RequestSpec, host: string, basePath: string): Compiled {
  const headers: Record<string, string> = { host, 'user-agent': 'scaling-blueprint-loadtest' };
  const body = spec.body === undefined ? undefined : Buffer.from(spec.body);
  if (body) headers['content-type'] = 'application/json';
  for (const [k, v] of Object.entries(spec.headers ?? {})) {
    if (/[\r\n]/.test(k + v)) throw new Error(`request "${spec.name}": header ${k} contains a line break`);
    delete headers[Object.keys(headers).find((h) => h.toLowerCase() === k.toLowerCase()) ?? ''];
    headers[k] = v;
  }
  if (body) headers['content-length'] = String(body.length);
  const rest = ` HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${spec.body ?? ''}`;
  const path = basePath + spec.path;
  const head = spec.method === 'HEAD';
  const pieces: string[] = [];
  const bounds: number[] = [];
  let last = 0;
  for (const m of path.matchAll(RAND)) {
    pieces.push(path.slice(last, m.index));
    bounds.push(Math.max(1, Number(m[1])));
    last = m.index! + m[0].length;
  }
  pieces.push(path.slice(last));
  pieces[0] = `${spec.method} ${pieces[0]}`;
  if (bounds.length === 0) return { spec, head, fixed: Buffer.from(pieces[0] + rest) };
  return { spec, head, pieces, bounds, rest };
}
