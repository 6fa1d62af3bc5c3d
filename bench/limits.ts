import postgres from 'postgres';
import type { Hex } from 'viem';
import { canonicalTopics } from '../src/decode/decoder.ts';
import type { ChamaEvent } from '../src/decode/event.ts';
import { migrate, openDb } from '../src/store/db.ts';
import type { CopyWrite } from '../src/store/bulk.ts';
import { eventCopy } from '../src/store/events.ts';
import { hexNumber } from './jsonrpc.ts';

/**
 * The machine's ceilings, measured on the same chain and database server as the indexer:
 * what the node serves (plain eth_getLogs, nothing decoded) and what PostgreSQL takes (COPY).
 */

/** Every log of the contract over [0, head] with ranged eth_getLogs, `parallel` at a time: logs/s. */
export async function measureRpcLimit(args: { rpcUrl: string; address: Hex; head: number; rangeBlocks?: number; parallel?: number }): Promise<{ events: number; seconds: number; perSecond: number; perBlock: Uint32Array }> {
  const { rpcUrl, address, head, rangeBlocks = 2000, parallel = 4 } = args;
  const ranges: [number, number][] = [];
  for (let from = 0; from <= head; from += rangeBlocks) ranges.push([from, Math.min(head, from + rangeBlocks - 1)]);
  let next = 0;
  let events = 0;
  const perBlock = new Uint32Array(head + 1);
  const started = performance.now();
  const worker = async () => {
    while (next < ranges.length) {
      const [from, to] = ranges[next++]!;
      const body = JSON.stringify({ jsonrpc: '2.0', id: from, method: 'eth_getLogs', params: [{ address, fromBlock: hexNumber(from), toBlock: hexNumber(to) }] });
      const res = await fetch(rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const parsed = (await res.json()) as { result?: { blockNumber: string }[]; error?: { message: string } };
      if (!parsed.result) throw new Error(`eth_getLogs ${from}..${to}: ${parsed.error?.message}`);
      events += parsed.result.length;
      for (const log of parsed.result) perBlock[Number(log.blockNumber)]!++;
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  const seconds = (performance.now() - started) / 1000;
  return { events, seconds, perSecond: events / seconds, perBlock };
}

/**
 * The widest eth_getLogs range (of a few round sizes) whose answer stays under `maxLogs` logs
 * wherever it starts: the indexer's RPC client takes answers up to 64 MiB (about 90,000 logs of
 * ~740 bytes) and splits a range that is refused; 40,000 logs keeps one answer near 30 MB.
 */
export function safeBlockRange(perBlock: Uint32Array, maxLogs = 40_000): { blocks: number; maxLogs: number } {
  const prefix = new Float64Array(perBlock.length + 1);
  for (let i = 0; i < perBlock.length; i++) prefix[i + 1] = prefix[i]! + perBlock[i]!;
  let densest = 0;
  for (const blocks of [10_000, 5_000, 2_000, 1_000, 500, 200, 100, 50, 20, 10, 5, 2, 1]) {
    densest = 0;
    for (let end = Math.min(blocks, perBlock.length); end <= perBlock.length; end++) densest = Math.max(densest, prefix[end]! - prefix[Math.max(0, end - blocks)]!);
    if (densest <= maxLogs) return { blocks, maxLogs: densest };
  }
  return { blocks: 1, maxLogs: densest };
}

/**
 * COPY of `rows` rows of ContributionMade events into the migrated `events` table of a fresh
 * database (same columns, keys and indexes as the indexer writes), and into a bare copy of it
 * without indexes. The rows are the indexer's own (`eventCopy`, binary, about 510 bytes an
 * event), rendered before the clock starts.
 * Until 2026-12-04 this wrote hand-made text rows that carried the three topics as a text[]
 * literal, which PostgreSQL parses with `array_in` and the indexer never sends (it writes NULL
 * for the canonical topics every log of the bench chain's contract has): 189,000-224,000
 * rows/s bare, against 321,000-350,000 for the same text rows with NULL topics (three pairs),
 * so the ceiling was understated.
 */
export async function measureDbLimit(databaseUrl: string, rows: number): Promise<{ indexed: { seconds: number; perSecond: number }; bare: { seconds: number; perSecond: number } }> {
  const db = await openDb({ databaseUrl });
  await migrate(db);
  await db.close();
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    await sql`CREATE TABLE events_bare (LIKE events)`;
    const indexed = await copyRows(sql, 'events', rows);
    const bare = await copyRows(sql, 'events_bare', rows);
    return { indexed, bare };
  } finally {
    await sql.end();
  }
}

async function copyRows(sql: postgres.Sql, table: string, rows: number): Promise<{ seconds: number; perSecond: number }> {
  // Rendered before the clock starts: making the events and their rows cost this process more
  // than PostgreSQL spends taking them (121,000-137,000 rows/s rendered while streaming).
  const writes: CopyWrite[] = [];
  for (let from = 0; from < rows; from += 5000) {
    const events: ChamaEvent[] = [];
    for (let i = from; i < Math.min(rows, from + 5000); i++) events.push(contribution(i));
    writes.push(eventCopy(events)!);
  }
  const first = writes[0]!;
  const statement = first.copy.replace(/^COPY events /, `COPY ${table} `);
  if (!statement.startsWith(`COPY ${table} `)) throw new Error(`cannot aim the indexer's COPY at ${table}: ${first.copy}`);
  const started = performance.now();
  const stream = await sql.unsafe(statement).writable();
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  stream.write(first.start);
  for (const { data } of writes) if (!stream.write(data)) await new Promise((r) => stream.once('drain', r));
  stream.end();
  await done;
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSecond: rows / seconds };
}

const contract = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
const amount = 10n ** 16n;
/** The `i`th of a run of contributions: ten a block, 1,662 chamas, 5,000 accounts. */
function contribution(i: number): ChamaEvent {
  const block = 1 + Math.floor(i / 10);
  const chamaId = BigInt(1 + (i % 1662));
  const contributor = `0x${(i % 5000).toString(16).padStart(40, 'b')}` as Hex;
  const round = BigInt(1 + (i % 7));
  const timestamp = BigInt(1_700_000_000 + block);
  const word = (n: bigint) => n.toString(16).padStart(64, '0');
  return {
    chainId: 31337,
    blockNumber: block,
    blockHash: `0x${block.toString(16).padStart(64, '0')}`,
    logIndex: i % 10,
    txHash: `0x${(i * 7 + 1).toString(16).padStart(64, 'a')}`,
    txIndex: 0,
    address: contract,
    topics: canonicalTopics('ContributionMade', chamaId, contributor),
    data: `0x${word(amount)}${word(round)}${word(timestamp)}`,
    event: 'ContributionMade',
    args: { chamaId, contributor, amount, round, timestamp },
  };
}
