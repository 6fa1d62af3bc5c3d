import type { Hex } from 'viem';
import { ChainIdMismatchError, FatalError, errorFields } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { sleep } from '../common/retry.ts';
import { createMutex, type Mutex } from '../common/mutex.ts';
import { chamaTopics } from '../decode/abi.ts';
import { createDecoder } from '../decode/decoder.ts';
import { never, type ChamaEvent } from '../decode/event.ts';
import type { Rpc } from '../rpc/client.ts';
import { createBlockSource, type SourceEvent } from '../source/block-source.ts';
import { createRangeSizer } from '../source/log-ranges.ts';
import { readCursor, storedBlocks, type Cursor } from '../store/chain-state.ts';
import type { Db } from '../store/db.ts';
import { createLiveProjections } from '../projections/live.ts';
import { createStatistics } from '../store/statistics.ts';
import { buildDeferredIndexes, deferEventIndexes } from '../store/event-indexes.ts';
import type { BulkWrite } from '../store/bulk.ts';
import { commitBatch, prepareBatch, rewind } from './commit.ts';

export type IndexerState = 'starting' | 'syncing' | 'live' | 'paused' | 'error';

/** What listeners (the SSE stream, metrics) hear after each commit. */
export type IndexerNotice =
  | { kind: 'batch'; from: number; to: number; events: number; eventTypes: ReadonlyMap<ChamaEvent['event'], number>; cursor: Cursor; durationMs: number; mode: 'historical' | 'live' }
  | { kind: 'reorg'; depth: number; ancestor: number; oldTip: Cursor; newHash: Hex; orphaned: number; durationMs: number };

export type IndexerStatus = {
  state: IndexerState;
  chainId: number;
  headBlock: number | null;
  finalizedBlock: number | null;
  cursor: Cursor | undefined;
  lastError: string | null;
};

export type Indexer = {
  /** Index until the signal aborts; rejects on a fatal error. */
  run(signal: AbortSignal): Promise<void>;
  /** Stop indexing after the current step (state `paused`) until `resume`. */
  pause(): void;
  resume(): void;
  /** Poll now instead of at the end of the interval. */
  poke(): void;
  /** Index until caught up with the head, then return (tests, one-shot jobs). */
  syncToHead(): Promise<Cursor | undefined>;
  status(): IndexerStatus;
  subscribe(listener: (notice: IndexerNotice) => void): () => void;
};

export type IndexerOptions = {
  db: Db;
  rpc: Rpc;
  chainId: number;
  addresses: readonly Hex[];
  startBlock: number;
  confirmations: number;
  maxReorgDepth: number;
  maxBlockRange: number;
  pollIntervalMs: number;
  logger: Logger;
  /** Shared with operator jobs in the same process, so their writes never interleave. */
  writer?: Mutex;
  /** Committed events before the first ANALYZE of the tables (then at each doubling). */
  analyzeAfterEvents?: number;
  /**
   * A backfill into an empty `events` table at least this many blocks below finality builds the
   * table's secondary indexes at its end instead of as it goes (store/event-indexes.ts).
   */
  deferIndexesFromBlocks?: number;
};

/**
 * Historical commits in flight at once. A batch's transaction is queued in the database behind
 * the previous one's COMMIT, so the server goes on to it without waiting for this process. A
 * second one only while the two hold few events: each holds its rows in memory until it
 * commits, and with dense batches (27k events in 2,000 blocks of the bench chain) two of them
 * took the peak RSS of a 1M backfill from 272 to 314 MB.
 */
const COMMIT_DEPTH = 2;
const INFLIGHT_EVENTS = 12_000;

type SourceBatch = Extract<SourceEvent, { kind: 'batch' }>;
/**
 * Where a batch's time went before its transaction, for its log line: reading it from the source
 * (a prefetched range is often there already), rendering its rows, and waiting for room among
 * the commits in flight (historical batches).
 */
type BatchTimings = { source_ms: number; prepare_ms: number; room_wait_ms?: number };
const ms = (t: number) => Math.round(t);
/** A batch ready to commit: its rows rendered, its events counted (and not kept). */
type Prepared = { writes: BulkWrite[]; events: number; eventTypes: ReadonlyMap<ChamaEvent['event'], number> };

/** Checks the node serves the chain we were told to index; returns its chain id. */
export async function resolveChainId(rpc: Rpc, expected: number | undefined): Promise<number> {
  const actual = await rpc.chainId();
  if (expected !== undefined && actual !== expected) {
    throw new ChainIdMismatchError(`the RPC node serves chain ${actual}, but CHAIN_ID is ${expected}; refusing to index`, { chain_id: expected, node_chain_id: actual });
  }
  return actual;
}

/**
 * The loop: source -> decode -> fold -> write, one transaction per batch; rewinds on reorgs.
 * The cursor in the database is the truth; the copy here is what this writer last committed.
 */
