import { sql } from 'drizzle-orm';
import { projectionTables } from '../../src/projections/persist.ts';
import { rows, type Db } from '../../src/store/db.ts';

/** Every projection row of a chain as sorted text: equal snapshots mean byte-for-byte equal projections. */
export async function projectionSnapshot(db: Db, chainId: number): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of projectionTables) {
    const found = await rows<{ row: string }>(db.orm, sql`SELECT t::text AS row FROM ${sql.raw(table)} t WHERE chain_id = ${chainId} ORDER BY 1`);
    out[table] = found.map((r) => r.row);
  }
  return out;
}

/** One md5 per projection table, over every row in a fixed order. */
export async function projectionChecksums(db: Db, chainId: number): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const table of projectionTables) {
    const [r] = await rows<{ sum: string | null; n: number }>(db.orm, sql`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS sum, count(*)::int8 AS n FROM ${sql.raw(table)} t WHERE chain_id = ${chainId}`);
    out[table] = `${r!.n}:${r!.sum}`;
  }
  return out;
}

export async function eventKeys(db: Db, chainId: number, table: 'events' | 'orphaned_events' = 'events'): Promise<string[]> {
  const found = await rows<{ k: string }>(db.orm, sql`SELECT block_number || ':' || log_index || ':0x' || encode(block_hash, 'hex') AS k FROM ${sql.raw(table)} WHERE chain_id = ${chainId} ORDER BY block_number, log_index`);
  return found.map((r) => r.k);
}
