import postgres from 'postgres';
import type { Hex } from 'viem';
import { migrate, openDb } from '../src/store/db.ts';
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
 * COPY of `rows` rows shaped like ContributionMade events into the migrated `events` table of
 * a fresh database (same columns, keys and indexes as the indexer writes), and into a bare
 * copy of it without indexes. Rows are generated while they stream (cheaper than PostgreSQL
 * takes them, on the other core). Each row is what the indexer writes for such an event, about
 * 450 bytes: its topics NULL, as for every event whose topics are the canonical ones its chama
 * id and account make (store/events.ts), which every log of the bench chain's contract is. Until
 * 2026-12-04 these rows carried the three topics as a text[] literal, which PostgreSQL parses
 * with `array_in`: the bare COPY ran at 189,000-224,000 rows/s, against 321,000-350,000 for the
 * same rows with NULL topics (three pairs, one after the other), so the ceiling was understated.
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
  const started = performance.now();
  const stream = await sql`COPY ${sql(table)} (chain_id, block_number, block_hash, log_index, tx_hash, tx_index, address, event, chama_id, account, topics, data) FROM STDIN`.writable();
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', reject);
  });
  const address = '0x5fbdb2315678afecb367f032d93f642f64180aa3';
  const chunk = 5000;
  for (let start = 0; start < rows; start += chunk) {
    const lines: string[] = [];
    for (let i = start; i < Math.min(rows, start + chunk); i++) {
      const block = 1 + Math.floor(i / 10);
      const blockHash = `0x${block.toString(16).padStart(64, '0')}`;
      const txHash = `0x${(i * 7 + 1).toString(16).padStart(64, 'a')}`;
      const chamaId = 1 + (i % 1662);
      const account = `0x${(i % 5000).toString(16).padStart(40, 'b')}`;
      const data = `0x${'0'.repeat(50)}2386f26fc10000${'0'.repeat(63)}3${'0'.repeat(56)}6553f100`;
      lines.push(`31337\t${block}\t${blockHash}\t${i % 10}\t${txHash}\t0\t${address}\tContributionMade\t${chamaId}\t${account}\t\\N\t${data}\n`);
    }
    if (!stream.write(lines.join(''))) await new Promise((r) => stream.once('drain', r));
  }
  stream.end();
  await done;
  const seconds = (performance.now() - started) / 1000;
  return { seconds, perSecond: rows / seconds };
}
