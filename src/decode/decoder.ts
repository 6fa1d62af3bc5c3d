import { decodeEventLog, type Hex } from 'viem';
import { chamaEventsAbi, chamaTopics } from './abi.ts';
import type { ChamaEvent } from './event.ts';
import { DecodeError } from '../common/errors.ts';
import type { RpcLog } from '../rpc/client.ts';

export type Decoder = {
  /** Decodes logs in order. Unknown topic0: counted in `skipped` and left out. */
  decode(logs: readonly RpcLog[]): ChamaEvent[];
  readonly skipped: number;
};

type Item = (typeof chamaEventsAbi)[number];
type Args = ChamaEvent['args'];

/**
 * ABI decoding with a precomputed decoder per topic0. The four events have fixed layouts, so the
 * fast path reads the 32-byte words directly (about 20x faster than a generic decode, which
 * bounded the whole backfill) and accepts only the canonical encoding. Anything else goes
 * through viem's strict decoder, which either decodes it or says what is wrong. A log whose
 * topic0 is ours but that does not decode is not skipped: it is an error naming block, tx and
 * log index, because dropping it would make every projection silently wrong.
 */
export function createDecoder(chainId: number, { internLimit = INTERN_LIMIT }: { internLimit?: number } = {}): Decoder {
  const byTopic = new Map(chamaTopics.map((t, i) => [t, chamaEventsAbi[i]!]));
  const values: InternedValues = {
    address: interned((text) => text.toLowerCase() as Hex, internLimit),
    chamaId: interned(uintTopic, internLimit),
    account: interned(addressTopic, internLimit),
  };
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
        out.push(decodeOne(chainId, log, item, values));
      }
      return out;
    },
  };
}

/** Past this many values, an interning map starts again (a chain with more stays correct, a little slower). */
const INTERN_LIMIT = 100_000;

/**
 * The value a topic or address text stands for, made once per distinct text. A contract's logs
 * repeat a few thousand chamas and accounts: a hit is one lookup instead of new strings and a
 * bigint per log (the decoder's garbage over 1M events: 894 -> 688 MB), and hands the fold keys
 * whose hashes V8 has already computed.
 */
function interned<T>(make: (text: string) => T | undefined, limit: number): (text: string | undefined) => T | undefined {
  const known = new Map<string, T>();
  // The log before's, compared before hashing: a contract's address, a transaction's chama.
  let lastText: string | undefined;
  let lastValue: T | undefined;
  return (text) => {
    if (text === undefined) return undefined;
    if (text === lastText) return lastValue;
    let value = known.get(text);
    if (value === undefined) {
      value = make(text);
      if (value === undefined) return undefined;
      if (known.size >= limit) known.clear();
      known.set(text, value);
    }
    lastText = text;
    lastValue = value;
    return value;
  };
}
type InternedValues = { address: (text: string) => Hex | undefined; chamaId: (topic: string | undefined) => bigint | undefined; account: (topic: string | undefined) => Hex | undefined };

function decodeOne(chainId: number, log: RpcLog, item: Item, values: InternedValues): ChamaEvent {
  const blockNumber = Number(log.blockNumber);
  const logIndex = Number(log.logIndex);
  const args = fastArgs(item.name, log.topics, log.data, values) ?? slowArgs(chainId, { ...log, blockNumber, logIndex }, item);
  return {
    chainId,
    blockNumber,
    blockHash: log.blockHash,
    logIndex,
    txHash: log.transactionHash,
    txIndex: Number(log.transactionIndex),
    address: values.address(log.address)!,
    topics: log.topics as Hex[],
    data: log.data,
    event: item.name,
    args,
  } as ChamaEvent;
}

const WORD = 64;
/** The leading hex digits of a word whose value fits in the 24 digits after them (96 bits). */
const SMALL_WORD_ZEROS = '0'.repeat(WORD - 24);
const CACHE_SLOTS = 1024;
/**
 * Words seen lately, by their last 24 digits read as two 48-bit numbers: a contract repeats its
 * amounts, rounds and a block's timestamp, and a hit hands back the same bigint with nothing
 * made. Direct-mapped: a slot holds the last word that fell in it.
 */
