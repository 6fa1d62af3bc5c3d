import { sql, type SQL } from 'drizzle-orm';
import type { Address, Hex } from 'viem';
import type { ChamaEvent, FoldEvent } from '../decode/event.ts';
import { eventAccount } from '../decode/event.ts';
import { canonicalTopic0, canonicalTopics, decodeStoredArgs, decodeStoredColumns } from '../decode/decoder.ts';
import { accountKey, chamaIdKey } from '../../schema/index.ts';
import { appendRows, recordset, runBulk, type BulkWrite, type Column, type CopyWrite, type Value } from './bulk.ts';
import { rows, type Executor } from './db.ts';

export const eventColumns: readonly Column[] = [
  ['chain_id', 'int8'],
  ['block_number', 'int8'],
  ['block_hash', 'bytes'],
  ['log_index', 'int8'],
  ['tx_hash', 'bytes'],
  ['tx_index', 'int8'],
  ['address', 'hex'],
  ['event', 'text'],
  ['chama_id', 'numeric'],
  ['account', 'hex'],
  ['topics', 'text[]'],
  ['data', 'bytes'],
];
const columnType = new Map(eventColumns);

/** These columns of `events` (or `orphaned_events`), as stored: for moving rows from one to the other. */
export const eventColumnList = (prefix = '') => sql.raw(eventColumns.map(([n]) => `${prefix}"${n}"`).join(', '));
/**
 * These columns as an `EventRecord` has them: the bytea ones (hashes, log data) as `0x` hex text,
 * encoded by the server (one C call a value; the rows travel as text either way).
 */
export const eventReadList = (prefix = '', names: readonly string[] = eventColumns.map(([n]) => n)) =>
  sql.raw(names.map((n) => (columnType.get(n) === 'bytes' ? `'0x' || encode(${prefix}"${n}", 'hex') AS "${n}"` : `${prefix}"${n}"`)).join(', '));
const selectList = eventReadList();

/**
 * An `events` row's chama id or account equal to `value`, as the secondary indexes serve it:
 * their leading hash, then the value itself (a hash may collide).
 */
export const chamaIdIs = (value: SQL) => sql`${chamaIdKey(sql`chama_id`)} = ${chamaIdKey(value)} AND chama_id = ${value}`;
const accountIs = (value: SQL) => sql`${accountKey(sql`account`)} = ${accountKey(value)} AND account = ${value}`;

export type EventRecord = {
  chain_id: number;
  block_number: number;
  block_hash: string;
  log_index: number;
  tx_hash: string;
  tx_index: number;
  address: string;
  event: string;
  chama_id: string;
  account: string;
  /** NULL when they are the canonical topics of (event, chama_id, account): see `eventRows`. */
  topics: string[] | null;
  data: string;
};

export function toRecord(e: ChamaEvent): EventRecord {
  return {
    chain_id: e.chainId,
    block_number: e.blockNumber,
    block_hash: e.blockHash,
    log_index: e.logIndex,
    tx_hash: e.txHash,
    tx_index: e.txIndex,
    address: e.address,
    event: e.event,
    chama_id: e.args.chamaId.toString(),
    account: eventAccount(e),
    topics: e.topics,
    data: e.data,
  };
}

/** The raw topics of a stored event. */
export function recordTopics(r: EventRecord): [Hex, ...Hex[]] {
  return (r.topics as [Hex, ...Hex[]] | null) ?? canonicalTopics(r.event, BigInt(r.chama_id), r.account as Hex);
}

/** A stored row back to the event: the arguments are decoded from its raw topics and data. */
export function fromRecord(r: EventRecord): ChamaEvent {
  const chainId = Number(r.chain_id);
  const blockNumber = Number(r.block_number);
  const logIndex = Number(r.log_index);
  const topics = recordTopics(r);
  const args = decodeStoredArgs(chainId, r.event, { topics, data: r.data as Hex, blockNumber, blockHash: r.block_hash as Hex, transactionHash: r.tx_hash as Hex, logIndex, address: r.address as Address });
  return {
    chainId,
    blockNumber,
    blockHash: r.block_hash as Hex,
    logIndex,
    txHash: r.tx_hash as Hex,
    txIndex: Number(r.tx_index),
    address: r.address as Address,
    topics,
    data: r.data as Hex,
    event: r.event,
    args,
  } as ChamaEvent;
}

