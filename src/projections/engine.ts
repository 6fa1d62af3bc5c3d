import type { ChamaEvent } from '../decode/event.ts';
import { eventsOfAccounts, eventsOfChamas, streamEvents, countEvents } from '../store/events.ts';
import type { Db, Executor } from '../store/db.ts';
import { createWorkingSet, foldEvents, touchedKeys } from './fold.ts';
import { deleteAccounts, deleteAllProjections, deleteChamas, deleteTransfersOf, loadWorkingSet, writeWorkingSet } from './persist.ts';
import { chamaKey, type AccountRow, type ChamaRow, type MemberRow } from './rows.ts';

/**
 * The four uses of the one fold (DESIGN.md, "Projections as folds"). Each costs in proportion
 * to the events involved, never to the whole history, except `rebuildProjections`.
 */

/** Live batches: load the rows the batch touches, fold in memory, write each changed row once. */
export async function applyEvents(tx: Executor, chainId: number, events: readonly ChamaEvent[]): Promise<void> {
  if (events.length === 0) return;
  const ws = await loadWorkingSet(tx, chainId, touchedKeys(events));
  await writeWorkingSet(tx, foldEvents(ws, events));
}

/**
 * Reorg rollback: after orphaned events left `events`, recompute the aggregates they touched
 * from the canonical events that remain. (Append-only rows above the fork are deleted by the caller.)
 */
export async function refold(tx: Executor, chainId: number, orphaned: readonly ChamaEvent[]): Promise<void> {
  await refoldEntities(tx, chainId, touchedKeys(orphaned));
}

/**
 * Recomputes chamas (with their members) and accounts from their canonical events. With
 * `transfers`, the chamas' contributions and payouts are rewritten too (repairs, resyncs).
 */
export async function refoldEntities(tx: Executor, chainId: number, keys: { chamas: readonly { address: string; chamaId: bigint }[]; accounts: readonly string[] }, options: { transfers?: boolean } = {}): Promise<void> {
  await deleteChamas(tx, chainId, keys.chamas);
  if (options.transfers) await deleteTransfersOf(tx, chainId, keys.chamas);
  const byChama = foldEvents(createWorkingSet(), await eventsOfChamas(tx, chainId, keys.chamas));
  await writeWorkingSet(tx, byChama, { chamas: true, members: true, transfers: options.transfers ?? false });
  await deleteAccounts(tx, chainId, keys.accounts);
  const byAccount = foldEvents(createWorkingSet(), await eventsOfAccounts(tx, chainId, keys.accounts));
  await writeWorkingSet(tx, byAccount, { accounts: true });
}

export type RebuildProgress = { done: number; total: number };

/**
 * Every projection from the stored events, with no RPC call, in one transaction: readers keep
 * seeing the old rows until the new ones commit, so the API never answers from an empty table.
 */
export async function rebuildProjections(db: Db, chainId: number, onProgress?: (p: RebuildProgress) => void, signal?: AbortSignal): Promise<{ events: number }> {
  return db.orm.transaction(async (tx) => {
    const total = await countEvents(tx, chainId);
    await deleteAllProjections(tx, chainId);
    const ws = createWorkingSet();
    let done = 0;
    for await (const page of streamEvents(tx, chainId, { pageSize: 50_000 })) {
      // Aborting rolls the whole transaction back: the old projections stay.
      signal?.throwIfAborted();
      foldEvents(ws, page);
      await writeWorkingSet(tx, ws, { transfers: true });
      ws.contributions.length = 0;
      ws.payouts.length = 0;
      done += page.length;
      onProgress?.({ done, total });
    }
    await writeWorkingSet(tx, ws, { chamas: true, members: true, accounts: true });
    return { events: done };
  });
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
