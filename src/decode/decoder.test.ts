import { encodeAbiParameters, encodeEventTopics, pad, type Hex, type Log } from 'viem';
import { describe, expect, it } from 'vitest';
import { DecodeError } from '../common/errors.ts';
import { chamaEventsAbi } from './abi.ts';
import { createDecoder } from './decoder.ts';

const address = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
const member = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';

function log(topics: Hex[], data: Hex, logIndex = 0): Log {
  return { address, topics: topics as [Hex, ...Hex[]], data, blockNumber: 7n, blockHash: pad('0x7', { size: 32 }), transactionHash: pad('0xabc', { size: 32 }), transactionIndex: 0, logIndex, removed: false };
}

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
    expect((error as DecodeError).context).toMatchObject({ chain_id: 1, block_number: 7n, log_index: 5 });
  });
});
