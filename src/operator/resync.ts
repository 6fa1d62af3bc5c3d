import { sql } from 'drizzle-orm';
import { numberToHex, type Address } from 'viem';
import { FatalError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { chamaTopics } from '../decode/abi.ts';
import { createDecoder } from '../decode/decoder.ts';
import type { ChamaEvent } from '../decode/event.ts';
import { refoldChamas } from '../projections/engine.ts';
import { touchedKeys } from '../projections/fold.ts';
import type { Rpc } from '../rpc/client.ts';
import { createRangeSizer, fetchLogs } from '../source/log-ranges.ts';
import { readCursor } from '../store/chain-state.ts';
import { rows, type Db, type Tx } from '../store/db.ts';
import { eventColumnList, eventRecordsInRange, fromRecord, insertEvents, recordTopics, toRecord, type EventRecord } from '../store/events.ts';

export type ResyncSummary = {
  chainId: number;
  from: number;
  to: number;
  chamaId: string | null;
  chainEvents: number;
  storedEvents: number;
  /** On the chain, not in the database: inserted. */
  missing: number;
  /** In the database, not on the chain: moved to the reorg log. */
  extra: number;
  /** At the same position with other content: the stored one moved to the reorg log, the chain's inserted. */
  different: number;
  refoldedChamas: number;
  refoldedAccounts: number;
  durationMs: number;
};

export type ResyncArgs = {
  db: Db;
  rpc: Rpc;
  chainId: number;
  addresses: readonly Address[];
  from: number;
  to?: number | undefined;
  /** Only the events of this chama (topic1), e.g. when repairing one chama. */
  chamaId?: bigint;
  maxBlockRange: number;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (doneBlocks: number, totalBlocks: number) => void;
};

/**
 * Fetches a range again and makes the stored events match the chain (the chain wins): missing
 * events are inserted, extra and different ones move to the reorg log (never vanish), and every
 * chama and account they touch is re-folded. Works chunk by
 * chunk so memory stays flat on long ranges. The caller holds the writer lock.
 */
export async function resync(args: ResyncArgs): Promise<ResyncSummary> {
  const { db, rpc, chainId, addresses, chamaId, logger, signal, onProgress } = args;
  const started = performance.now();
  const cursor = await readCursor(db.orm, chainId);
  if (!cursor) throw new FatalError(`nothing is indexed yet for chain ${chainId}: run the indexer first`, { chain_id: chainId });
  const to = Math.min(args.to ?? cursor.blockNumber, cursor.blockNumber);
  if (args.from > to) throw new FatalError(`resync --from ${args.from} is above the indexed block ${to}`, { chain_id: chainId, from_block: args.from, block_number: to });
  const decoder = createDecoder(chainId);
  const sizer = createRangeSizer({ maxBlocks: args.maxBlockRange });
  const topic1 = chamaId === undefined ? undefined : numberToHex(chamaId, { size: 32 });
  const chunk = Math.max(args.maxBlockRange, 10_000);
  const summary: ResyncSummary = { chainId, from: args.from, to, chamaId: chamaId?.toString() ?? null, chainEvents: 0, storedEvents: 0, missing: 0, extra: 0, different: 0, refoldedChamas: 0, refoldedAccounts: 0, durationMs: 0 };
  const touched: ChamaEvent[] = [];

  for (let start = args.from; start <= to && !signal?.aborted; ) {
    const end = Math.min(to, start + chunk - 1);
    const logs = await fetchLogs({ rpc, addresses, topics: chamaTopics, ...(topic1 ? { topic1 } : {}), from: start, to: end, sizer, logger });
    const onChain = decoder.decode(logs);
    await db.orm.transaction(async (tx) => {
      const stored = (await eventRecordsInRange(tx, chainId, start, end, chamaId)).filter((r) => addresses.includes(r.address as Address));
      summary.chainEvents += onChain.length;
      summary.storedEvents += stored.length;
      const storedAt = new Map(stored.map((r) => [`${r.block_number}:${r.log_index}`, r]));
      const chainAt = new Set(onChain.map((e) => `${e.blockNumber}:${e.logIndex}`));
      const insert: ChamaEvent[] = [];
      const remove: EventRecord[] = [];
      for (const e of onChain) {
        const mine = storedAt.get(`${e.blockNumber}:${e.logIndex}`);
        if (!mine) {
          summary.missing++;
          insert.push(e);
        } else if (fingerprint(mine) !== fingerprint(toRecord(e))) {
          summary.different++;
          remove.push(mine);
          insert.push(e);
        }
      }
      for (const r of stored) {
        if (!chainAt.has(`${r.block_number}:${r.log_index}`)) {
          summary.extra++;
          remove.push(r);
        }
      }
      if (remove.length > 0) await moveToReorgLog(tx, chainId, start, end, remove);
      await insertEvents(tx, insert);
      const delta = insert.length - remove.length;
      if (delta !== 0) await tx.execute(sql`UPDATE cursor SET events_total = events_total + ${delta} WHERE chain_id = ${chainId}`);
      touched.push(...insert, ...remove.map(fromRecord));
    });
    onProgress?.(end - args.from + 1, to - args.from + 1);
    start = end + 1;
  }

  if (touched.length > 0) {
    const keys = touchedKeys(touched);
    await db.orm.transaction((tx) => refoldChamas(tx, chainId, keys.chamas));
    summary.refoldedChamas = keys.chamas.length;
    summary.refoldedAccounts = new Set(keys.members.map((m) => m.member)).size;
  }
  summary.durationMs = Math.round(performance.now() - started);
  logger[touched.length > 0 ? 'warn' : 'info'](
    { chain_id: chainId, from_block: summary.from, to_block: summary.to, chama_id: summary.chamaId, missing: summary.missing, extra: summary.extra, different: summary.different, refolded_chamas: summary.refoldedChamas, duration_ms: summary.durationMs },
    'resync finished',
  );
  return summary;
}

/**
 * What makes two records of the same position the same event. The hashes and data are stored as
 * bytes and read back in lower case, whatever case the node wrote them in.
 */
function fingerprint(r: EventRecord): string {
  return [r.block_hash.toLowerCase(), r.tx_hash.toLowerCase(), r.address, r.event, String(r.chama_id), r.account, recordTopics(r).join(','), r.data.toLowerCase()].join('|');
}

async function moveToReorgLog(tx: Tx, chainId: number, from: number, to: number, records: readonly EventRecord[]) {
  const [entry] = await rows<{ id: number }>(
    tx,
    sql`INSERT INTO reorgs (chain_id, ancestor_block, ancestor_hash, depth, old_hash, new_hash, old_tip, orphaned_events, reason)
        VALUES (${chainId}, ${Math.max(0, from - 1)}, '', 0, '', '', ${to}, ${records.length}, 'resync') RETURNING id`,
  );
  const list = eventColumnList();
  const keys = JSON.stringify(records.map((r) => ({ block_number: Number(r.block_number), log_index: Number(r.log_index) })));
  await tx.execute(
    sql`WITH moved AS (
          DELETE FROM events e USING jsonb_to_recordset(${keys}::jsonb) AS k(block_number int8, log_index int8)
          WHERE e.chain_id = ${chainId} AND e.block_number = k.block_number AND e.log_index = k.log_index RETURNING ${eventColumnList('e.')})
        INSERT INTO orphaned_events (reorg_id, ${list}) SELECT ${Number(entry!.id)}, ${list} FROM moved`,
  );
}
