import { sql } from 'drizzle-orm';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReorgTooDeepError } from '../src/common/errors.ts';
import { chamaTopics } from '../src/decode/abi.ts';
import { createRpc } from '../src/rpc/client.ts';
import { createBlockSource } from '../src/source/block-source.ts';
import { createRangeSizer } from '../src/source/log-ranges.ts';
import { readCursor, type Cursor } from '../src/store/chain-state.ts';
import { rows } from '../src/store/db.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, differencesFromChain, group, silent } from './helpers/indexing.ts';
import { eventKeys, projectionSnapshot } from './helpers/projections.ts';
import { startRpcProxy, type RpcProxy } from './helpers/rpc-proxy.ts';

let chain: TestChain;
let proxy: RpcProxy;
let db: TestDb;

beforeAll(async () => {
  chain = await startTestChain();
  proxy = await startRpcProxy(chain.rpcUrl);
  db = await createTestDb('pglite');
});
afterAll(async () => {
  await db?.drop();
  await proxy?.close();
  await chain?.stop();
});

const reorgCount = async () => Number((await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM reorgs`))[0]!.n);

describe('restarts, lagging nodes and deep reorgs', () => {
  it('finds and handles at start a reorg made while the indexer was stopped', async () => {
    const [a, b, c] = chain.accounts;
    const id = await group(chain, 'before', parseEther('0.1'), 3n, [a, b]);
    await createTestIndexer(db, chain).syncToHead();
    const snap = await chain.snapshot();
    await chain.actions.join(id, c);
    await chain.actions.contribute(id, a);
    const stopped = await createTestIndexer(db, chain).syncToHead();
    expect(stopped?.blockNumber).toBe(Number(await chain.publicClient.getBlockNumber()));

    // While no indexer runs: the chain forgets the last two blocks and grows another way.
    await chain.revert(snap);
    await chain.actions.contribute(id, b);
    await chain.mine(3);

    const restarted = await createTestIndexer(db, chain).syncToHead();
    const head = await chain.publicClient.getBlock();
    expect(restarted).toEqual({ blockNumber: Number(head.number), blockHash: head.hash });
    expect(await reorgCount()).toBe(1);
    expect(await differencesFromChain(db, chain, head.number)).toEqual([]);
  });

  it('a node answering an older head than the cursor causes no rewind', async () => {
    const [a, , , d] = chain.accounts;
    await group(chain, 'lag', parseEther('0.1'), 2n, [d, a]);
    const indexer = createTestIndexer(db, { rpcUrl: proxy.url, address: chain.address });
    const cursor = await indexer.syncToHead();
    const before = { events: await eventKeys(db, chainId), projections: await projectionSnapshot(db, chainId), reorgs: await reorgCount() };

    proxy.lagBy(3);
    expect(await indexer.syncToHead()).toEqual(cursor);
    expect(await createTestIndexer(db, { rpcUrl: proxy.url, address: chain.address }).syncToHead()).toEqual(cursor);
    expect(await readCursor(db.orm, chainId)).toEqual(cursor);
    expect({ events: await eventKeys(db, chainId), projections: await projectionSnapshot(db, chainId), reorgs: await reorgCount() }).toEqual(before);

    proxy.lagBy(0);
    await chain.mine(2);
    const after = await indexer.syncToHead();
    expect(after!.blockNumber).toBe(cursor!.blockNumber + 2);
    expect(await reorgCount()).toBe(before.reorgs);
  });

  // anvil answers eth_getLogs from past its head with an error, and up to past its head with the logs it has.
  it.each([0, 1])('a head that goes back between the headers and the logs (a reorg onto a shorter fork, %i new blocks) is re-read, not fatal', async (newBlocks) => {
    const [a, b] = chain.accounts;
    const indexer = createTestIndexer(db, { rpcUrl: proxy.url, address: chain.address });
    await indexer.syncToHead();
    const forkBlock = Number(await chain.publicClient.getBlockNumber());
    const snap = await chain.snapshot();
    await group(chain, 'vanishing', parseEther('0.1'), 2n, [a, b]);
    await chain.mine(3);
    const reorgsBefore = await reorgCount();
    let raced = 0;
    proxy.beforeCall(async (call) => {
      const filter = call.params?.[0] as { toBlock?: string } | undefined;
      if (raced > 0 || call.method !== 'eth_getLogs' || Number(filter?.toBlock) <= forkBlock) return;
      raced++;
      // Between the indexer's head/header reads and this eth_getLogs, the chain shrinks.
      await chain.revert(snap);
      if (newBlocks > 0) await chain.mine(newBlocks);
    });
    try {
      let cursor = await indexer.syncToHead();
      for (let i = 0; i < 5 && cursor?.blockNumber !== forkBlock + newBlocks; i++) cursor = await indexer.syncToHead();
      const head = await chain.publicClient.getBlock();
      expect(raced).toBe(1);
      expect(head.number).toBe(BigInt(forkBlock + newBlocks));
      expect(cursor).toEqual({ blockNumber: Number(head.number), blockHash: head.hash });
      expect(await reorgCount()).toBe(reorgsBefore);
      expect(await differencesFromChain(db, chain, head.number)).toEqual([]);
    } finally {
      proxy.beforeCall(undefined);
    }
  });

  it('retries transient RPC failures', async () => {
    const indexer = createTestIndexer(db, { rpcUrl: proxy.url, address: chain.address });
    const [a, b] = chain.accounts;
    await group(chain, 'flaky', parseEther('0.1'), 2n, [b, a]);
    proxy.failNext(2, 503); // the test indexer retries twice
    const cursor = await indexer.syncToHead();
    expect(cursor?.blockNumber).toBe(Number(await chain.publicClient.getBlockNumber()));
    expect(await differencesFromChain(db, chain, BigInt(cursor!.blockNumber))).toEqual([]);
  });

  it('a reorg deeper than MAX_REORG_DEPTH stops indexing and writes nothing', async () => {
    const [a, b] = chain.accounts;
    await createTestIndexer(db, chain).syncToHead();
    const snap = await chain.snapshot();
    for (let i = 0; i < 4; i++) await group(chain, `deep ${i}`, parseEther('0.1'), 2n, [a, b]);
    await createTestIndexer(db, chain).syncToHead();
    const before = { cursor: await readCursor(db.orm, chainId), events: await eventKeys(db, chainId), projections: await projectionSnapshot(db, chainId), reorgs: await reorgCount() };

    await chain.revert(snap);
    await chain.mine(8);
    const error = await createTestIndexer(db, chain, { maxReorgDepth: 2 })
      .syncToHead()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReorgTooDeepError);
    expect((error as ReorgTooDeepError).message).toMatch(/MAX_REORG_DEPTH=2.*resync/);
    expect((error as ReorgTooDeepError).context).toMatchObject({ chain_id: chainId, block_number: before.cursor!.blockNumber, block_hash: before.cursor!.blockHash });
    expect({ cursor: await readCursor(db.orm, chainId), events: await eventKeys(db, chainId), projections: await projectionSnapshot(db, chainId), reorgs: await reorgCount() }).toEqual(before);

    // With a deep enough window the same situation is an ordinary reorg.
    const head = await chain.publicClient.getBlock();
    expect(await createTestIndexer(db, chain, { maxReorgDepth: 64 }).syncToHead()).toEqual({ blockNumber: Number(head.number), blockHash: head.hash });
    expect(await differencesFromChain(db, chain, head.number)).toEqual([]);
  });

  it('splits log ranges the node refuses and still indexes everything', async () => {
    const fresh = await createTestDb('pglite');
    proxy.maxLogRange(3);
    try {
      const cursor = await createTestIndexer(fresh, { rpcUrl: proxy.url, address: chain.address }).syncToHead();
      expect(cursor?.blockNumber).toBe(Number(await chain.publicClient.getBlockNumber()));
      expect(proxy.refusedRanges).toBeGreaterThan(0);
      expect(await eventKeys(fresh, chainId)).toEqual(await eventKeys(db, chainId));
    } finally {
      proxy.maxLogRange(0);
      await fresh.drop();
    }
  });
});

describe('the block source', () => {
  it('prefetching several ranges ahead while range sizes grow asks for each block once, and reads the head once below finality', async () => {
    await chain.mine(200); // anvil finalizes 64 blocks behind its head
    const requested: [number, number][] = [];
    let headReads = 0;
    proxy.beforeCall(async (call) => {
      if (call.method === 'eth_blockNumber') headReads++;
      if (call.method !== 'eth_getLogs') return;
      const f = call.params![0] as { fromBlock: string; toBlock: string };
      requested.push([Number(f.fromBlock), Number(f.toBlock)]);
    });
    try {
      const source = createBlockSource({
        rpc: createRpc({ urls: [proxy.url], logger: silent, retries: 1 }),
        chainId,
        addresses: [chain.address],
        topics: chamaTopics,
        startBlock: 0,
        confirmations: 0,
        maxReorgDepth: 8,
        sizer: createRangeSizer({ maxBlocks: 16, initialBlocks: 1 }),
        storedBlocks: async () => [],
        logger: silent,
        prefetch: 3,
        tipRefreshMs: 60_000,
      });
      let cursor: Cursor | undefined;
      const handedOut: [number, number][] = [];
      for (;;) {
        const next = await source.next(cursor);
        if (next.kind !== 'batch' || next.mode !== 'historical') break;
        handedOut.push([next.from, next.to]);
        const tip = next.headers[next.headers.length - 1]!;
        cursor = { blockNumber: tip.number, blockHash: tip.hash };
      }
      expect(handedOut.length).toBeGreaterThan(5);
      handedOut.forEach(([from], i) => expect(from).toBe(i === 0 ? 0 : handedOut[i - 1]![1] + 1));
      const blocks = requested.flatMap(([from, to]) => Array.from({ length: to - from + 1 }, (_, i) => from + i));
      expect(blocks.length).toBe(new Set(blocks).size);
      // Below the finality it read first, the source read the head again only to check the
      // first cursor's hash, and once past that finality (the call that ended the loop).
      expect(headReads).toBe(3);
    } finally {
      proxy.beforeCall(undefined);
    }
  });
});
