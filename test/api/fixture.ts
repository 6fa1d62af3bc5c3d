import { parseEther, type Address } from 'viem';
import { createApp, type App } from '../../src/api/app.ts';
import type { ApiDeps } from '../../src/api/deps.ts';
import type { Indexer } from '../../src/indexer/index.ts';
import { createRpc, type Rpc } from '../../src/rpc/client.ts';
import { startTestChain, type TestChain } from '../helpers/chain.ts';
import { createTestDb, type DbKind, type TestDb } from '../helpers/db.ts';
import { chainId, createTestIndexer, fullRound, group, silent } from '../helpers/indexing.ts';

export { chainId, silent };

export type Fixture = {
  chain: TestChain;
  db: TestDb;
  rpc: Rpc;
  indexer: Indexer;
  app: App;
  /** GET through the real app, in process: status, headers and the JSON (or text) body. */
  get(path: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any; text: string }>;
  stop(): Promise<void>;
};

/** Block numbers the scenario passed through, for `?atBlock` checks against the contract's views. */
export type Scenario = { ids: { alpha: bigint; beta: bigint; gamma: bigint }; blocks: { afterCreate: bigint; afterRound1: bigint; end: bigint } };

/**
 * Three chamas on a real anvil: alpha (a0, a1, a2; two rounds, the second in progress), beta
 * (a1, a3; one round, the second begun), gamma (a0 alone). Returns the ids and some blocks.
 */
export async function runScenario(chain: TestChain): Promise<Scenario> {
  const [a0, a1, a2, a3] = chain.accounts;
  const alpha = await group(chain, 'Alpha Savers', parseEther('1'), 3n, [a0, a1, a2]);
  const beta = await group(chain, 'Beta "Circle", <b>', parseEther('0.5'), 2n, [a1, a3]);
  const afterCreate = await chain.publicClient.getBlockNumber();
  await fullRound(chain, alpha, [a0, a1, a2]);
  await fullRound(chain, beta, [a3, a1]);
  const afterRound1 = await chain.publicClient.getBlockNumber();
  await chain.mine(2);
  await fullRound(chain, alpha, [a2, a0]);
  await chain.actions.contribute(beta, a3);
  const gamma = await group(chain, 'Gamma', parseEther('0.01'), 5n, [a0]);
  const end = await chain.publicClient.getBlockNumber();
  return { ids: { alpha, beta, gamma }, blocks: { afterCreate, afterRound1, end } };
}

export async function startFixture(kind: DbKind, deps: Partial<ApiDeps> = {}): Promise<Fixture> {
  const chain = await startTestChain();
  const db = await createTestDb(kind);
  const rpc = createRpc({ urls: [chain.rpcUrl], logger: silent, retries: 2 });
  const indexer = createTestIndexer(db, chain, { rpc });
  const app = createApp({ db, chainId, logger: silent, indexer, rpc, headBlock: () => rpc.headNumber(), ...deps });
  return {
    chain,
    db,
    rpc,
    indexer,
    app,
    async get(path, init) {
      const res = await app.request(path, init);
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON (CSV, NDJSON, metrics, HTML)
      }
      return { status: res.status, headers: res.headers, body, text };
    },
    async stop() {
      await db.drop().catch(() => {});
      await chain.stop();
    },
  };
}

export const lower = (a: Address) => a.toLowerCase() as Address;
