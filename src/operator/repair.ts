import type { Address } from 'viem';
import type { Logger } from '../common/logger.ts';
import { refoldChamas } from '../projections/engine.ts';
import type { Rpc } from '../rpc/client.ts';
import type { Db } from '../store/db.ts';
import { chamasOfAccounts } from '../store/events.ts';
import { resync, type ResyncSummary } from './resync.ts';
import { verifyChain, type VerifyReport } from './verify.ts';

export type RepairResult = {
  before: VerifyReport;
  /** Chamas whose projections were re-folded from their (correct) stored events. */
  refolded: string[];
  /** Resyncs run because the stored events themselves disagreed with the chain. */
  resynced: ResyncSummary[];
  after: VerifyReport;
};

/**
 * The chain-wins repair: a chama whose projection disagrees while its stored events agree is
 * re-folded from the events; a chama whose events disagree has its events fetched again (every
 * log with its id as topic1, from START_BLOCK to the indexed block) and is then re-folded.
 * An account is the sum of its member rows: the chamas it has events or member rows in are
 * re-folded. Then it verifies again and reports what is left.
 * The caller holds the writer lock.
 */
export async function repair(args: { db: Db; rpc: Rpc; chainId: number; addresses: readonly Address[]; startBlock: number; maxBlockRange: number; chamaId?: bigint; logger: Logger; report: VerifyReport; signal?: AbortSignal }): Promise<RepairResult> {
  const { db, rpc, chainId, addresses, logger, report, signal } = args;
  const projectionOnly = new Map<string, { address: Address; chamaId: bigint }>();
  const eventsWrong = new Map<string, { address: Address; chamaId: bigint }>();
  const accounts = new Set<string>();
  let balanceOnly = false;
  for (const m of report.mismatches) {
    const [type, address, id] = m.entity.split(':');
    if ((type === 'chama' || type === 'member') && address && id) {
      const key = `${address}:${id}`;
      const target = m.kind.startsWith('events.') ? eventsWrong : projectionOnly;
      target.set(key, { address: address as Address, chamaId: BigInt(id) });
    } else if (type === 'account' && address) accounts.add(address);
    else if (m.kind === 'contract.balance') balanceOnly = true;
  }
  for (const key of eventsWrong.keys()) projectionOnly.delete(key);
  if (eventsWrong.size + projectionOnly.size > 0) balanceOnly = false;
  for (const chama of await chamasOfAccounts(db.orm, chainId, [...accounts])) {
    const key = `${chama.address}:${chama.chamaId}`;
    if (!eventsWrong.has(key)) projectionOnly.set(key, chama as { address: Address; chamaId: bigint });
  }

  const resynced: ResyncSummary[] = [];
  for (const { chamaId } of eventsWrong.values()) {
    if (signal?.aborted) break;
    resynced.push(await resync({ db, rpc, chainId, addresses, from: args.startBlock, chamaId, maxBlockRange: args.maxBlockRange, logger, ...(signal ? { signal } : {}) }));
  }
  if (balanceOnly && !signal?.aborted) {
    // The money is off but no chama says where: fetch the whole indexed range again.
    resynced.push(await resync({ db, rpc, chainId, addresses, from: args.startBlock, maxBlockRange: args.maxBlockRange, logger, ...(signal ? { signal } : {}) }));
  }
  if (projectionOnly.size > 0) await db.orm.transaction((tx) => refoldChamas(tx, chainId, [...projectionOnly.values()]));
  const refolded = [...projectionOnly.keys()];
  logger.info({ chain_id: chainId, refolded_chamas: refolded.length, refolded_accounts: accounts.size, resynced: resynced.length }, 'repair applied; verifying again');
  const after = await verifyChain({ db, rpc, chainId, addresses, logger, ...(args.chamaId === undefined ? {} : { chamaId: args.chamaId }) });
  return { before: report, refolded, resynced, after };
}
