import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './deps.ts';

/** A stored answer: everything but the request id, which is the request's own. */
/** `headers`: name, value, name, value… (the form node writes fastest). */
export type CachedResponse = { status: number; body: Buffer; headers: string[]; route: string; expires: number };

export type ResponseCache = {
  /** For the Hono app: answers hits, stores 200 JSON answers of cacheable GETs. */
  middleware: MiddlewareHandler<ApiEnv>;
  /**
   * The entry for a raw request path (path and query), if there is one and it has not expired.
   */
  fresh(pathAndQuery: string): CachedResponse | undefined;
  clear(): void;
  readonly size: number;
};

/**
 * Answers repeated reads from memory until the index moves. Every cached response is a complete
 * answer from one snapshot (its own `meta` and `X-Indexed-Block`), dropped as soon as the index
 * it was read from moves, so a client sees the same data it would have read from the database
 * at that block, at a fraction of the cost (a `GET /chamas/:id` read is a database round trip
 * otherwise, and with 64 clients they queue for the pool).
 *
 * How it learns that the index moved: in the indexing process, a notice per commit, rewind and
 * finished operator job calls `clear()`; in every process, `version` (a cheap read of the
 * cursor, which every commit and rewind changes) is read again at most every `checkEveryMs`,
 * in the background of a hit, so a replica or a process whose writer lock went to another one
 * serves answers at most that much (plus one query) behind the cursor. No entry lives longer than
 * about `maxAgeMs` whatever happens (spread over its second half, so entries made together do
 * not all expire together). Streams and operational routes are never cached.
 */
export function createResponseCache({
  maxEntries = 10_000,
  maxBodyBytes = 256 * 1024,
  maxAgeMs = 60_000,
  cacheable = defaultCacheable,
  route,
  version,
  checkEveryMs = 100,
}: {
  maxEntries?: number;
  maxBodyBytes?: number;
  maxAgeMs?: number;
  cacheable?: (path: string, query: string) => boolean;
  /** The label of the route a request matched, kept with the entry for metrics. */
  route: (c: Parameters<MiddlewareHandler<ApiEnv>>[0]) => string;
  /** A value that changes whenever the index moves. */
  version?: () => Promise<string>;
  checkEveryMs?: number;
}): ResponseCache {
  let entries = new Map<string, CachedResponse>();
  let generation = 0;
  let seen: string | undefined;
  let checkedAt = -Infinity;
  let checking: Promise<void> | undefined;
  const reading = new Map<string, Promise<void>>();
  const clear = () => {
    generation++;
    entries = new Map();
  };
  /** Reads `version` again if it is due (one read at a time); a change or a failure drops everything. */
  const check = () => {
    if (!version || checking || performance.now() - checkedAt <= checkEveryMs) return;
    checking = version()
      .then((v) => {
        if (v !== seen) clear();
        seen = v;
      }, clear)
      .finally(() => {
        checkedAt = performance.now();
        checking = undefined;
      });
  };
  const fresh = (key: string) => {
    const hit = entries.get(key);
    if (!hit) return undefined;
    check();
    if (performance.now() > hit.expires) {
      entries.delete(key);
      return undefined;
    }
    return hit;
  };

  return {
    get size() {
      return entries.size;
    },
    clear,
    fresh,
    middleware: async function cacheReads(c, next) {
      const url = new URL(c.req.url);
      if (c.req.method !== 'GET' || !cacheable(url.pathname, url.search)) return next();
      const key = `${url.pathname}${url.search}`;
      const answer = (hit: CachedResponse) => {
        c.set('route', hit.route);
        const headers = new Headers();
        for (let i = 0; i < hit.headers.length; i += 2) headers.append(hit.headers[i]!, hit.headers[i + 1]!);
        c.res = new Response(new Uint8Array(hit.body), { status: hit.status, headers });
      };
      const hit = fresh(key);
      if (hit) return answer(hit);
      // Requests that miss together wait for the first one's read instead of each reading.
      const leader = reading.get(key);
      if (leader) {
        await leader;
        const shared = fresh(key);
        if (shared) return answer(shared);
        return next();
      }
      let done = () => {};
      reading.set(key, new Promise<void>((resolve) => (done = resolve)));
      try {
        const started = generation;
        await next();
        const type = c.res.headers.get('content-type') ?? '';
        if (c.res.status !== 200 || !type.startsWith('application/json') || started !== generation) return;
        const body = Buffer.from(await c.res.clone().arrayBuffer());
        if (body.byteLength > maxBodyBytes) return;
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        const headers: string[] = [];
        for (const [k, v] of c.res.headers) if (k !== 'x-request-id' && k !== 'content-length') headers.push(k, v);
        entries.set(key, { status: c.res.status, body, headers, route: route(c), expires: performance.now() + maxAgeMs * (0.5 + Math.random() / 2) });
      } finally {
        reading.delete(key);
        done();
      }
    },
  };
}

function defaultCacheable(path: string, query: string): boolean {
  if (/[?&]format=/.test(query)) return false;
  return path.startsWith('/chamas') || path.startsWith('/accounts/') || path === '/events';
}
