import type { ChamaEvent } from '../decode/event.ts';
import type { BulkWrite } from '../store/bulk.ts';
import type { Executor } from '../store/db.ts';
import { foldEvents, touchedKeys, type WorkingSet } from './fold.ts';
import { loadWorkingSet, projectionWrites } from './persist.ts';
import { chamaKey, memberKey, type ChamaRow, type MemberRow } from './rows.ts';

/**
 * The single writer's copy of the aggregate rows (chamas and their members) as of the last
 * batch it prepared. A batch folds onto these rows in memory and leaves with its writes already
 * rendered, so the fold runs while the previous batch commits and the transaction only ships
 * bytes; only rows not held here are read from the database (one query per table).
 *
 * The copy is only right while this writer is the only one: the indexer forgets it after a
 * failed commit, a rewind, or any other holder of the writer lock (operator jobs), and when it
 * grows past `maxRows` (memory stays bounded; a forgotten row is read again when next touched).
 * A fold copies a row before its first change, so a prepared batch keeps its rows while later
 * batches fold.
 */
export type LiveProjections = {
  /** Folds a batch and renders the writes of the rows it changed (with any folded before and not yet written). */
  prepare(ex: Executor, chainId: number, events: readonly ChamaEvent[]): Promise<BulkWrite[]>;
  /** Folds events; their changed rows are written by the next `flush` (or `prepare`). */
  fold(ex: Executor, chainId: number, events: readonly ChamaEvent[]): Promise<void>;
  /** The writes of every row changed since the last flush, each once. */
  flush(): Promise<BulkWrite[]>;
  forget(): void;
  /** Whether the copy holds more than `maxRows` rows. */
  oversized(): boolean;
  /** Forgets everything if it is `oversized`; call with no batch in flight. */
  trim(): void;
};

const SLICE = 1000;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function createLiveProjections(options: { maxRows?: number } = {}): LiveProjections {
  const { maxRows = 200_000 } = options;
  let chamas = new Map<string, ChamaRow>();
  let members = new Map<string, MemberRow>();
  /** Rows changed since the last flush: a fold copies each before its first change after one. */
  let changed = { chamas: new Set<string>(), members: new Set<string>() };
  const oversized = () => chamas.size + members.size > maxRows;
  const forget = () => {
    chamas = new Map();
    members = new Map();
    changed = { chamas: new Set(), members: new Set() };
  };
  async function fold(ex: Executor, chainId: number, events: readonly ChamaEvent[]): Promise<void> {
    if (events.length === 0) return;
    const keys = touchedKeys(events);
    const missing = {
      chamas: keys.chamas.filter((k) => !chamas.has(chamaKey(k.address, k.chamaId))),
      members: keys.members.filter((k) => !members.has(memberKey(k.address, k.chamaId, k.member))),
    };
    if (missing.chamas.length + missing.members.length > 0) {
      // Rows not held here are not touched by a batch in flight either (those are held), so
      // what any connection reads for them is already current.
      const loaded = await loadWorkingSet(ex, chainId, missing);
      for (const [k, row] of loaded.chamas) chamas.set(k, row);
      for (const [k, row] of loaded.members) members.set(k, row);
    }
    const ws: WorkingSet = { chamas, members, changed };
    // In slices, letting the event loop turn in between: the previous batch's transaction is
    // in flight on this thread's connection, and each turn lets it move on (a long synchronous
    // fold would leave the database waiting for its next message).
    for (let i = 0; i < events.length; i += SLICE) {
      foldEvents(ws, events.slice(i, i + SLICE), { chamas: keys.rows.chamas.slice(i, i + SLICE), members: keys.rows.members.slice(i, i + SLICE) });
      await turn();
    }
  }
  async function flush(): Promise<BulkWrite[]> {
    const ws: WorkingSet = { chamas, members, changed };
    changed = { chamas: new Set(), members: new Set() };
    const writes: BulkWrite[] = [];
    for (const part of ['chamas', 'members'] as const) {
      writes.push(...projectionWrites(ws, { [part]: true }));
      await turn();
    }
    return writes;
  }
  return {
    async prepare(ex, chainId, events) {
      await fold(ex, chainId, events);
      return flush();
    },
    fold,
    flush,
    forget,
    oversized,
    trim() {
      if (oversized()) forget();
    },
  };
}