export async function insertEvents(ex: Executor, events: readonly ChamaEvent[]): Promise<void> {
  await runBulk(ex, [eventRows(events)]);
}

/**
 * The insert of these events, built ahead of the transaction that runs it. Topics are stored
 * only when they are not the canonical encoding of the event's name, chama id and account (the
 * columns next to them): for a conforming contract, never. That is four tenths of a row, and a
 * sixth of the backfill's time (measured).
 */
export function eventRows(events: readonly ChamaEvent[]): BulkWrite | undefined {
  // One array for every row: `appendRows` copies a row's values out before it asks for the next.
  const row: Value[] = new Array<Value>(eventColumns.length);
  return appendRows('events', eventColumns, events, (e) => {
    row[0] = e.chainId;
    row[1] = e.blockNumber;
    row[2] = e.blockHash;
    row[3] = e.logIndex;
    row[4] = e.txHash;
    row[5] = e.txIndex;
    row[6] = e.address;
    row[7] = e.event;
    row[8] = e.args.chamaId;
    row[9] = eventAccount(e);
    row[10] = hasCanonicalTopics(e) ? null : e.topics;
    row[11] = e.data;
    return row;
  });
}

/**
 * The rows as the writer's batch sends them: COPY data on PostgreSQL, which the server reads for
 * less CPU than the INSERT's array parameters (backend CPU 3.7-4.3 µs a row against 5.6-5.8,
 * 212k rows of the bench chain; `array_in` was a fifth of the server's time in a backfill);
 * the INSERT on PGlite.
 */
export function eventWrite(kind: 'postgres' | 'pglite', events: readonly ChamaEvent[]): BulkWrite | CopyWrite | undefined {
  return kind === 'postgres' ? eventCopy(events) : eventRows(events);
}

/**
 * The columns of a COPY row in the order `eventCopy` writes them: what the events of one
 * transaction share first (its block, itself, the contract, the event's name and chama id),
 * then what each has of its own.
 */
const copyColumns = ['chain_id', 'block_number', 'block_hash', 'tx_hash', 'tx_index', 'address', 'event', 'chama_id', 'log_index', 'account', 'topics', 'data'];
if ([...copyColumns].sort().join() !== eventColumns.map(([n]) => n).sort().join()) throw new Error('the COPY columns of events must be its columns');
const copyEvents = `COPY events (${copyColumns.map((n) => `"${n}"`).join(', ')}) FROM STDIN (FORMAT binary)`;
/** What opens binary COPY data: its signature, no flags, no header extension. */
const copyHeader = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TEXT_OID = 25;

/**
 * `eventRows` in COPY's binary format, written straight into the bytes the connection sends:
 * each field its length and its bytes, the integers as 8 bytes, the chama id as PostgreSQL's
 * numeric. The server reads no text for any of it: no scan for delimiters and escapes, no
 * `int8in` or `numeric_in`. The same 1M events of the bench chain, copied in from a file
 * by the server, took 2.97-3.11 s in binary against 3.85-4.10 s as text (three pairs, a table
 * with the primary key), 1 µs a row of PostgreSQL's CPU; in 1M backfills (three interleaved
 * pairs against the text rows) the server's CPU per event fell 0.6-1.3 µs and this process's
 * rose 0.2-0.5 µs: 511 bytes a row against 449 to send, for 0.78 µs an event to render against
 * 0.83. The hashes and data go as their bytes (bytea, migration 0013): about 345 bytes a row.
 * The strings are ASCII: hex that the RPC boundary validated (rpc/client.ts) and the event's
 * name from the ABI. A row whose first eight fields (`copyColumns`) are the row before's gets
 * them as one copy of that row's bytes instead of eight writes (native `latin1Write` and
 * `hexWrite` calls among them): three interleaved 1M backfills ran 3-8% faster with it, the
 * indexer's CPU 0.2-0.7 µs an event lower.
 */
