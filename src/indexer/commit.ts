import { sql } from 'drizzle-orm';
import type { Hex } from 'viem';
import type { ChamaEvent } from '../decode/event.ts';
import type { BlockHeader } from '../rpc/client.ts';
import { refold } from '../projections/engine.ts';
import type { LiveProjections } from '../projections/live.ts';
import type { BulkWrite, CopyWrite } from '../store/bulk.ts';
import { blocksInsert, blocksPrune, cursorMove, deleteBlocksAbove, moveCursor, type BlockRef, type Cursor } from '../store/chain-state.ts';
import { rows, type Db } from '../store/db.ts';
import type { CopySink } from '../store/pipeline.ts';
import { eventColumnList, eventReadList, eventRows, fromRecord, type EventRecord } from '../store/events.ts';

/**
 * A live batch's rows, rendered ahead of its transaction: the events, and the projection changes
 * folded onto the writer's live copy of the aggregates. The events go by INSERT, not COPY: a
 * COPY's end is a small write of its own, which the connection's socket holds back until the
 * server acknowledges the data before it (Nagle's algorithm against a delayed ACK); live
 * latency went from p50 107 / p99 222 ms to 205 / 301 ms with it (bench, poll 200 ms).
 */
export async function prepareBatch(db: Db, live: LiveProjections, chainId: number, events: readonly ChamaEvent[]): Promise<BulkWrite[]> {
  const rows = eventRows(events);
  return [...(rows ? [rows] : []), ...(await live.prepare(db.orm, chainId, events))];
}

/**
 * One batch, one transaction: events, block hashes, projection changes and the cursor commit
 * together, so a crash at any instant leaves the database at the end of the previous batch.
 */
export async function commitBatch(db: Db, args: { chainId: number; eventCount: number; writes: readonly BatchWrite[]; headers: readonly BlockHeader[]; from: Cursor | undefined; finalized: number; relaxed?: boolean }): Promise<{ cursor: Cursor; timings: CommitTimings }> {
  const batch = beginBatch(db, args);
  // A failure here is the commit's too, and thrown there.
  batch.add(args.writes, args.headers, args.eventCount).catch(() => {});
  return batch.commit([], args.finalized);
}

/**
 * A batch's transaction, open while it is written: a backfill batch spans several log ranges,
 * each sent as soon as it is decoded (`add`), and its projection rows go last, each changed row
 * once (`commit`). The rows of a range are not kept once the server has them, so a batch can
 * hold many ranges in the memory of a few; and a member row that changes in every range of a
 * batch is written once, not once a range (the members upsert was as much of PostgreSQL's time
 * as the events, measured).
 *
 * `relaxed` batches (historical ones, below finality) commit without waiting for the WAL flush:
 * a database server crash may then lose the last few commits, but only whole ones, cursor
 * included, so the indexer fetches those finalized blocks again. Nothing is duplicated, nothing
 * the chain can still change is at stake, and each commit saves a disk flush.
 */
export type BatchWrite = BulkWrite | CopyWrite;
export type BatchTransaction = {
  /**
   * Sends a range's rows and block headers now; settles when the server has written them, or
   * (COPY rows) when they are on their way to it. Statements given while a COPY is open wait for
   * `commit`.
   */
  add(writes: readonly BatchWrite[], headers: readonly BlockHeader[], events: number): Promise<void>;
  /** Sends the last writes, moves the cursor from `from` to the last header added, and commits; rejects (and commits nothing) if any statement of the batch failed. */
  commit(writes: readonly BulkWrite[], finalized: number): Promise<{ cursor: Cursor; timings: CommitTimings }>;
  rollback(): Promise<void>;
};

