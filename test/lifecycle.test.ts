import { sql } from 'drizzle-orm';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildProjections } from '../src/projections/engine.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, differencesFromChain, fullRound, group } from './helpers/indexing.ts';
import { projectionChecksums, projectionSnapshot } from './helpers/projections.ts';
import { waitFor } from './helpers/wait.ts';
import { rows } from '../src/store/db.ts';

/**
 * A scripted chama lifecycle on a real anvil, indexed in two phases: every projection equals
 * what the contract's views say at the indexed block, on PostgreSQL and on PGlite, and a
 * rebuild from the events gives byte-for-byte the same projections.
 */
let chain: TestChain;
let midBlock: bigint;

beforeAll(async () => {
  chain = await startTestChain();
  const [a, b, c, d, e, f] = chain.accounts;
  const first = await group(chain, 'Umoja Savers', parseEther('0.5'), 3n, [a, b, c]);
  const second = await group(chain, 'Harambee', parseEther('1'), 2n, [d, e]);
  await fullRound(chain, first, [a, b, c]);
  await fullRound(chain, second, [e, d]);
  midBlock = await chain.publicClient.getBlockNumber();
  await chain.mine(3);
  await fullRound(chain, first, [c, a, b]);
  await fullRound(chain, first, [b, c, a]);
  await chain.actions.contribute(second, d);
  const third = await group(chain, 'Jamii Circle', parseEther('0.01'), 5n, [f, a]);
  await chain.actions.join(third, b);
  await chain.mine(2);
});
afterAll(() => chain?.stop());

describe.each(['postgres', 'pglite'] as const)('lifecycle on %s', (kind) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(() => db?.drop());

  it('indexes in batches and every projection matches the contract views', async () => {
    // Phase one: only up to the middle of the story (what a user sees while it happens).
    const early = createTestIndexer(db, chain, { confirmations: Number((await chain.publicClient.getBlockNumber()) - midBlock) });
    const mid = await early.syncToHead();
    expect(mid?.blockNumber).toBe(Number(midBlock));
    expect(await differencesFromChain(db, chain, midBlock)).toEqual([]);

    const indexer = createTestIndexer(db, chain);
    const cursor = await indexer.syncToHead();
    const head = await chain.publicClient.getBlock();
    expect(cursor).toEqual({ blockNumber: Number(head.number), blockHash: head.hash });
    expect(await differencesFromChain(db, chain, head.number)).toEqual([]);

    const kinds = await rows<{ event: string; n: number }>(db.orm, sql`SELECT event, count(*)::int4 AS n FROM events WHERE chain_id = ${chainId} GROUP BY event ORDER BY event`);
    expect(kinds).toEqual([
      { event: 'ChamaCreated', n: 3 },
      { event: 'ContributionMade', n: 12 },
      { event: 'MemberJoined', n: 8 },
      { event: 'PayoutProcessed', n: 4 },
    ]);
    const snapshot = await projectionSnapshot(db, chainId);
    await rebuildProjections(db, chainId);
    expect(await projectionSnapshot(db, chainId)).toEqual(snapshot);
  });

  it('the writer keeps the planner statistics of its tables up to date as it commits', async () => {
    const fresh = await createTestDb(kind);
    try {
      const analyzed = async () => (await rows<{ n: number }>(fresh.orm, sql`SELECT count(*)::int8 AS n FROM pg_stats WHERE tablename IN ('events', 'members')`))[0]!.n;
      expect(Number(await analyzed())).toBe(0);
      await createTestIndexer(fresh, chain, { analyzeAfterEvents: 5 }).syncToHead();
      await waitFor(async () => Number(await analyzed()) > 0, 'ANALYZE of events and members');
      // From a small sample: at most 10 buckets (PostgreSQL's default makes up to 100).
      const [buckets] = await rows<{ n: number | null }>(fresh.orm, sql`SELECT array_length(histogram_bounds::text::text[], 1) AS n FROM pg_stats WHERE tablename = 'events' AND attname = 'block_number'`);
      expect(Number(buckets!.n)).toBeLessThanOrEqual(11);
    } finally {
      await fresh.drop();
    }
  });

  it('a second clean run over the same chain gives identical projection checksums', async () => {
    const other = await createTestDb(kind);
    try {
      await createTestIndexer(other, chain, { maxBlockRange: 3 }).syncToHead();
      expect(await projectionChecksums(other, chainId)).toEqual(await projectionChecksums(db, chainId));
    } finally {
      await other.drop();
    }
  });
});
