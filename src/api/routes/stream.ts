import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'drizzle-orm';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { presentEvent } from '../../export.ts';
import { rows, type Tx } from '../../store/db.ts';
import type { ApiDeps } from '../deps.ts';
import { badRequest } from '../errors.ts';
import { readEventPage } from '../event-pages.ts';
import { knownHead } from '../head.ts';
import { createRouter } from '../router.ts';
import { errorResponses } from '../schemas.ts';
import { inSnapshot, type Meta } from '../snapshot.ts';

/**
 * Server-Sent Events: `event` (each canonical event, in chain order), `reorg` (the chain was
 * rewound to `forkBlock`: drop what you hold above it), `status` (a tick with the indexed block).
 *
 * Every message's id is the stream position `block:logIndex:reorgId`: every event up to
 * (block, logIndex) was sent (`*` = the whole block) and every reorg up to `reorgId` was told.
 * A reconnect with `Last-Event-ID` first tells the reorgs it missed (moving the position back to
 * the fork when the reorg reaches below it), then reads the events table after the position, so
 * nothing is lost or left stale, whether the stream was woken by the indexer or by polling.
 */

type Position = { blockNumber: number; logIndex: number | null; reorgId: number };

const idPattern = /^(-1|\d{1,15}):(\d{1,15}|\*)(?::(\d{1,15}))?$/;

export function formatStreamId(p: Position): string {
  return `${p.blockNumber}:${p.logIndex ?? '*'}:${p.reorgId}`;
}

const lastEventId = z
  .string()
  .regex(idPattern, 'must be the id of a message of this stream (block:logIndex:reorgId)')
  .transform((v) => {
    const [, block, log, reorg] = idPattern.exec(v)!;
    return { blockNumber: Number(block), logIndex: log === '*' ? null : Number(log), reorgId: reorg === undefined ? null : Number(reorg) };
  });

const streamRoute = createRoute({
  method: 'get',
  path: '/stream',
  summary: 'Server-Sent Events: `event`, `reorg` and `status` messages; resumes after `Last-Event-ID`',
  request: {
    headers: z.object({ 'last-event-id': lastEventId.optional().openapi({ type: 'string', description: 'resume after this message id' }) }),
    query: z.object({}).strict(),
  },
  responses: {
    200: { description: 'the event stream', content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses,
  },
});

type ReorgRow = { id: number; depth: number; ancestor_block: number; ancestor_hash: string; old_tip: number; old_hash: string; new_hash: string; orphaned_events: number; detected_at: Date | string };

const PAGE = 500;

async function lastReorgId(tx: Tx, chainId: number): Promise<number> {
  const [row] = await rows<{ id: number | null }>(tx, sql`SELECT max(id) AS id FROM reorgs WHERE chain_id = ${chainId}`);
  return Number(row?.id ?? 0);
}

/** A wake-up flag: `fire` before `wait` is not lost. */
function createWaker() {
  let pending = false;
  let resolve: (() => void) | undefined;
  return {
    fire() {
      pending = true;
      resolve?.();
    },
    wait(ms: number): Promise<void> {
      if (pending) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((r) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          resolve = undefined;
          pending = false;
          r();
        }
        resolve = done;
      });
    },
  };
}

