import type { Hex } from 'viem';
import { InconsistentChainError, ReorgTooDeepError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { BlockBeyondHeadError, type BlockHeader, type PendingLogs, type Rpc, type RpcLog } from '../rpc/client.ts';
import type { BlockRef, Cursor } from '../store/chain-state.ts';
import { fetchLogRange, fetchLogs, type RangeSizer } from './log-ranges.ts';

/** What the source hands the indexer: a discriminated union, consumed by an exhaustive switch. */
export type SourceEvent =
  | {
      kind: 'batch';
      mode: 'historical' | 'live';
      from: number;
      to: number;
      logs: RpcLog[];
      /** Headers to remember for reorg detection; always includes the header of `to`. */
      headers: BlockHeader[];
      head: number;
      finalized: number;
    }
  | { kind: 'reorg'; ancestor: BlockRef; depth: number; oldTip: Cursor; newHash: Hex; head: number; finalized: number }
  | { kind: 'idle'; reason: 'caught-up' | 'node-behind'; head: number; finalized: number };

export type BlockSource = { next(cursor: Cursor | undefined): Promise<SourceEvent> };

export type BlockSourceOptions = {
  rpc: Rpc;
  chainId: number;
  addresses: readonly Hex[];
  topics: readonly Hex[];
  startBlock: number;
  confirmations: number;
  maxReorgDepth: number;
  sizer: RangeSizer;
  /** Stored block hashes in [from, to], newest first. */
  storedBlocks(from: number, to: number): Promise<BlockRef[]>;
  logger: Logger;
  /** Blocks whose headers are fetched per live batch, at most. */
  maxLiveBlocks?: number;
  /** Historical ranges fetched ahead while the indexer writes the previous one. */
  prefetch?: number;
  /** How long a backfill goes on from the head and finality it last read. */
  tipRefreshMs?: number;
};

/**
 * The block source decides what comes after the committed cursor. Each call re-reads the head
 * and the finalized block (deep in a backfill, at most once every `tipRefreshMs`), then handles
 * exactly one of these cases:
 *
 * - node behind: the node's head is below the cursor, or it lacks the cursor's block or a block
 *   it had just reported (a lagging or load-balanced node, or a head that went back): wait, then
 *   re-read the head. Lag is never taken for a reorg.
 * - reorg: the chain's hash at the cursor differs from ours (checked on the first call, so a
 *   reorg made while we were stopped is found, and on every call above finality). Walk back over
 *   the stored hashes to the newest one the chain still has: the common ancestor.
 * - historical: the next range lies at or below finality: logs only, in adaptive ranges, with a
 *   few ranges prefetched; only the range's last header is kept.
 * - live: the next blocks are above finality: every header is fetched, each must link to its
 *   parent (the first to the cursor), every log's block hash must equal its header's, and the
 *   last header must still be there after the logs. A mismatch is a race with the node, so
 *   everything is re-read, never guessed.
 * - caught up: nothing new below `head - CONFIRMATIONS`.
 */
export function createBlockSource(options: BlockSourceOptions): BlockSource {
  const { rpc, chainId, addresses, topics, startBlock, confirmations, maxReorgDepth, sizer, logger, maxLiveBlocks = 100, prefetch = 1, tipRefreshMs = 1000 } = options;
  let tipChecked = false;
  /** The head and finality last read, and when (see `next`). */
  let lastTip: { head: number; finalized: number; at: number } | undefined;
  /** Prefetched ranges by first block, each with the last block it was asked for. */
  const ahead = new Map<number, { end: number; work: Promise<{ to: number; answer: PendingLogs; header: BlockHeader | undefined }> }>();

  /** The head and the finalized block (MAX_REORG_DEPTH behind the head where the node has no such tag), read together. */
  async function tip(): Promise<{ head: number; finalized: number }> {
    const [head, tagged] = await Promise.all([rpc.headNumber(), rpc.finalizedNumber()]);
    return { head, finalized: Math.max(0, Math.min(head, tagged ?? head - maxReorgDepth)) };
  }

  /** The last block a backfill fetches under this tip: finalized, and CONFIRMATIONS behind the head. */
  const backfillLimit = (t: { head: number; finalized: number }) => Math.min(t.finalized, t.head - confirmations);

  async function findAncestor(cursor: Cursor, newHash: Hex, head: number, finalized: number): Promise<SourceEvent> {
    const stored = await options.storedBlocks(Math.max(0, cursor.blockNumber - maxReorgDepth), cursor.blockNumber);
    for (const block of stored) {
      const onChain = await rpc.header(block.number);
      if (!onChain) return { kind: 'idle', reason: 'node-behind', head, finalized };
      if (onChain.hash === block.hash) {
        return { kind: 'reorg', ancestor: block, depth: cursor.blockNumber - block.number, oldTip: cursor, newHash, head, finalized };
      }
    }
    throw new ReorgTooDeepError(
      `reorg deeper than MAX_REORG_DEPTH=${maxReorgDepth}: none of the stored blocks ${Math.max(0, cursor.blockNumber - maxReorgDepth)}..${cursor.blockNumber} is on the chain any more. ` +
        `Nothing was written. Raise MAX_REORG_DEPTH, or run \`chama-indexer resync --from <block>\` from a block you trust.`,
      { chain_id: chainId, block_number: cursor.blockNumber, block_hash: cursor.blockHash, new_hash: newHash },
    );
  }

  function fetchHistorical(from: number, to: number) {
    const work = (async () => {
      const { to: reached, answer } = await fetchLogRange({ rpc, addresses, topics, from, to, sizer, logger });
      return { to: reached, answer, header: await rpc.header(reached) };
    })();
    work.catch(() => {}); // awaited by `next`; a failure surfaces there
    return work;
  }

  async function historical(from: number, limit: number, head: number, finalized: number): Promise<SourceEvent> {
    let pending = ahead.get(from)?.work;
    if (!pending) {
      ahead.clear();
      pending = fetchHistorical(from, Math.min(limit, from + sizer.size() - 1));
    }
    ahead.delete(from);
    const fetched = await pending
      .then(async ({ to, answer, header }) => header && { to, header, logs: await answer.take() })
      .catch((error: unknown) => {
        if (error instanceof BlockBeyondHeadError) return undefined;
        throw error;
      });
    if (!fetched) {
      ahead.clear();
      return { kind: 'idle', reason: 'node-behind', head, finalized };
    }
    const { to, logs, header } = fetched;
    // Fetch ahead, bounded: at most `prefetch` ranges beyond the one being handed out, each
    // starting where the one before it was asked to end (a range the node split short leaves a
    // gap, found when it is handed out, and the ranges after it are fetched again).
    let next = to + 1;
    for (let i = 0; i < prefetch && next <= limit; i++) {
      let range = ahead.get(next);
      if (!range) {
        const end = Math.min(limit, next + sizer.size() - 1);
        range = { end, work: fetchHistorical(next, end) };
        ahead.set(next, range);
      }
      next = range.end + 1;
    }
    return { kind: 'batch', mode: 'historical', from, to, logs, headers: [header], head, finalized };
  }

  async function live(cursor: Cursor | undefined, from: number, to: number, head: number, finalized: number): Promise<SourceEvent> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const numbers = Array.from({ length: to - from + 1 }, (_, i) => from + i);
      const fetched = await Promise.all(numbers.map((n) => rpc.header(n)));
      const missing = fetched.findIndex((h) => h === undefined);
      const headers = (missing === -1 ? fetched : fetched.slice(0, missing)) as BlockHeader[];
      if (headers.length === 0) return { kind: 'idle', reason: 'node-behind', head, finalized };
      const linked = headers.every((h, i) => (i === 0 ? !cursor || cursor.blockNumber !== from - 1 || h.parentHash === cursor.blockHash : h.parentHash === headers[i - 1]!.hash));
      if (!linked) {
        // The chain moved under us between reading the tip and the headers: re-check the tip.
        if (cursor && headers[0]!.parentHash !== cursor.blockHash) return next(cursor);
        continue;
      }
      const last = headers[headers.length - 1]!;
      let logs: RpcLog[];
      try {
        logs = await fetchLogs({ rpc, addresses, topics, from, to: last.number, sizer, logger });
      } catch (error) {
        if (!(error instanceof BlockBeyondHeadError)) throw error;
        // The head went back after the headers were read: the next call re-reads it and finds the reorg (or the lag).
        logger.debug({ chain_id: chainId, from_block: from, to_block: last.number }, 'the node lost blocks it had just reported; re-reading the head');
        return { kind: 'idle', reason: 'node-behind', head, finalized };
      }
      const byNumber = new Map(headers.map((h) => [h.number, h.hash]));
      const stray = logs.find((l) => byNumber.get(Number(l.blockNumber)) !== l.blockHash);
      if (stray) {
        logger.debug({ chain_id: chainId, block_number: Number(stray.blockNumber), block_hash: stray.blockHash, attempt }, 'logs and headers disagree; re-reading');
        continue;
      }
      // Some nodes answer a range past their head with the logs they have (none, often) instead
      // of an error: the last header must still be there after the logs were read.
      const still = await rpc.header(last.number);
      if (!still) return { kind: 'idle', reason: 'node-behind', head, finalized };
      if (still.hash !== last.hash) continue;
      return { kind: 'batch', mode: 'live', from, to: last.number, logs, headers, head, finalized };
    }
    throw new InconsistentChainError(`the RPC node kept answering logs and headers from different forks for blocks ${from}..${to}`, { chain_id: chainId, from_block: from, to_block: to });
  }

  async function next(cursor: Cursor | undefined): Promise<SourceEvent> {
    // Deep in a backfill the tip cannot change what comes next: a range at or below a finalized
    // block stays there. Reading it before every batch (two calls, answered behind the
    // prefetched ranges) was a tenth of a backfill's wall time (measured), so below the last
    // finality seen it is read again only every `tipRefreshMs`, or when the node falls behind.
    const from = cursor ? cursor.blockNumber + 1 : startBlock;
    if (lastTip && (tipChecked || !cursor) && performance.now() - lastTip.at < tipRefreshMs) {
      if (from <= backfillLimit(lastTip)) {
        const event = await historical(from, backfillLimit(lastTip), lastTip.head, lastTip.finalized);
        if (event.kind === 'idle') lastTip = undefined;
        return event;
      }
    }
    const { head, finalized } = await tip();
    lastTip = { head, finalized, at: performance.now() };
    const target = head - confirmations;
    if (cursor && head < cursor.blockNumber) return { kind: 'idle', reason: 'node-behind', head, finalized };
    if (cursor && (!tipChecked || cursor.blockNumber > finalized)) {
      const onChain = await rpc.header(cursor.blockNumber);
      if (!onChain) return { kind: 'idle', reason: 'node-behind', head, finalized };
      tipChecked = true;
      if (onChain.hash !== cursor.blockHash) {
        ahead.clear();
        return findAncestor(cursor, onChain.hash, head, finalized);
      }
    }
    if (from > target) return { kind: 'idle', reason: 'caught-up', head, finalized };
    if (from <= finalized) return historical(from, backfillLimit(lastTip), head, finalized);
    ahead.clear();
    return live(cursor, from, Math.min(target, from + maxLiveBlocks - 1), head, finalized);
  }

  return { next };
}