export function eventCopy(events: readonly ChamaEvent[]): CopyWrite | undefined {
  if (events.length === 0) return undefined;
  // The field count, twelve lengths, four int8s, the numeric's longest (a uint256 in 20 base-10000
  // digits), then the strings and the bytes of the hex.
  let size = 0;
  const topics = new Array<readonly string[] | undefined>(events.length);
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    let t = 0;
    if (!hasCanonicalTopics(e)) {
      topics[i] = e.topics;
      t = 20;
      for (const topic of e.topics) t += 4 + topic.length;
    }
    size += 2 + 12 * 4 + 4 * 8 + 8 + 2 * 20 + (e.blockHash.length + e.txHash.length + e.data.length) / 2 + e.address.length + e.event.length + 42 + t;
  }
  const out = Buffer.allocUnsafe(size) as Latin1Buffer;
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  let o = 0;
  // Values that repeat from one event to the next are made into their fields' bytes once, held
  // as Latin-1 strings (a byte a character) that one `latin1Write` copies: the contract's
  // address with the event's name, the chama id.
  let address = '';
  let event = '';
  let addressEvent = '';
  let chamaId: bigint | undefined;
  let chamaIdField = '';
  // A row's first eight fields as the row before wrote them, copied when they are the same: the
  // events of a transaction share them all.
  let before: ChamaEvent | undefined;
  let shared = 0;
  let sharedLength = 0;
  // The data field as the row before wrote it: most transfers of a round carry the same data
  // (amount, round, timestamp), often as the very same string (rpc/client.ts).
  let data = '';
  let dataAt = 0;
  let dataLength = 0;
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (before !== undefined && e.txHash === before.txHash && e.blockHash === before.blockHash && e.blockNumber === before.blockNumber && e.txIndex === before.txIndex && e.chainId === before.chainId && e.address === before.address && e.event === before.event && e.args.chamaId === before.args.chamaId) {
      out.copyWithin(o, shared, shared + sharedLength);
      o += sharedLength;
    } else {
      shared = o;
      view.setInt16(o, 12);
      o = writeInt8(view, o + 2, e.chainId);
      o = writeInt8(view, o, e.blockNumber);
      o = writeBytes(out, view, o, e.blockHash);
      o = writeBytes(out, view, o, e.txHash);
      o = writeInt8(view, o, e.txIndex);
      if (e.address !== address || e.event !== event) {
        address = e.address;
        event = e.event;
        addressEvent = textField(address) + textField(event);
      }
      o += out.latin1Write(addressEvent, o);
      if (e.args.chamaId !== chamaId) {
        chamaId = e.args.chamaId;
        chamaIdField = field(numericBytes(chamaId));
      }
      o += out.latin1Write(chamaIdField, o);
      sharedLength = o - shared;
      before = e;
    }
    o = writeInt8(view, o, e.logIndex);
    o = writeText(out, view, o, eventAccount(e));
    const t = topics[i];
    if (t === undefined) {
      view.setInt32(o, -1);
      o += 4;
    } else o = writeTextArray(out, view, o, t);
    if (e.data === data) {
      out.copyWithin(o, dataAt, dataAt + dataLength);
      o += dataLength;
    } else {
      data = e.data;
      dataAt = o;
      o = writeBytes(out, view, o, data);
      dataLength = o - dataAt;
    }
  }
  if (o > size) throw new Error(`COPY rows overran their buffer (${o} of ${size} bytes)`);
  return { table: 'events', copy: copyEvents, start: copyHeader, data: out.subarray(0, o) };
}
/**
 * Node's Buffer writes a string's Latin-1 bytes at an offset through `latin1Write`, the method
 * `buf.write(text, offset, 'latin1')` ends in: called directly, 1.1 µs an event for the rows
 * here against 3.2 through `write` and its argument handling (bench/micro.ts).
 */
type Latin1Buffer = Buffer & { latin1Write(text: string, offset: number): number; hexWrite(text: string, offset: number, length: number): number };

/** A field of type int8 holding a non-negative safe integer: its length, then 8 bytes. */
function writeInt8(view: DataView, o: number, n: number): number {
  view.setInt32(o, 8);
  view.setUint32(o + 4, Math.floor(n / 0x1_0000_0000));
  view.setUint32(o + 8, n >>> 0);
  return o + 12;
}

/** A field of an ASCII string: its length, then its bytes. */
function writeText(out: Latin1Buffer, view: DataView, o: number, text: string): number {
  view.setInt32(o, text.length);
  return o + 4 + out.latin1Write(text, o + 4);
}

