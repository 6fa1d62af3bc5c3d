import { sql } from 'drizzle-orm';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IndexerNotice } from '../src/indexer/index.ts';
import { rows, type Db } from '../src/store/db.ts';
import { buildDeferredIndexes, deferEventIndexes } from '../src/store/event-indexes.ts';
import { eventsOfAccounts, eventsOfChamas } from '../src/store/events.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, differencesFromChain, fullRound, group, silent } from './helpers/indexing.ts';

/**
 * A backfill into an empty database builds the secondary indexes of `events` at its end: while
 * it runs they are gone (and recorded), afterwards they are exactly what the migrations made,
 * whatever stopped a writer in between, and they are never dropped under stored events.
 */
let chain: TestChain;

beforeAll(async () => {
  chain = await startTestChain();
  const [a, b, c, d] = chain.accounts;
  const first = await group(chain, 'Umoja', parseEther('0.5'), 3n, [a, b, c]);
  await fullRound(chain, first, [a, b, c]);
  await chain.mine(20);
  const second = await group(chain, 'Harambee', parseEther('1'), 2n, [d, a]);
  await fullRound(chain, second, [d, a]);
  await fullRound(chain, first, [c, b, a]);
  // Below finality (64 blocks behind the head on anvil), so the backfill is historical.
  await chain.mine(100);
});
afterAll(() => chain?.stop());

const eventIndexes = (db: Db) => rows<{ indexname: string; indexdef: string }>(db.orm, sql`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname`);
const deferred = async (db: Db) => (await rows<{ name: string }>(db.orm, sql`SELECT name FROM deferred_indexes ORDER BY name`)).map((r) => r.name);
const eventCount = async (db: Db) => Number((await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM events`))[0]!.n);
const deferrable = ['events_account_hash_idx', 'events_chama_hash_idx'];

describe.each(['postgres', 'pglite'] as const)('event indexes on %s', (kind) => {
  let db: TestDb;
  let migrated: Awaited<ReturnType<typeof eventIndexes>>;
  beforeAll(async () => {
    db = await createTestDb(kind);
    migrated = await eventIndexes(db);
    expect(migrated.map((i) => i.indexname)).toEqual(expect.arrayContaining(deferrable));
  });
  afterAll(() => db?.drop());

  it('a backfill from scratch drops them, records them, and builds them again once it catches up', async () => {
    const indexer = createTestIndexer(db, chain, { deferIndexesFromBlocks: 1, maxBlockRange: 5 });
    let during: Promise<[Awaited<ReturnType<typeof eventIndexes>>, string[]]> | undefined;
    indexer.subscribe((notice: IndexerNotice) => {
      if (notice.kind === 'batch' && notice.events > 0) during ??= Promise.all([eventIndexes(db), deferred(db)]);
    });
    await indexer.syncToHead();
    const [indexes, recorded] = await during!;
    expect(indexes.map((i) => i.indexname)).toEqual(migrated.map((i) => i.indexname).filter((n) => !deferrable.includes(n)));
    expect(recorded).toEqual(deferrable);

    expect(await eventIndexes(db)).toEqual(migrated);
    expect(await deferred(db)).toEqual([]);
    expect(await differencesFromChain(db, chain, await chain.publicClient.getBlockNumber())).toEqual([]);
  });

  it('are never dropped under stored events', async () => {
    expect(await eventCount(db)).toBeGreaterThan(0);
    expect(await deferEventIndexes(db, silent)).toBe(false);
    expect(await eventIndexes(db)).toEqual(migrated);
    expect(await buildDeferredIndexes(db, silent)).toBe(0);
  });

  /** A fresh database in which a writer deferred the indexes and stopped after its first batch with events. */
  async function stoppedMidBackfill(): Promise<TestDb> {
    const other = await createTestDb(kind);
    const stop = new AbortController();
    const writer = createTestIndexer(other, chain, { deferIndexesFromBlocks: 1, maxBlockRange: 5, maxBatchEvents: 1 });
    writer.subscribe((notice) => {
      if (notice.kind === 'batch' && notice.events > 0) stop.abort();
    });
    await writer.run(stop.signal);
    expect(await eventCount(other)).toBeGreaterThan(0);
    expect(await deferred(other)).toEqual(deferrable);
    return other;
  }

  /** The indexes as the migrations made them, with statistics, and the index equal to the chain. */
  async function expectBuilt(other: Db) {
    expect(await eventIndexes(other)).toEqual(migrated);
    expect(await deferred(other)).toEqual([]);
    expect(await eventCount(other)).toBe(await eventCount(db));
    expect(await differencesFromChain(other, chain, await chain.publicClient.getBlockNumber())).toEqual([]);
    // Only an existing index gets statistics for its expression (the leading hash).
    const [stats] = await rows<{ n: number }>(other.orm, sql`SELECT count(DISTINCT tablename)::int8 AS n FROM pg_stats WHERE tablename IN ('events_account_hash_idx', 'events_chama_hash_idx')`);
    expect(Number(stats!.n)).toBe(2);
  }

  it('deferred by a writer that stopped, they stay deferred through the long backfill left and are built at its end', async () => {
    const other = await stoppedMidBackfill();
    try {
      const next = createTestIndexer(other, chain, { deferIndexesFromBlocks: 1, maxBlockRange: 5, maxBatchEvents: 1 });
      let during: Promise<string[]> | undefined;
      next.subscribe((notice) => {
        if (notice.kind === 'batch' && notice.events > 0) during ??= deferred(other);
      });
      await next.syncToHead();
      expect(await during).toEqual(deferrable);
      await expectBuilt(other);
    } finally {
      await other.drop();
    }
  });

  it('reads by chama and by account give the same events without the indexes as with them', async () => {
    const other = await stoppedMidBackfill();
    try {
      const address = chain.address.toLowerCase();
      const chamas = [1n, 2n].map((chamaId) => ({ address, chamaId }));
      const accounts = chain.accounts.slice(0, 4).map((a) => a.toLowerCase());
      // Scans where the indexes are missing, and the indexes wherever they can serve once built.
      const read = () =>
        other.orm.transaction(async (tx) => {
          await tx.execute(sql`SET LOCAL enable_seqscan = off`);
          return { chamas: await eventsOfChamas(tx, chainId, chamas), accounts: await eventsOfAccounts(tx, chainId, accounts) };
        });
      const without = await read();
      expect(without.chamas.length).toBeGreaterThan(0);
      expect(without.accounts.length).toBeGreaterThan(0);
      expect(await buildDeferredIndexes(other, silent)).toBe(2);
      expect(await read()).toEqual(without);
    } finally {
      await other.drop();
    }
  });

  it('deferred by a writer that stopped, they are built by the next one even when what is left is too short to defer', async () => {
    const other = await stoppedMidBackfill();
    try {
      await createTestIndexer(other, chain).syncToHead();
      await expectBuilt(other);
    } finally {
      await other.drop();
    }
  });
});
