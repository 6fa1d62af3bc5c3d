import { eventAccount, never, type ChamaEvent } from '../decode/event.ts';
import { eventsOfAccounts, eventsOfChamas, lastEventBlocks, streamFoldEvents, countEvents } from '../store/events.ts';
import type { Db, Executor } from '../store/db.ts';
import { createWorkingSet, foldEvents, touchedKeys } from './fold.ts';
import { runBulk } from '../store/bulk.ts';
import { sql } from 'drizzle-orm';
import { createFreshTables, freshName, swapInFreshTables } from '../store/fresh-tables.ts';
import { deleteAccounts, deleteChamas, loadWorkingSet, projectionTables, projectionWrites, writeWorkingSet } from './persist.ts';
import { chamaKey, type AccountRow, type ChamaRow, type MemberRow } from './rows.ts';

/**
 * The uses of the one fold (DESIGN.md, "Projections as folds") besides live batches, which fold
 * onto the writer's copy of the rows (live.ts). Each costs in proportion to the events
 * involved, never to the whole history, except `rebuildProjections`.
 */

/**
 * Reorg rollback: after orphaned events left `events`, recompute the aggregates they touched
 * from the canonical events that remain. (Append-only rows above the fork are deleted by the caller.)
 */
export async function refold(tx: Executor, chainId: number, orphaned: readonly ChamaEvent[]): Promise<void> {
  const keys = touchedKeys(orphaned);
  await refoldEntities(tx, chainId, { chamas: keys.chamas, accounts: [] });
  await unfoldAccounts(tx, chainId, orphaned);
}

/**
 * Takes orphaned events back out of the accounts they touched. An account's totals are sums and
 * counts, so subtracting is exact, and it costs the orphaned events, not the account's whole
 * history (a pool account may have hundreds of thousands of events). `updatedAtBlock` is the
 * block of its last remaining event, read with one index probe per account; an account left with
 * no event is deleted, exactly as a rebuild would leave it. A missing row is re-folded in full.
 */
async function unfoldAccounts(tx: Executor, chainId: number, orphaned: readonly ChamaEvent[]): Promise<void> {
  const { accounts } = touchedKeys(orphaned);
  if (accounts.length === 0) return;
  const ws = await loadWorkingSet(tx, chainId, { chamas: [], members: [], accounts });
  const missing = accounts.filter((a) => !ws.accounts.has(a));
  for (const e of orphaned) {
    const row = ws.accounts.get(eventAccount(e));
    if (!row) continue;
    switch (e.event) {
      case 'ChamaCreated':
        break;
      case 'MemberJoined':
        row.chamas -= 1;
        break;
      case 'ContributionMade':
        row.totalContributed -= e.args.amount;
        break;
      case 'PayoutProcessed':
        row.totalReceived -= e.args.amount;
        break;
      default:
        never(e);
    }
  }
  const last = await lastEventBlocks(tx, chainId, [...ws.accounts.keys()]);
  const gone: string[] = [];
  for (const [account, row] of ws.accounts) {
    const block = last.get(account);
    if (block === undefined) gone.push(account);
    else {
      row.updatedAtBlock = block;
      ws.changed.accounts.add(account);
    }
  }
  await deleteAccounts(tx, chainId, [...gone, ...missing]);
  await writeWorkingSet(tx, ws, { accounts: true });
  if (missing.length > 0) await writeWorkingSet(tx, foldEvents(createWorkingSet(), await eventsOfAccounts(tx, chainId, missing)), { accounts: true });
}

/** Recomputes chamas (with their members) and accounts from their canonical events. */
export async function refoldEntities(tx: Executor, chainId: number, keys: { chamas: readonly { address: string; chamaId: bigint }[]; accounts: readonly string[] }): Promise<void> {
  await deleteChamas(tx, chainId, keys.chamas);
  const byChama = foldEvents(createWorkingSet(), await eventsOfChamas(tx, chainId, keys.chamas));
  await writeWorkingSet(tx, byChama, { chamas: true, members: true });
  await deleteAccounts(tx, chainId, keys.accounts);
  const byAccount = foldEvents(createWorkingSet(), await eventsOfAccounts(tx, chainId, keys.accounts));
  await writeWorkingSet(tx, byAccount, { accounts: true });
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
    await runBulk(tx, projectionWrites(ws, { chamas: true, members: true, accounts: true }, target));
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

/** Time travel: one account as of a block. */
export async function accountAt(ex: Executor, chainId: number, account: string, block: number): Promise<AccountRow | undefined> {
  const ws = foldEvents(createWorkingSet(), await eventsOfAccounts(ex, chainId, [account], block));
  return ws.accounts.get(account);
}
