import { sql } from 'drizzle-orm';
import type { Db, Tx } from '../store/db.ts';
import { rows } from '../store/db.ts';

export type Meta = { chainId: number; indexedBlock: number | null; indexedBlockHash: string | null; finalizedBlock: number | null };

/**
 * Runs a read in one read-only snapshot and returns it with the `meta` of that same snapshot,
 * so a response never mixes two batches.
 */
export async function inSnapshot<T>(db: Db, chainId: number, read: (tx: Tx, meta: Meta) => Promise<T>): Promise<{ data: T; meta: Meta }> {
  return db.orm.transaction(
    async (tx) => {
      const [cursor] = await rows<{ block_number: number; block_hash: string; finalized_block: number }>(tx, sql`SELECT block_number, block_hash, finalized_block FROM cursor WHERE chain_id = ${chainId}`);
      const meta: Meta = {
        chainId,
        indexedBlock: cursor ? Number(cursor.block_number) : null,
        indexedBlockHash: cursor?.block_hash ?? null,
        finalizedBlock: cursor ? Math.min(Number(cursor.finalized_block), Number(cursor.block_number)) : null,
      };
      return { data: await read(tx, meta), meta };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}
