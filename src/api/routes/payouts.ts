import { createRoute, z } from '@hono/zod-openapi';
import { transfersOfChama } from '../../store/events.ts';
import type { ApiDeps } from '../deps.ts';
import { chamaOr404 } from '../lookup.ts';
import { cursorQuery, DEFAULT_LIMIT, limitQuery, page, paginatedSchema, positionKey } from '../pagination.ts';
import { presentPayout } from '../present.ts';
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
      return transfersOfChama(tx, deps.chainId, { address: chama.address, chamaId: BigInt(id), event: 'PayoutProcessed', round, after: cursor, limit: limit + 1 });
    });
    const { items, nextCursor } = page(data, limit, (t) => [t.blockNumber, t.logIndex]);
    return c.json({ data: items.map(presentPayout), nextCursor, meta: withMeta(c, meta) }, 200);
  });
}
