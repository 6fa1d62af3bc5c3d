import type { Hex } from 'viem';
import type { ApiDeps } from './api/deps.ts';
import { createMutex } from './common/mutex.ts';
import { createJobRunner } from './jobs/index.ts';
import type { Config } from './config.ts';
import { FatalError, errorFields } from './common/errors.ts';
import type { Logger } from './common/logger.ts';
import { createIndexer, resolveChainId, type Indexer } from './indexer/index.ts';
import { createRpc, type Rpc } from './rpc/client.ts';
import { migrate, openDb, redactUrl, type Db } from './store/db.ts';
import { forgetChain, readCursor } from './store/chain-state.ts';
import { acquireWriterLock } from './store/lock.ts';
import { rows } from './store/db.ts';
import { sql } from 'drizzle-orm';

/**
 * The composition root: config -> logger -> db -> rpc -> indexer + server, and an orderly
 * shutdown in reverse. Each CLI command is a thin call into this or the modules it wires.
 */


export async function openDatabase(config: Config, logger: Logger, { migrations = true } = {}): Promise<Db> {
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  logger.info({ database: db.kind, location: db.location }, 'database opened');
  if (migrations) {
    await migrate(db);
    logger.info('migrations applied');
  }
  return db;
}

type Chain = { rpc: Rpc; chainId: number; addresses: Hex[]; freshDemo: boolean; stop(): Promise<void> };

/** The chain to index: the configured RPC, or the local demo chain when none is configured. */
async function connectChain(config: Config, logger: Logger, allowDemo: boolean): Promise<Chain> {
  if (config.rpcUrls.length > 0) {
    const rpc = createRpc({ urls: config.rpcUrls, logger: logger.child({ module: 'rpc' }) });
    const chainId = await resolveChainId(rpc, config.chainId);
    return { rpc, chainId, addresses: config.chamaAddresses, freshDemo: false, stop: async () => {} };
  }
  if (!allowDemo) throw new FatalError('RPC_URL is not set: this command needs a chain (only `start` runs the local demo chain)', {});
  const { startDemo } = await import('./demo/index.ts');
  const demo = await startDemo({ dataDir: config.dataDir, logger: logger.child({ module: 'demo' }) });
  const rpc = createRpc({ urls: [demo.rpcUrl], logger: logger.child({ module: 'rpc' }) });
  const chainId = await resolveChainId(rpc, config.chainId);
  return { rpc, chainId, addresses: [demo.address], freshDemo: demo.fresh, stop: demo.stop };
}

/** `start` (index + serve) and `index` (index only). Resolves when stopped by the signal. */
export async function runIndexer(config: Config, logger: Logger, args: { serveApi: boolean; signal: AbortSignal }): Promise<void> {
  const db = await openDatabase(config, logger);
  const cleanup: (() => Promise<unknown>)[] = [() => db.close()];
  try {
    const chain = await connectChain(config, logger, args.serveApi);
    cleanup.unshift(chain.stop);
    logger.info({ chain_id: chain.chainId, addresses: chain.addresses, start_block: config.startBlock, confirmations: config.confirmations }, 'indexing');
    const lock = await acquireWriterLock({ db, chainId: chain.chainId, logger, signal: args.signal });
    cleanup.unshift(() => lock.release());
    if (chain.freshDemo && (await readCursor(db.orm, chain.chainId))) {
      logger.warn({ chain_id: chain.chainId }, 'the demo chain started anew; forgetting the data indexed from the previous demo chain');
      await forgetChain(db, chain.chainId);
    }
    const writer = createMutex();
    const indexer = createIndexer({
      db,
      writer,
      rpc: chain.rpc,
      chainId: chain.chainId,
      addresses: chain.addresses,
      startBlock: config.startBlock,
      confirmations: config.confirmations,
      maxReorgDepth: config.maxReorgDepth,
      maxBlockRange: config.maxBlockRange,
      maxBatchEvents: config.maxBatchEvents,
      pollIntervalMs: config.pollIntervalMs,
      logger,
    });
    const jobs = createJobRunner({
      db,
      chainId: chain.chainId,
      rpc: chain.rpc,
      addresses: chain.addresses,
      startBlock: config.startBlock,
      maxBlockRange: config.maxBlockRange,
      writer,
      logger,
      retentionMs: config.jobRetentionMs,
      verifyIntervalMs: config.verifyIntervalMs,
    });
    if (args.serveApi) {
      const admin = { jobs, control: indexer, settings: effectiveSettings(config, chain) };
      const close = await listen(config, logger, db, chain.chainId, indexer, () => chain.rpc.headNumber(), chain.rpc, admin);
      cleanup.unshift(close);
    }
    // A fatal indexing error stops the job runner too, and both finish before shutdown.
    const stop = new AbortController();
    // A signal that came during start-up has fired its event already.
    if (args.signal.aborted) stop.abort();
    else args.signal.addEventListener('abort', () => stop.abort(), { once: true });
    const [indexing] = await Promise.allSettled([indexer.run(stop.signal).finally(() => stop.abort()), jobs.run(stop.signal)]);
    if (indexing.status === 'rejected') throw indexing.reason;
  } finally {
    for (const step of cleanup) await step().catch((error) => logger.warn(errorFields(error), 'shutdown step failed'));
    logger.info('stopped');
  }
}

