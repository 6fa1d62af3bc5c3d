import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Logger } from '../common/logger.ts';

/** The one error type of the API, rendered by `onError` as `{ error: { code, message, details? } }`. */
export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, details?: unknown) => new ApiError(400, 'bad_request', message, details);
export const notFound = (message: string) => new ApiError(404, 'not_found', message);

export function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

export function onError(logger: Logger) {
  return (error: Error, c: Context) => {
    if (error instanceof ApiError) return c.json(errorBody(error.code, error.message, error.details), error.status);
    if (error instanceof HTTPException) {
      const status = error.status as ContentfulStatusCode;
      return c.json(errorBody(status === 413 ? 'payload_too_large' : status === 400 ? 'bad_request' : 'http_error', error.message || 'request refused'), status);
    }
    const log = (c.get('logger' as never) as Logger | undefined) ?? logger;
    log.error({ err: { name: error.name, message: error.message, stack: error.stack }, path: c.req.path, request_id: c.get('requestId' as never) }, 'request failed');
    return c.json(errorBody('internal', 'internal error; the request id is in the server log'), 500);
  };
}
