import { z } from 'zod';
import { isAddress } from 'viem';
import { ConfigError } from './common/errors.ts';

/**
 * The environment (SPEC §2), parsed once. Nothing else in the program reads `process.env`.
 * A bad value is a `ConfigError` naming the variable; the CLI turns it into exit code 2.
 */
export type Config = {
  databaseUrl: string | undefined;
  dataDir: string;
  rpcUrls: string[];
  chainId: number | undefined;
  chamaAddresses: `0x${string}`[];
  startBlock: number;
  confirmations: number;
  maxReorgDepth: number;
  pollIntervalMs: number;
  maxBlockRange: number;
  /** Events a backfill commits at once, over as many log ranges as that takes (PostgreSQL). */
  maxBatchEvents: number;
  port: number;
  host: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  adminJwtSecret: string | undefined;
  readyMaxLagBlocks: number;
  verifyIntervalMs: number;
  jobRetentionMs: number;
};

const blank = (v: unknown) => (typeof v === 'string' && v.trim() === '' ? undefined : v);

const integer = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);

const rpcUrl = z.string().refine((u) => {
  try {
    return ['http:', 'https:', 'ws:', 'wss:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}, 'must be an http(s) or ws(s) URL');

const postgresUrl = z.string().refine((u) => {
  try {
    return ['postgres:', 'postgresql:'].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}, 'must be a postgres:// or postgresql:// connection string');

const address = z.string().refine((a) => isAddress(a, { strict: false }), 'must be a 0x-prefixed 20-byte hex address');

const schema = z
  .object({
    DATABASE_URL: z.preprocess(blank, postgresUrl.optional()),
    DATA_DIR: z.preprocess(blank, z.string().default('.data')),
    RPC_URL: z.preprocess(blank, z.string().transform(list).pipe(z.array(rpcUrl).min(1, 'must name at least one URL')).optional()),
    CHAIN_ID: z.preprocess(blank, integer(1).optional()),
    CHAMA_ADDRESS: z.preprocess(blank, z.string().transform(list).pipe(z.array(address).min(1, 'must name at least one address')).optional()),
    START_BLOCK: z.preprocess(blank, integer(0).default(0)),
    CONFIRMATIONS: z.preprocess(blank, integer(0, 10_000).default(0)),
    MAX_REORG_DEPTH: z.preprocess(blank, integer(1, 100_000).default(64)),
    POLL_INTERVAL_MS: z.preprocess(blank, integer(10, 3_600_000).default(1000)),
    MAX_BLOCK_RANGE: z.preprocess(blank, integer(1, 10_000_000).default(10_000)),
    MAX_BATCH_EVENTS: z.preprocess(blank, integer(1, 1_000_000).default(100_000)),
    PORT: z.preprocess(blank, integer(0, 65535).default(3000)),
    HOST: z.preprocess(blank, z.string().min(1).default('127.0.0.1')),
    LOG_LEVEL: z.preprocess(blank, z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
    ADMIN_JWT_SECRET: z.preprocess(blank, z.string().min(16, 'must be at least 16 characters').optional()),
    READY_MAX_LAG_BLOCKS: z.preprocess(blank, integer(0).default(10)),
    VERIFY_INTERVAL_MS: z.preprocess(blank, integer(0).default(300_000)),
    JOB_RETENTION_MS: z.preprocess(blank, integer(0).default(86_400_000)),
  })
  .superRefine((env, ctx) => {
    if (env.RPC_URL && !env.CHAMA_ADDRESS) {
      ctx.addIssue({ code: 'custom', path: ['CHAMA_ADDRESS'], message: 'is required when RPC_URL is set' });
    }
  });

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const shown = variable === 'ADMIN_JWT_SECRET' || variable === 'DATABASE_URL' || variable === 'RPC_URL' ? '' : ` (got ${JSON.stringify(env[variable] ?? '')})`;
    throw new ConfigError(`${variable} ${issue.message}${shown}`, { variable });
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    rpcUrls: e.RPC_URL ?? [],
    chainId: e.CHAIN_ID,
    chamaAddresses: (e.CHAMA_ADDRESS ?? []).map((a) => a.toLowerCase() as `0x${string}`),
    startBlock: e.START_BLOCK,
    confirmations: e.CONFIRMATIONS,
    maxReorgDepth: e.MAX_REORG_DEPTH,
    pollIntervalMs: e.POLL_INTERVAL_MS,
    maxBlockRange: e.MAX_BLOCK_RANGE,
    maxBatchEvents: e.MAX_BATCH_EVENTS,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    adminJwtSecret: e.ADMIN_JWT_SECRET,
    readyMaxLagBlocks: e.READY_MAX_LAG_BLOCKS,
    verifyIntervalMs: e.VERIFY_INTERVAL_MS,
    jobRetentionMs: e.JOB_RETENTION_MS,
  };
}