/** `serve`: the API only, read-only, for replicas. */
export async function runServer(config: Config, logger: Logger, signal: AbortSignal): Promise<void> {
  const db = await openDatabase(config, logger, { migrations: false });
  try {
    const rpc = config.rpcUrls.length > 0 ? createRpc({ urls: config.rpcUrls, logger: logger.child({ module: 'rpc' }), retries: 1 }) : undefined;
    const chainId = config.chainId ?? (rpc ? await rpc.chainId() : await onlyIndexedChain(db));
    const close = await listen(config, logger, db, chainId, undefined, rpc ? () => rpc.headNumber() : undefined, rpc);
    if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    await close();
  } finally {
    await db.close();
  }
}

async function onlyIndexedChain(db: Db): Promise<number> {
  const chains = await rows<{ chain_id: number }>(db.orm, sql`SELECT chain_id FROM cursor ORDER BY chain_id`);
  if (chains.length !== 1) {
    throw new FatalError(chains.length === 0 ? 'the database holds no indexed chain yet; set CHAIN_ID or RPC_URL' : 'the database holds several chains; set CHAIN_ID to pick one', {});
  }
  return Number(chains[0]!.chain_id);
}

/** The configuration as operators may see it over the admin API: no credentials. */
function effectiveSettings(config: Config, chain: Chain): Record<string, unknown> {
  return {
    chainId: chain.chainId,
    addresses: chain.addresses,
    rpc: config.rpcUrls.length > 0 ? config.rpcUrls.map(redactUrl) : ['(local demo chain)'],
    database: config.databaseUrl ? redactUrl(config.databaseUrl) : `pglite:${config.dataDir}`,
    startBlock: config.startBlock,
    confirmations: config.confirmations,
    maxReorgDepth: config.maxReorgDepth,
    pollIntervalMs: config.pollIntervalMs,
    maxBlockRange: config.maxBlockRange,
    verifyIntervalMs: config.verifyIntervalMs,
    jobRetentionMs: config.jobRetentionMs,
    readyMaxLagBlocks: config.readyMaxLagBlocks,
  };
}

async function listen(config: Config, logger: Logger, db: Db, chainId: number, indexer: Indexer | undefined, headBlock?: () => Promise<number>, rpc?: Rpc, admin?: ApiDeps['admin']): Promise<() => Promise<void>> {
  // The HTTP stack loads only in processes that serve (not in `index`).
  const [{ createApi }, { apiListener }, { createServer }] = await Promise.all([import('./api/app.ts'), import('./api/server.ts'), import('node:http')]);
  const api = createApi({ db, chainId, logger: logger.child({ module: 'api' }), indexer, headBlock, rpc, readyMaxLagBlocks: config.readyMaxLagBlocks, adminSecret: config.adminJwtSecret, ...(admin ? { admin } : {}) });
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = createServer(apiListener(api, { hostname: config.host }));
    s.listen(config.port, config.host, () => {
      const { port } = s.address() as import('node:net').AddressInfo;
      logger.info({ host: config.host, port, url: `http://${config.host}:${port}` }, 'API listening');
      resolve(s);
    });
    s.once('error', (error: Error) => reject(new FatalError(`cannot listen on ${config.host}:${config.port}: ${error.message}`, { host: config.host, port: config.port })));
  });
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
}

