import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChamaEvent } from '../src/decode/event.ts';
import { commitBatch, prepareBatch, rewind } from '../src/indexer/commit.ts';
import { accountsOf, createWorkingSet, foldEvents } from '../src/projections/fold.ts';
import { eventAccount } from '../src/decode/event.ts';
import { createLiveProjections, type LiveProjections } from '../src/projections/live.ts';
import { rebuildProjections } from '../src/projections/engine.ts';
import { forgetChain, readCursor, type Cursor } from '../src/store/chain-state.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { eventKeys, projectionSnapshot } from './helpers/projections.ts';
import { blockHash, synthesize, type Choice } from './helpers/synthetic.ts';

/**
 * The store and the fold without a chain: random valid activity, committed in random batch
 * splits, with a reorg rewinding a random suffix and a new fork replacing it. Afterwards the
 * incremental projections must equal a rebuild from the events, and the orphaned events must
 * be exactly the replaced ones.
 */
const chainId = 7777;

const choice = fc.record({ kind: fc.constantFrom<Choice['kind']>('create', 'join', 'join', 'contribute', 'contribute', 'contribute', 'mine'), pick: fc.nat(20), size: fc.nat(20) });

async function commitInBatches(db: TestDb, live: LiveProjections, events: ChamaEvent[], fromBlock: number, toBlock: number, fork: string, cuts: number[], cursor: Cursor | undefined) {
  const bounds = [...new Set(cuts.map((c) => fromBlock + (c % Math.max(1, toBlock - fromBlock + 1))).concat(toBlock))].sort((a, b) => a - b);
  let start = fromBlock;
  for (const end of bounds) {
    if (end < start) continue;
    const headers = [];
    for (let n = start; n <= end; n++) headers.push({ number: n, hash: blockHash(fork, n), parentHash: n === 0 ? blockHash('genesis', 0) : blockHash(n - 1 < fromBlock ? 'a' : fork, n - 1), timestamp: n });
    const batch = events.filter((e) => e.blockNumber >= start && e.blockNumber <= end);
    live.trim();
    const writes = await prepareBatch(db, live, chainId, batch);
    cursor = (await commitBatch(db, { chainId, eventCount: batch.length, writes, headers, from: cursor, finalized: 0, relaxed: cuts.length % 2 === 0 })).cursor;
    start = end + 1;
  }
  return cursor;
}

describe.each(['pglite', 'postgres'] as const)('fold and store on %s', (kind) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await createTestDb(kind);
  });
  afterAll(async () => db?.drop());

  it('incremental = rebuild after random batches and a reorg; orphans kept', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(choice, { maxLength: 40 }), fc.array(choice, { maxLength: 15 }), fc.array(choice, { maxLength: 20 }), fc.array(fc.nat(60), { maxLength: 6 }), async (kept, orphanedChoices, replacement, cuts) => {
        await forgetChain(db, chainId);
        // The writer's live copy of the aggregates carries across batches, as in the indexer.
        const live = createLiveProjections({ maxRows: cuts.length * 5 });
        const a1 = synthesize(kept, { chainId, firstBlock: 1, fork: 'a' });
        const stateAtFork = structuredClone(a1.chamas);
        const fork = a1.lastBlock;
        let cursor = await commitInBatches(db, live, a1.events, 1, fork, 'a', cuts, undefined);
        const a2 = synthesize([...orphanedChoices, { kind: 'mine', pick: 0, size: 0 }], { chainId, firstBlock: fork + 1, fork: 'a', chamas: a1.chamas });
        cursor = await commitInBatches(db, live, a2.events, fork + 1, a2.lastBlock, 'a', cuts, cursor);

        live.forget();
        await rewind(db, { chainId, ancestor: { number: fork, hash: blockHash('a', fork), parentHash: blockHash('a', fork - 1) }, oldTip: cursor!, newHash: blockHash('b', a2.lastBlock), finalized: 0 });
        expect(await readCursor(db.orm, chainId)).toEqual({ blockNumber: fork, blockHash: blockHash('a', fork) });
        expect(await eventKeys(db, chainId, 'orphaned_events')).toEqual(a2.events.map((e) => `${e.blockNumber}:${e.logIndex}:${e.blockHash}`));

        const b = synthesize([...replacement, { kind: 'mine', pick: 0, size: 0 }], { chainId, firstBlock: fork + 1, fork: 'b', chamas: stateAtFork });
        await commitInBatches(db, live, b.events, fork + 1, b.lastBlock, 'b', cuts, { blockNumber: fork, blockHash: blockHash('a', fork) });
        expect(await eventKeys(db, chainId)).toEqual([...a1.events, ...b.events].map((e) => `${e.blockNumber}:${e.logIndex}:${e.blockHash}`));

        const incremental = await projectionSnapshot(db, chainId);
        await rebuildProjections(db, chainId);
        expect(await projectionSnapshot(db, chainId)).toEqual(incremental);
      }),
      { numRuns: kind === 'pglite' ? 60 : 40 },
    );
  }, 300_000);
});

