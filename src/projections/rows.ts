import type { Address, Hex } from 'viem';

/** Projection rows as the reducers see them: exact integers as bigint, addresses lower-case. */
export type ChamaRow = {
  chainId: number;
  address: Address;
  chamaId: bigint;
  /** Null when the chama's ChamaCreated lies before the indexed range. */
  creator: Address | null;
  name: string | null;
  contributionAmount: bigint | null;
  maxMembers: bigint | null;
  memberCount: number;
  currentRound: bigint;
  totalContributed: bigint;
  totalPaidOut: bigint;
  createdAtBlock: number | null;
  updatedAtBlock: number;
};

export type MemberRow = {
  chainId: number;
  address: Address;
  chamaId: bigint;
  member: Address;
  /** Join order in the chama, from 1; 0 for an account that paid or was paid without a join we saw. */
  position: number;
  joinedAtBlock: number;
  totalContributed: bigint;
  totalReceived: bigint;
  contributions: number;
  updatedAtBlock: number;
};

export type AccountRow = {
  chainId: number;
  account: Address;
  chamas: number;
  totalContributed: bigint;
  totalReceived: bigint;
  updatedAtBlock: number;
};

export const chamaKey = (address: string, chamaId: bigint) => `${address}:${chamaId}`;
export const memberKey = (address: string, chamaId: bigint, member: string) => memberKeyOf(chamaKey(address, chamaId), member);
/** The same key from the chama's: one bigint-to-decimal conversion per event instead of two. */
export const memberKeyOf = (chamaKey: string, member: string) => `${chamaKey}:${member}`;
