import type { ChamaRow } from '../projections/rows.ts';

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