const cachedHigh = new Float64Array(CACHE_SLOTS).fill(-1);
const cachedLow = new Float64Array(CACHE_SLOTS);
const cachedValue = new Array<bigint>(CACHE_SLOTS).fill(0n);
/**
 * The `i`th 32-byte word of `data` as a bigint. Amounts, rounds, timestamps and lengths are
 * small: their last 24 digits are read in place, with no slice, no `0x…` copy and no string for
 * `BigInt` to parse unless the value is new (three words of a contribution were about 500 bytes
 * of garbage; the backfill's main thread spent a fifth of its time collecting). A digit that is
 * not hex throws the SyntaxError that `BigInt` would, which sends the log to the strict decoder.
 * (With words up to 96 bits, a wei amount among them, and the words remembered: decode of the
 * bench chain's first 346k logs took 0.91-0.98 µs a log against 1.17-1.23 for 48 bits and
 * nothing remembered, the two interleaved in one process, the same values out.)
 */
function word(data: string, i: number): bigint {
  const start = 2 + i * WORD;
  if (!data.startsWith(SMALL_WORD_ZEROS, start) || data.length < start + WORD) return BigInt(`0x${data.slice(start, start + WORD)}`);
  const high = digits(data, start + WORD - 24);
  const low = digits(data, start + WORD - 12);
  const slot = (low + high) % CACHE_SLOTS;
  if (cachedLow[slot] === low && cachedHigh[slot] === high) return cachedValue[slot]!;
  const value = high === 0 ? BigInt(low) : (BigInt(high) << 48n) | BigInt(low);
  cachedHigh[slot] = high;
  cachedLow[slot] = low;
  cachedValue[slot] = value;
  return value;
}
/** The 12 hex digits of `data` from `start` as a number. */
function digits(data: string, start: number): number {
  let value = 0;
  for (let j = start; j < start + 12; j++) {
    const c = data.charCodeAt(j);
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) throw new SyntaxError(`not a hex digit at ${j} of the log's data`);
    value = value * 16 + digit;
  }
  return value;
}
/** An indexed address topic: 12 zero bytes, then the address. */
const addressTopic = (topic: string | undefined) => (topic && topic.length === 66 && topic.startsWith('0x000000000000000000000000') ? (`0x${topic.slice(26).toLowerCase()}` as Hex) : undefined);
const uintTopic = (topic: string | undefined) => (topic && topic.length === 66 ? BigInt(topic) : undefined);
const plainValues = { chamaId: uintTopic, account: addressTopic };

/** The canonical encodings only; undefined sends the log to the strict generic decoder. */
function fastArgs(name: Item['name'], topics: readonly Hex[], data: Hex, values: Pick<InternedValues, 'chamaId' | 'account'> = plainValues): Args | undefined {
  if (topics.length !== 3) return undefined;
  const chamaId = values.chamaId(topics[1]);
  const who = values.account(topics[2]);
  if (chamaId === undefined || who === undefined) return undefined;
  return fastDataArgs(name, chamaId, who, data);
}

/**
 * The arguments from the indexed ones, already known, and the canonical encoding of the rest.
 * `data` is hex: every log passed the RPC boundary's checks (rpc/client.ts), and stored data was
 * such a log's. A word that is not hex all the same makes `BigInt` throw, which sends the log to
 * the strict decoder; only the name's bytes are read without it, so only those are checked here.
 * (The pattern over every log's data was 0.2 µs a log.)
 */
