import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfig, type Config } from './config.ts';
import { ConfigError, FatalError, UsageError, errorFields } from './common/errors.ts';
import { createLogger, type Logger } from './common/logger.ts';

// The heavy modules load inside the commands, so a bad configuration is reported at once.
const load = {
  main: () => import('./main.ts'),
  engine: () => import('./projections/engine.ts'),
  operator: () => import('./operator/run.ts'),
  lock: () => import('./store/lock.ts'),
  exporter: () => import('./export.ts'),
  chainState: () => import('./store/chain-state.ts'),
  indexedChains: async (db: import('./store/db.ts').Db) => {
    const [{ sql }, { rows }] = await Promise.all([import('drizzle-orm'), import('./store/db.ts')]);
    return (await rows<{ chain_id: number }>(db.orm, sql`SELECT chain_id FROM cursor ORDER BY chain_id`)).map((r) => Number(r.chain_id));
  },
};

const usage = `usage: chama-indexer <command> [options]

commands:
  start                       migrate, index and serve the API (with no RPC_URL: a local demo chain)
  index                       migrate and index only
  serve                       serve the API only, read-only (replicas)
  rebuild                     recompute every projection from the stored events (no RPC call)
  resync --from N [--to M]    fetch the range again and repair the stored events (the chain wins)
  verify [--chama ID] [--repair]
                              compare projections with the contract's views at the indexed block;
                              exit 1 when any mismatch remains
  token --role ROLE [--ttl 1h]
                              print an admin API token signed with ADMIN_JWT_SECRET
  export --format ndjson|csv [--from N] [--to M]
                              stream stored events to stdout
  migrate                     apply database migrations

configuration is read from the environment: see README.md`;

type Command = (config: Config, logger: Logger, argv: string[], signal: AbortSignal) => Promise<number>;