describe('the fold', () => {
  // Folds in place on the rows it copied; the rows it started from (a prepared batch's, the
  // live copy's) must not change, or a later batch would rewrite an earlier one's state.
  it('folding in random pieces = folding at once, and never modifies a row it did not change', () => {
    fc.assert(
      fc.property(fc.array(choice, { maxLength: 60 }), fc.array(fc.nat(80), { maxLength: 8 }), (choices, cuts) => {
        const { events } = synthesize(choices, { chainId, firstBlock: 1, fork: 'a' });
        const whole = foldEvents(createWorkingSet(), events);
        let ws = createWorkingSet();
        const bounds = [...new Set(cuts.map((c) => c % (events.length + 1)).concat(events.length))].sort((a, b) => a - b);
        let start = 0;
        for (const end of bounds) {
          // Each piece starts from frozen rows: a write to one of them throws (ES modules are strict).
          ws = createWorkingSet({ chamas: [...ws.chamas.values()].map((r) => Object.freeze(r)), members: [...ws.members.values()].map((r) => Object.freeze(r)) });
          foldEvents(ws, events.slice(start, end));
          start = end;
        }
        expect([...ws.chamas.entries()].sort()).toEqual([...whole.chamas.entries()].sort());
        expect([...ws.members.entries()].sort()).toEqual([...whole.members.entries()].sort());
      }),
      { numRuns: 300 },
    );
  });

  // Accounts have no table: they are summed from member rows. The model folds each account's own
  // events, as the accounts table did.
  it('accounts summed from member rows = a fold of each account\'s own events', () => {
    fc.assert(
      fc.property(fc.array(choice, { maxLength: 80 }), (choices) => {
        const { events } = synthesize(choices, { chainId, firstBlock: 1, fork: 'a' });
        const model = new Map<string, { chainId: number; account: string; chamas: number; totalContributed: bigint; totalReceived: bigint; updatedAtBlock: number }>();
        for (const e of events) {
          if (e.event === 'ChamaCreated') continue;
          const account = eventAccount(e);
          const a = model.get(account) ?? { chainId, account, chamas: 0, totalContributed: 0n, totalReceived: 0n, updatedAtBlock: 0 };
          if (e.event === 'MemberJoined') a.chamas += 1;
          if (e.event === 'ContributionMade') a.totalContributed += e.args.amount;
          if (e.event === 'PayoutProcessed') a.totalReceived += e.args.amount;
          a.updatedAtBlock = e.blockNumber;
          model.set(account, a);
        }
        const derived = accountsOf(foldEvents(createWorkingSet(), events).members.values());
        expect([...derived.entries()].sort()).toEqual([...model.entries()].sort());
      }),
      { numRuns: 300 },
    );
  });
});
