import type { ChamaRow } from '../projections/rows.ts';
import type { Transfer } from '../store/events.ts';

/** Projection rows as the API shows them (SPEC §4): uint256 as decimal strings, counts as numbers. */
export function presentChama(c: ChamaRow) {
  return {
    id: c.chamaId.toString(),
    address: c.address,
    creator: c.creator,
    name: c.name,
    contributionAmount: c.contributionAmount?.toString() ?? null,
    maxMembers: c.maxMembers?.toString() ?? null,
    memberCount: c.memberCount,
    currentRound: Number(c.currentRound),
    totalContributed: c.totalContributed.toString(),
    totalPaidOut: c.totalPaidOut.toString(),
    balance: (c.totalContributed - c.totalPaidOut).toString(),
    createdAtBlock: c.createdAtBlock,
    updatedAtBlock: c.updatedAtBlock,
  };
}

/** numeric columns arrive as strings from both drivers; normalise without going through floats. */
export const dec = (v: unknown) => BigInt(v as string).toString();
export const num = (v: unknown) => Number(v);

export type MemberRaw = { chama_id: string; member: string; position: number; joined_at_block: number; total_contributed: string; total_received: string; contributions: number };

export function presentMember(m: MemberRaw) {
  return {
    chamaId: dec(m.chama_id),
    address: m.member as `0x${string}`,
    position: num(m.position),
    joinedAtBlock: num(m.joined_at_block),
    totalContributed: dec(m.total_contributed),
    totalReceived: dec(m.total_received),
    contributions: num(m.contributions),
  };
}

/** A contribution or payout: the event's arguments and where it sits in the chain. */
function presentTransfer(t: Transfer) {
  return {
    chamaId: t.args.chamaId.toString(),
    amount: t.args.amount.toString(),
    round: Number(t.args.round),
    timestamp: Number(t.args.timestamp),
    blockNumber: t.blockNumber,
    txHash: t.txHash,
    logIndex: t.logIndex,
  };
}

export const presentContribution = (t: Transfer<'ContributionMade'>) => ({ ...presentTransfer(t), contributor: t.args.contributor });
export const presentPayout = (t: Transfer<'PayoutProcessed'>) => ({ ...presentTransfer(t), recipient: t.args.recipient });
