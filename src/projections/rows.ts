import type { Address } from 'viem';

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
  /** MemberJoined events of this member in this chama (1 for a conforming contract): an account's `chamas` is their sum. */
  joins: number;
  updatedAtBlock: number;
};

/**
 * An address across every chama. Not a table: every event that changes an account changes
 * exactly one of its member rows in the same way (a join, a payment, a payout), so an account is
 * the sum of its member rows, with the block of the latest one (`accountsOf` in fold.ts).
 */
export type AccountRow = {
  chainId: number;
  account: Address;
  chamas: number;
  totalContributed: bigint;
  totalReceived: bigint;
  updatedAtBlock: number;
};

/**
 * Row keys are memoized: the fold looks up two per event, and building each string anew (a
 * bigint printed in decimal, concatenations) and hashing it cost more than the fold's own work
 * (measured). The memo forgets everything past `MEMO_LIMIT` keys, so it stays bounded.
 */
const MEMO_LIMIT = 100_000;
const chamaMemo = new Map<string, Map<bigint, string>>();
const memberMemo = new Map<string, Map<string, string>>();
let memoized = 0;

function memo<K>(outer: Map<string, Map<K, string>>, first: string, second: K): string {
  let inner = outer.get(first);
  if (!inner) outer.set(first, (inner = new Map()));
  let key = inner.get(second);
  if (key === undefined) {
    if (++memoized > MEMO_LIMIT) {
      chamaMemo.clear();
      memberMemo.clear();
      memoized = 1;
      outer.set(first, (inner = new Map()));
    }
    key = `${first}:${second}`;
    inner.set(second, key);
  }
  return key;
}

export const chamaKey = (address: string, chamaId: bigint): string => memo(chamaMemo, address, chamaId);
export const memberKey = (address: string, chamaId: bigint, member: string) => memberKeyOf(chamaKey(address, chamaId), member);
/** The same key from the chama's. */
export const memberKeyOf = (chamaKey: string, member: string): string => memo(memberMemo, chamaKey, member);
