import { sql } from 'drizzle-orm';
import type { Hex } from 'viem';
import type { ChamaEvent } from '../decode/event.ts';
import type { BlockHeader } from '../rpc/client.ts';
import { applyEvents, refold } from '../projections/engine.ts';
import { deleteTransfersAbove } from '../projections/persist.ts';
import { deleteBlocksAbove, moveCursor, pruneBlocks, saveBlocks, type BlockRef, type Cursor } from '../store/chain-state.ts';
import { rows, type Db } from '../store/db.ts';
import { eventColumns, fromRecord, insertEvents, type EventRecord } from '../store/events.ts';

/**
 * One batch, one transaction: events, block hashes, projection changes and the cursor commit
 * together, so a crash at any instant leaves the database at the end of the previous batch.
 */
export async function commitBatch(db: Db, args: { chainId: number; events: readonly ChamaEvent[]; headers: readonly BlockHeader[]; from: Cursor | undefined; finalized: number }): Promise<Cursor> {
  const { chainId, events, headers, from, finalized } = args;
  const tip = headers[headers.length - 1]!;
  const to: Cursor = { blockNumber: tip.number, blockHash: tip.hash };
  await db.orm.transaction(async (tx) => {
    await insertEvents(tx, events);
    await saveBlocks(tx, chainId, headers);
    await applyEvents(tx, chainId, events);
    await moveCursor(tx, chainId, from, { ...to, finalizedBlock: finalized, eventsDelta: events.length });
    // The cursor's own hash stays: the next batch's first parent hash is checked against it.
    await pruneBlocks(tx, chainId, Math.min(finalized, to.blockNumber));
  });
  return to;
}

export type RewindResult = { reorgId: number; orphaned: ChamaEvent[]; cursor: Cursor };

/**
 * Rewinds to the common ancestor in one transaction: events above it move to the reorg log
 * (never vanish), append-only projections above it are deleted, the aggregates the orphaned
 * events touched are re-folded from the canonical events, and the cursor goes back.
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
    const list = sql.raw(eventColumns.map(([n]) => `"${n}"`).join(', '));
    const moved = await rows<EventRecord>(
      tx,
      sql`WITH moved AS (DELETE FROM events WHERE chain_id = ${chainId} AND block_number > ${ancestor.number} RETURNING ${list})
          INSERT INTO orphaned_events (reorg_id, ${list}) SELECT ${reorgId}, ${list} FROM moved RETURNING ${list}`,
    );
    const orphaned = moved.map(fromRecord);
    await deleteTransfersAbove(tx, chainId, ancestor.number);
    await refold(tx, chainId, orphaned);
    await deleteBlocksAbove(tx, chainId, ancestor.number);
    await tx.execute(sql`UPDATE reorgs SET orphaned_events = ${orphaned.length} WHERE id = ${reorgId}`);
    await moveCursor(tx, chainId, oldTip, { ...cursor, finalizedBlock: finalized, eventsDelta: -orphaned.length });
    return { reorgId, orphaned, cursor };
  });
}
