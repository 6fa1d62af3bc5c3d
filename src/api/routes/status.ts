import { createRoute } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { createRouter } from '../router.ts';
import { statusSchema } from '../schemas.ts';

const getStatus = createRoute({
  method: 'get',
  path: '/status',
  summary: 'Where indexing stands',
  responses: { 200: { description: 'status', content: { 'application/json': { schema: statusSchema } } } },
});

type CursorRow = { block_number: number; block_hash: string; finalized_block: number; events_total: number };
type ReorgRow = { depth: number; ancestor_block: number; old_hash: string; new_hash: string; orphaned_events: number; detected_at: Date | string };

export function registerStatus(deps: ApiDeps) {
  return createRouter().openapi(getStatus, async (c) => {
    const { cursor, reorg } = await deps.db.orm.transaction(
      async (tx) => {
        const [cursor] = await rows<CursorRow>(tx, sql`SELECT block_number, block_hash, finalized_block, events_total FROM cursor WHERE chain_id = ${deps.chainId}`);
        const [reorg] = await rows<ReorgRow>(tx, sql`SELECT depth, ancestor_block, old_hash, new_hash, orphaned_events, detected_at FROM reorgs WHERE chain_id = ${deps.chainId} AND reason = 'reorg' ORDER BY id DESC LIMIT 1`);
        return { cursor, reorg };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    const live = deps.indexer?.status();
    const headBlock = live?.headBlock ?? (await deps.headBlock?.().catch(() => undefined)) ?? null;
    const indexedBlock = cursor ? Number(cursor.block_number) : null;
    const state = live ? (live.state === 'starting' ? 'syncing' : live.state) : headBlock !== null && indexedBlock !== null && headBlock - indexedBlock <= 1 ? 'live' : 'syncing';
    return c.json(
      {
        state,
        chainId: deps.chainId,
        headBlock,
        indexedBlock,
        indexedBlockHash: cursor?.block_hash ?? null,
        finalizedBlock: live?.finalizedBlock ?? (cursor ? Number(cursor.finalized_block) : null),
        lagBlocks: headBlock !== null && indexedBlock !== null ? Math.max(0, headBlock - indexedBlock) : null,
        eventsTotal: cursor ? Number(cursor.events_total) : 0,
        lastReorg: reorg
          ? {
              depth: Number(reorg.depth),
              forkBlock: Number(reorg.ancestor_block),
              oldHash: reorg.old_hash,
              newHash: reorg.new_hash,
              orphanedEvents: Number(reorg.orphaned_events),
              detectedAt: new Date(reorg.detected_at).toISOString(),
            }
          : null,
      },
      200,
    );
  });
}
