import { sql } from 'drizzle-orm';
import type { Context } from 'hono';
import type { Db, Tx } from '../store/db.ts';
import { rows } from '../store/db.ts';
import { badRequest } from './errors.ts';

export type Meta = { chainId: number; indexedBlock: number | null; indexedBlockHash: string | null; finalizedBlock: number | null };

/**
 * Runs a read in one read-only snapshot and returns it with the `meta` of that same snapshot,
 * so a response never mixes two batches.
 */
export async function inSnapshot<T>(db: Db, chainId: number, read: (tx: Tx, meta: Meta) => Promise<T>): Promise<{ data: T; meta: Meta }> {
  return db.orm.transaction(
    async (tx) => {
      const meta = await readMeta(tx, chainId);
      return { data: await read(tx, meta), meta };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

export async function readMeta(tx: Tx, chainId: number): Promise<Meta> {
  const [cursor] = await rows<{ block_number: number; block_hash: string; finalized_block: number }>(tx, sql`SELECT block_number, block_hash, finalized_block FROM cursor WHERE chain_id = ${chainId}`);
  return {
    chainId,
    indexedBlock: cursor ? Number(cursor.block_number) : null,
    indexedBlockHash: cursor?.block_hash ?? null,
    finalizedBlock: cursor ? Math.min(Number(cursor.finalized_block), Number(cursor.block_number)) : null,
  };
}

/** Sets `X-Indexed-Block` (SPEC §4: on every read) and returns the meta for the body. */
export function withMeta(c: Context, meta: Meta): Meta {
  c.header('X-Indexed-Block', meta.indexedBlock === null ? '' : String(meta.indexedBlock));
  return meta;
}

/** `?atBlock=N` must not be above what is indexed: the state there is not known yet. */
export function checkAtBlock(atBlock: number, meta: Meta): void {
  if (meta.indexedBlock === null || atBlock > meta.indexedBlock) {
    throw badRequest(`atBlock ${atBlock} is above the indexed block ${meta.indexedBlock ?? '(none yet)'}`, { atBlock, indexedBlock: meta.indexedBlock });
  }
}
