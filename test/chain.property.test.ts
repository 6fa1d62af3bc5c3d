import fc from 'fast-check';
import { sql } from 'drizzle-orm';
import { parseEther, type Address, type Hex } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rebuildProjections } from '../src/projections/engine.ts';
import { forgetChain } from '../src/store/chain-state.ts';
import { rows } from '../src/store/db.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, differencesFromChain } from './helpers/indexing.ts';
import { projectionSnapshot } from './helpers/projections.ts';

/**
 * The central property, on a real chain: after any sequence of chama activity, indexing steps
 * and reorgs (anvil snapshot/revert, then a different history), the incremental projections
 * equal a rebuild from the events, and both equal what the contract's views say.
 */
type Chama = { members: Address[]; max: number; paid: Set<Address>; started: boolean };
type Model = Map<bigint, Chama>;
type Action = { kind: 'create' | 'join' | 'contribute'; pick: number; size: number } | { kind: 'mine'; pick: number; size: number };
/** A step: some chain activity, maybe an indexing pass, maybe a reorg back over the last `reorg` steps. */
type Step = { actions: Action[]; sync: boolean; reorg: number | null };

const action: fc.Arbitrary<Action> = fc.record({ kind: fc.constantFrom('create', 'join', 'join', 'contribute', 'contribute', 'contribute', 'mine'), pick: fc.nat(9), size: fc.nat(9) });
const step: fc.Arbitrary<Step> = fc.record({ actions: fc.array(action, { minLength: 1, maxLength: 5 }), sync: fc.boolean(), reorg: fc.option(fc.integer({ min: 1, max: 3 }), { freq: 2 }) });

let chain: TestChain;
let db: TestDb;
let base: Hex;

beforeAll(async () => {
  chain = await startTestChain();
  db = await createTestDb('pglite');
  base = await chain.snapshot();
});
afterAll(async () => {
  await db?.drop();
  await chain?.stop();
});

const clone = (m: Model): Model => new Map([...m].map(([id, c]) => [id, { ...c, members: [...c.members], paid: new Set(c.paid) }]));

async function act(model: Model, c: Action): Promise<void> {
  const list = [...model.entries()];
  const accounts = chain.accounts;
  switch (c.kind) {
    case 'mine':
      await chain.mine(1 + (c.size % 3));
      return;
    case 'create': {
      const creator = accounts[c.pick]!;
      const max = 2 + (c.size % 3);
      const { chamaId } = await chain.actions.createChama(`p${c.pick}`, parseEther('0.001') * BigInt(c.size + 1), BigInt(max), creator);
      model.set(chamaId, { members: [creator], max, paid: new Set(), started: false });
      return;
    }
    case 'join': {
      const open = list.filter(([, ch]) => !ch.started && ch.members.length < ch.max);
      const [id, ch] = open[c.pick % Math.max(1, open.length)] ?? [];
      const joiner = ch && [...accounts.slice(c.size), ...accounts].find((a) => !ch.members.includes(a));
      if (id === undefined || !ch || !joiner) return;
      await chain.actions.join(id, joiner);
      ch.members.push(joiner);
      return;
    }
    case 'contribute': {
      const ready = list.filter(([, ch]) => ch.members.length >= 2);
      const [id, ch] = ready[c.pick % Math.max(1, ready.length)] ?? [];
      const payer = ch?.members.find((m, i) => i >= c.size % ch.members.length && !ch.paid.has(m)) ?? ch?.members.find((m) => !ch.paid.has(m));
      if (id === undefined || !ch || !payer) return;
      await chain.actions.contribute(id, payer);
      ch.started = true;
      ch.paid.add(payer);
      if (ch.paid.size === ch.members.length) ch.paid.clear();
      return;
    }
  }
}

describe('chain property', () => {
  it('incremental = rebuild = chain, after random activity interleaved with reorgs', async () => {
    let runs = 0;
    let reorgsSeen = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 2, maxLength: 8 }), async (steps) => {
        runs++;
        await chain.revert(base);
        base = await chain.snapshot();
        await forgetChain(db, chainId);
        const indexer = createTestIndexer(db, chain);
        let model: Model = new Map();
        const checkpoints: { id: Hex; model: Model }[] = [];
        let highest = 0n;
        for (const s of steps) {
          checkpoints.push({ id: await chain.snapshot(), model: clone(model) });
          for (const a of s.actions) await act(model, a);
          if (s.sync) await indexer.syncToHead();
          if (s.reorg !== null && checkpoints.length >= s.reorg) {
            const head = await chain.publicClient.getBlockNumber();
            if (head > highest) highest = head;
            // Reverting consumes that snapshot and every later one.
            const target = checkpoints.splice(checkpoints.length - s.reorg)[0]!;
            await chain.revert(target.id);
            model = target.model;
          }
        }
        // A real fork overtakes the one it replaced; until then the indexer waits.
        const head = await chain.publicClient.getBlockNumber();
        if (head <= highest) await chain.mine(Number(highest - head) + 1);
        await indexer.syncToHead();
        const tip = await chain.publicClient.getBlock();
        expect(indexer.status().cursor).toEqual({ blockNumber: Number(tip.number), blockHash: tip.hash });
        reorgsSeen += Number((await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM reorgs`))[0]!.n);

        expect(await differencesFromChain(db, chain, tip.number)).toEqual([]);
        const incremental = await projectionSnapshot(db, chainId);
        await rebuildProjections(db, chainId);
        expect(await projectionSnapshot(db, chainId)).toEqual(incremental);
      }),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 50) },
    );
    expect(runs).toBeGreaterThanOrEqual(50);
    // The generator must actually exercise reorgs, or the property says little.
    expect(reorgsSeen).toBeGreaterThan(5);
  }, 480_000);
});
