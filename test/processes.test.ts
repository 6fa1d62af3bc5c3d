import { sql } from 'drizzle-orm';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCursor } from '../src/store/chain-state.ts';
import { openDb, rows, type Db } from '../src/store/db.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { runCli } from './helpers/cli.ts';
import { createPostgresDatabase, createTestDb, dropPostgresDatabase } from './helpers/db.ts';
import { chainId, createTestIndexer, differencesFromChain, group } from './helpers/indexing.ts';
import { eventKeys, projectionChecksums } from './helpers/projections.ts';
import { waitFor } from './helpers/wait.ts';

/**
 * The indexer as users run it: the real CLI in child processes against real PostgreSQL.
 * Crash safety under SIGKILL mid-backfill, and a single writer per chain.
 */
let chain: TestChain;

beforeAll(async () => {
  chain = await startTestChain();
  const accounts = chain.accounts;
  // A history worth backfilling: 24 chamas with full rounds, spread over many blocks.
  for (let i = 0; i < 24; i++) {
    const members = [accounts[i % 10]!, accounts[(i + 3) % 10]!, accounts[(i + 7) % 10]!];
    const id = await group(chain, `crash ${i}`, parseEther('0.01') * BigInt(i + 1), 3n, members);
    for (let round = 0; round < 2; round++) for (const m of members) await chain.actions.contribute(id, m);
    if (i % 4 === 0) await chain.mine(25);
  }
  await chain.mine(5);
}, 120_000);
afterAll(() => chain?.stop());

/** The cursor, or undefined while the child has not created the tables yet. */
const cursorBlock = async (db: Db) => (await readCursor(db.orm, chainId).catch(() => undefined))?.blockNumber;

function env(databaseUrl: string, extra: Record<string, string> = {}) {
  return { RPC_URL: chain.rpcUrl, CHAMA_ADDRESS: chain.address, DATABASE_URL: databaseUrl, MAX_BLOCK_RANGE: '4', MAX_BATCH_EVENTS: '6', POLL_INTERVAL_MS: '100', ...extra };
}