/**
 * A field of type bytea from `0x` hex (validated at the RPC boundary, so of even length): its
 * length, then the bytes, which Node's native `hexWrite` (what `buf.write(text, offset, 'hex')`
 * ends in) decodes in place.
 */
function writeBytes(out: Latin1Buffer, view: DataView, o: number, hex: string): number {
  const n = (hex.length - 2) >>> 1;
  view.setInt32(o, n);
  if (out.hexWrite(hex.slice(2), o + 4, n) !== n) throw new Error(`not hex bytes: ${hex.slice(0, 80)}`);
  return o + 4 + n;
}

/** A field of type text[]: one dimension from 1, no NULL elements (array_recv's layout). */
function writeTextArray(out: Latin1Buffer, view: DataView, o: number, texts: readonly string[]): number {
  const start = o;
  view.setInt32(o + 4, texts.length === 0 ? 0 : 1);
  view.setInt32(o + 8, 0);
  view.setUint32(o + 12, TEXT_OID);
  o += 16;
  if (texts.length > 0) {
    view.setInt32(o, texts.length);
    view.setInt32(o + 4, 1);
    o += 8;
  }
  for (const text of texts) o = writeText(out, view, o, text);
  view.setInt32(start, o - start - 4);
  return o;
}

/** A field's bytes (its length, then its value) as a Latin-1 string. */
const field = (value: Buffer) => {
  const length = Buffer.alloc(4);
  length.writeInt32BE(value.length);
  return Buffer.concat([length, value]).toString('latin1');
};
const textField = (text: string) => field(Buffer.from(text, 'latin1'));

/**
 * A non-negative integer as PostgreSQL's binary numeric (numeric_recv): the count of base-10000
 * digits kept, the weight of the first, the sign, the display scale, then the digits, most
 * significant first, without the zeros that end it.
 */
function numericBytes(n: bigint): Buffer {
  const digits: number[] = [];
  for (let m = n; m > 0n; m /= 10000n) digits.push(Number(m % 10000n));
  const weight = Math.max(0, digits.length - 1);
  let last = 0;
  while (last < digits.length && digits[last] === 0) last++;
  const kept = digits.slice(last).reverse();
  const bytes = Buffer.alloc(8 + 2 * kept.length);
  bytes.writeInt16BE(kept.length, 0);
  bytes.writeInt16BE(weight, 2);
  kept.forEach((digit, i) => bytes.writeInt16BE(digit, 8 + 2 * i));
  return bytes;
}

const addressPadding = '0x000000000000000000000000';

/**
 * Whether `canonicalTopics(event, chamaId, account)` gives back this event's topics, without
 * building them: the decoded chama id and account were read from topic1 and topic2, so those
 * are canonical exactly when they are lower-case words (and topic2 has an address's zero bytes).
 * Topics are 32-byte hex words (checked at the RPC boundary), so lower-case is all that is left
 * to see: `toLowerCase` hands back the same string when there is nothing to change (0.05 µs a
 * word, against 0.2 for a pattern).
 */
function hasCanonicalTopics(e: ChamaEvent): boolean {
  const topics = e.topics;
  if (topics.length !== 3) return false;
  const t1 = topics[1]!;
  const t2 = topics[2]!;
  return topics[0] === canonicalTopic0(e.event) && t1.toLowerCase() === t1 && t2.startsWith(addressPadding) && t2.toLowerCase() === t2;
}

/** Canonical events of these chamas, in chain order (optionally up to a block). */
export async function eventsOfChamas(ex: Executor, chainId: number, keys: readonly { address: string; chamaId: bigint }[], toBlock?: number): Promise<ChamaEvent[]> {
  if (keys.length === 0) return [];
  const upTo = toBlock === undefined ? sql`` : sql`AND block_number <= ${toBlock}`;
  // One index scan per chama (LATERAL, and OFFSET 0 so the planner cannot flatten it into a
  // join). As a plain join, once `events` has statistics, the few distinct chama ids make the
  // planner expect most of the table and hash-join a full scan of it: 316 ms of a 366 ms reorg
  // at 1M events, against about 2 ms.
  return selectEvents(
    ex,
    sql`FROM ${recordset([['address', 'text'], ['chama_id', 'numeric']], keys.map((k) => ({ address: k.address, chama_id: k.chamaId })))}
        CROSS JOIN LATERAL (SELECT * FROM events WHERE ${chamaIdIs(sql`r.chama_id`)} AND chain_id = ${chainId} AND address = r.address ${upTo} OFFSET 0) e`,
  );
}

