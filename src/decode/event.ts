import type { Address, Hex } from 'viem';

/** Where an event sits in the chain; events are folded in this order. */
export type EventPosition = { blockNumber: number; logIndex: number };

export type EventBase = EventPosition & {
  chainId: number;
  blockHash: Hex;
  txHash: Hex;
  txIndex: number;
  /** The emitting contract, lower-case. */
  address: Address;
  topics: Hex[];
  data: Hex;
};

/** The event's name and decoded arguments. Addresses are lower-case; uint256 values are bigints. */
export type ChamaArgs =
  | { event: 'ChamaCreated'; args: { chamaId: bigint; creator: Address; name: string; contributionAmount: bigint; maxMembers: bigint } }
  | { event: 'MemberJoined'; args: { chamaId: bigint; member: Address } }
  | { event: 'ContributionMade'; args: { chamaId: bigint; contributor: Address; amount: bigint; round: bigint; timestamp: bigint } }
  | { event: 'PayoutProcessed'; args: { chamaId: bigint; recipient: Address; amount: bigint; round: bigint; timestamp: bigint } };

/** A decoded Chama event with its raw log. */
export type ChamaEvent = EventBase & ChamaArgs;

/** What the reducers read of an event: a rebuild streams just this much from the store. */
export type FoldEvent = Pick<EventBase, 'chainId' | 'blockNumber' | 'logIndex' | 'address'> & ChamaArgs;

/** The account of topic2: creator, member, contributor or recipient. */
export function eventAccount(e: ChamaArgs): Address {
  switch (e.event) {
    case 'ChamaCreated':
      return e.args.creator;
    case 'MemberJoined':
      return e.args.member;
    case 'ContributionMade':
      return e.args.contributor;
    case 'PayoutProcessed':
      return e.args.recipient;
    default:
      return never(e);
  }
}

export function comparePosition(a: EventPosition, b: EventPosition): number {
  return a.blockNumber - b.blockNumber || a.logIndex - b.logIndex;
}

export function never(value: never): never {
  throw new Error(`unhandled case: ${JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
}
