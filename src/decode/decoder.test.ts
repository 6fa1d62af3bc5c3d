import { encodeAbiParameters, encodeEventTopics, numberToHex, pad, type Hex } from 'viem';
import fc from 'fast-check';
import { decodeEventLog } from 'viem';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../common/errors.ts';
import type { RpcLog } from '../rpc/client.ts';
import { chamaEventsAbi } from './abi.ts';
import { createDecoder, decodeStoredColumns } from './decoder.ts';
import { eventAccount, type ChamaEvent } from './event.ts';

const address = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const member = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function log(topics: Hex[], data: Hex, logIndex = 0): RpcLog {
  return { address, topics, data, blockNumber: '0x7', blockHash: pad('0x7', { size: 32 }), transactionHash: pad('0xabc', { size: 32 }), transactionIndex: '0x0', logIndex: numberToHex(logIndex), removed: false };
}

/** What a rebuild decodes: the stored columns (event, chama id, account, data), not the raw topics. */
const fromColumns = (e: ChamaEvent) => decodeStoredColumns(e.chainId, e.event, e.args.chamaId, eventAccount(e), { data: e.data, blockNumber: e.blockNumber, blockHash: e.blockHash, transactionHash: e.txHash, logIndex: e.logIndex, address: e.address });

describe('decoder', () => {
  it('decodes the four events with lower-case addresses and bigint values', () => {
    const decoder = createDecoder(1);
    const contribution = log(
      encodeEventTopics({ abi: chamaEventsAbi, eventName: 'ContributionMade', args: { chamaId: 3n, contributor: member } }) as Hex[],
      encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }], [10n ** 18n, 2n, 1_700_000_000n]),
    );
    const [event] = decoder.decode([contribution]);
    expect(event).toMatchObject({
      chainId: 1,
      blockNumber: 7,
      logIndex: 0,
      address: address.toLowerCase(),
      event: 'ContributionMade',
      args: { chamaId: 3n, contributor: member.toLowerCase(), amount: 10n ** 18n, round: 2n, timestamp: 1_700_000_000n },
    });
  });

  it('counts and skips logs with an unknown topic0', () => {
    const decoder = createDecoder(1);
    const unknown = log([pad('0xdead', { size: 32 })], '0x');
    expect(decoder.decode([unknown, unknown])).toEqual([]);
    expect(decoder.skipped).toBe(2);
  });

  it('a known event whose data does not decode is an error naming block, tx and log index', () => {
    const decoder = createDecoder(1);
    const broken = log(encodeEventTopics({ abi: chamaEventsAbi, eventName: 'ChamaCreated', args: { chamaId: 1n, creator: member } }) as Hex[], '0x1234', 5);
    let error: unknown;
    try {
      decoder.decode([broken]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DecodeError);
    expect((error as DecodeError).message).toMatch(/ChamaCreated log at block 7 tx 0x0+abc log index 5/);
    expect((error as DecodeError).context).toMatchObject({ chain_id: 1, block_number: 7, log_index: 5 });
  });

  it('a word that is not hex is not read as a number: it is an error naming the log', () => {
    const topics = encodeEventTopics({ abi: chamaEventsAbi, eventName: 'ContributionMade', args: { chamaId: 3n, contributor: member } }) as Hex[];
    const data = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }], [1n, 2n, 3n]);
    const notHex = `${data.slice(0, 60)}zz${data.slice(62)}` as Hex;
    expect(() => createDecoder(1).decode([log(topics, notHex, 9)])).toThrow(DecodeError);
    expect(createDecoder(1).decode([log(topics, data)])[0]!.args).toMatchObject({ amount: 1n, round: 2n, timestamp: 3n });
  });

  it('small words, read in place and remembered, are the same numbers in either case of hex, and a stray character is an error', () => {
    const topics = encodeEventTopics({ abi: chamaEventsAbi, eventName: 'ContributionMade', args: { chamaId: 3n, contributor: member } }) as Hex[];
    // Around the 48-bit halves and the 96 bits read in place, in upper case as a node may write
    // hex, and words that fall in the same slot of the words remembered (5 is 0|5, 1029 is 0|1029,
    // 2^48 + 4 is 1|4 and 2^48 + 1028 is 1|1028: the sum of the halves is 5 modulo 1024).
    const small = fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 48n - 1n }),
      fc.bigInt({ min: 2n ** 48n - 2n, max: 2n ** 48n + 2n }),
      fc.bigInt({ min: 0n, max: 2n ** 96n - 1n }),
      fc.bigInt({ min: 2n ** 96n - 2n, max: 2n ** 96n + 2n }),
      fc.constantFrom(0n, 15n, 16n, 2n ** 52n, 5n, 1029n, 2n ** 48n + 4n, 2n ** 48n + 1028n),
    );
    fc.assert(
      fc.property(small, small, small, fc.boolean(), (a, b, c, upper) => {
        const data = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }], [a, b, c]);
        const written = (upper ? `0x${data.slice(2).toUpperCase()}` : data) as Hex;
        expect(createDecoder(1).decode([log(topics, written)])[0]!.args).toMatchObject({ amount: a, round: b, timestamp: c });
      }),
      { numRuns: 1000 },
    );
    const data = encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }], [1n, 2n, 3n]);
    // A control character whose code, with the case bit set, would read as a digit.
    for (const stray of ['\u0010', '\u0019', 'g', 'G', '@', '`']) {
      const bad = `${data.slice(0, 2 + 64 + 60)}${stray}${data.slice(2 + 64 + 61)}` as Hex;
      expect(() => createDecoder(1).decode([log(topics, bad, 9)])).toThrow(DecodeError);
    }
  });

  it('logs that repeat the data of the log before decode to their own words, whatever came between', () => {
    const uint = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
    const transfer = fc.tuple(fc.constantFrom('ContributionMade', 'PayoutProcessed', 'MemberJoined'), fc.constantFrom(0, 1, 2), fc.boolean());
    fc.assert(
      fc.property(fc.array(fc.tuple(uint, uint, uint), { minLength: 3, maxLength: 3 }), fc.array(transfer, { maxLength: 12 }), (values, picks) => {
        const datas = values.map((v) => encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }], v));
        const logs = picks.map(([eventName, i, copy]) => {
          const args = eventName === 'ContributionMade' ? { chamaId: 1n, contributor: member } : eventName === 'PayoutProcessed' ? { chamaId: 1n, recipient: member } : { chamaId: 1n, member };
          // Equal data as the same string (what the RPC checks hand on) or as a copy of it.
          const data = eventName === 'MemberJoined' ? '0x' : copy ? (` ${datas[i]!}`.slice(1) as Hex) : datas[i]!;
          return log(encodeEventTopics({ abi: chamaEventsAbi, eventName, args } as never) as Hex[], data);
        });
        const decoded = createDecoder(1).decode(logs).map((e) => e.args);
        const lower = (args: object) => Object.fromEntries(Object.entries(args).map(([k, v]) => [k, typeof v === 'string' ? v.toLowerCase() : v]));
        expect(decoded).toEqual(logs.map((l) => lower(decodeEventLog({ abi: chamaEventsAbi, data: l.data, topics: l.topics as [Hex, ...Hex[]], strict: true }).args)));
      }),
      { numRuns: 300 },
    );
  });

  it('the fast path decodes exactly what viem decodes (random arguments, any string)', () => {
    const decoder = createDecoder(1);
    const uint = fc.bigInt({ min: 0n, max: 2n ** 256n - 1n });
    const addr = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex);
    fc.assert(
      fc.property(uint, addr, fc.string({ unit: 'grapheme', maxLength: 80 }), uint, uint, uint, (chamaId, who, name, a, b, c) => {
        const logs = [
          log(encodeEventTopics({ abi: chamaEventsAbi, eventName: 'ChamaCreated', args: { chamaId, creator: who } }) as Hex[], encodeAbiParameters([{ type: 'string' }, { type: 'uint256' }, { type: 'uint256' }], [name, a, b])),
          log(encodeEventTopics({ abi: chamaEventsAbi, eventName: 'MemberJoined', args: { chamaId, member: who } }) as Hex[], '0x'),
          log(encodeEventTopics({ abi: chamaEventsAbi, eventName: 'PayoutProcessed', args: { chamaId, recipient: who } }) as Hex[], encodeAbiParameters([{ type: 'uint256' }, { type: 'uint256' }, { type: 'uint256' }], [a, b, c])),
        ];
        const ours = decoder.decode(logs).map((e) => e.args);
        const theirs = logs.map((l) => {
          const d = decodeEventLog({ abi: chamaEventsAbi, data: l.data, topics: l.topics as [Hex, ...Hex[]], strict: true }).args as Record<string, unknown>;
          return Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === 'string' && k !== 'name' ? v.toLowerCase() : v]));
        });
        expect(ours).toEqual(theirs);
        for (const e of decoder.decode(logs)) expect(fromColumns(e)).toEqual(e.args);
      }),
      { numRuns: 300 },
    );
  });

  it('values it has seen come back the same, in any case of hex and past the limit of what it keeps', () => {
    // The account topic as the node wrote it, in any case of hex.
    const topicsOf = (chamaId: bigint, who: Hex) => [...(encodeEventTopics({ abi: chamaEventsAbi, eventName: 'MemberJoined', args: { chamaId, member: who.toLowerCase() as Hex } }) as Hex[]).slice(0, 2), `0x${'0'.repeat(24)}${who.slice(2)}` as Hex];
    const members = [member, member.toUpperCase().replace('0X', '0x'), '0x00000000000000000000000000000000000000aa', '0x00000000000000000000000000000000000000Bb'] as Hex[];
    const logs = [0n, 1n, 2n, 1n, 0n, 3n, 2n].flatMap((chamaId, i) => members.map((who, j) => ({ ...log(topicsOf(chamaId, who), '0x', i * 10 + j), address: (j % 2 ? address.toUpperCase().replace('0X', '0x') : address) as Hex })));
    const keeping = createDecoder(1, { internLimit: 3 });
    const once = logs.flatMap((l) => createDecoder(1).decode([l]));
    expect(keeping.decode(logs)).toEqual(once);
    expect(keeping.decode(logs)).toEqual(once);
    expect(new Set(once.map((e) => e.address))).toEqual(new Set([address.toLowerCase()]));
    expect(once.map((e) => (e.args as { member: Hex }).member).slice(0, 4)).toEqual(members.map((m) => m.toLowerCase()));
  });

  it('a non-canonical encoding still decodes through the strict decoder', () => {
    const decoder = createDecoder(1);
    const topics = encodeEventTopics({ abi: chamaEventsAbi, eventName: 'ChamaCreated', args: { chamaId: 9n, creator: member } }) as Hex[];
    // The string placed after an extra zero word: valid ABI, not what the fast path accepts.
    const data = `0x${[0x80n, 5n, 3n, 0n, 2n].map((w) => w.toString(16).padStart(64, '0')).join('')}${Buffer.from('hi').toString('hex').padEnd(64, '0')}` as Hex;
    const [event] = decoder.decode([log(topics, data)]);
    expect(event?.args).toMatchObject({ chamaId: 9n, name: 'hi', contributionAmount: 5n, maxMembers: 3n });
    expect(fromColumns(event!)).toEqual(event!.args);
  });
});
