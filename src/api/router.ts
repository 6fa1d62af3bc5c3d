import { OpenAPIHono } from '@hono/zod-openapi';
import type { ApiEnv } from './deps.ts';
import { errorBody } from './errors.ts';

/**
 * A router for one resource. Input that fails its zod schema never reaches a handler: it is
 * answered here with a 400 in the error shape of SPEC §4, naming each bad field.
 */
export function createRouter() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        const summary = issues.map((i) => `${i.path || '(root)'} ${i.message}`).join('; ');
        return c.json(errorBody('bad_request', `invalid ${result.target}: ${summary}`, issues), 400);
      }
    },
  });
}
