import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { chamaOr404 } from '../lookup.ts';
import { cursorQuery, DEFAULT_LIMIT, limitQuery, page, paginatedSchema, positionKey } from '../pagination.ts';
import { presentPayout, type TransferRaw } from '../present.ts';
import { createRouter } from '../router.ts';
import { chamaIdParam, contractQuery, errorResponses, meta, notFoundResponse, payoutSchema, roundQuery } from '../schemas.ts';
import { inSnapshot, withMeta } from '../snapshot.ts';

const list = createRoute({
  method: 'get',
  path: '/chamas/{id}/payouts',
  summary: "A chama's payouts in chain order",
  request: {
    params: chamaIdParam,
    query: z
      .object({
        round: roundQuery.optional().openapi({ type: 'integer', description: 'only this round' }),
        
        contract: contractQuery.optional().openapi({ type: 'string', description: 'the contract, when several are indexed' }),
        limit: limitQuery,
        cursor: cursorQuery(positionKey),
      })
      .strict(),
  },
  responses: {
    200: { description: 'a page of payouts', content: { 'application/json': { schema: paginatedSchema(payoutSchema, meta) } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

export function registerPayouts(deps: ApiDeps) {
  return createRouter().openapi(list, async (c) => {
    const { id } = c.req.valid('param');
    const { round, contract, limit = DEFAULT_LIMIT, cursor } = c.req.valid('query');
    const { data, meta } = await inSnapshot(deps.db, deps.chainId, async (tx) => {
      const chama = await chamaOr404(tx, deps.chainId, id, contract);
      return rows<TransferRaw & { recipient: string }>(
        tx,
        sql`SELECT chama_id, recipient, amount, round, timestamp, block_number, tx_hash, log_index FROM payouts
            WHERE chain_id = ${deps.chainId} AND address = ${chama.address} AND chama_id = ${id}::numeric
            ${round !== undefined ? sql`AND round = ${round}` : sql``}
            
            ${cursor ? sql`AND (block_number, log_index) > (${cursor[0]}, ${cursor[1]})` : sql``}
            ORDER BY block_number, log_index LIMIT ${limit + 1}`,
      );
    });
    const { items, nextCursor } = page(data, limit, (t) => [Number(t.block_number), Number(t.log_index)]);
    return c.json({ data: items.map(presentPayout), nextCursor, meta: withMeta(c, meta) }, 200);
  });
}