const commands: Record<string, Command> = {
  start: async (config, logger, argv, signal) => {
    noOptions(argv);
    await (await load.main()).runIndexer(config, logger, { serveApi: true, signal });
    return 0;
  },
  index: async (config, logger, argv, signal) => {
    noOptions(argv);
    await (await load.main()).runIndexer(config, logger, { serveApi: false, signal });
    return 0;
  },
  serve: async (config, logger, argv, signal) => {
    noOptions(argv);
    await (await load.main()).runServer(config, logger, signal);
    return 0;
  },
  migrate: async (config, logger, argv) => {
    noOptions(argv);
    const db = await (await load.main()).openDatabase(config, logger);
    await db.close();
    return 0;
  },
  rebuild: async (config, logger, argv) => {
    noOptions(argv);
    const [{ openDatabase }, { rebuildProjections }, { readCursor }, { acquireWriterLock }, { createProgress }] = await Promise.all([
      load.main(),
      load.engine(),
      load.chainState(),
      load.lock(),
      import('./common/progress.ts'),
    ]);
    const db = await openDatabase(config, logger);
    try {
      const chains = config.chainId ? [config.chainId] : await load.indexedChains(db);
      for (const chainId of chains) {
        const started = performance.now();
        const lock = await acquireWriterLock({ db, chainId, logger, timeoutMs: 3000, retryMs: 500 });
        const progress = createProgress({ label: 'rebuild', unit: 'events', logger });
        const { events } = await rebuildProjections(db, chainId, ({ done, total }) => progress.update(done, total)).finally(async () => {
          progress.stop();
          await lock.release();
        });
        const cursor = await readCursor(db.orm, chainId);
        const seconds = (performance.now() - started) / 1000;
        logger.info({ chain_id: chainId, events, indexed_block: cursor?.blockNumber, duration_ms: Math.round(seconds * 1000), events_per_second: Math.round(events / Math.max(seconds, 1e-3)) }, 'projections rebuilt');
      }
    } finally {
      await db.close();
    }
    return 0;
  },
  verify: async (config, logger, argv) => {
    const { values } = parse(argv, { chama: { type: 'string' }, repair: { type: 'boolean', default: false } });
    if (values.chama !== undefined && !/^[1-9]\d{0,77}$/.test(values.chama)) throw new UsageError(`--chama must be a chama id (a positive whole number), got ${JSON.stringify(values.chama)}`);
    const chamaId = values.chama === undefined ? {} : { chamaId: BigInt(values.chama) };
    return (await load.operator()).runVerify(config, logger, { ...chamaId, repair: values.repair === true, out: process.stdout });
  },
  resync: async (config, logger, argv) => {
    const { values } = parse(argv, { from: { type: 'string' }, to: { type: 'string' } });
    const from = blockOption('--from', values.from);
    if (from === undefined) throw new UsageError('resync needs --from N');
    const to = blockOption('--to', values.to);
    if (to !== undefined && to < from) throw new UsageError(`--to ${to} is below --from ${from}`);
    return (await load.operator()).runResync(config, logger, { from, to, out: process.stdout });
  },
  token: async (config, _logger, argv) => {
    const { values } = parse(argv, { role: { type: 'string' }, ttl: { type: 'string', default: '1h' } });
    if (!values.role || !/^[a-z][a-z0-9_-]{0,31}$/.test(values.role)) throw new UsageError('token needs --role ROLE (e.g. --role admin)');
    const ttl = /^(\d{1,7})(s|m|h|d)$/.exec(values.ttl ?? '');
    if (!ttl) throw new UsageError(`--ttl must look like 30m, 1h or 7d, got ${JSON.stringify(values.ttl)}`);
    if (!config.adminJwtSecret) throw new ConfigError('ADMIN_JWT_SECRET must be set to sign a token', { variable: 'ADMIN_JWT_SECRET' });
    const seconds = Number(ttl[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[ttl[2] as 's' | 'm' | 'h' | 'd'];
    const { sign } = await import('hono/jwt');
    const now = Math.floor(Date.now() / 1000);
    process.stdout.write(`${await sign({ role: values.role, iat: now, exp: now + seconds }, config.adminJwtSecret, 'HS256')}\n`);
    return 0;
  },
  export: async (config, logger, argv) => {
    const { values } = parse(argv, { format: { type: 'string' }, from: { type: 'string' }, to: { type: 'string' } });
    if (values.format !== 'ndjson' && values.format !== 'csv') throw new UsageError('--format must be ndjson or csv');
    const from = blockOption('--from', values.from);
    const to = blockOption('--to', values.to);
    const [{ openDatabase }, { exportEvents }] = await Promise.all([load.main(), load.exporter()]);
    const db = await openDatabase(config, logger, { migrations: false });
    try {
      const chainId = config.chainId ?? (await load.indexedChains(db))[0] ?? 0;
      const count = await exportEvents(db, chainId, { format: values.format, fromBlock: from, toBlock: to }, process.stdout);
      logger.info({ chain_id: chainId, events: count }, 'export finished');
    } finally {
      await db.close();
    }
    return 0;
  },
};

function parse<O extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function noOptions(argv: string[]) {
  if (argv.length > 0) throw new UsageError(`unexpected argument ${argv[0]}`);
}

function blockOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,15}$/.test(value)) throw new UsageError(`${name} must be a block number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** Runs a command; resolves to the process exit code (SPEC §3: 0 ok, 1 failure, 2 bad configuration or usage). */
export async function main(argv: string[]): Promise<number> {
  const [name = 'start', ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`chama-indexer: unknown command ${JSON.stringify(name)}\n\n${usage}\n`);
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`chama-indexer: bad configuration: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger(config.logLevel);
  const controller = new AbortController();
  const stop = (signal: string) => {
    if (controller.signal.aborted) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'stopping');
    controller.abort();
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  try {
    return await command(config, logger, rest, controller.signal);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`chama-indexer ${name}: ${error.message}\n\n${usage}\n`);
      return 2;
    }
    if (error instanceof ConfigError) {
      process.stderr.write(`chama-indexer: bad configuration: ${error.message}\n`);
      return 2;
    }
    logger.fatal(errorFields(error), error instanceof FatalError ? error.message : 'unexpected error');
    if (!(error instanceof FatalError)) process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
    return 1;
  } finally {
    logger.flush();
  }
}