export function registerStream(deps: ApiDeps) {
  const pollMs = deps.streamPollMs ?? 1000;
  const statusMs = deps.streamStatusMs ?? 5000;

  async function statusData(meta: Meta) {
    const headBlock = await knownHead(deps).catch(() => null);
    const live = deps.indexer?.status();
    return {
      state: live ? (live.state === 'starting' ? 'syncing' : live.state) : 'unknown',
      chainId: deps.chainId,
      indexedBlock: meta.indexedBlock,
      indexedBlockHash: meta.indexedBlockHash,
      finalizedBlock: meta.finalizedBlock,
      headBlock,
      lagBlocks: headBlock !== null && meta.indexedBlock !== null ? Math.max(0, headBlock - meta.indexedBlock) : null,
    };
  }

  return createRouter().openapi(streamRoute, async (c) => {
    const resume = c.req.valid('header')['last-event-id'];
    const { data: maxReorg, meta: first } = await inSnapshot(deps.db, deps.chainId, (tx) => lastReorgId(tx, deps.chainId));
    if (resume?.reorgId != null && resume.reorgId > maxReorg) {
      throw badRequest(`Last-Event-ID names reorg ${resume.reorgId}, but this chain has had ${maxReorg}; reconnect without it`);
    }
    const log = c.get('logger');
    let pos: Position = resume
      ? { blockNumber: resume.blockNumber, logIndex: resume.logIndex, reorgId: resume.reorgId ?? maxReorg }
      : { blockNumber: first.indexedBlock ?? -1, logIndex: null, reorgId: maxReorg };

    return streamSSE(
      c,
      async (stream: SSEStreamingApi) => {
        const waker = createWaker();
        const unsubscribe = deps.indexer?.subscribe?.(() => waker.fire());
        stream.onAbort(() => waker.fire());
        try {
          let statusDue = 0;
          await stream.write(`retry: 1000\n\n`);
          while (!stream.aborted && !stream.closed) {
            const { data, meta } = await inSnapshot(deps.db, deps.chainId, async (tx, meta) => {
              const reorgs = await rows<ReorgRow>(
                tx,
                sql`SELECT id, depth, ancestor_block, ancestor_hash, old_tip, old_hash, new_hash, orphaned_events, detected_at FROM reorgs WHERE chain_id = ${deps.chainId} AND id > ${pos.reorgId} ORDER BY id`,
              );
              let after = pos;
              for (const r of reorgs) if (after.blockNumber > Number(r.ancestor_block)) after = { ...after, blockNumber: Number(r.ancestor_block), logIndex: null };
              const events = await readEventPage(tx, deps.chainId, { toBlock: meta.indexedBlock ?? -1 }, after, PAGE);
              return { reorgs, events };
            });
            for (const r of data.reorgs) {
              const ancestor = Number(r.ancestor_block);
              pos = pos.blockNumber > ancestor ? { blockNumber: ancestor, logIndex: null, reorgId: Number(r.id) } : { ...pos, reorgId: Number(r.id) };
              const reorg = {
                depth: Number(r.depth),
                forkBlock: ancestor,
                forkHash: r.ancestor_hash,
                oldTip: Number(r.old_tip),
                oldHash: r.old_hash,
                newHash: r.new_hash,
                orphanedEvents: Number(r.orphaned_events),
                detectedAt: new Date(r.detected_at).toISOString(),
              };
              await stream.writeSSE({ event: 'reorg', id: formatStreamId(pos), data: JSON.stringify(reorg) });
            }
            for (const e of data.events) {
              pos = { blockNumber: e.blockNumber, logIndex: e.logIndex, reorgId: pos.reorgId };
              await stream.writeSSE({ event: 'event', id: formatStreamId(pos), data: JSON.stringify(presentEvent(e)) });
            }
            if (data.events.length === PAGE) continue;
            // Every event up to the snapshot's indexed block has been sent.
            if (meta.indexedBlock !== null && pos.blockNumber <= meta.indexedBlock) pos = { blockNumber: meta.indexedBlock, logIndex: null, reorgId: pos.reorgId };
            if (Date.now() >= statusDue) {
              await stream.writeSSE({ event: 'status', id: formatStreamId(pos), data: JSON.stringify(await statusData(meta)) });
              statusDue = Date.now() + statusMs;
            }
            await waker.wait(Math.max(1, Math.min(pollMs, statusDue - Date.now())));
          }
        } finally {
          unsubscribe?.();
        }
      },
      async (error) => {
        log.warn({ err: { name: error.name, message: error.message } }, 'event stream failed');
      },
    );
  });
}
