import type { FoldEvent } from '../decode/event.ts';
import { never } from '../decode/event.ts';
import type { AccountRow, ChamaRow, MemberRow } from './rows.ts';

/**
 * Pure reducers: (state before, event) -> state after. They never read anything but their
 * arguments, so live batches, rebuilds, reorg re-folds and time travel agree byte for byte.
 */

/** A chama's state; every Chama event with this chama id (topic1) folds into it. */
export function reduceChama(state: ChamaRow | undefined, e: FoldEvent): ChamaRow {
  const s = state ?? emptyChama(e);
  switch (e.event) {
    case 'ChamaCreated':
      return {
        ...s,
        updatedAtBlock: e.blockNumber,
        creator: e.args.creator,
        name: e.args.name,
        contributionAmount: e.args.contributionAmount,
        maxMembers: e.args.maxMembers,
        createdAtBlock: e.blockNumber,
      };
    case 'MemberJoined':
      return { ...s, memberCount: s.memberCount + 1, updatedAtBlock: e.blockNumber };
    case 'ContributionMade':
      return { ...s, totalContributed: s.totalContributed + e.args.amount, updatedAtBlock: e.blockNumber };
    case 'PayoutProcessed':
      return { ...s, totalPaidOut: s.totalPaidOut + e.args.amount, currentRound: e.args.round + 1n, updatedAtBlock: e.blockNumber };
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
    case 'MemberJoined':
      if (state && state.position > 0) return { ...state, updatedAtBlock: e.blockNumber };
      return { ...(state ?? emptyMember(e, e.args.member)), position: (chamaBefore?.memberCount ?? 0) + 1, joinedAtBlock: e.blockNumber, updatedAtBlock: e.blockNumber };
    case 'ContributionMade': {
      const s = state ?? emptyMember(e, e.args.contributor);
      return { ...s, totalContributed: s.totalContributed + e.args.amount, contributions: s.contributions + 1, updatedAtBlock: e.blockNumber };
    }
    case 'PayoutProcessed': {
      const s = state ?? emptyMember(e, e.args.recipient);
      return { ...s, totalReceived: s.totalReceived + e.args.amount, updatedAtBlock: e.blockNumber };
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
      const s = state ?? emptyAccount(e, e.args.member);
      return { ...s, chamas: s.chamas + 1, updatedAtBlock: e.blockNumber };
    }
    case 'ContributionMade': {
      const s = state ?? emptyAccount(e, e.args.contributor);
      return { ...s, totalContributed: s.totalContributed + e.args.amount, updatedAtBlock: e.blockNumber };
    }
    case 'PayoutProcessed': {
      const s = state ?? emptyAccount(e, e.args.recipient);
      return { ...s, totalReceived: s.totalReceived + e.args.amount, updatedAtBlock: e.blockNumber };
    }
    default:
      return never(e);
  }
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