describe('processes', () => {
  it('SIGKILL at random moments during a backfill: no gap, no duplicate, same final state as one clean run', async () => {
    const url = await createPostgresDatabase();
    const db: Db = await openDb({ databaseUrl: url });
    const clean = await createTestDb('postgres');
    try {
      const head = await chain.publicClient.getBlock();
      let kills = 0;
      /** Batches that spanned several log ranges in one transaction (MAX_BATCH_EVENTS above a range's events). */
      let spanning = 0;
      for (let attempt = 0; attempt < 12 && kills < 5; attempt++) {
        const indexer = runCli(['index'], env(url));
        const before = (await cursorBlock(db)) ?? -1;
        // Wait for a few commits past where it starts (or for the head), then kill at a random instant.
        const target = 2 + Math.floor(Math.random() * 6);
        let seen = 0;
        await indexer.waitForLog((l) => l.msg === 'batch committed' && (++seen >= target || l.lag_blocks === 0), 60_000).catch(() => undefined);
        await new Promise((r) => setTimeout(r, Math.random() * 40));
        const { signal } = await indexer.kill('SIGKILL');
        expect(signal).toBe('SIGKILL');
        spanning += indexer.logs.filter((l) => l.msg === 'batch committed' && Number(l.ranges) > 1).length;
        const after = (await readCursor(db.orm, chainId))?.blockNumber ?? -1;
        if (after >= Number(head.number)) break;
        if (after > before) kills++;
      }
      expect(kills).toBeGreaterThanOrEqual(3);
      expect(spanning).toBeGreaterThan(0);

      const finisher = runCli(['index'], env(url));
      await waitFor(async () => (await readCursor(db.orm, chainId))?.blockNumber === Number(head.number), 'the restarted indexer to reach the head', 60_000);
      // A killed run may have reached the head already: SIGTERM before the CLI's first log line
      // would end it before it handles the signal.
      await finisher.waitForLog(() => true);
      expect((await finisher.kill('SIGTERM')).code).toBe(0);

      await createTestIndexer(clean, chain).syncToHead();
      const events = await eventKeys(db, chainId);
      expect(new Set(events).size).toBe(events.length);
      expect(events).toEqual(await eventKeys(clean, chainId));
      const [{ total }] = (await rows<{ total: number }>(db.orm, sql`SELECT events_total AS total FROM cursor`)) as [{ total: number }];
      expect(total).toBe(events.length);
      expect(await projectionChecksums(db, chainId)).toEqual(await projectionChecksums(clean, chainId));
      expect(await differencesFromChain(db, chain, head.number)).toEqual([]);
    } finally {
      await db.close();
      await dropPostgresDatabase(url);
      await clean.drop();
    }
  }, 240_000);

  it('SIGTERM while the CLI is still starting stops it cleanly', async () => {
    const url = await createPostgresDatabase();
    try {
      const indexer = runCli(['index'], env(url));
      // The first line comes before migrations, the chain check and the writer lock.
      await indexer.waitForLog(() => true);
      const exit = await Promise.race([indexer.kill('SIGTERM'), new Promise((resolve) => setTimeout(() => resolve('still running after 20 s'), 20_000))]);
      if (exit === 'still running after 20 s') await indexer.kill('SIGKILL');
      expect(exit).toEqual({ code: 0, signal: null });
    } finally {
      await dropPostgresDatabase(url);
    }
  }, 60_000);

  it('a second indexer on the same database waits for the writer lock and takes over when the first dies', async () => {
    const url = await createPostgresDatabase();
    const db: Db = await openDb({ databaseUrl: url });
    try {
      const first = runCli(['index'], env(url, { MAX_BLOCK_RANGE: '10000' }));
      await waitFor(async () => (await cursorBlock(db)) === Number(await chain.publicClient.getBlockNumber()), 'the first indexer to catch up', 60_000);
      const second = runCli(['index'], env(url, { MAX_BLOCK_RANGE: '10000' }));
      await second.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('another indexer holds the writer lock'));

      const [a, b] = chain.accounts;
      await group(chain, 'while locked', parseEther('0.2'), 2n, [a, b]);
      const head = Number(await chain.publicClient.getBlockNumber());
      await waitFor(async () => (await readCursor(db.orm, chainId))?.blockNumber === head, 'the first indexer to index the new block');
      expect(second.logs.filter((l) => l.msg === 'batch committed')).toEqual([]);

      await first.kill('SIGKILL');
      await second.waitForLog((l) => l.msg === 'writer lock acquired');
      await group(chain, 'after takeover', parseEther('0.2'), 2n, [b, a]);
      const newHead = await chain.publicClient.getBlockNumber();
      await waitFor(async () => (await readCursor(db.orm, chainId))?.blockNumber === Number(newHead), 'the second indexer to take over');
      // The cursor is in the database before the child's log line about it reaches this process.
      await second.waitForLog((l) => l.msg === 'batch committed');
      expect(await differencesFromChain(db, chain, newHead)).toEqual([]);
      expect((await second.kill('SIGTERM')).code).toBe(0);
    } finally {
      await db.close();
      await dropPostgresDatabase(url);
    }
  }, 120_000);

  it('rebuild (no RPC configured) restores a corrupted projection; export streams every event as ndjson and csv', async () => {
    const db = await createTestDb('postgres');
    try {
      await createTestIndexer(db, chain).syncToHead();
      const good = await projectionChecksums(db, chainId);
      await db.orm.execute(sql`UPDATE chamas SET total_contributed = 0, member_count = 99`);
      await db.orm.execute(sql`DELETE FROM members WHERE chama_id = 1`);
      expect(await projectionChecksums(db, chainId)).not.toEqual(good);

      const rebuild = runCli(['rebuild'], { DATABASE_URL: db.url! });
      const done = await rebuild.waitForLog((l) => l.msg === 'projections rebuilt');
      expect((await rebuild.exited).code).toBe(0);
      expect(done).toMatchObject({ chain_id: chainId, events: (await eventKeys(db, chainId)).length });
      expect(await projectionChecksums(db, chainId)).toEqual(good);

      const keys = await eventKeys(db, chainId);
      for (const format of ['ndjson', 'csv'] as const) {
        const exporter = runCli(['export', '--format', format], { DATABASE_URL: db.url! });
        let out = '';
        exporter.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
        expect((await exporter.exited).code).toBe(0);
        const lines = out.trim().split('\n');
        if (format === 'ndjson') {
          const events = lines.map((l) => JSON.parse(l) as { blockNumber: number; logIndex: number; blockHash: string; event: string; args: Record<string, string> });
          expect(events.map((e) => `${e.blockNumber}:${e.logIndex}:${e.blockHash}`)).toEqual(keys);
          expect(events[0]).toMatchObject({ event: 'ChamaCreated', args: { chamaId: '1', name: 'crash 0' } });
        } else {
          expect(lines[0]).toBe('chainId,blockNumber,blockHash,logIndex,txHash,address,event,args');
          expect(lines).toHaveLength(keys.length + 1);
        }
      }
      const ranged = runCli(['export', '--format', 'ndjson', '--from', '10', '--to', '20'], { DATABASE_URL: db.url! });
      let out = '';
      ranged.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
      await ranged.exited;
      const blocks = out.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { blockNumber: number }).blockNumber);
      expect(blocks.length).toBe(keys.filter((k) => Number(k.split(':')[0]) >= 10 && Number(k.split(':')[0]) <= 20).length);
    } finally {
      await db.drop();
    }
  }, 60_000);
});
