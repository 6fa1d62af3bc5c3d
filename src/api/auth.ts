import type { MiddlewareHandler } from 'hono';
import { verify } from 'hono/jwt';
import type { ApiEnv } from './deps.ts';
import { ApiError } from './errors.ts';

/**
 * Admin routes need `Authorization: Bearer <JWT>` signed HS256 with ADMIN_JWT_SECRET and
 * carrying `role: "admin"`: 401 for a missing, malformed, badly signed or expired token, 403
 * for another role. Without a secret the admin routes do not exist (404). Tokens are never logged.
 */
export function adminAuth({ secret }: { secret: string | undefined }): MiddlewareHandler<ApiEnv> {
  return async function requireAdmin(c, next) {
    if (!secret) throw new ApiError(404, 'not_found', `no route ${c.req.method} ${c.req.path}`);
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/.exec(header);
    if (!header) throw unauthorized('missing Authorization: Bearer <token> header');
    if (!match) throw unauthorized('the Authorization header must be "Bearer <JWT>"');
    let payload: Record<string, unknown>;
    try {
      payload = (await verify(match[1]!, secret, 'HS256')) as Record<string, unknown>;
    } catch (error) {
      const expired = (error as Error).name === 'JwtTokenExpired';
      throw unauthorized(expired ? 'the token has expired' : 'the token is not valid (bad signature, algorithm or claims)');
    }
    if (typeof payload.exp !== 'number') throw unauthorized('the token has no expiry (exp)');
    if (payload.role !== 'admin') throw new ApiError(403, 'forbidden', 'this route needs role "admin"');
    await next();
  };
}

const unauthorized = (message: string) => new ApiError(401, 'unauthorized', message);
