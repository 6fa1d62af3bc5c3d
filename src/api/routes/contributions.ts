import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { chamaOr404 } from '../lookup.ts';
import { cursorQuery, DEFAULT_LIMIT, limitQuery, page, paginatedSchema, positionKey } from '../pagination.ts';
import { presentContribution, type TransferRaw } from '../present.ts';
import { createRouter } from '../router.ts';
import { addressInput, chamaIdParam, contractQuery, errorResponses, meta, notFoundResponse, contributionSchema, roundQuery } from '../schemas.ts';
import { inSnapshot, withMeta } from '../snapshot.ts';

const list = createRoute({
  method: 'get',
  path: '/chamas/{id}/contributions',
  summary: "A chama's contributions in chain order",
  request: {
    params: chamaIdParam,
    query: z
      .object({
        round: roundQuery.optional().openapi({ type: 'integer', description: 'only this round' }),
        contributor: addressInput.optional().openapi({ type: 'string', description: 'only this contributor' }),
        contract: contractQuery.optional().openapi({ type: 'string', description: 'the contract, when several are indexed' }),
        limit: limitQuery,
        cursor: cursorQuery(positionKey),
      })
      .strict(),
  },
  responses: {
    200: { description: 'a page of contributions', content: { 'application/json': { schema: paginatedSchema(contributionSchema, meta) } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

export function registerContributions(deps: ApiDeps) {
  return createRouter().openapi(list, async (c) => {
    const { id } = c.req.valid('param');
    const { round, contributor, contract, limit = DEFAULT_LIMIT, cursor } = c.req.valid('query');
    const { data, meta } = await inSnapshot(deps.db, deps.chainId, async (tx) => {
      const chama = await chamaOr404(tx, deps.chainId, id, contract);
      return rows<TransferRaw & { contributor: string }>(
        tx,
        sql`SELECT chama_id, contributor, amount, round, timestamp, block_number, tx_hash, log_index FROM contributions
            WHERE chain_id = ${deps.chainId} AND address = ${chama.address} AND chama_id = ${id}::numeric
            ${round !== undefined ? sql`AND round = ${round}` : sql``}
            ${contributor ? sql`AND contributor = ${contributor}` : sql``}
            ${cursor ? sql`AND (block_number, log_index) > (${cursor[0]}, ${cursor[1]})` : sql``}
            ORDER BY block_number, log_index LIMIT ${limit + 1}`,
      );
    });
    const { items, nextCursor } = page(data, limit, (t) => [Number(t.block_number), Number(t.log_index)]);
    return c.json({ data: items.map(presentContribution), nextCursor, meta: withMeta(c, meta) }, 200);
  });
}
