import { createRoute, z } from '@hono/zod-openapi';
import { chamaAt } from '../../projections/engine.ts';
import { readChama } from '../../projections/persist.ts';
import type { ApiApp, ApiDeps } from '../deps.ts';
import { badRequest, notFound } from '../errors.ts';
import { presentChama } from '../present.ts';
import { blockNumberQuery, chamaIdParam, chamaSchema, contractQuery, errorSchema, meta } from '../schemas.ts';
import { inSnapshot } from '../snapshot.ts';

const getChama = createRoute({
  method: 'get',
  path: '/chamas/{id}',
  summary: 'One chama, now or as of a block',
  request: {
    params: chamaIdParam,
    query: z.object({
      atBlock: blockNumberQuery.optional().openapi({ type: 'integer', description: 'state as of this block (at most the indexed block)' }),
      contract: contractQuery.optional().openapi({ type: 'string', description: 'the contract, when several are indexed' }),
    }),
  },
  responses: {
    200: { description: 'the chama', content: { 'application/json': { schema: z.object({ data: chamaSchema, meta }) } } },
    400: { description: 'bad input', content: { 'application/json': { schema: errorSchema } } },
    404: { description: 'no such chama', content: { 'application/json': { schema: errorSchema } } },
  },
});

export function registerChamas(app: ApiApp, deps: ApiDeps) {
  app.openapi(getChama, async (c) => {
    const { id } = c.req.valid('param');
    const { atBlock, contract } = c.req.valid('query');
    const chamaId = BigInt(id);
    const { data, meta } = await inSnapshot(deps.db, deps.chainId, async (tx, meta) => {
      const current = await readChama(tx, deps.chainId, contract, chamaId);
      if (atBlock === undefined || !current) return current;
      if (meta.indexedBlock === null || atBlock > meta.indexedBlock) throw badRequest(`atBlock ${atBlock} is above the indexed block ${meta.indexedBlock ?? 'none'}`);
      return (await chamaAt(tx, deps.chainId, current.address, chamaId, atBlock)).chama ?? null;
    });
    if (!data) throw notFound(data === null ? `chama ${id} did not exist at block ${atBlock}` : `no chama ${id}`);
    c.header('X-Indexed-Block', String(meta.indexedBlock ?? ''));
    return c.json({ data: presentChama(data), meta }, 200);
  });
}
