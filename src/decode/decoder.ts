import { decodeEventLog, type Hex, type Log } from 'viem';
import { chamaEventsAbi, chamaTopics } from './abi.ts';
import type { ChamaEvent } from './event.ts';
import { DecodeError } from '../common/errors.ts';

export type Decoder = {
  /** Decodes logs in order. Unknown topic0: counted in `skipped` and left out. */
  decode(logs: readonly Log[]): ChamaEvent[];
  readonly skipped: number;
};

/**
 * ABI decoding with a precomputed entry per topic0. A log whose topic0 is ours but whose data
 * does not decode is not skipped: it is an error naming block, tx and log index, because
 * dropping it would make every projection silently wrong.
 */
export function createDecoder(chainId: number): Decoder {
  const byTopic = new Map(chamaTopics.map((t, i) => [t, chamaEventsAbi[i]!]));
  let skipped = 0;
  return {
    get skipped() {
      return skipped;
    },
    decode(logs) {
      const out: ChamaEvent[] = [];
      for (const log of logs) {
        const topic0 = log.topics[0];
        const item = topic0 && byTopic.get(topic0);
        if (!item) {
          skipped++;
          continue;
        }
        out.push(decodeOne(chainId, log, item));
      }
      return out;
    },
  };
}

function decodeOne(chainId: number, log: Log, item: (typeof chamaEventsAbi)[number]): ChamaEvent {
  if (log.blockNumber === null || log.logIndex === null || log.blockHash === null || log.transactionHash === null) {
    throw new DecodeError('pending log (no block) in a confirmed range', { chain_id: chainId, address: log.address, tx_hash: log.transactionHash });
  }
  let decoded;
  try {
    decoded = decodeEventLog({ abi: [item], data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true });
  } catch (cause) {
    throw new DecodeError(
      `cannot decode ${item.name} log at block ${log.blockNumber} tx ${log.transactionHash} log index ${log.logIndex}: ${(cause as Error).message.split('\n')[0]}`,
      { chain_id: chainId, block_number: log.blockNumber, block_hash: log.blockHash, tx_hash: log.transactionHash, log_index: log.logIndex, address: log.address },
      { cause },
    );
  }
  const args = Object.fromEntries(Object.entries(decoded.args as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' && /^0x[0-9a-fA-F]{40}$/.test(v) && k !== 'name' ? v.toLowerCase() : v]));
  return {
    chainId,
    blockNumber: Number(log.blockNumber),
    blockHash: log.blockHash,
    logIndex: Number(log.logIndex),
    txHash: log.transactionHash,
    txIndex: Number(log.transactionIndex ?? 0),
    address: log.address.toLowerCase() as Hex,
    topics: log.topics as Hex[],
    data: log.data,
    event: decoded.eventName,
    args,
  } as ChamaEvent;
}