function fastDataArgs(name: Item['name'], chamaId: bigint, who: Hex, data: Hex): Args | undefined {
  if (!data.startsWith('0x')) return undefined;
  const words = (data.length - 2) / WORD;
  try {
    switch (name) {
      case 'MemberJoined':
        return data === '0x' ? { chamaId, member: who } : undefined;
      case 'ContributionMade': {
        if (words !== 3) return undefined;
        const [amount, round, timestamp] = threeWords(data);
        return { chamaId, contributor: who, amount, round, timestamp };
      }
      case 'PayoutProcessed': {
        if (words !== 3) return undefined;
        const [amount, round, timestamp] = threeWords(data);
        return { chamaId, recipient: who, amount, round, timestamp };
      }
      case 'ChamaCreated':
        return creationArgs(chamaId, who, data, words);
    }
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

let lastData: string | undefined;
let lastWords: readonly [bigint, bigint, bigint] = [0n, 0n, 0n];
/**
 * The three words of a transfer's data, the log before's when the data is the same: the
 * contributions of a round carry the same amount, round and (in one block) timestamp, and the
 * RPC boundary hands such a log the very string of the log before (rpc/client.ts), so the
 * comparison is mostly one pointer. Over the bench chain 88% of logs repeat the data before them.
 */
function threeWords(data: string): readonly [bigint, bigint, bigint] {
  if (data !== lastData) {
    lastWords = [word(data, 0), word(data, 1), word(data, 2)];
    lastData = data;
  }
  return lastWords;
}

/** ChamaCreated's data: offset, amount, max members, then the name's length and bytes. */
function creationArgs(chamaId: bigint, who: Hex, data: Hex, words: number): Args | undefined {
  // Buffer.from(hex) stops at the first character that is not hex instead of failing.
  if (!/^0x[0-9a-fA-F]*$/.test(data) || words < 4 || !Number.isInteger(words) || word(data, 0) !== 0x60n) return undefined;
  const length = Number(word(data, 3));
  if (words !== 4 + Math.ceil(length / 32)) return undefined;
  const bytes = Buffer.from(data.slice(2 + 4 * WORD), 'hex');
  if (bytes.subarray(length).some((b) => b !== 0)) return undefined;
  const text = bytes.subarray(0, length).toString('utf8');
  return { chamaId, creator: who, name: text, contributionAmount: word(data, 1), maxMembers: word(data, 2) };
}

/** The log fields decoding reads, and the ones an error names (`blockHash` where it is at hand). */
/** A log's fields; a rebuild reads neither hash from the store (null), the position names the log. */
type LogFields = { topics: readonly Hex[]; data: Hex; blockNumber: number; blockHash: Hex | null; transactionHash: Hex | null; logIndex: number; address: Hex };

function decodeArgs(chainId: number, item: Item, log: LogFields): Args {
  return fastArgs(item.name, log.topics, log.data) ?? slowArgs(chainId, log, item);
}

const itemsByName = new Map(chamaEventsAbi.map((item) => [item.name as string, item]));

/**
 * The arguments of a stored event, decoded from its raw topics and data exactly as they were
 * decoded when it was indexed (the events table keeps the raw log, not a decoded copy).
 */
export function decodeStoredArgs(chainId: number, event: string, log: LogFields): Args {
  return decodeArgs(chainId, storedItem(chainId, event, log), log);
}

function storedItem(chainId: number, event: string, log: Pick<LogFields, 'blockNumber' | 'logIndex'>): Item {
  const item = itemsByName.get(event);
  if (!item) throw new DecodeError(`stored event has an unknown name ${JSON.stringify(event)}`, { chain_id: chainId, block_number: log.blockNumber, log_index: log.logIndex });
  return item;
}

const topicOf = new Map(chamaEventsAbi.map((item, i) => [item.name as string, chamaTopics[i]!]));

/**
 * The arguments of a stored event from its columns instead of its raw topics: `chama_id` and
 * `account` are the indexed arguments as decoded when it was indexed, and the canonical topics
 * they make decode to the same arguments as the raw ones did. For folds that read many events
 * (rebuild), which then need not read the topics at all.
 */
export function decodeStoredColumns(chainId: number, event: string, chamaId: bigint, account: Hex, log: Omit<LogFields, 'topics'>): Args {
  const item = storedItem(chainId, event, log);
  const fast = fastDataArgs(item.name, chamaId, account, log.data);
  if (fast) return fast;
  return slowArgs(chainId, { ...log, topics: canonicalTopics(event, chamaId, account) }, item);
}

/**
 * The topics a conforming contract emits for an event with these indexed arguments: topic0,
 * the chama id and the account, each one 32-byte word in lower-case hex.
 */
export function canonicalTopics(event: string, chamaId: bigint, account: Hex): [Hex, Hex, Hex] {
  return [canonicalTopic0(event), `0x${chamaId.toString(16).padStart(64, '0')}`, `0x${account.slice(2).toLowerCase().padStart(64, '0')}`];
}

/** topic0 of the Chama event with this name. */
export function canonicalTopic0(event: string): Hex {
  const topic0 = topicOf.get(event);
  if (!topic0) throw new DecodeError(`unknown event name ${JSON.stringify(event)}`);
  return topic0;
}

function slowArgs(chainId: number, log: LogFields, item: Item): Args {
  let decoded;
  try {
    decoded = decodeEventLog({ abi: [item], data: log.data, topics: log.topics as [Hex, ...Hex[]], strict: true });
  } catch (cause) {
    throw new DecodeError(
      `cannot decode ${item.name} log at block ${log.blockNumber}${log.transactionHash ? ` tx ${log.transactionHash}` : ''} log index ${log.logIndex}: ${(cause as Error).message.split('\n')[0]}`,
      { chain_id: chainId, block_number: log.blockNumber, block_hash: log.blockHash, tx_hash: log.transactionHash, log_index: log.logIndex, address: log.address },
      { cause },
    );
  }
  return Object.fromEntries(Object.entries(decoded.args as Record<string, unknown>).map(([k, v]) => [k, typeof v === 'string' && k !== 'name' && /^0x[0-9a-fA-F]{40}$/.test(v) ? v.toLowerCase() : v])) as Args;
}
