import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { chamaAt } from '../../projections/engine.ts';
import { chamaColumns, readChama, selectChama, toChama } from '../../projections/persist.ts';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { notFound } from '../errors.ts';
import { cursorQuery, DEFAULT_LIMIT, keyPart, limitQuery, page, paginatedSchema } from '../pagination.ts';
import { presentChama } from '../present.ts';
import { createRouter } from '../router.ts';
import { addressInput, blockNumberQuery, chamaIdParam, chamaSchema, contractQuery, errorResponses, meta, notFoundResponse } from '../schemas.ts';
import { checkAtBlock, inSnapshot, readWithMeta, withMeta } from '../snapshot.ts';

const contractFilter = contractQuery.optional().openapi({ type: 'string', description: 'the contract, when several are indexed' });

const listChamas = createRoute({
  method: 'get',
  path: '/chamas',
  summary: 'Chamas, by contract and id; optionally those a creator made or a member joined',
  request: {
    query: z
      .object({
        creator: addressInput.optional().openapi({ type: 'string', description: 'only chamas this address created' }),
        member: addressInput.optional().openapi({ type: 'string', description: 'only chamas this address is a member of' }),
        contract: contractFilter,
        limit: limitQuery,
        cursor: cursorQuery(z.tuple([keyPart.address, keyPart.uint256])),
      })
      .strict(),
  },
  responses: {
    200: { description: 'a page of chamas', content: { 'application/json': { schema: paginatedSchema(chamaSchema, meta) } } },
    ...errorResponses,
  },
});

const getChama = createRoute({
  method: 'get',
  path: '/chamas/{id}',
  summary: 'One chama, now or as of a block',
  request: {
    params: chamaIdParam,
    query: z
      .object({
        atBlock: blockNumberQuery.optional().openapi({ type: 'integer', description: 'state as of this block (at most the indexed block)' }),
        contract: contractFilter,
      })
      .strict(),
  },
  responses: {
    200: { description: 'the chama', content: { 'application/json': { schema: z.object({ data: chamaSchema, meta }) } } },
    ...errorResponses,
    ...notFoundResponse,
  },
});

const selectList = sql.raw(chamaColumns.map(([n]) => `c."${n}"`).join(', '));

export function registerChamas(deps: ApiDeps) {
  return createRouter()
    .openapi(listChamas, async (c) => {
      const { creator, member, contract, limit = DEFAULT_LIMIT, cursor } = c.req.valid('query');
      const { data, meta } = await inSnapshot(deps.db, deps.chainId, (tx) =>
        rows<Record<string, unknown>>(
          tx,
          sql`SELECT ${selectList} FROM chamas c
              WHERE c.chain_id = ${deps.chainId}
              ${contract ? sql`AND c.address = ${contract}` : sql``}
              ${creator ? sql`AND c.creator = ${creator}` : sql``}
              ${member ? sql`AND EXISTS (SELECT 1 FROM members m WHERE m.chain_id = c.chain_id AND m.address = c.address AND m.chama_id = c.chama_id AND m.member = ${member})` : sql``}
              ${cursor ? sql`AND (c.address, c.chama_id) > (${cursor[0]}, ${cursor[1]}::numeric)` : sql``}
              ORDER BY c.address, c.chama_id LIMIT ${limit + 1}`,
        ),
      );
      const { items, nextCursor } = page(data.map(toChama), limit, (r) => [r.address, r.chamaId.toString()]);
      return c.json({ data: items.map(presentChama), nextCursor, meta: withMeta(c, meta) }, 200);
    })
    .openapi(getChama, async (c) => {
      const { id } = c.req.valid('param');
      const { atBlock, contract } = c.req.valid('query');
      const chamaId = BigInt(id);
      const { data, meta } =
        atBlock === undefined
          ? await readWithMeta(deps.db, deps.chainId, selectChama(deps.chainId, contract, chamaId)).then(({ rows, meta }) => ({ data: rows[0] && toChama(rows[0]), meta }))
          : await inSnapshot(deps.db, deps.chainId, async (tx, meta) => {
              checkAtBlock(atBlock, meta);
              const current = await readChama(tx, deps.chainId, contract, chamaId);
              return current && ((await chamaAt(tx, deps.chainId, current.address, chamaId, atBlock)).chama ?? null);
            });
      if (!data) throw notFound(data === null ? `chama ${id} did not exist at block ${atBlock}` : `no chama ${id}`);
      return c.json({ data: presentChama(data), meta: withMeta(c, meta) }, 200);
    });
}
