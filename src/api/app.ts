import { OpenAPIHono } from '@hono/zod-openapi';
import { requestId } from 'hono/request-id';
import { cors } from 'hono/cors';
import type { ApiDeps, ApiEnv } from './deps.ts';
import { errorBody, onError } from './errors.ts';
import { registerChamas } from './routes/chamas.ts';
import { registerStatus } from './routes/status.ts';

/** The HTTP API (SPEC §4): read-only, every read from one snapshot. */
export function createApp(deps: ApiDeps) {
  const app = new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        return c.json(errorBody('bad_request', `invalid ${result.target}: ${issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ')}`, issues), 400);
      }
    },
  });
  app.use('*', requestId());
  app.use('*', cors());
  app.onError(onError(deps.logger));
  app.notFound((c) => c.json(errorBody('not_found', `no route ${c.req.method} ${c.req.path}`), 404));
  app.get('/health', (c) => c.json({ status: 'ok' }));
  registerStatus(app, deps);
  registerChamas(app, deps);
  app.doc('/openapi.json', { openapi: '3.0.0', info: { title: 'chama-indexer', version: '0.1.0' } });
  return app;
}

export type App = ReturnType<typeof createApp>;
