import type { ChamaEvent } from '../decode/event.ts';
import { eventsOfChamas, streamFoldEvents, countEvents } from '../store/events.ts';
import type { Db, Executor } from '../store/db.ts';
import { createWorkingSet, foldEvents, touchedKeys } from './fold.ts';
import { runBulk } from '../store/bulk.ts';
import { sql } from 'drizzle-orm';
import { createFreshTables, freshName, swapInFreshTables } from '../store/fresh-tables.ts';
import { deleteChamas, projectionTables, projectionWrites, writeWorkingSet } from './persist.ts';
import { chamaKey, type ChamaRow, type MemberRow } from './rows.ts';

/**
 * The uses of the one fold (DESIGN.md, "Projections as folds") besides live batches, which fold
 * onto the writer's copy of the rows (live.ts). Each costs in proportion to the events
 * involved, never to the whole history, except `rebuildProjections`.
 */

/**
 * Reorg rollback: after orphaned events left `events`, recompute the chamas (with their members)
 * the orphaned events touched from the canonical events that remain. Accounts are sums of member
 * rows, so they follow. (Append-only rows above the fork are deleted by the caller.)
 */
export async function refold(tx: Executor, chainId: number, orphaned: readonly ChamaEvent[]): Promise<void> {
  await refoldChamas(tx, chainId, touchedKeys(orphaned).chamas);
}

/** Recomputes chamas, with their members, from their canonical events. */
export async function refoldChamas(tx: Executor, chainId: number, chamas: readonly { address: string; chamaId: bigint }[]): Promise<void> {
  await deleteChamas(tx, chainId, chamas);
  await writeWorkingSet(tx, foldEvents(createWorkingSet(), await eventsOfChamas(tx, chainId, chamas)));
}

export type RebuildProgress = { done: number; total: number };

/**
 * Every projection from the stored events, with no RPC call, in one transaction. The rows are
 * written into fresh tables with no index (appends only), which get their indexes at the end and
 * replace the old tables in the same transaction (store/fresh-tables.ts): readers keep seeing
 * the old rows until the new ones commit, so the API never answers from an empty table, and the
 * cost does not grow with the rows being replaced.
 */
export async function rebuildProjections(db: Db, chainId: number, onProgress?: (p: RebuildProgress) => void, signal?: AbortSignal): Promise<{ events: number }> {
  const target = { fresh: freshName };
  const result = await db.orm.transaction(async (tx) => {
    if (db.kind === 'postgres') await tx.execute(sql`SET LOCAL maintenance_work_mem = '256MB'`);
    // Pages in chain order come off the primary key in order. Without statistics on `events`
    // (right after a bulk load, or with autovacuum off) the planner may sort the whole remaining
    // table on disk for each page instead: 0.5 s a page against 0.04 s, measured.
    await tx.execute(sql`SET LOCAL enable_sort = off`);
    const total = await countEvents(tx, chainId);
    await createFreshTables(tx, projectionTables, chainId);
    const ws = createWorkingSet();
    let done = 0;
    for await (const page of streamFoldEvents(tx, chainId, { pageSize: 50_000 })) {
      // Aborting rolls the whole transaction back: the old projections stay.
      signal?.throwIfAborted();
      foldEvents(ws, page);
      done += page.length;
      onProgress?.({ done, total });
    }
    await runBulk(tx, projectionWrites(ws, { chamas: true, members: true }, target));
    signal?.throwIfAborted();
    await tx.execute(sql`SET LOCAL enable_sort = on`);
    await swapInFreshTables(tx, projectionTables);
    return { events: done };
  });
  // New tables have no planner statistics yet.
  for (const table of projectionTables) await db.orm.execute(sql.raw(`ANALYZE "${table}"`));
  return result;
}

/** Time travel: one chama and its members as of a block. */
export async function chamaAt(ex: Executor, chainId: number, address: string, chamaId: bigint, block: number): Promise<{ chama: ChamaRow | undefined; members: MemberRow[] }> {
  const ws = foldEvents(createWorkingSet(), await eventsOfChamas(ex, chainId, [{ address, chamaId }], block));
  return { chama: ws.chamas.get(chamaKey(address, chamaId)), members: [...ws.members.values()].sort((a, b) => a.position - b.position) };
}

