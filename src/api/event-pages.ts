import { sql, type SQL } from 'drizzle-orm';
import type { ChamaEvent } from '../decode/event.ts';
import { rows, type Executor } from '../store/db.ts';
import { chamaIdIs, eventReadList, fromRecord, type EventRecord } from '../store/events.ts';

export type EventFilter = {
  event?: string | undefined;
  chamaId?: string | undefined;
  contract?: string | undefined;
  fromBlock?: number | undefined;
  toBlock?: number | undefined;
};

/** A position in the chain; `logIndex: null` means "after every log of that block". */
export type After = { blockNumber: number; logIndex: number | null };

const selectList = eventReadList();

function afterClause(after: After | undefined): SQL {
  if (!after) return sql``;
  return after.logIndex === null ? sql`AND block_number > ${after.blockNumber}` : sql`AND (block_number, log_index) > (${after.blockNumber}, ${after.logIndex})`;
}

/**
 * One keyset page of canonical events in chain order: filtered, strictly after `after`, at most
 * `limit` rows. Served by the primary key, or by `events_chama_hash_idx` with `chamaId`.
 */
export async function readEventPage(ex: Executor, chainId: number, filter: EventFilter, after: After | undefined, limit: number): Promise<ChamaEvent[]> {
  const found = await rows<EventRecord>(
    ex,
    sql`SELECT ${selectList} FROM events
        WHERE chain_id = ${chainId}
        ${filter.event ? sql`AND event = ${filter.event}` : sql``}
        ${filter.chamaId ? sql`AND ${chamaIdIs(sql`${filter.chamaId}::numeric`)}` : sql``}
        ${filter.contract ? sql`AND address = ${filter.contract}` : sql``}
        ${filter.fromBlock !== undefined ? sql`AND block_number >= ${filter.fromBlock}` : sql``}
        ${filter.toBlock !== undefined ? sql`AND block_number <= ${filter.toBlock}` : sql``}
        ${afterClause(after)}
        ORDER BY block_number, log_index LIMIT ${limit}`,
  );
  return found.map(fromRecord);
}
