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
import { eventWrite } from '../store/events.ts';
import { beginBatch, commitBatch, prepareBatch, rewind, type BatchTransaction, type CommitTimings } from './commit.ts';

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
  /** A historical batch commits once it holds this many events (`BATCH_EVENTS` when unset). */
  maxBatchEvents?: number;
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
 * Rows of historical ranges sent and not yet written by the server: each holds its rows in
 * memory until then. With dense ranges (27k events in 2,000 blocks of the bench chain), two
 * such batches in flight took the peak RSS of a 1M backfill from 272 to 314 MB. With the young
 * generation capped at 8 MB a semi-space, 16,000 (from 8,000) waited less on the server:
 * three interleaved 1M pairs ran 0.5-4.4% faster, peak RSS 224-235 MB against 235-247.
 */
const INFLIGHT_EVENTS = 16_000;
/**
 * Historical ranges fetched ahead of the one being decoded. With batches that span ranges the
 * writer waited on anvil's answers more than on the server; a second range ahead took a 1M
 * backfill from 27,000-29,200 to 30,000-32,400 events/s, and with `INFLIGHT_EVENTS` down from
 * 12,000 its peak RSS stayed where one range ahead had it (270-281 MB against 240-284). Four
 * since ranges aim at fewer logs (`createRangeSizer`, now 3,000): about as many logs ahead as
 * before, in more requests at once. Each waits as its answer's text until it is taken
 * (rpc/client.ts, `PendingLogs`): four of 3,000 logs are about 9 MB.
 */
const PREFETCH_RANGES = 4;
/**
 * A historical batch, one transaction, goes on over log ranges until it holds this many events
 * or has been open this long. Its ranges' rows go to the server as they are decoded; what grows
 * with it is the set of projection rows it changed, each written once when it commits. Over the
 * bench's 1M-event chain, ranges of about 5,000 events committed one by one wrote 327,675 member
 * rows, 23 µs of the server's time each: as much as all the events. Each batch writes each member
 * row it touched once: 100,000 events (11 batches) against 50,000 (21) ran three interleaved 1M
 * pairs at 98.3/100.7/95.3k against 93.2/96.7/97.9k events/s, the server's CPU 6.3-7.0 µs an
 * event against 6.8-7.6, the peak RSS the same (229-237 MB); 200,000 were no faster (the 2 s
 * bound ended them at about 170,000).
 */
const BATCH_EVENTS = 100_000;
const BATCH_MS = 2_000;

type SourceBatch = Extract<SourceEvent, { kind: 'batch' }>;
/**
 * Where a batch's time went before its commit, for its log line, summed over its ranges: reading
 * them from the source (a prefetched range is often there already), decoding and folding them,
 * and waiting for the server to take the rows of earlier ranges (historical batches).
 */
type BatchTimings = { source_ms: number; prepare_ms: number; room_wait_ms: number };
const ms = (t: number) => Math.round(t);
/** A batch as its log line and listeners see it: its blocks and events (not kept). */
type BatchSummary = Omit<SourceBatch, 'logs' | 'headers'> & { ranges: number; events: number; eventTypes: Map<ChamaEvent['event'], number>; started: number; timings: BatchTimings };
/** A historical batch while its transaction is open. */
type OpenBatch = BatchSummary & { tx: BatchTransaction };

