import { encodeAbiParameters, encodeEventTopics, keccak256, toHex, type Address, type Hex } from 'viem';
import { chamaEventsAbi } from '../../src/decode/abi.ts';
import type { ChamaEvent } from '../../src/decode/event.ts';

/** The raw log an event decodes from: what the store keeps and decodes again on read. */
export function encodeLog(e: Pick<ChamaEvent, 'event' | 'args'>): { topics: Hex[]; data: Hex } {
  const item = chamaEventsAbi.find((i) => i.name === e.event)!;
  const args = e.args as Record<string, unknown>;
  const topics = encodeEventTopics({ abi: [item], eventName: e.event, args } as never) as Hex[];
  const plain = item.inputs.filter((i) => !('indexed' in i && i.indexed));
  const data = plain.length === 0 ? '0x' : encodeAbiParameters(plain, plain.map((i) => args[i.name!]));
  return { topics, data };
}

/**
 * Valid chama activity as decoded events, without a chain: creations before joins, one
 * contribution per member per round, a payout closing each round. Driven by a list of choices
 * (from fast-check) so failures shrink.
 */
export type Choice = { kind: 'create' | 'join' | 'contribute' | 'mine'; pick: number; size: number };

const accounts: Address[] = Array.from({ length: 6 }, (_, i) => `0x${(i + 1).toString(16).padStart(40, '0')}` as Address);
const contract = '0x00000000000000000000000000000000000c4a3a' as Address;

type Chama = { id: bigint; amount: bigint; max: number; members: Address[]; round: bigint; paid: Set<Address>; started: boolean };

export function blockHash(fork: string, n: number): Hex {
  return keccak256(toHex(`${fork}:${n}`));
}

export function synthesize(choices: readonly Choice[], options: { chainId: number; firstBlock: number; fork: string; chamas?: Map<bigint, Chama> }): { events: ChamaEvent[]; lastBlock: number; chamas: Map<bigint, Chama> } {
  const chamas = options.chamas ?? new Map<bigint, Chama>();
  const events: ChamaEvent[] = [];
  let block = options.firstBlock;
  let logIndex = 0;
  const emit = (e: Omit<ChamaEvent, 'chainId' | 'blockNumber' | 'blockHash' | 'logIndex' | 'txHash' | 'txIndex' | 'address' | 'topics' | 'data'>) => {
    events.push({
      ...e,
      chainId: options.chainId,
      blockNumber: block,
      blockHash: blockHash(options.fork, block),
      logIndex: logIndex++,
      txHash: keccak256(toHex(`${options.fork}:${block}:${logIndex}`)),
      txIndex: 0,
      address: contract,
      ...encodeLog(e as ChamaEvent),
    } as ChamaEvent);
  };
  for (const c of choices) {
    const list = [...chamas.values()];
    switch (c.kind) {
      case 'mine':
        block += 1 + (c.size % 3);
        logIndex = 0;
        break;
      case 'create': {
        const id = BigInt(chamas.size + 1);
        const creator = accounts[c.pick % accounts.length]!;
        const chama: Chama = { id, amount: BigInt(c.size + 1) * 10n ** 15n, max: 2 + (c.size % 3), members: [creator], round: 1n, paid: new Set(), started: false };
        chamas.set(id, chama);
        emit({ event: 'ChamaCreated', args: { chamaId: id, creator, name: `chama ${id}`, contributionAmount: chama.amount, maxMembers: BigInt(chama.max) } });
        emit({ event: 'MemberJoined', args: { chamaId: id, member: creator } });
        break;
      }
      case 'join': {
        const open = list.filter((ch) => !ch.started && ch.members.length < ch.max);
        const chama = open[c.pick % Math.max(1, open.length)];
        const member = chama && accounts.find((a, i) => i >= c.size % accounts.length && !chama.members.includes(a));
        if (!chama || !member) break;
        chama.members.push(member);
        emit({ event: 'MemberJoined', args: { chamaId: chama.id, member } });
        break;
      }
      case 'contribute': {
        const ready = list.filter((ch) => ch.members.length >= 2);
        const chama = ready[c.pick % Math.max(1, ready.length)];
        const member = chama?.members.find((m) => !chama.paid.has(m));
        if (!chama || !member) break;
        chama.started = true;
        chama.paid.add(member);
        emit({ event: 'ContributionMade', args: { chamaId: chama.id, contributor: member, amount: chama.amount, round: chama.round, timestamp: BigInt(1_700_000_000 + block) } });
        if (chama.paid.size === chama.members.length) {
          const recipient = chama.members[Number((chama.round - 1n) % BigInt(chama.members.length))]!;
          emit({ event: 'PayoutProcessed', args: { chamaId: chama.id, recipient, amount: chama.amount * BigInt(chama.members.length), round: chama.round, timestamp: BigInt(1_700_000_000 + block) } });
          chama.round += 1n;
          chama.paid.clear();
        }
        break;
      }
    }
  }
  return { events, lastBlock: block, chamas };
}
