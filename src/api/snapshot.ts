import { sql, type SQL } from 'drizzle-orm';
import type { Context } from 'hono';
import type { Db, Tx } from '../store/db.ts';
import { rows } from '../store/db.ts';
import { projectionTables } from '../projections/persist.ts';
import { lockAgainstSwap } from '../store/fresh-tables.ts';
import { badRequest } from './errors.ts';

export type Meta = { chainId: number; indexedBlock: number | null; indexedBlockHash: string | null; finalizedBlock: number | null };

/**
 * Runs a read in one read-only snapshot and returns it with the `meta` of that same snapshot,
 * so a response never mixes two batches.
 * The projection tables are locked before the snapshot is taken: a rebuild swaps them
 * (store/fresh-tables.ts), and a snapshot from before the swap would answer 404 for a chama that
 * exists.
 */
export async function inSnapshot<T>(db: Db, chainId: number, read: (tx: Tx, meta: Meta) => Promise<T>): Promise<{ data: T; meta: Meta }> {
  return db.orm.transaction(
    async (tx) => {
      await tx.execute(lockAgainstSwap(projectionTables));
      const meta = await readMeta(tx, chainId);
      return { data: await read(tx, meta), meta };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

/**
 * A read that is a single statement, so the statement's own snapshot covers the cursor and the
 * rows: as consistent as `inSnapshot`, in one round trip instead of four (BEGIN, cursor, read,
 * COMMIT), which is what a cache miss waits for.
 */
export async function readWithMeta<T extends Record<string, unknown>>(db: Db, chainId: number, select: SQL): Promise<{ rows: T[]; meta: Meta }> {
  type Row = T & { _meta_block: number | null; _meta_hash: string | null; _meta_finalized: number | null; _found: boolean | null };
  const found = await rows<Row>(
    db.orm,
    sql`SELECT cur.block_number AS _meta_block, cur.block_hash AS _meta_hash, cur.finalized_block AS _meta_finalized, d.*
        FROM (SELECT 1) one
        LEFT JOIN cursor cur ON cur.chain_id = ${chainId}
        LEFT JOIN LATERAL (SELECT true AS _found, s.* FROM (${select}) s) d ON true`,
  );
  const first = found[0];
  const meta = metaOf(chainId, first?._meta_block == null ? undefined : { block_number: first._meta_block, block_hash: first._meta_hash!, finalized_block: first._meta_finalized! });
  return { rows: found.filter((r) => r._found), meta };
}

export async function readMeta(tx: Tx, chainId: number): Promise<Meta> {
  const [cursor] = await rows<CursorRow>(tx, sql`SELECT block_number, block_hash, finalized_block FROM cursor WHERE chain_id = ${chainId}`);
  return metaOf(chainId, cursor);
}

type CursorRow = { block_number: number; block_hash: string; finalized_block: number };

function metaOf(chainId: number, cursor: CursorRow | undefined): Meta {
  return {
    chainId,
    indexedBlock: cursor ? Number(cursor.block_number) : null,
    indexedBlockHash: cursor?.block_hash ?? null,
    finalizedBlock: cursor ? Math.min(Number(cursor.finalized_block), Number(cursor.block_number)) : null,
  };
}

/** Changes whenever the writer commits a batch or rewinds: the cursor's hash and time of last move. */
export async function cursorVersion(db: Db, chainId: number): Promise<string> {
  const [row] = await rows<{ v: string }>(db.orm, sql`SELECT block_hash || '@' || updated_at::text AS v FROM cursor WHERE chain_id = ${chainId}`);
  return row?.v ?? '';
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
