import type { FoldEvent } from '../decode/event.ts';
import { eventAccount } from '../decode/event.ts';
import { applyChama, applyMember, copyChama, copyMember, emptyChama, emptyMember, touchesMember } from './reducers.ts';
import { chamaKey, memberKey, memberKeyOf, type AccountRow, type ChamaRow, type MemberRow } from './rows.ts';

/**
 * The rows a fold works on, in memory, and which of them the fold changed. A live batch starts
 * from the rows its events touch (loaded in one query per table); a rebuild or re-fold starts
 * empty. Each changed row is written once at the end.
 */
export type WorkingSet = {
  chamas: Map<string, ChamaRow>;
  members: Map<string, MemberRow>;
  changed: { chamas: Set<string>; members: Set<string> };
};

export function createWorkingSet(rows: { chamas?: ChamaRow[]; members?: MemberRow[] } = {}): WorkingSet {
  return {
    chamas: new Map((rows.chamas ?? []).map((r) => [chamaKey(r.address, r.chamaId), r])),
    members: new Map((rows.members ?? []).map((r) => [memberKey(r.address, r.chamaId, r.member), r])),
    changed: { chamas: new Set(), members: new Set() },
  };
}

/**
 * Folds events, in chain order, into the working set. The fold owns the rows it changed (the
 * `changed` sets): the first event that touches a row copies it, later ones update that copy
 * in place. A row it did not change (loaded, or left by an earlier fold) is never modified, so
 * a fold stays a function of the rows it started from and its events.
 */
export function foldEvents(ws: WorkingSet, events: readonly FoldEvent[], keys?: RowKeys): WorkingSet {
  const { chamas, members, changed } = ws;
  // The chama of the event before, already the fold's own: the events of a transaction mostly
  // share one, and its row is then at hand without two lookups.
  let lastKey: string | undefined;
  let lastChama: ChamaRow | undefined;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const ck = keys ? keys.chamas[i]! : chamaKey(e.address, e.args.chamaId);
    let chama = ck === lastKey ? lastChama : chamas.get(ck);
    if (touchesMember(e)) {
      const account = eventAccount(e);
      const mk = keys ? keys.members[i]! : memberKeyOf(ck, account);
      let member = members.get(mk);
      if (!member || !changed.members.has(mk)) member = own(members, changed.members, mk, member ? copyMember(member) : emptyMember(e, account));
      // The member first: a join's position is read off the chama as it was before the event.
      applyMember(member, e, chama);
    }
    if (ck !== lastKey) {
      if (!chama || !changed.chamas.has(ck)) chama = own(chamas, changed.chamas, ck, chama ? copyChama(chama) : emptyChama(e));
      lastKey = ck;
      lastChama = chama;
    }
    applyChama(chama!, e);
  }
  return ws;
}

/** Makes `row` the fold's own copy under `key`. */
function own<T>(rows: Map<string, T>, changed: Set<string>, key: string, row: T): T {
  rows.set(key, row);
  changed.add(key);
  return row;
}

/**
 * The keys of the rows each event folds into, in the order of the events: its chama's, and its
 * member's (an empty string for a creation, which has none). Handed to `foldEvents` by a caller
 * that already has them (`touchedKeys`), the fold looks up no key again.
 */
export type RowKeys = { chamas: string[]; members: string[] };

/**
 * The entity keys a set of events touches: what a live batch loads, and what a reorg re-folds;
 * and each event's row keys.
 */
export function touchedKeys(events: readonly FoldEvent[]) {
  const chamas = new Map<string, { address: string; chamaId: bigint }>();
  const members = new Map<string, { address: string; chamaId: bigint; member: string }>();
  const rows: RowKeys = { chamas: new Array<string>(events.length), members: new Array<string>(events.length) };
  // A key object only for a key not seen yet: most events of a batch touch rows seen before,
  // and most share the chama of the event before (its key then is that one's, already listed).
  let last: FoldEvent | undefined;
  let ck = '';
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (last === undefined || e.args.chamaId !== last.args.chamaId || e.address !== last.address) {
      ck = chamaKey(e.address, e.args.chamaId);
      if (!chamas.has(ck)) chamas.set(ck, { address: e.address, chamaId: e.args.chamaId });
      last = e;
    }
    rows.chamas[i] = ck;
    rows.members[i] = '';
    if (touchesMember(e)) {
      const account = eventAccount(e);
      const mk = memberKeyOf(ck, account);
      rows.members[i] = mk;
      if (!members.has(mk)) members.set(mk, { address: e.address, chamaId: e.args.chamaId, member: account });
    }
  }
  return { chamas: [...chamas.values()], members: [...members.values()], rows };
}

/**
 * Accounts from member rows (rows.ts, `AccountRow`): the same sums and counts a fold of each
 * account's events gives, in the order of the accounts' first rows.
 */
export function accountsOf(members: Iterable<MemberRow>): Map<string, AccountRow> {
  const accounts = new Map<string, AccountRow>();
  for (const m of members) {
    const a = accounts.get(m.member);
    if (!a) {
      accounts.set(m.member, { chainId: m.chainId, account: m.member, chamas: m.joins, totalContributed: m.totalContributed, totalReceived: m.totalReceived, updatedAtBlock: m.updatedAtBlock });
      continue;
    }
    a.chamas += m.joins;
    a.totalContributed += m.totalContributed;
    a.totalReceived += m.totalReceived;
    if (m.updatedAtBlock > a.updatedAtBlock) a.updatedAtBlock = m.updatedAtBlock;
  }
  return accounts;
}
