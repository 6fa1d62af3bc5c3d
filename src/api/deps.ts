import type { OpenAPIHono } from '@hono/zod-openapi';
import type { Logger } from '../common/logger.ts';
import type { IndexerStatus } from '../indexer/index.ts';
import type { Db } from '../store/db.ts';

/** What the routes read from. `indexer` is absent in a read-only `serve` replica. */
export type ApiDeps = {
  db: Db;
  chainId: number;
  logger: Logger;
  indexer?: { status(): IndexerStatus };
  /** The node's head, for replicas that have an RPC URL; undefined otherwise. */
  headBlock?: () => Promise<number | undefined>;
};

export type ApiEnv = { Variables: { requestId: string } };
export type ApiApp = OpenAPIHono<ApiEnv>;
