import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { chamaOr404 } from '../lookup.ts';
import { cursorQuery, DEFAULT_LIMIT, keyPart, limitQuery, page, paginatedSchema } from '../pagination.ts';
import { presentMember, type MemberRaw } from '../present.ts';
import { createRouter } from '../router.ts';
import { chamaIdParam, contractQuery, errorResponses, memberSchema, meta, notFoundResponse } from '../schemas.ts';
import { inSnapshot, withMeta } from '../snapshot.ts';

const listMembers = createRoute({
  method: 'get',
  path: '/chamas/{id}/members',
  summary: "A chama's members in join order",
  request: {
    params: chamaIdParam,
    query: z
      .object({
        contract: contractQuery.optional().openapi({ type: 'string', description: 'the contract, when several are indexed' }),
        limit: limitQuery,
        cursor: cursorQuery(z.tuple([keyPart.index, keyPart.address])),
      })
      .strict(),
  },
  responses: {
    200: { description: 'a page of members', content: { 'application/json': { schema: paginatedSchema(memberSchema, meta) } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

export function registerMembers(deps: ApiDeps) {
  return createRouter().openapi(listMembers, async (c) => {
    const { id } = c.req.valid('param');
    const { contract, limit = DEFAULT_LIMIT, cursor } = c.req.valid('query');
    const { data, meta } = await inSnapshot(deps.db, deps.chainId, async (tx) => {
      const chama = await chamaOr404(tx, deps.chainId, id, contract);
      return rows<MemberRaw>(
        tx,
        sql`SELECT chama_id, member, position, joined_at_block, total_contributed, total_received, contributions FROM members
            WHERE chain_id = ${deps.chainId} AND address = ${chama.address} AND chama_id = ${id}::numeric
            ${cursor ? sql`AND (position, member) > (${cursor[0]}, ${cursor[1]})` : sql``}
            ORDER BY position, member LIMIT ${limit + 1}`,
      );
    });
    const { items, nextCursor } = page(data, limit, (m) => [Number(m.position), m.member]);
    return c.json({ data: items.map(presentMember), nextCursor, meta: withMeta(c, meta) }, 200);
  });
}
