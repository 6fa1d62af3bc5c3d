import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { probeHead } from '../head.ts';
import { createRouter } from '../router.ts';

const getHealth = createRoute({
  method: 'get',
  path: '/health',
  summary: 'Liveness: the process answers',
  responses: { 200: { description: 'alive', content: { 'application/json': { schema: z.object({ status: z.literal('ok') }) } } } },
});

const check = z.object({ ok: z.boolean(), error: z.string().optional() });
const readySchema = z
  .object({
    ready: z.boolean(),
    checks: z.object({
      database: check,
      rpc: check.extend({ configured: z.boolean(), headBlock: z.number().nullable() }),
      lag: check.extend({ indexedBlock: z.number().nullable(), headBlock: z.number().nullable(), lagBlocks: z.number().nullable(), maxLagBlocks: z.number() }),
    }),
  })
  .openapi('Readiness');

const getReady = createRoute({
  method: 'get',
  path: '/ready',
  summary: 'Readiness: database reachable, RPC reachable (when configured), lag within READY_MAX_LAG_BLOCKS',
  responses: {
    200: { description: 'ready', content: { 'application/json': { schema: readySchema } } },
    503: { description: 'not ready; `checks` says why', content: { 'application/json': { schema: readySchema } } },
  },
});

export function registerHealth(deps: ApiDeps) {
  const maxLagBlocks = deps.readyMaxLagBlocks ?? 10;
  return createRouter()
    .openapi(getHealth, (c) => c.json({ status: 'ok' as const }, 200))
    .openapi(getReady, async (c) => {
      const [db, head] = await Promise.all([
        rows<{ block_number: number }>(deps.db.orm, sql`SELECT block_number FROM cursor WHERE chain_id = ${deps.chainId}`).then(
          ([row]) => ({ ok: true as boolean, indexedBlock: row ? Number(row.block_number) : null, error: undefined as string | undefined }),
          (error: Error) => ({ ok: false, indexedBlock: null, error: error.message }),
        ),
        probeHead(deps),
      ]);
      const rpc = { ok: !head.configured || head.reachable, configured: head.configured, headBlock: head.headBlock, ...(head.error ? { error: head.error } : {}) };
      const lagBlocks = db.indexedBlock !== null && head.headBlock !== null ? Math.max(0, head.headBlock - db.indexedBlock) : null;
      const lagOk = db.indexedBlock !== null && (lagBlocks === null ? !head.configured && !deps.indexer : lagBlocks <= maxLagBlocks);
      const lag = {
        ok: lagOk,
        indexedBlock: db.indexedBlock,
        headBlock: head.headBlock,
        lagBlocks,
        maxLagBlocks,
        ...(lagOk ? {} : { error: db.indexedBlock === null ? 'nothing indexed yet' : lagBlocks === null ? 'head unknown' : `lag ${lagBlocks} blocks > ${maxLagBlocks}` }),
      };
      const database = { ok: db.ok, ...(db.error ? { error: db.error } : {}) };
      const ready = database.ok && rpc.ok && lag.ok;
      const body = { ready, checks: { database, rpc, lag } };
      return ready ? c.json(body, 200) : c.json(body, 503);
    });
}