/**
 * Canonical events whose topic2 is one of these accounts, in chain order (optionally up to a
 * block). One probe of `events_account_hash_idx` per account (a lateral subquery, as for chamas
 * above): as a plain join, with no statistics yet for the index's expression, the planner
 * hash-joined a scan of the whole table (296 ms against 7 at 200k events).
 */
export async function eventsOfAccounts(ex: Executor, chainId: number, accounts: readonly string[], toBlock?: number): Promise<ChamaEvent[]> {
  if (accounts.length === 0) return [];
  const upTo = toBlock === undefined ? sql`` : sql`AND block_number <= ${toBlock}`;
  return selectEvents(
    ex,
    sql`FROM ${recordset([['account', 'text']], accounts.map((account) => ({ account })))}
        CROSS JOIN LATERAL (SELECT * FROM events WHERE chain_id = ${chainId} AND ${accountIs(sql`r.account`)}
                            AND event <> 'ChamaCreated' ${upTo} OFFSET 0) e`,
  );
}

async function selectEvents(ex: Executor, from: SQL): Promise<ChamaEvent[]> {
  const list = eventReadList('e.');
  const found = await rows<EventRecord>(ex, sql`SELECT ${list} ${from} ORDER BY e.block_number, e.log_index`);
  return found.map(fromRecord);
}

/**
 * Pages of canonical events in chain order, for exports and checks; memory stays at two pages.
 * The next page is requested before this one is handed out, so the database reads it while the
 * caller works on this one.
 */
export function streamEvents(ex: Executor, chainId: number, options: PageOptions = {}): AsyncGenerator<ChamaEvent[]> {
  return pages(ex, chainId, selectList, fromRecord, options);
}

type FoldRecord = Pick<EventRecord, 'block_number' | 'log_index' | 'address' | 'event' | 'chama_id' | 'account' | 'data'>;
const foldColumns = ['block_number', 'log_index', 'address', 'event', 'chama_id', 'account', 'data'];
const foldList = eventReadList('', foldColumns);

/**
 * The same pages with only what the reducers read (a rebuild): the raw topics, the hashes and
 * the transaction index stay in the database, and the arguments are decoded from the columns.
 * The transaction hash left out made a 1M rebuild 11-15% faster (three runs each: 238-250k
 * events/s against 208-217k), the indexer being its bottleneck: one string less a row to make
 * and collect.
 */
export function streamFoldEvents(ex: Executor, chainId: number, options: PageOptions = {}): AsyncGenerator<FoldEvent[]> {
  return pages(ex, chainId, foldList, (r: FoldRecord) => toFoldEvent(chainId, r), options);
}

function toFoldEvent(chainId: number, r: FoldRecord, txHash: Hex | null = null): FoldEvent {
  const blockNumber = Number(r.block_number);
  const logIndex = Number(r.log_index);
  const args = decodeStoredColumns(chainId, r.event, BigInt(r.chama_id), r.account as Address, { data: r.data as Hex, blockNumber, blockHash: null, transactionHash: txHash, logIndex, address: r.address as Address });
  return { chainId, blockNumber, logIndex, address: r.address as Address, event: r.event, args } as FoldEvent;
}

/** A contribution or payout as the API lists it: the folded event and its transaction. */
export type Transfer<E extends 'ContributionMade' | 'PayoutProcessed' = 'ContributionMade' | 'PayoutProcessed'> = Extract<FoldEvent, { event: E }> & { txHash: Hex };
const transferList = eventReadList('', [...foldColumns, 'tx_hash']);

/**
 * A page of one chama's contributions or payouts, in chain order after a position. They are
 * read from `events` by its chama index: a copy in a table of their own cost a quarter of the
 * backfill's database time. `round` is the second word of the data in every encoding that
 * decodes (the arguments after the indexed ones are three static words).
 */
