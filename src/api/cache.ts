import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './deps.ts';

export type ResponseCache = { middleware: MiddlewareHandler<ApiEnv>; clear(): void; readonly size: number };

type Entry = { status: number; body: ArrayBuffer; headers: [string, string][]; at: number };

/**
 * Answers repeated reads from memory until the index moves. Every cached response is a complete
 * answer from one snapshot (its own `meta` and `X-Indexed-Block`), and the whole cache is dropped
 * when a batch commits or a reorg rewinds, so a client sees the same data it would have read
 * from the database at that block, at a fraction of the cost (a hot `GET /chamas/:id` costs
 * four database round trips otherwise). Operator jobs that rewrite projections drop it too, and
 * no entry lives longer than `maxAgeMs` whatever happens. Streams and operational routes are
 * never cached.
 */
export function createResponseCache({
  maxEntries = 10_000,
  maxBodyBytes = 256 * 1024,
  maxAgeMs = 5000,
  cacheable = defaultCacheable,
}: { maxEntries?: number; maxBodyBytes?: number; maxAgeMs?: number; cacheable?: (path: string, query: string) => boolean } = {}): ResponseCache {
  let entries = new Map<string, Entry>();
  let generation = 0;
  return {
    get size() {
      return entries.size;
    },
    clear() {
      generation++;
      entries = new Map();
    },
    middleware: async function cacheReads(c, next) {
      const url = new URL(c.req.url);
      if (c.req.method !== 'GET' || !cacheable(url.pathname, url.search)) return next();
      const key = `${url.pathname}${url.search}`;
      const hit = entries.get(key);
      if (hit && performance.now() - hit.at <= maxAgeMs) {
        c.res = new Response(hit.body, { status: hit.status, headers: hit.headers });
        return;
      }
      const started = generation;
      await next();
      const type = c.res.headers.get('content-type') ?? '';
      if (c.res.status !== 200 || !type.startsWith('application/json') || started !== generation) return;
      const body = await c.res.clone().arrayBuffer();
      if (body.byteLength > maxBodyBytes) return;
      if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
      entries.set(key, { status: c.res.status, body, headers: [...c.res.headers].filter(([k]) => k !== 'x-request-id'), at: performance.now() });
    },
  };
}

function defaultCacheable(path: string, query: string): boolean {
  if (/[?&]format=/.test(query)) return false;
  return path.startsWith('/chamas') || path.startsWith('/accounts/') || path === '/events';
}