export function beginBatch(db: Db, args: { chainId: number; from: Cursor | undefined; relaxed?: boolean }): BatchTransaction {
  const { chainId, from } = args;
  const tx = db.begin();
  // Generic plans: a custom plan folds each bound array (megabytes of a batch) into a constant
  // and copies it through the planner, a tenth of the database's CPU (measured); the plan of a
  // bulk insert is the same whatever the arrays hold.
  const relaxed = args.relaxed && db.kind === 'postgres';
  void tx.send([sql`SELECT set_config('plan_cache_mode', 'force_generic_plan', true)${relaxed ? sql`, set_config('synchronous_commit', 'off', true)` : sql``}`]);
  let events = 0;
  let tip: BlockHeader | undefined;
  /** The batch's COPY (one table's), open from its first COPY rows to its commit; the block headers given meanwhile. */
  let copy: { statement: string; sink: CopySink } | undefined;
  const headersAfterCopy: BlockHeader[] = [];
  const deferred: BulkWrite[] = [];
  return {
    async add(writes, headers, count) {
      events += count;
      tip = headers[headers.length - 1] ?? tip;
      const copied = writes.filter((w): w is CopyWrite => 'copy' in w);
      const statements = writes.filter((w): w is BulkWrite => 'sql' in w);
      const data: Buffer[] = [];
      for (const w of copied) {
        if (!copy) {
          copy = { statement: w.copy, sink: tx.copy(w.copy) };
          data.push(w.start);
        }
        if (w.copy !== copy.statement) throw new Error('one COPY per batch: rows of another table cannot be copied in');
        data.push(w.data);
      }
      if (copy) {
        headersAfterCopy.push(...headers);
        deferred.push(...statements);
        const { sink } = copy;
        await Promise.all(data.map((bytes) => sink.write(bytes)));
        return;
      }
      await tx.send([...statements.map((w) => w.sql), blocksInsert(chainId, headers)].filter((s) => s !== undefined));
    },
    async commit(writes, finalized) {
      if (!tip) {
        await tx.rollback();
        throw new Error('a batch without a block header has no cursor to move to');
      }
      const to: Cursor = { blockNumber: tip.number, blockHash: tip.hash };
      // The cursor's compare-and-set is checked before COMMIT: if another writer moved it,
      // nothing of the batch commits. The cursor's own hash stays: the next batch's first parent
      // hash is checked against it.
      const cursor = cursorMove(chainId, from, { ...to, finalizedBlock: finalized, eventsDelta: events });
      // Ending the COPY is not waited for here: what follows goes out once it has ended.
      if (copy) void copy.sink.end().catch(() => {});
      const statements = [
        ...deferred.map((w) => w.sql),
        blocksInsert(chainId, headersAfterCopy),
        ...writes.map((w) => w.sql),
        cursor.statement,
        blocksPrune(chainId, Math.min(finalized, to.blockNumber)),
      ].filter((s) => s !== undefined);
      const started = performance.now();
      let written = started;
      await tx.commit(statements, (results) => {
        written = performance.now();
        cursor.check(results[statements.indexOf(cursor.statement)]!);
      });
      return { cursor: to, timings: { write_ms: Math.round(written - started), commit_ms: Math.round(performance.now() - written) } };
    },
    rollback: () => tx.rollback(),
  };
}

/**
 * Where a batch's transaction spent its time: `write_ms` until every statement's result was in
 * (including any wait behind the transaction before it, which may still be running), then
 * `commit_ms` for the check and COMMIT.
 */
export type CommitTimings = { write_ms: number; commit_ms: number };

export type RewindResult = { reorgId: number; orphaned: ChamaEvent[]; cursor: Cursor };

/**
 * Rewinds to the common ancestor in one transaction: events above it move to the reorg log
 * (never vanish), the aggregates the orphaned events touched are re-folded from the canonical events, and the cursor goes back.
 */
export async function rewind(db: Db, args: { chainId: number; ancestor: BlockRef; oldTip: Cursor; newHash: Hex; finalized: number }): Promise<RewindResult> {
  const { chainId, ancestor, oldTip, newHash, finalized } = args;
  const depth = oldTip.blockNumber - ancestor.number;
  const cursor: Cursor = { blockNumber: ancestor.number, blockHash: ancestor.hash };
  return db.orm.transaction(async (tx) => {
    const [reorg] = await rows<{ id: number }>(
      tx,
      sql`INSERT INTO reorgs (chain_id, ancestor_block, ancestor_hash, depth, old_hash, new_hash, old_tip, orphaned_events)
          VALUES (${chainId}, ${ancestor.number}, ${ancestor.hash}, ${depth}, ${oldTip.blockHash}, ${newHash}, ${oldTip.blockNumber}, 0) RETURNING id`,
    );
    const reorgId = Number(reorg!.id);
    const list = eventColumnList();
    const moved = await rows<EventRecord>(
      tx,
      sql`WITH moved AS (DELETE FROM events WHERE chain_id = ${chainId} AND block_number > ${ancestor.number} RETURNING ${list})
          INSERT INTO orphaned_events (reorg_id, ${list}) SELECT ${reorgId}, ${list} FROM moved RETURNING ${eventReadList()}`,
    );
    const orphaned = moved.map(fromRecord);
    await refold(tx, chainId, orphaned);
    await deleteBlocksAbove(tx, chainId, ancestor.number);
    await tx.execute(sql`UPDATE reorgs SET orphaned_events = ${orphaned.length} WHERE id = ${reorgId}`);
    await moveCursor(tx, chainId, oldTip, { ...cursor, finalizedBlock: finalized, eventsDelta: -orphaned.length });
    return { reorgId, orphaned, cursor };
  });
}
