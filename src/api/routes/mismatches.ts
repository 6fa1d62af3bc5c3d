import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { cursorQuery, DEFAULT_LIMIT, keyPart, limitQuery, page, paginatedSchema } from '../pagination.ts';
import { createRouter } from '../router.ts';
import { errorResponses, meta } from '../schemas.ts';
import { inSnapshot, withMeta } from '../snapshot.ts';

export const mismatchSchema = z
  .object({
    id: z.number(),
    kind: z.string().openapi({ example: 'chama.totalContributed' }),
    priority: z.enum(['CRITICAL', 'NORMAL']),
    entity: z.string().openapi({ example: 'chama:0x5fbdb2315678afecb367f032d93f642f64180aa3:1' }),
    dbValue: z.string().nullable(),
    chainValue: z.string().nullable(),
    blockNumber: z.number(),
    foundAt: z.string(),
  })
  .openapi('Mismatch');

const list = createRoute({
  method: 'get',
  path: '/mismatches',
  summary: 'Open mismatches found by verification (newest first)',
  request: {
    query: z
      .object({
        priority: z.enum(['CRITICAL', 'NORMAL']).optional(),
        limit: limitQuery,
        cursor: cursorQuery(z.tuple([keyPart.index])),
      })
      .strict(),
  },
  responses: { 200: { description: 'a page of open mismatches', content: { 'application/json': { schema: paginatedSchema(mismatchSchema, meta) } } }, ...errorResponses },
});

type Row = { id: number; kind: string; priority: 'CRITICAL' | 'NORMAL'; entity: string; db_value: string | null; chain_value: string | null; block_number: number; found_at: Date | string };

export function registerMismatches(deps: ApiDeps) {
  return createRouter().openapi(list, async (c) => {
    const { priority, limit = DEFAULT_LIMIT, cursor } = c.req.valid('query');
    const { data, meta } = await inSnapshot(deps.db, deps.chainId, (tx) =>
      rows<Row>(
        tx,
        sql`SELECT id, kind, priority, entity, db_value, chain_value, block_number, found_at FROM mismatches
            WHERE chain_id = ${deps.chainId} AND resolved_at IS NULL
            ${priority ? sql`AND priority = ${priority}` : sql``}
            ${cursor ? sql`AND id < ${cursor[0]}` : sql``}
            ORDER BY id DESC LIMIT ${limit + 1}`,
      ),
    );
    const { items, nextCursor } = page(data, limit, (m) => [Number(m.id)]);
    return c.json(
      {
        data: items.map((m) => ({ id: Number(m.id), kind: m.kind, priority: m.priority, entity: m.entity, dbValue: m.db_value, chainValue: m.chain_value, blockNumber: Number(m.block_number), foundAt: new Date(m.found_at).toISOString() })),
        nextCursor,
        meta: withMeta(c, meta),
      },
      200,
    );
  });
}