export async function transfersOfChama<E extends Transfer['event']>(
  ex: Executor,
  chainId: number,
  q: { address: string; chamaId: bigint; event: E; round?: number; account?: string; after?: readonly [number, number]; limit: number },
): Promise<Transfer<E>[]> {
  const round = q.round === undefined ? sql`` : sql`AND substr(data, 33, 32) = decode(${q.round.toString(16).padStart(64, '0')}, 'hex')`;
  const found = await rows<FoldRecord & { tx_hash: Hex }>(
    ex,
    sql`SELECT ${transferList} FROM events
        WHERE ${chamaIdIs(sql`${q.chamaId.toString()}::numeric`)} AND chain_id = ${chainId} AND address = ${q.address} AND event = ${q.event}
        ${round} ${q.account === undefined ? sql`` : sql`AND account = ${q.account}`}
        ${q.after ? sql`AND (block_number, log_index) > (${q.after[0]}, ${q.after[1]})` : sql``}
        ORDER BY block_number, log_index LIMIT ${q.limit}`,
  );
  return found.map((r) => ({ ...toFoldEvent(chainId, r, r.tx_hash), txHash: r.tx_hash }) as Transfer<E>);
}

type PageOptions = { pageSize?: number; fromBlock?: number; toBlock?: number };

async function* pages<R extends { block_number: number; log_index: number }, T>(ex: Executor, chainId: number, columns: SQL, map: (r: R) => T, options: PageOptions): AsyncGenerator<T[]> {
  const { pageSize = 20_000, fromBlock = 0, toBlock = Number.MAX_SAFE_INTEGER } = options;
  const read = (after: { block: number; logIndex: number }) => {
    const page = rows<R>(
      ex,
      sql`SELECT ${columns} FROM events
          WHERE chain_id = ${chainId} AND (block_number, log_index) > (${after.block}, ${after.logIndex}) AND block_number <= ${toBlock}
          ORDER BY block_number, log_index LIMIT ${pageSize}`,
    );
    page.catch(() => {}); // awaited below; a caller that stops early leaves it unread
    return page;
  };
  let next = read({ block: fromBlock - 1, logIndex: Number.MAX_SAFE_INTEGER });
  for (;;) {
    const page = await next;
    if (page.length === 0) return;
    const last = page[page.length - 1]!;
    const more = page.length === pageSize;
    if (more) next = read({ block: Number(last.block_number), logIndex: Number(last.log_index) });
    yield page.map(map);
    if (!more) return;
  }
}

export async function countEvents(ex: Executor, chainId: number): Promise<number> {
  const [row] = await rows<{ n: number }>(ex, sql`SELECT count(*)::int8 AS n FROM events WHERE chain_id = ${chainId}`);
  return Number(row?.n ?? 0);
}

/** Stored events in [from, to] (optionally of one chama id), in chain order, as stored records. */
export async function eventRecordsInRange(ex: Executor, chainId: number, from: number, to: number, chamaId?: bigint): Promise<EventRecord[]> {
  const only = chamaId === undefined ? sql`` : sql`AND chama_id = ${chamaId.toString()}`;
  return rows<EventRecord>(ex, sql`SELECT ${selectList} FROM events WHERE chain_id = ${chainId} AND block_number BETWEEN ${from} AND ${to} ${only} ORDER BY block_number, log_index`);
}

/**
 * The chamas in which these accounts have canonical events (as topic2), and those where they
 * still have a member row: an account's totals are the sum of its member rows in these.
 */
export async function chamasOfAccounts(ex: Executor, chainId: number, accounts: readonly string[]): Promise<{ address: string; chamaId: bigint }[]> {
  if (accounts.length === 0) return [];
  const set = recordset([['account', 'text']], accounts.map((account) => ({ account })));
  const found = await rows<{ address: string; chama_id: string }>(
    ex,
    sql`SELECT e.address, e.chama_id FROM ${set}
          CROSS JOIN LATERAL (SELECT address, chama_id FROM events WHERE chain_id = ${chainId} AND ${accountIs(sql`r.account`)}
                              AND event <> 'ChamaCreated' OFFSET 0) e
        UNION SELECT m.address, m.chama_id FROM members m JOIN ${set} ON m.member = r.account WHERE m.chain_id = ${chainId}`,
  );
  return found.map((r) => ({ address: r.address, chamaId: BigInt(r.chama_id) }));
}
