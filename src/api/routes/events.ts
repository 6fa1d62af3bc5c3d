import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { csvHeader, csvLine, presentEvent } from '../../export.ts';
import { rows } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { badRequest } from '../errors.ts';
import { readEventPage, type After, type EventFilter } from '../event-pages.ts';
import { cursorQuery, DEFAULT_LIMIT, limitQuery, page, paginatedSchema, positionKey } from '../pagination.ts';
import { createRouter } from '../router.ts';
import { blockNumberQuery, contractQuery, errorResponses, eventNames, eventSchema, meta, uint256Input } from '../schemas.ts';
import { inSnapshot, withMeta, type Meta } from '../snapshot.ts';

const listEvents = createRoute({
  method: 'get',
  path: '/events',
  summary: 'Raw canonical events in chain order; ?format=ndjson|csv streams the whole selection',
  description:
    'JSON answers one page. With `format`, the whole selection up to the indexed block at the start of the request is streamed in keyset pages ' +
    '(memory stays flat; `limit` is ignored, `cursor` sets where it starts). If a reorg rewinds below what was already streamed, the stream is cut short (an error, not a clean end).',
  request: {
    query: z
      .object({
        event: z.enum(eventNames).optional().openapi({ description: 'only this event type' }),
        chamaId: uint256Input.optional().openapi({ type: 'string', description: 'only events of this chama id (in any contract unless `contract`)' }),
        contract: contractQuery.optional().openapi({ type: 'string', description: 'only events of this contract' }),
        fromBlock: blockNumberQuery.optional().openapi({ type: 'integer', description: 'first block, inclusive' }),
        toBlock: blockNumberQuery.optional().openapi({ type: 'integer', description: 'last block, inclusive' }),
        format: z.enum(['json', 'ndjson', 'csv']).optional().openapi({ description: 'json (a page, the default), ndjson or csv (streamed)' }),
        limit: limitQuery,
        cursor: cursorQuery(positionKey),
      })
      .strict(),
  },
  responses: {
    200: {
      description: 'a page of events, or the stream of them',
      content: {
        'application/json': { schema: paginatedSchema(eventSchema, meta) },
        'application/x-ndjson': { schema: z.string().openapi({ description: 'one Event object per line' }) },
        'text/csv': { schema: z.string().openapi({ description: `header ${csvHeader.trim()}; args as JSON` }) },
      },
    },
    ...errorResponses,
  },
});

const STREAM_PAGE = 2000;

export function registerEvents(deps: ApiDeps) {
  return createRouter().openapi(listEvents, async (c) => {
    const { limit = DEFAULT_LIMIT, cursor, format = 'json', ...filter } = c.req.valid('query');
    if (filter.fromBlock !== undefined && filter.toBlock !== undefined && filter.fromBlock > filter.toBlock) {
      throw badRequest(`fromBlock ${filter.fromBlock} is after toBlock ${filter.toBlock}`);
    }
    const after: After | undefined = cursor ? { blockNumber: cursor[0], logIndex: cursor[1] } : undefined;
    if (format === 'json') {
      const { data, meta } = await inSnapshot(deps.db, deps.chainId, async (tx, meta) => {
        // Never past the snapshot's cursor: rows of a batch in flight are not part of this answer.
        const upTo = Math.min(filter.toBlock ?? Number.MAX_SAFE_INTEGER, meta.indexedBlock ?? -1);
        return readEventPage(tx, deps.chainId, { ...filter, toBlock: upTo }, after, limit + 1);
      });
      const { items, nextCursor } = page(data, limit, (e) => [e.blockNumber, e.logIndex]);
      return c.json({ data: items.map(presentEvent), nextCursor, meta: withMeta(c, meta) }, 200);
    }
    const { data: reorgId, meta } = await inSnapshot(deps.db, deps.chainId, async (tx) => lastReorgId(tx, deps.chainId));
    withMeta(c, meta);
    const body = exportStream(deps, { ...filter, toBlock: Math.min(filter.toBlock ?? Number.MAX_SAFE_INTEGER, meta.indexedBlock ?? -1) }, after, format, reorgId, meta);
    c.header('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    if (format === 'csv') c.header('Content-Disposition', 'attachment; filename="events.csv"');
    return c.body(body, 200) as never;
  });
}

async function lastReorgId(ex: Parameters<typeof rows>[0], chainId: number): Promise<number> {
  const [row] = await rows<{ id: number | null }>(ex, sql`SELECT max(id) AS id FROM reorgs WHERE chain_id = ${chainId}`);
  return Number(row?.id ?? 0);
}

/**
 * The selection as a pull stream: a page is read only when the client has taken the last one,
 * so memory holds one page whatever the size of the export. Each page is its own short read
 * (a long-held snapshot would pin the single PGlite connection, or old row versions on PostgreSQL).
 */
function exportStream(deps: ApiDeps, filter: EventFilter, start: After | undefined, format: 'ndjson' | 'csv', reorgId: number, meta: Meta): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let after = start;
  let headerSent = format !== 'csv';
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          await next(controller);
        } catch (error) {
          deps.logger.warn({ err: { message: (error as Error).message }, format }, 'event export cut short');
          controller.error(error);
        }
      },
    },
    { highWaterMark: 0 },
  );

  async function next(controller: ReadableStreamDefaultController<Uint8Array>) {
        if (!headerSent) {
          headerSent = true;
          controller.enqueue(encoder.encode(csvHeader));
          return;
        }
        const { data: events } = await inSnapshot(deps.db, deps.chainId, async (tx) => {
          const reorg = await rows<{ ancestor_block: number }>(tx, sql`SELECT min(ancestor_block) AS ancestor_block FROM reorgs WHERE chain_id = ${deps.chainId} AND id > ${reorgId}`);
          const ancestor = reorg[0]?.ancestor_block;
          if (ancestor !== null && ancestor !== undefined && after && Number(ancestor) < after.blockNumber) {
            throw new Error(`a reorg rewound the chain to block ${ancestor}, below the ${after.blockNumber} already exported (indexed block was ${meta.indexedBlock}); export again`);
          }
          return readEventPage(tx, deps.chainId, filter, after, STREAM_PAGE);
        });
        if (events.length === 0) {
          controller.close();
          return;
        }
        const last = events[events.length - 1]!;
        after = { blockNumber: last.blockNumber, logIndex: last.logIndex };
        const text = events.map((e) => (format === 'csv' ? csvLine(e) : `${JSON.stringify(presentEvent(e))}\n`)).join('');
        controller.enqueue(encoder.encode(text));
        if (events.length < STREAM_PAGE) controller.close();
  }
}
