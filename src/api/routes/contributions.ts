import { createRoute, z } from '@hono/zod-openapi';
import { transfersOfChama } from '../../store/events.ts';
import type { ApiDeps } from '../deps.ts';
import { chamaOr404 } from '../lookup.ts';
import { cursorQuery, DEFAULT_LIMIT, limitQuery, page, paginatedSchema, positionKey } from '../pagination.ts';
import { presentContribution } from '../present.ts';
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
      return transfersOfChama(tx, deps.chainId, { address: chama.address, chamaId: BigInt(id), event: 'ContributionMade', round, account: contributor, after: cursor, limit: limit + 1 });
    });
    const { items, nextCursor } = page(data, limit, (t) => [t.blockNumber, t.logIndex]);
    return c.json({ data: items.map(presentContribution), nextCursor, meta: withMeta(c, meta) }, 200);
  });
}
