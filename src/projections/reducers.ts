import type { FoldEvent } from '../decode/event.ts';
import { never } from '../decode/event.ts';
import type { AccountRow, ChamaRow, MemberRow } from './rows.ts';

/**
 * Pure reducers: (state before, event) -> state after. They never read anything but their
 * arguments, so live batches, rebuilds, reorg re-folds and time travel agree byte for byte.
 */

/** A chama's state; every Chama event with this chama id (topic1) folds into it. */
export function reduceChama(state: ChamaRow | undefined, e: FoldEvent): ChamaRow {
  const s = state ? copyChama(state) : emptyChama(e);
  s.updatedAtBlock = e.blockNumber;
  switch (e.event) {
    case 'ChamaCreated':
      s.creator = e.args.creator;
      s.name = e.args.name;
      s.contributionAmount = e.args.contributionAmount;
      s.maxMembers = e.args.maxMembers;
      s.createdAtBlock = e.blockNumber;
      return s;
    case 'MemberJoined':
      s.memberCount += 1;
      return s;
    case 'ContributionMade':
      s.totalContributed += e.args.amount;
      return s;
    case 'PayoutProcessed':
      s.totalPaidOut += e.args.amount;
      s.currentRound = e.args.round + 1n;
      return s;
    default:
      return never(e);
  }
}

/**
 * A member of a chama; the events whose topic2 is this member fold into it. Its position needs
 * the chama as it stood just before the join (`chamaBefore`), which is why the fold engine
 * applies the member reducer before the chama reducer.
 */
export function reduceMember(state: MemberRow | undefined, e: FoldEvent, chamaBefore: ChamaRow | undefined): MemberRow | undefined {
  switch (e.event) {
    case 'ChamaCreated':
      return state;
    case 'MemberJoined': {
      const s = state ? copyMember(state) : emptyMember(e, e.args.member);
      if (s.position === 0) {
        s.position = (chamaBefore?.memberCount ?? 0) + 1;
        s.joinedAtBlock = e.blockNumber;
      }
      s.updatedAtBlock = e.blockNumber;
      return s;
    }
    case 'ContributionMade': {
      const s = state ? copyMember(state) : emptyMember(e, e.args.contributor);
      s.totalContributed += e.args.amount;
      s.contributions += 1;
      s.updatedAtBlock = e.blockNumber;
      return s;
    }
    case 'PayoutProcessed': {
      const s = state ? copyMember(state) : emptyMember(e, e.args.recipient);
      s.totalReceived += e.args.amount;
      s.updatedAtBlock = e.blockNumber;
      return s;
    }
    default:
      return never(e);
  }
}

/** An address across every chama; the events whose topic2 is this address fold into it. */
export function reduceAccount(state: AccountRow | undefined, e: FoldEvent): AccountRow | undefined {
  switch (e.event) {
    case 'ChamaCreated':
      return state;
    case 'MemberJoined': {
      const s = state ? copyAccount(state) : emptyAccount(e, e.args.member);
      s.chamas += 1;
      s.updatedAtBlock = e.blockNumber;
      return s;
    }
    case 'ContributionMade': {
      const s = state ? copyAccount(state) : emptyAccount(e, e.args.contributor);
      s.totalContributed += e.args.amount;
      s.updatedAtBlock = e.blockNumber;
      return s;
    }
    case 'PayoutProcessed': {
      const s = state ? copyAccount(state) : emptyAccount(e, e.args.recipient);
      s.totalReceived += e.args.amount;
      s.updatedAtBlock = e.blockNumber;
      return s;
    }
    default:
      return never(e);
  }
}

/**
 * The reducers change a copy, never their argument. Copies are literals with every field in
 * the row type's order, not spreads: one object shape for all rows, and a third of the time of
 * `{ ...s, x }` on the backfill path (measured).
 */
function copyChama(s: ChamaRow): ChamaRow {
  return {
    chainId: s.chainId,
    address: s.address,
    chamaId: s.chamaId,
    creator: s.creator,
    name: s.name,
    contributionAmount: s.contributionAmount,
    maxMembers: s.maxMembers,
    memberCount: s.memberCount,
    currentRound: s.currentRound,
    totalContributed: s.totalContributed,
    totalPaidOut: s.totalPaidOut,
    createdAtBlock: s.createdAtBlock,
    updatedAtBlock: s.updatedAtBlock,
  };
}

function copyMember(s: MemberRow): MemberRow {
  return {
    chainId: s.chainId,
    address: s.address,
    chamaId: s.chamaId,
    member: s.member,
    position: s.position,
    joinedAtBlock: s.joinedAtBlock,
    totalContributed: s.totalContributed,
    totalReceived: s.totalReceived,
    contributions: s.contributions,
    updatedAtBlock: s.updatedAtBlock,
  };
}

function copyAccount(s: AccountRow): AccountRow {
  return { chainId: s.chainId, account: s.account, chamas: s.chamas, totalContributed: s.totalContributed, totalReceived: s.totalReceived, updatedAtBlock: s.updatedAtBlock };
}

function emptyChama(e: FoldEvent): ChamaRow {
  return {
    chainId: e.chainId,
    address: e.address,
    chamaId: e.args.chamaId,
    creator: null,
    name: null,
    contributionAmount: null,
    maxMembers: null,
    memberCount: 0,
    currentRound: 1n,
    totalContributed: 0n,
    totalPaidOut: 0n,
    createdAtBlock: null,
    updatedAtBlock: e.blockNumber,
  };
}

function emptyMember(e: FoldEvent, member: `0x${string}`): MemberRow {
  return {
    chainId: e.chainId,
    address: e.address,
    chamaId: e.args.chamaId,
    member,
    position: 0,
    joinedAtBlock: e.blockNumber,
    totalContributed: 0n,
    totalReceived: 0n,
    contributions: 0,
    updatedAtBlock: e.blockNumber,
  };
}

function emptyAccount(e: FoldEvent, account: `0x${string}`): AccountRow {
  return { chainId: e.chainId, account, chamas: 0, totalContributed: 0n, totalReceived: 0n, updatedAtBlock: e.blockNumber };
}
