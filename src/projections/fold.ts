import type { FoldEvent } from '../decode/event.ts';
import { eventAccount, never } from '../decode/event.ts';
import { reduceAccount, reduceChama, reduceMember } from './reducers.ts';
import { chamaKey, memberKey, memberKeyOf, type AccountRow, type ChamaRow, type MemberRow } from './rows.ts';

/**
 * The rows a fold works on, in memory, and which of them the fold changed. A live batch starts
 * from the rows its events touch (loaded in one query per table); a rebuild or re-fold starts
 * empty. Each changed row is written once at the end.
 */
export type WorkingSet = {
  chamas: Map<string, ChamaRow>;
  members: Map<string, MemberRow>;
  accounts: Map<string, AccountRow>;
  changed: { chamas: Set<string>; members: Set<string>; accounts: Set<string> };
};

export function createWorkingSet(rows: { chamas?: ChamaRow[]; members?: MemberRow[]; accounts?: AccountRow[] } = {}): WorkingSet {
  return {
    chamas: new Map((rows.chamas ?? []).map((r) => [chamaKey(r.address, r.chamaId), r])),
    members: new Map((rows.members ?? []).map((r) => [memberKey(r.address, r.chamaId, r.member), r])),
    accounts: new Map((rows.accounts ?? []).map((r) => [r.account, r])),
    changed: { chamas: new Set(), members: new Set(), accounts: new Set() },
  };
}

/** Folds events, in chain order, into the working set. */
export function foldEvents(ws: WorkingSet, events: readonly FoldEvent[]): WorkingSet {
  for (const e of events) {
    const account = eventAccount(e);
    const ck = chamaKey(e.address, e.args.chamaId);
    const mk = memberKeyOf(ck, account);
    const chamaBefore = ws.chamas.get(ck);

    const member = reduceMember(ws.members.get(mk), e, chamaBefore);
    if (member) set(ws.members, ws.changed.members, mk, member);
    const acct = reduceAccount(ws.accounts.get(account), e);
    if (acct) set(ws.accounts, ws.changed.accounts, account, acct);
    set(ws.chamas, ws.changed.chamas, ck, reduceChama(chamaBefore, e));
  }
  return ws;
}

function set<T>(map: Map<string, T>, changed: Set<string>, key: string, value: T) {
  map.set(key, value);
  changed.add(key);
}

/** The entity keys a set of events touches: what a live batch loads, and what a reorg re-folds. */
export function touchedKeys(events: readonly FoldEvent[]) {
  const chamas = new Map<string, { address: string; chamaId: bigint }>();
  const members = new Map<string, { address: string; chamaId: bigint; member: string }>();
  const accounts = new Set<string>();
  // A key object only for a key not seen yet: most events of a batch touch rows seen before.
  for (const e of events) {
    const account = eventAccount(e);
    const ck = chamaKey(e.address, e.args.chamaId);
    if (!chamas.has(ck)) chamas.set(ck, { address: e.address, chamaId: e.args.chamaId });
    if (e.event !== 'ChamaCreated') {
      const mk = memberKeyOf(ck, account);
      if (!members.has(mk)) members.set(mk, { address: e.address, chamaId: e.args.chamaId, member: account });
      accounts.add(account);
    }
  }
  return { chamas: [...chamas.values()], members: [...members.values()], accounts: [...accounts] };
}
