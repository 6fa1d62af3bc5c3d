import type { Address } from 'viem';
import type { Config } from '../config.ts';
import { FatalError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { createProgress } from '../common/progress.ts';
import { resolveChainId } from '../indexer/index.ts';
import { openDatabase } from '../main.ts';
import { createRpc, type Rpc } from '../rpc/client.ts';
import type { Db } from '../store/db.ts';
import { acquireWriterLock } from '../store/lock.ts';
import { repair } from './repair.ts';
import { resync, type ResyncSummary } from './resync.ts';
import { verifyChain, type VerifyReport } from './verify.ts';

/** The operator CLI commands (SPEC §3 verify, resync): wiring, locking, progress and output. */

type Context = { db: Db; rpc: Rpc; chainId: number; addresses: Address[]; close(): Promise<void> };

async function connect(config: Config, logger: Logger): Promise<Context> {
  if (config.rpcUrls.length === 0) throw new FatalError('RPC_URL is not set: verify and resync read the chain', {});
  const db = await openDatabase(config, logger);
  try {
    const rpc = createRpc({ urls: config.rpcUrls, logger: logger.child({ module: 'rpc' }) });
    const chainId = await resolveChainId(rpc, config.chainId);
    return { db, rpc, chainId, addresses: config.chamaAddresses, close: () => db.close() };
  } catch (error) {
    await db.close();
    throw error;
  }
}

/** Takes the writer lock for a command that writes, or fails at once if an indexer is writing. */
async function withWriterLock<T>(ctx: Context, logger: Logger, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireWriterLock({ db: ctx.db, chainId: ctx.chainId, logger, timeoutMs: 3000, retryMs: 500 });
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

export async function runVerify(config: Config, logger: Logger, options: { chamaId?: bigint; repair: boolean; out: NodeJS.WritableStream }): Promise<number> {
  const ctx = await connect(config, logger);
  try {
    const progress = createProgress({ label: 'verify', unit: 'chamas', logger });
    const scope = options.chamaId === undefined ? {} : { chamaId: options.chamaId };
    const report = await verifyChain({ ...ctx, ...scope, logger, onProgress: (d, t) => progress.update(d, t) });
    progress.stop();
    printReport(options.out, report);
    if (!options.repair || (report.mismatches.length === 0 && report.errors.length === 0)) return outcome(report);
    const result = await withWriterLock(ctx, logger, () => repair({ ...ctx, ...scope, startBlock: config.startBlock, maxBlockRange: config.maxBlockRange, logger, report }));
    options.out.write(`\nrepair: re-folded ${result.refolded.length} chama(s) from their events; resynced ${result.resynced.length} time(s)\n`);
    for (const r of result.resynced) printResync(options.out, r);
    options.out.write('\nafter repair:\n');
    printReport(options.out, result.after);
    return outcome(result.after);
  } finally {
    await ctx.close();
  }
}

export async function runResync(config: Config, logger: Logger, options: { from: number; to?: number | undefined; out: NodeJS.WritableStream }): Promise<number> {
  const ctx = await connect(config, logger);
  try {
    const summary = await withWriterLock(ctx, logger, async () => {
      const progress = createProgress({ label: 'resync', unit: 'blocks', logger });
      const result = await resync({ ...ctx, from: options.from, to: options.to, maxBlockRange: config.maxBlockRange, logger, onProgress: (d, t) => progress.update(d, t) });
      progress.stop();
      return result;
    });
    printResync(options.out, summary);
    return 0;
  } finally {
    await ctx.close();
  }
}

const outcome = (report: VerifyReport) => (report.mismatches.length === 0 && report.errors.length === 0 ? 0 : 1);

function printReport(out: NodeJS.WritableStream, r: VerifyReport) {
  for (const m of r.mismatches) out.write(`${m.priority.padEnd(8)} ${m.kind.padEnd(28)} ${m.entity}  database=${m.dbValue ?? '(none)'}  chain=${m.chainValue ?? '(none)'}\n`);
  for (const e of r.errors) out.write(`ERROR    ${e.entity}  ${e.message}\n`);
  const critical = r.mismatches.filter((m) => m.priority === 'CRITICAL').length;
  out.write(
    `verified chain ${r.chainId} at block ${r.blockNumber} (${r.blockHash}), ${r.scope}: ${r.chamas} chama(s), ${r.members} member(s) in ${r.durationMs} ms: ` +
      `${r.mismatches.length} mismatch(es) (${critical} critical), ${r.errors.length} entity error(s)\n`,
  );
}

function printResync(out: NodeJS.WritableStream, s: ResyncSummary) {
  out.write(
    `resync of chain ${s.chainId} blocks ${s.from}..${s.to}${s.chamaId ? ` (chama ${s.chamaId})` : ''}: ${s.chainEvents} event(s) on chain, ${s.storedEvents} stored; ` +
      `missing ${s.missing}, extra ${s.extra}, different ${s.different}; re-folded ${s.refoldedChamas} chama(s) and ${s.refoldedAccounts} account(s) in ${s.durationMs} ms\n`,
  );
}