function countTypes(events: readonly ChamaEvent[], into: Map<ChamaEvent['event'], number>) {
  for (const e of events) into.set(e.event, (into.get(e.event) ?? 0) + 1);
}

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
    prefetch: PREFETCH_RANGES,
    storedBlocks: (from, to) => storedBlocks(db.orm, chainId, from, to),
    logger: log,
  });
  const listeners = new Set<(notice: IndexerNotice) => void>();
  const writer = options.writer ?? createMutex();
  const live = createLiveProjections();
  const statistics = createStatistics(db, log, { firstAfter: options.analyzeAfterEvents ?? 50_000 });
  const deferIndexesFromBlocks = options.deferIndexesFromBlocks ?? 10_000;
  // PGlite runs a transaction's statements at its commit (`Db.begin`), so the rows of a batch's
  // ranges would stay in memory until then, and waiting for room would wait on the batch's own
  // commit: there a batch is one range.
  const batchEvents = db.kind === 'postgres' ? (options.maxBatchEvents ?? BATCH_EVENTS) : 0;
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
   * cursor is read again). Historical ranges are pipelined: each range's rows go to the server
   * as soon as it is decoded, into the open batch's transaction, while the next range is fetched
   * and decoded; a batch commits after many ranges (`BATCH_EVENTS`), and the next one goes out
   * right behind its COMMIT. A backfill goes on in one step until something else wants the
   * writer (a job waiting for the lock, a pause, a stop); the step then commits the batch in
   * hand and ends with nothing in flight.
   */
  const step = (stop?: AbortSignal) =>
    writer.run(async () => {
      if (writer.turns !== lastTurn + 1) live.forget();
      lastTurn = writer.turns;
      live.trim();
      cursor = committed = await readCursor(db.orm, chainId);
      /** Range writes and commits the server has not finished, oldest first, with the events each holds. */
      const inflight: { done: Promise<void>; events: number; commit?: true }[] = [];
      /** Waits for the oldest of them until `enough` holds, or for all of them. */
      const settle = async (enough: () => boolean = () => false) => {
        while (inflight.length > 0 && !enough()) await inflight.shift()!.done;
      };
      const room = (events: number) => inflight.reduce((sum, c) => sum + c.events, events) <= INFLIGHT_EVENTS;
      const track = (done: Promise<void>, events: number, commit?: true) => {
        // Awaited later (a failure is thrown there); until then it must not count as unhandled,
        // which would end the process instead of failing the step.
        done.catch(() => {});
        inflight.push({ done, events, ...(commit && { commit }) });
      };
      let batch: OpenBatch | undefined;
      /**
       * Commits the open batch: its changed projection rows, each once, then the cursor. One
       * commit in flight at a time: the next batch fills while this one commits, but no further
       * (a stop or a job then waits for one batch, not for every one the ranges ran ahead to).
       */
      const close = async () => {
        const { tx, ...summary } = batch!;
        batch = undefined;
        const writes = await live.flush();
        track(
          tx.commit(writes, summary.finalized).then(({ cursor: done, timings }) => committedBatch(summary, done, timings)),
          0,
          true,
        );
        await settle(() => inflight.filter((c) => c.commit).length <= 1);
      };
      try {
        for (;;) {
          const started = performance.now();
          const next: SourceEvent = await source.next(cursor);
          const fetched = performance.now();
          status.headBlock = next.head;
          status.finalizedBlock = next.finalized;
          if (next.kind !== 'batch' || next.mode !== 'historical') {
            if (batch) await close();
            await settle();
            // Past the backfill: caught up, the first live batch, or a reorg at the head (a node
            // behind our cursor says nothing about where the backfill stands).
            let building = 0;
            if (eventIndexes !== 'built' && !(next.kind === 'idle' && next.reason === 'node-behind')) {
              building = performance.now();
              await buildDeferredIndexes(db, log);
              eventIndexes = 'built';
              building = performance.now() - building;
            }
            // The index build has its own log line: the batch's timings leave it out.
            return await handle(next, started + building, fetched + building);
          }
          if (eventIndexes === 'unknown' && !batch && inflight.length === 0 && next.finalized - next.from >= deferIndexesFromBlocks) {
            eventIndexes = (await deferEventIndexes(db, log)) ? 'deferred' : 'built';
          }
          const { logs, headers, ...range } = next;
          const events = decoder.decode(logs);
          // The logs do not outlive this point (this frame would hold them through the fold and
          // the wait for room): with ranges of about 10,000 logs, a 1M backfill peaked at 333-341
          // MB of RSS with them, 281-286 without.
          logs.length = 0;
          if (!batch) {
            if (live.oversized()) {
              await settle();
              live.forget();
            }
            batch = { ...range, ranges: 0, events: 0, eventTypes: new Map(), started, timings: { source_ms: 0, prepare_ms: 0, room_wait_ms: 0 }, tx: beginBatch(db, { chainId, from: cursor, relaxed: true }) };
          }
          const count = events.length;
          countTypes(events, batch.eventTypes);
          const rows = eventWrite(db.kind, events);
          // Nor do the events outlive the fold (the rows hold what the server needs).
          await live.fold(db.orm, chainId, events);
          const preparedAt = performance.now();
          await settle(() => room(count));
          const tip = headers[headers.length - 1]!;
          cursor = { blockNumber: tip.number, blockHash: tip.hash };
          track(batch.tx.add(rows ? [rows] : [], headers, count), count);
          Object.assign(batch, { to: range.to, head: range.head, finalized: range.finalized, ranges: batch.ranges + 1, events: batch.events + count });
          batch.timings.source_ms += fetched - started;
          batch.timings.prepare_ms += preparedAt - fetched;
          batch.timings.room_wait_ms += performance.now() - preparedAt;
          const yielding = writer.waiting > 0 || paused || stop?.aborted;
          if (yielding || batch.events >= batchEvents || performance.now() - batch.started >= BATCH_MS) await close();
          if (yielding) break;
        }
        await settle();
        return false;
      } catch (error) {
        // The live copy may hold batches that never committed.
        live.forget();
        await batch?.tx.rollback();
        batch = undefined;
        await Promise.allSettled(inflight.splice(0).map((c) => c.done));
        throw error;
      }
    });

  /** After a batch's commit: the writer's state, its log line, its notice. */
  function committedBatch(batch: BatchSummary, done: Cursor, timings: CommitTimings) {
    committed = done;
    statistics.committed(batch.events);
    const durationMs = Math.round(performance.now() - batch.started);
    status.state = batch.head - done.blockNumber <= options.confirmations ? 'live' : 'syncing';
    const ahead = Object.fromEntries(Object.entries(batch.timings).map(([k, v]) => [k, ms(v)]));
    log.info(
      { mode: batch.mode, from_block: batch.from, to_block: batch.to, blocks: batch.to - batch.from + 1, ranges: batch.ranges, events: batch.events, skipped_logs: decoder.skipped, lag_blocks: batch.head - done.blockNumber, duration_ms: durationMs, ...ahead, ...timings },
      'batch committed',
    );
    notify({ kind: 'batch', from: batch.from, to: batch.to, events: batch.events, eventTypes: batch.eventTypes, cursor: done, durationMs, mode: batch.mode });
  }

  /** Handles one step of the source; true when caught up (nothing more to do now). */
  async function handle(next: SourceEvent, started: number, fetched: number): Promise<boolean> {
    switch (next.kind) {
      case 'idle':
        status.state = next.reason === 'caught-up' ? 'live' : status.state;
        if (next.reason === 'node-behind') log.debug({ head: next.head, indexed_block: cursor?.blockNumber }, 'the RPC node is behind our cursor; waiting');
        return true;
      case 'batch': {
        const { logs, headers, ...range } = next;
        const events = decoder.decode(logs);
        const writes = await prepareBatch(db, live, chainId, events);
        const eventTypes = new Map<ChamaEvent['event'], number>();
        countTypes(events, eventTypes);
        const summary: BatchSummary = { ...range, ranges: 1, events: events.length, eventTypes, started, timings: { source_ms: fetched - started, prepare_ms: performance.now() - fetched, room_wait_ms: 0 } };
        // Historical batches never come here: a live batch commits with the WAL flushed.
        const { cursor: done, timings } = await commitBatch(db, { chainId, eventCount: events.length, writes, headers, from: cursor, finalized: next.finalized });
        cursor = done;
        committedBatch(summary, done, timings);
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
