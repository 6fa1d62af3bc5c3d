import { sql } from 'drizzle-orm';
import { parseEther, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Indexer, IndexerNotice } from '../src/indexer/index.ts';
import { rebuildProjections } from '../src/projections/engine.ts';
import { rows } from '../src/store/db.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, differencesFromChain, group } from './helpers/indexing.ts';
import { eventKeys, projectionSnapshot } from './helpers/projections.ts';
import { waitFor } from './helpers/wait.ts';

/**
 * Reorgs made on anvil while the indexer runs live: snapshot, activity over `depth` blocks,
 * revert, different activity that outgrows the old tip. Afterwards the projections equal a
 * rebuild and the contract's views, and the orphaned events sit in the reorg log, not in events.
 */
let chain: TestChain;
let db: TestDb;
let indexer: Indexer;
const controller = new AbortController();
let running: Promise<void>;
const notices: IndexerNotice[] = [];

beforeAll(async () => {
  chain = await startTestChain();
  db = await createTestDb('postgres');
  indexer = createTestIndexer(db, chain);
  indexer.subscribe((n) => notices.push(n));
  running = indexer.run(controller.signal);
});
afterAll(async () => {
  controller.abort();
  await running;
  await db?.drop();
  await chain?.stop();
});

async function caughtUp() {
  const head = await chain.publicClient.getBlock();
  await waitFor(() => indexer.status().cursor?.blockHash === head.hash, `the indexer to reach block ${head.number}`);
  return head;
}

/** One block per action on automining anvil; each action emits at least one event. */
async function activity(blocks: number, actors: readonly Address[], amount: bigint) {
  for (let made = 0, k = 0; made < blocks; k++) {
    const id = await group(chain, `reorg ${k}`, amount, 2n, [actors[k % actors.length]!]);
    made++;
    if (made < blocks) {
      await chain.actions.join(id, actors[(k + 1) % actors.length]!);
      made++;
    }
  }
}

describe('reorgs during live indexing', () => {
  it.each([1, 3, 12])('depth %i: rewinds, re-indexes the new fork, keeps the orphans', async (depth) => {
    const [a, b, c, d] = chain.accounts;
    const base = await group(chain, 'base', parseEther('0.1'), 2n, [a, b]);
    await chain.actions.contribute(base, a);
    const fork = await caughtUp();
    const snap = await chain.snapshot();

    await activity(depth - 1, [c, d], parseEther('0.2'));
    await chain.actions.contribute(base, b); // the old fork pays out: the new one will not
    const oldTip = await caughtUp();
    expect(Number(oldTip.number - fork.number)).toBe(depth);
    const doomed = (await eventKeys(db, chainId)).filter((k) => Number(k.split(':')[0]) > Number(fork.number));
    expect(doomed.length).toBeGreaterThanOrEqual(depth);

    await chain.revert(snap);
    await activity(depth + 1, [d, c, b], parseEther('0.3'));
    await chain.mine(1);
    const newTip = await caughtUp();
    expect(newTip.number).toBeGreaterThan(oldTip.number);

    const reorg = notices.findLast((n) => n.kind === 'reorg');
    expect(reorg).toMatchObject({ kind: 'reorg', depth, ancestor: Number(fork.number), oldTip: { blockNumber: Number(oldTip.number), blockHash: oldTip.hash } });
    const [logged] = await rows<{ depth: number; old_hash: string; ancestor_block: number; orphaned_events: number }>(db.orm, sql`SELECT depth, old_hash, ancestor_block, orphaned_events FROM reorgs ORDER BY id DESC LIMIT 1`);
    expect(logged).toMatchObject({ depth, old_hash: oldTip.hash, ancestor_block: Number(fork.number), orphaned_events: doomed.length });

    const orphaned = await rows<{ k: string }>(db.orm, sql`SELECT block_number || ':' || log_index || ':0x' || encode(block_hash, 'hex') AS k FROM orphaned_events o JOIN reorgs r ON r.id = o.reorg_id WHERE r.old_hash = ${oldTip.hash} ORDER BY block_number, log_index`);
    expect(orphaned.map((r) => r.k)).toEqual(doomed);
    const canonical = await eventKeys(db, chainId);
    for (const k of doomed) expect(canonical).not.toContain(k);

    expect(await differencesFromChain(db, chain, newTip.number)).toEqual([]);
    const incremental = await projectionSnapshot(db, chainId);
    await rebuildProjections(db, chainId);
    expect(await projectionSnapshot(db, chainId)).toEqual(incremental);
  });
});
