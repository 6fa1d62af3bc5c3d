import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../common/logger.ts';
import type { IndexerNotice, IndexerStatus } from '../indexer/index.ts';
import type { RpcRequestInfo } from '../rpc/client.ts';
import type { Db } from '../store/db.ts';
import type { JobRunner } from '../jobs/index.ts';

/** What the routes read from. `indexer` is absent in a read-only `serve` replica. */
export type ApiDeps = {
  db: Db;
  chainId: number;
  logger: Logger;
  indexer?: { status(): IndexerStatus; subscribe?(listener: (notice: IndexerNotice) => void): () => void };
  /** The node's head, for replicas that have an RPC URL; undefined otherwise. */
  headBlock?: () => Promise<number | undefined>;
  /** RPC calls as they finish, for /metrics; absent without an RPC. */
  rpc?: { onRequest?(listener: (request: RpcRequestInfo) => void): () => void };
  /** `/ready` fails when indexing lags more blocks than this (READY_MAX_LAG_BLOCKS). Default 10. */
  readyMaxLagBlocks?: number;
  /** How often an SSE stream looks for new rows when no indexer notice woke it (replicas). Default 1000. */
  streamPollMs?: number;
  /** Cached reads are checked against the cursor at most this often. Default 100. */
  cacheCheckMs?: number;
  /** How often an SSE stream sends a `status` message. Default 5000. */
  streamStatusMs?: number;
  /** Largest request body accepted, in bytes. Default 64 KiB. */
  maxBodyBytes?: number;
  /** ADMIN_JWT_SECRET; admin routes answer 404 without it. */
  adminSecret?: string | undefined;
  /** Operator controls, present in the indexing process only. */
  admin?: {
    jobs: JobRunner;
    control: { status(): IndexerStatus; pause(): void; resume(): void; poke(): void };
    /** The effective configuration, credentials removed. */
    settings: Record<string, unknown>;
  };
};

/** `route`: the route label of an answer taken from the cache, which matched no route itself. */
export type ApiEnv = { Variables: { requestId: string; logger: Logger; route?: string } };
export type ApiApp = OpenAPIHono<ApiEnv>;