export function createIndexer(options: IndexerOptions): Indexer {
  const { db, rpc, chainId, addresses, logger, pollIntervalMs } = options;
  const log = logger.child({ module: 'indexer', chain_id: chainId });
  const decoder = createDecoder(chainId);
  const source = createBlockSource({
    rpc,
    chainId,
    addresses,
    topics: chamaTopics,
    startBlock: options.startBlock,
    confirmations: options.confirmations,
    maxReorgDepth: options.maxReorgDepth,
    sizer: createRangeSizer({ maxBlocks: options.maxBlockRange }),
    storedBlocks: (from, to) => storedBlocks(db.orm, chainId, from, to),
    logger: log,
  });
  const listeners = new Set<(notice: IndexerNotice) => void>();
  const writer = options.writer ?? createMutex();
  const live = createLiveProjections();
  const statistics = createStatistics(db, log, { firstAfter: options.analyzeAfterEvents ?? 50_000 });
  const deferIndexesFromBlocks = options.deferIndexesFromBlocks ?? 10_000;
  /**
   * `events`' secondary indexes as this writer knows them: 'deferred' once it has deferred them
   * (or found them deferred), 'built' once it found it may not (events are stored) or a step
   * past the backfill has built any that were deferred.
   */
  let eventIndexes: 'unknown' | 'deferred' | 'built' = 'unknown';
  /** The writer lock's turn of this indexer's last step: any other turn since may have written. */
  let lastTurn = -1;
  let paused = false;
  let wake = new AbortController();
  /** Where the next fetch starts: may run one batch ahead of `committed` while it commits. */
  let cursor: Cursor | undefined;
  /** The last cursor known to be in the database. */
  let committed: Cursor | undefined;
  const status: IndexerStatus = { state: 'starting', chainId, headBlock: null, finalizedBlock: null, cursor: undefined, lastError: null };

  const notify = (notice: IndexerNotice) => {
    for (const listener of listeners) {
      try {
        listener(notice);
      } catch (error) {
        log.warn(errorFields(error), 'an indexer listener failed');
      }
    }
  };

  /**
   * One step under the writer lock (operator jobs may have moved things in between, so the
   * cursor is read again). Historical batches are pipelined: while batch N commits, batch N+1
   * is fetched and decoded; commits stay strictly in order. A backfill goes on in one step until
   * something else wants the writer (a job waiting for the lock, a pause, a stop); the step then
   * ends after the batch in hand, with nothing in flight. Ending every second instead emptied
   * the pipeline every two or three batches, each time leaving a commit with nothing beside it.
   */
  const step = (stop?: AbortSignal) =>
    writer.run(async () => {
      if (writer.turns !== lastTurn + 1) live.forget();
      lastTurn = writer.turns;
      live.trim();
      cursor = committed = await readCursor(db.orm, chainId);
      /** Commits in flight, oldest first; each waits in the database behind the one before. */
      const inflight: { committed: Promise<void>; events: number }[] = [];
      /** Waits for the oldest commits until `enough` holds, or for all of them. */
      const settle = async (enough: () => boolean = () => false) => {
        while (inflight.length > 0 && !enough()) await inflight.shift()!.committed;
      };
      const room = (events: number) => inflight.length < COMMIT_DEPTH && inflight.reduce((sum, c) => sum + c.events, events) <= INFLIGHT_EVENTS;
      try {
        for (;;) {
          const started = performance.now();
          const next: SourceEvent = await source.next(cursor);
          const fetched = performance.now();
          status.headBlock = next.head;
          status.finalizedBlock = next.finalized;
          if (next.kind !== 'batch' || next.mode !== 'historical') {
            await settle();
            // Past the backfill: caught up, the first live batch, or a reorg at the head (a node
            // behind our cursor says nothing about where the backfill stands).
            if (eventIndexes !== 'built' && !(next.kind === 'idle' && next.reason === 'node-behind')) {
              await buildDeferredIndexes(db, log);
              eventIndexes = 'built';
            }
            return await handle(next, started, fetched);
          }
          if (eventIndexes === 'unknown' && inflight.length === 0 && next.finalized - next.from >= deferIndexesFromBlocks) {
            eventIndexes = (await deferEventIndexes(db, log)) ? 'deferred' : 'built';
          }
          const { logs, ...batch } = next;
          const prepared = await prepare(logs);
          // Neither the logs nor the decoded events outlive this point (this frame would hold the
          // logs through the wait for room, the commit the events until it ends): with ranges of
          // about 10,000 logs, a 1M backfill peaked at 333-341 MB of RSS with them, 281-286 without.
          logs.length = 0;
          const preparedAt = performance.now();
          await settle(() => room(prepared.events));
          const committing = commit(batch, prepared, started, { source_ms: ms(fetched - started), prepare_ms: ms(preparedAt - fetched), room_wait_ms: ms(performance.now() - preparedAt) });
          // Awaited later (a failure is thrown there); until then it must not count as unhandled,
          // which would end the process instead of failing the step.
          committing.catch(() => {});
          inflight.push({ committed: committing, events: prepared.events });
          if (writer.waiting > 0 || paused || stop?.aborted) break;
        }
        await settle();
        return false;
      } catch (error) {
        // The live copy may hold batches that never committed.
        live.forget();
        await Promise.allSettled(inflight.splice(0).map((c) => c.committed));
        throw error;
      }
    });

  /** A batch's rows, rendered; of its events only what listeners hear is kept. */
  async function prepare(logs: SourceBatch['logs']): Promise<Prepared> {
    const events = decoder.decode(logs);
    const eventTypes = new Map<ChamaEvent['event'], number>();
    for (const e of events) eventTypes.set(e.event, (eventTypes.get(e.event) ?? 0) + 1);
    return { writes: await prepareBatch(db, live, chainId, events), events: events.length, eventTypes };
  }

  /** Starts committing a batch; `cursor` moves at once so the next fetch can start from it. */
  function commit(next: Omit<SourceBatch, 'logs'>, { writes, events, eventTypes }: Prepared, started: number, ahead: BatchTimings): Promise<void> {
    const before = cursor;
    const tip = next.headers[next.headers.length - 1]!;
    cursor = { blockNumber: tip.number, blockHash: tip.hash };
    return commitBatch(db, { chainId, eventCount: events, writes, headers: next.headers, from: before, finalized: next.finalized, relaxed: next.mode === 'historical' }).then(({ cursor: done, timings }) => {
      committed = done;
      statistics.committed(events);
      const durationMs = Math.round(performance.now() - started);
      status.state = next.head - done.blockNumber <= options.confirmations ? 'live' : 'syncing';
      log.info(
        { mode: next.mode, from_block: next.from, to_block: next.to, blocks: next.to - next.from + 1, events, skipped_logs: decoder.skipped, lag_blocks: next.head - done.blockNumber, duration_ms: durationMs, ...ahead, ...timings },
        'batch committed',
      );
      notify({ kind: 'batch', from: next.from, to: next.to, events, eventTypes, cursor: done, durationMs, mode: next.mode });
    });
  }

  /** Handles one step of the source; true when caught up (nothing more to do now). */
  async function handle(next: SourceEvent, started: number, fetched: number): Promise<boolean> {
    switch (next.kind) {
      case 'idle':
        status.state = next.reason === 'caught-up' ? 'live' : status.state;
        if (next.reason === 'node-behind') log.debug({ head: next.head, indexed_block: cursor?.blockNumber }, 'the RPC node is behind our cursor; waiting');
        return true;
      case 'batch': {
        const prepared = await prepare(next.logs);
        await commit(next, prepared, started, { source_ms: ms(fetched - started), prepare_ms: ms(performance.now() - fetched) });
        return false;
      }
      case 'reorg': {
        live.forget();
        const result = await rewind(db, { chainId, ancestor: next.ancestor, oldTip: next.oldTip, newHash: next.newHash, finalized: next.finalized });
        cursor = committed = result.cursor;
        const durationMs = Math.round(performance.now() - started);
        log.warn(
          { depth: next.depth, fork_block: next.ancestor.number, ancestor_hash: next.ancestor.hash, old_tip: next.oldTip.blockNumber, old_hash: next.oldTip.blockHash, new_hash: next.newHash, orphaned_events: result.orphaned.length, reorg_id: result.reorgId, duration_ms: durationMs },
          'reorg: rewound to the common ancestor',
        );
        notify({ kind: 'reorg', depth: next.depth, ancestor: next.ancestor.number, oldTip: next.oldTip, newHash: next.newHash, orphaned: result.orphaned.length, durationMs });
        return false;
      }
      default:
        return never(next);
    }
  }

  return {
    async run(signal) {
      let failures = 0;
      const pauseOrWait = async (ms: number) => {
        const both = AbortSignal.any([signal, wake.signal]);
        await sleep(ms, both);
        if (wake.signal.aborted) wake = new AbortController();
      };
      while (!signal.aborted) {
        if (paused) {
          status.state = 'paused';
          await pauseOrWait(3_600_000);
          continue;
        }
        try {
          const caughtUp = await step(signal);
          failures = 0;
          status.lastError = null;
          if (caughtUp) await pauseOrWait(pollIntervalMs);
        } catch (error) {
          // The next step reads the cursor again: a failed transaction committed nothing.
          status.lastError = (error as Error).message;
          if (error instanceof FatalError) {
            status.state = 'error';
            log.error(errorFields(error), 'indexing stopped: this needs a human');
            throw error;
          }
          failures++;
          status.state = 'error';
          const delay = Math.min(30_000, pollIntervalMs * 2 ** Math.min(failures, 5));
          log.error({ ...errorFields(error), failures, retry_in_ms: delay }, 'indexing step failed; retrying');
          await pauseOrWait(delay);
        }
      }
    },
    async syncToHead() {
      while (!(await step()));
      return committed;
    },
    pause() {
      if (paused) return;
      paused = true;
      log.info('indexing paused');
      wake.abort();
    },
    resume() {
      if (!paused) return;
      paused = false;
      status.state = 'syncing';
      log.info('indexing resumed');
      wake.abort();
    },
    poke: () => wake.abort(),
    status: () => ({ ...status, cursor: committed }),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}
