import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { knownHead } from '../head.ts';
import type { Metrics } from '../metrics.ts';
import { createRouter } from '../router.ts';

const getMetrics = createRoute({
  method: 'get',
  path: '/metrics',
  summary: 'Prometheus metrics (text format)',
  responses: { 200: { description: 'metrics', content: { 'text/plain': { schema: z.string() } } } },
});

export function registerMetrics(deps: ApiDeps, metrics: Metrics) {
  return createRouter().openapi(getMetrics, async (c) => {
    const [[cursor], headBlock, open] = await Promise.all([
      rows<{ block_number: number; finalized_block: number; events_total: number }>(deps.db.orm, sql`SELECT block_number, finalized_block, events_total FROM cursor WHERE chain_id = ${deps.chainId}`),
      knownHead(deps),
      rows<{ priority: 'CRITICAL' | 'NORMAL'; n: number }>(deps.db.orm, sql`SELECT priority, count(*)::int8 AS n FROM mismatches WHERE chain_id = ${deps.chainId} AND resolved_at IS NULL GROUP BY priority`),
    ]);
    metrics.setChain({
      indexedBlock: cursor ? Number(cursor.block_number) : null,
      finalizedBlock: cursor ? Number(cursor.finalized_block) : null,
      eventsStored: cursor ? Number(cursor.events_total) : 0,
      headBlock,
      openMismatches: { CRITICAL: Number(open.find((r) => r.priority === 'CRITICAL')?.n ?? 0), NORMAL: Number(open.find((r) => r.priority === 'NORMAL')?.n ?? 0) },
    });
    c.header('Content-Type', metrics.registry.contentType);
    return c.body(await metrics.registry.metrics(), 200) as never;
  });
}
