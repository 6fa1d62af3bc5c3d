import { sql, type SQL } from 'drizzle-orm';
import type { Hex } from 'viem';
import { FatalError } from '../common/errors.ts';
import { insertMany } from './bulk.ts';
import { rows, type Db, type Executor } from './db.ts';

/** The last block whose events are committed, with its hash. */
export type Cursor = { blockNumber: number; blockHash: Hex };
export type BlockRef = { number: number; hash: Hex; parentHash: Hex };

export async function readCursor(ex: Executor, chainId: number): Promise<Cursor | undefined> {
  const [row] = await rows<{ block_number: number; block_hash: Hex }>(ex, sql`SELECT block_number, block_hash FROM cursor WHERE chain_id = ${chainId}`);
  return row && { blockNumber: Number(row.block_number), blockHash: row.block_hash };
}

/**
 * Moves the cursor, but only from where this writer last saw it (compare-and-set). If another
 * process moved it, this batch must not commit: two writers would duplicate or lose events.
 */
export async function moveCursor(ex: Executor, chainId: number, from: Cursor | undefined, to: CursorMove): Promise<void> {
  const move = cursorMove(chainId, from, to);
  move.check(await rows(ex, move.statement));
}

type CursorMove = Cursor & { finalizedBlock: number; eventsDelta: number };

/** The compare-and-set as a statement, and the check of its result that must pass before COMMIT. */
export function cursorMove(chainId: number, from: Cursor | undefined, to: CursorMove): { statement: SQL; check(rows: readonly unknown[]): void } {
  const statement = from
    ? sql`UPDATE cursor SET block_number = ${to.blockNumber}, block_hash = ${to.blockHash}, finalized_block = GREATEST(finalized_block, ${to.finalizedBlock}),
                            events_total = events_total + ${to.eventsDelta}, updated_at = now()
          WHERE chain_id = ${chainId} AND block_number = ${from.blockNumber} AND block_hash = ${from.blockHash} RETURNING chain_id`
    : sql`INSERT INTO cursor (chain_id, block_number, block_hash, finalized_block, events_total) VALUES (${chainId}, ${to.blockNumber}, ${to.blockHash}, ${to.finalizedBlock}, ${to.eventsDelta})
          ON CONFLICT (chain_id) DO NOTHING RETURNING chain_id`;
  return {
    statement,
    check(moved) {
      if (moved.length !== 1) {
        throw new FatalError('the cursor was moved by another writer; refusing to commit this batch', { chain_id: chainId, expected_block: from?.blockNumber ?? null, block_number: to.blockNumber });
      }
    },
  };
}

/** The upsert of these block hashes (none: nothing to write). */
export function blocksInsert(chainId: number, blocks: readonly BlockRef[]): SQL | undefined {
  if (blocks.length === 0) return undefined;
  return insertMany(
    'blocks',
    [['chain_id', 'int8'], ['number', 'int8'], ['hash', 'text'], ['parent_hash', 'text']],
    blocks.map((b) => ({ chain_id: chainId, number: b.number, hash: b.hash, parent_hash: b.parentHash })),
    'ON CONFLICT (chain_id, number) DO UPDATE SET hash = excluded.hash, parent_hash = excluded.parent_hash',
  );
}

/** Stored block hashes in [from, to], newest first: the walk back of a reorg reads these. */
export async function storedBlocks(ex: Executor, chainId: number, from: number, to: number): Promise<BlockRef[]> {
  const found = await rows<{ number: number; hash: Hex; parent_hash: Hex }>(
    ex,
    sql`SELECT number, hash, parent_hash FROM blocks WHERE chain_id = ${chainId} AND number BETWEEN ${from} AND ${to} ORDER BY number DESC`,
  );
  return found.map((b) => ({ number: Number(b.number), hash: b.hash, parentHash: b.parent_hash }));
}

/** Hashes below both finality and the cursor can no longer be reorged away. */
export const blocksPrune = (chainId: number, below: number): SQL => sql`DELETE FROM blocks WHERE chain_id = ${chainId} AND number < ${below}`;

export async function deleteBlocksAbove(ex: Executor, chainId: number, block: number): Promise<void> {
  await ex.execute(sql`DELETE FROM blocks WHERE chain_id = ${chainId} AND number > ${block}`);
}

const chainTables = ['events', 'orphaned_events', 'reorgs', 'blocks', 'cursor', 'chamas', 'members', 'mismatches', 'jobs'];

/** Deletes everything stored for a chain, in one transaction (the demo, when its chain starts anew). */
export async function forgetChain(db: Db, chainId: number): Promise<void> {
  await db.orm.transaction(async (tx) => {
    for (const table of chainTables) await tx.execute(sql`DELETE FROM ${sql.raw(table)} WHERE chain_id = ${chainId}`);
  });
}
