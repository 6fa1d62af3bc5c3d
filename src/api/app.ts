import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { requestId } from 'hono/request-id';
import { matchedRoutes } from 'hono/route';
import type { Context } from 'hono';
import type { ApiDeps } from './deps.ts';
import { renderDocsPage } from './docs-page.ts';
import { ApiError, errorBody, onError } from './errors.ts';
import { createMetrics } from './metrics.ts';
import { createResponseCache } from './cache.ts';
import { createRouter } from './router.ts';
import { cursorVersion } from './snapshot.ts';
import { adminAuth } from './auth.ts';
import { registerAccounts } from './routes/accounts.ts';
import { registerAdmin } from './routes/admin.ts';
import { registerMismatches } from './routes/mismatches.ts';
import { registerChamas } from './routes/chamas.ts';
import { registerContributions } from './routes/contributions.ts';
import { registerEvents } from './routes/events.ts';
import { registerHealth } from './routes/health.ts';
import { registerMembers } from './routes/members.ts';
import { registerMetrics } from './routes/metrics.ts';
import { registerPayouts } from './routes/payouts.ts';
import { registerStatus } from './routes/status.ts';
import { registerStream } from './routes/stream.ts';

const info = {
  title: 'chama-indexer',
  version: '0.1.0',
  description:
    'Read API over indexed Chama events (SPEC §4). uint256 values are decimal strings; block numbers, rounds, counts and positions are numbers; ' +
    'addresses are lower-case. Reads carry `meta` and `X-Indexed-Block` from one database snapshot. Lists page with `limit` (default 100, max 1000) ' +
    'and the opaque `cursor` of `nextCursor`. Errors are `{ "error": { "code", "message", "details"? } }`.',
};

/** The route a request matched, for metrics labels ("unmatched" for 404s), never the raw path. */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) if (routes[i]!.method !== 'ALL') return routes[i]!.path;
  return c.get('route' as never) ?? 'unmatched';
}

/** A request id from the client when it is a sane one (hono's rule), else a new one. */
export function requestIdOf(header: string | undefined | null): string {
  return header && header.length <= 255 && !/[^\w\-=]/.test(header) ? header : crypto.randomUUID();
}

/** The HTTP API (SPEC §4): read-only, every read from one snapshot. */
export function createApp(deps: ApiDeps) {
  return createApi(deps).app;
}

/**
 * The app, with the response cache and metrics it uses, so the node server in front of it
 * (server.ts) can answer cached reads without going through Hono.
 */
export function createApi(deps: ApiDeps) {
  const metrics = createMetrics({ chainId: deps.chainId });
  if (deps.indexer?.subscribe) deps.indexer.subscribe((notice) => metrics.onNotice(notice));
  deps.rpc?.onRequest?.((request) => metrics.onRpcRequest(request));
  const cache = createResponseCache({ route: routeLabel, version: () => cursorVersion(deps.db, deps.chainId), checkEveryMs: deps.cacheCheckMs ?? 100 });
  deps.indexer?.subscribe?.(() => cache.clear());
  deps.admin?.jobs.onFinished(() => cache.clear());

  const app = createRouter();
  app.use('*', requestId());
  app.use('*', async (c, next) => {
    const started = performance.now();
    const log = deps.logger.child({ request_id: c.get('requestId') });
    c.set('logger', log);
    await next();
    const durationMs = performance.now() - started;
    metrics.onHttpRequest({ method: c.req.method, route: routeLabel(c), status: c.res.status, durationMs });
    // A line per request only at debug: at info an API under load would log thousands a second.
    const level = c.res.status >= 500 ? 'info' : 'debug';
    if (log.isLevelEnabled(level)) log[level]({ method: c.req.method, path: c.req.path, status: c.res.status, duration_ms: Math.round(durationMs * 10) / 10 }, 'request');
  });
  app.use('*', cache.middleware);
  app.use('*', cors({ origin: '*', exposeHeaders: ['X-Indexed-Block', 'X-Request-Id'] }));
  app.use('*', bodyLimit({ maxSize: deps.maxBodyBytes ?? 64 * 1024, onError: () => { throw new ApiError(413, 'payload_too_large', `request body larger than ${deps.maxBodyBytes ?? 64 * 1024} bytes`); } }));
  app.onError(onError(deps.logger));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));

  app.use('/admin/*', adminAuth({ secret: deps.adminSecret }));
  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });

  const routes = app
    .route('/', registerHealth(deps))
    .route('/', registerStatus(deps))
    .route('/', registerMetrics(deps, metrics))
    .route('/', registerChamas(deps))
    .route('/', registerMembers(deps))
    .route('/', registerContributions(deps))
    .route('/', registerPayouts(deps))
    .route('/', registerAccounts(deps))
    .route('/', registerEvents(deps))
    .route('/', registerStream(deps))
    .route('/', registerMismatches(deps))
    .route('/', registerAdmin(deps));

  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/openapi.json',
    summary: 'This OpenAPI document',
    responses: { 200: { description: 'the document', content: { 'application/json': { schema: { type: 'object' } } } } },
  });
  app.openAPIRegistry.registerPath({
    method: 'get',
    path: '/docs',
    summary: 'A page that renders this document (self-contained, works offline)',
    responses: { 200: { description: 'HTML', content: { 'text/html': { schema: { type: 'string' } } } } },
  });
  const document = () => app.getOpenAPIDocument({ openapi: '3.0.0', info });
  app.doc('/openapi.json', { openapi: '3.0.0', info });
  app.get('/docs', (c) => c.html(renderDocsPage(document() as never)));
  return { app: routes, cache, metrics, logger: deps.logger };
}

export type Api = ReturnType<typeof createApi>;
export type App = Api['app'];
/** The app's type for a typed client: `hc<AppType>(baseUrl)` from `hono/client`. */
export type AppType = App;
