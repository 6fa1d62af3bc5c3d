import { z } from '@hono/zod-openapi';

/**
 * Keyset pagination. A cursor is the base64url JSON of the last row's sort key: the next page
 * reads rows strictly after it, so rows inserted meanwhile (always at or after the tip) are
 * neither skipped nor repeated. Cursors are validated like any other input.
 */

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export const limitQuery = z
  .string()
  .regex(/^\d{1,7}$/, 'must be a whole number')
  .transform(Number)
  .pipe(z.number().int().min(1, 'must be at least 1').max(MAX_LIMIT, `must be at most ${MAX_LIMIT}`))
  .optional()
  .openapi({ type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: 'page size' });

/** A `?cursor=` that decodes to a key matching `key`, or a 400. */
export function cursorQuery<T>(key: z.ZodType<T>) {
  return z
    .string()
    .max(1024, 'is too long')
    .regex(/^[A-Za-z0-9_-]+$/, 'must be a cursor returned as nextCursor')
    .transform((value, ctx): T => {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
      } catch {
        decoded = undefined;
      }
      const parsed = key.safeParse(decoded);
      if (!parsed.success) {
        ctx.addIssue({ code: 'custom', message: 'must be a cursor returned as nextCursor by this route' });
        return z.NEVER;
      }
      return parsed.data;
    })
    .optional()
    .openapi({ type: 'string', description: 'nextCursor of the previous page' });
}

export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** Rows were read with `limit + 1`: trims the extra row and says where the next page starts. */
export function page<T>(rows: readonly T[], limit: number, keyOf: (row: T) => readonly unknown[]): { items: T[]; nextCursor: string | null } {
  if (rows.length <= limit) return { items: [...rows], nextCursor: null };
  const items = rows.slice(0, limit);
  return { items, nextCursor: encodeCursor(keyOf(items[items.length - 1]!)) };
}

/** Sort-key parts. Block numbers and log indexes stay below 2^53; chama ids are decimal strings. */
export const keyPart = {
  block: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  index: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  uint256: z.string().regex(/^\d{1,78}$/),
  address: z.string().regex(/^0x[0-9a-f]{40}$/),
};

/** The position key of events, contributions and payouts: (block number, log index). */
export const positionKey = z.tuple([keyPart.block, keyPart.index]);

export const paginatedSchema = <T extends z.ZodType>(item: T, meta: z.ZodType) => z.object({ data: z.array(item), nextCursor: z.string().nullable(), meta });
