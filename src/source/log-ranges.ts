import type { Logger } from '../common/logger.ts';
import { RangeTooLargeError, type LogFilter, type PendingLogs, type Rpc, type RpcLog } from '../rpc/client.ts';

/**
 * How many blocks one eth_getLogs asks for. Halves when the node refuses a range; grows after
 * successes, towards ranges of about `targetLogs` logs, up to `maxBlocks`. State in the closure,
 * shared by every fetch of one source so what one range learned the next one uses.
 */
export type RangeSizer = { size(): number; refused(blocks: number): void; succeeded(blocks: number, logs: number): void };

/**
 * The first range is small: nothing overlaps the first batch (there is no commit yet to fetch
 * behind), and on a dense chain 2,000 blocks were 17k events, 8% of a 200k-event backfill spent
 * alone. Doubling reaches 2,000 blocks of a sparse chain in four more requests.
 *
 * About 3,000 logs a range: a node's CPU per log grows with the size of its answer, this
 * client's per request falls. Over the 1M-event bench chain, three ranges in flight (answers
 * parsed on arrival), anvil spent 3.9-4.1 µs a log at 2,000 logs against 4.6-4.9 at 5,000, and
 * this client 4.0-4.3 against 4.0-4.5; at 500 logs anvil spent 3.3-3.5 but this client 4.3-4.7.
 * With answers parsed when taken, four ranges ahead, 3,000 against 2,000 won seven interleaved
 * 1M backfills of seven (93.2-101.4k events/s against 88.8-98.3k, the indexer's CPU 6.4-7.0 µs
 * an event against 6.6-7.3); 1,000 lost three of three (83.7-89.2k against 90.9-98.4k) and
 * 4,000 was no better than 3,000 (88.4-97.4k against 89.2-94.4k, anvil 4.3-4.5 µs against 4.0-4.4).
 */
export function createRangeSizer({ maxBlocks, initialBlocks = Math.min(maxBlocks, 125), targetLogs = 3_000 }: { maxBlocks: number; initialBlocks?: number; targetLogs?: number }): RangeSizer {
  let size = initialBlocks;
  return {
    size: () => size,
    refused(blocks) {
      size = Math.max(1, Math.min(size, Math.floor(blocks / 2)));
    },
    succeeded(blocks, logs) {
      if (blocks < size) return;
      const byDensity = logs === 0 ? size * 2 : Math.floor((blocks * targetLogs) / logs);
      size = Math.max(1, Math.min(maxBlocks, size * 2, byDensity));
    },
  };
}

type RangeArgs = LogFilter & { rpc: Rpc; sizer: RangeSizer; logger: Logger };

/**
 * The answer for the first part of [from, to] the node accepts: it may refuse a range (too many
 * results, too wide, timeout), which is then halved until it is not. `to` says how far the part
 * reaches, so a backfill moves on at once; its logs are parsed when taken.
 */
export async function fetchLogRange(args: RangeArgs): Promise<{ to: number; answer: PendingLogs }> {
  const { rpc, addresses, topics, topic1, from, sizer, logger } = args;
  let end = args.to;
  for (;;) {
    try {
      const answer = await rpc.pendingLogs({ addresses, topics, ...(topic1 ? { topic1 } : {}), from, to: end });
      sizer.succeeded(end - from + 1, answer.count);
      return { to: end, answer };
    } catch (error) {
      if (!(error instanceof RangeTooLargeError) || end === from) throw error;
      sizer.refused(end - from + 1);
      logger.debug({ from_block: from, to_block: end, next_size: sizer.size() }, 'log range refused; splitting');
      end = from + Math.max(1, Math.floor((end - from + 1) / 2)) - 1;
    }
  }
}

/** Every log of [from, to], in as many parts as the node needs (the first asks for all of it). */
export async function fetchLogs(args: RangeArgs): Promise<RpcLog[]> {
  const logs: RpcLog[] = [];
  for (let start = args.from, end = args.to; start <= args.to; ) {
    const part = await fetchLogRange({ ...args, from: start, to: end });
    for (const log of await part.answer.take()) logs.push(log);
    start = part.to + 1;
    end = Math.min(args.to, start + args.sizer.size() - 1);
  }
  return logs;
}
