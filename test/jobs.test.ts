import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMutex } from '../src/common/mutex.ts';
import { createJobRunner, type Job, type JobRunner } from '../src/jobs/index.ts';
import { createRpc } from '../src/rpc/client.ts';
import { readCursor } from '../src/store/chain-state.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, fullRound, group, silent } from './helpers/indexing.ts';
import { projectionChecksums } from './helpers/projections.ts';
import { startRpcProxy, type RpcProxy } from './helpers/rpc-proxy.ts';
import { waitFor } from './helpers/wait.ts';

let chain: TestChain;
let proxy: RpcProxy;
let db: TestDb;
const writer = createMutex();

function runner(overrides: { retentionMs?: number; rpcUrl?: string } = {}): JobRunner {
  return createJobRunner({
    db,
    chainId,
    rpc: createRpc({ urls: [overrides.rpcUrl ?? chain.rpcUrl], logger: silent, retries: 1 }),
    addresses: [chain.address.toLowerCase() as `0x${string}`],
    startBlock: 0,
    maxBlockRange: 10_000,
    writer,
    logger: silent,
    retentionMs: overrides.retentionMs ?? 86_400_000,
    verifyIntervalMs: 0,
    pollMs: 10,
  });
}

async function until(jobs: JobRunner, id: string, done: (j: Job) => boolean, what: string) {
  return waitFor(async () => {
    const j = await jobs.get(id);
    return j && done(j) ? j : undefined;
  }, what);
}

beforeAll(async () => {
  chain = await startTestChain();
  proxy = await startRpcProxy(chain.rpcUrl);
  const [a, b, c] = chain.accounts;
  for (let i = 0; i < 4; i++) {
    const id = await group(chain, `jobs ${i}`, parseEther('0.1'), 3n, [a, b, c]);
    await fullRound(chain, id, [a, b, c]);
  }
  db = await createTestDb('postgres');
  await createTestIndexer(db, chain).syncToHead();
});
afterAll(async () => {
  await db?.drop();
  await proxy?.close();
  await chain?.stop();
});

describe('jobs', () => {
  it('lifecycle: pending, running, completed with a result; one at a time, in order', async () => {
    const jobs = runner();
    const stop = new AbortController();
    const good = await projectionChecksums(db, chainId);
    await db.orm.execute(sql`UPDATE chamas SET total_contributed = 0`);
    const rebuild = await jobs.submit('rebuild', {});
    const verify = await jobs.submit('verify', {});
    expect(rebuild).toMatchObject({ status: 'pending', type: 'rebuild', progress: 0 });
    const loop = jobs.run(stop.signal);
    const rebuilt = await until(jobs, rebuild.id, (j) => j.status === 'completed', 'the rebuild');
    expect(rebuilt).toMatchObject({ progress: 100, result: { events: expect.any(Number) } });
    const verified = await until(jobs, verify.id, (j) => j.status === 'completed', 'the verify');
    expect(verified.result).toMatchObject({ chamas: 4, mismatches: 0, errors: 0 });
    expect(new Date(verified.startedAt!).getTime()).toBeGreaterThanOrEqual(new Date(rebuilt.finishedAt!).getTime());
    expect(await projectionChecksums(db, chainId)).toEqual(good);
    expect((await jobs.list({ limit: 10 })).map((j) => j.id)).toEqual([verify.id, rebuild.id]);
    expect((await jobs.list({ limit: 10, status: 'completed' })).length).toBe(2);
    stop.abort();
    await loop;
  });

  it('progress moves during a long job, and a running job can be cancelled', async () => {
    const jobs = runner({ rpcUrl: proxy.url });
    const stop = new AbortController();
    proxy.slow(150);
    try {
      const job = await jobs.submit('verify', { repair: false });
      const loop = jobs.run(stop.signal);
      const moving = await until(jobs, job.id, (j) => j.status === 'running' && j.progress > 0, 'progress above 0');
      expect(moving.progress).toBeLessThan(100);
      expect(moving.message).toMatch(/chamas checked/);
      expect(await jobs.cancel(job.id)).toBe('cancelled');
      const cancelled = await until(jobs, job.id, (j) => j.status === 'cancelled', 'the cancellation');
      expect(cancelled.finishedAt).not.toBeNull();
      stop.abort();
      await loop;
    } finally {
      proxy.slow(0);
    }
  });

  it('a cancelled rebuild leaves the old projections; finished jobs are deleted by DELETE', async () => {
    const jobs = runner();
    const stop = new AbortController();
    const before = await projectionChecksums(db, chainId);
    let release!: () => void;
    const held = writer.run(() => new Promise<void>((r) => (release = r))); // the indexer is mid-batch
    const job = await jobs.submit('rebuild', {});
    const loop = jobs.run(stop.signal);
    await until(jobs, job.id, (j) => j.status === 'running', 'the rebuild to start');
    expect(await jobs.cancel(job.id)).toBe('cancelled');
    release();
    await held;
    await until(jobs, job.id, (j) => j.status === 'cancelled', 'the cancellation');
    expect(await projectionChecksums(db, chainId)).toEqual(before);
    expect(await jobs.cancel(job.id)).toBe('deleted');
    expect(await jobs.get(job.id)).toBeUndefined();
    stop.abort();
    await loop;
  });

  it('a job left running by a dead process is marked failed at the next start', async () => {
    await db.orm.execute(sql`INSERT INTO jobs (id, chain_id, type, status, params, started_at) VALUES ('crashed-1', ${chainId}, 'rebuild', 'running', '{}'::jsonb, now())`);
    const jobs = runner();
    const stop = new AbortController();
    const loop = jobs.run(stop.signal);
    const failed = await until(jobs, 'crashed-1', (j) => j.status === 'failed', 'the crashed job to be marked failed');
    expect(failed.message).toMatch(/stopped before it finished/);
    stop.abort();
    await loop;
  });

  it('finished jobs older than the retention are removed', async () => {
    const jobs = runner({ retentionMs: 300 });
    const stop = new AbortController();
    const job = await jobs.submit('verify', {});
    const loop = jobs.run(stop.signal);
    await until(jobs, job.id, (j) => j.status === 'completed', 'the verify');
    await waitFor(async () => (await jobs.get(job.id)) === undefined, 'retention to remove the job', 10_000);
    stop.abort();
    await loop;
  });

  it('a backfill holds the writer until something else wants it: a job gets in after the batch in hand, a stop leaves nothing in flight', async () => {
    // anvil finalizes 64 blocks behind its head: historical batches, each up to 2 s of ranges
    // (BATCH_MS), so a first batch and the one in hand when the job asks are far from the end
    // (with four ranges fetched ahead, 700 blocks were done within about 1.5 s of the job).
    await chain.mine(1500);
    const head = Number(await chain.publicClient.getBlockNumber());
    const fresh = await createTestDb('postgres');
    const indexer = createTestIndexer(fresh, { rpcUrl: proxy.url, address: chain.address }, { writer, maxBlockRange: 4 });
    const indexed = () => indexer.status().cursor?.blockNumber ?? -1;
    const stop = new AbortController();
    proxy.slow(25); // at least 50 ms a batch (logs, then the last header): seconds of backfill
    try {
      const turns = writer.turns;
      const loop = indexer.run(stop.signal);
      await waitFor(() => indexed() >= 40, 'the backfill to start');
      const job = await writer.run(async () => ({ turn: writer.turns, indexed: indexed() }));
      // One step of the backfill, then the job, while the backfill was far from done.
      expect(job.turn).toBe(turns + 2);
      expect(job.indexed).toBeLessThan(head - 64 - 100);
      // Over a second and a half more in the same step: nothing else wanted the writer.
      await waitFor(() => indexed() >= job.indexed + 120, 'the backfill to go on after the job');
      stop.abort();
      await loop;
      expect(writer.turns).toBe(turns + 3);
      const stopped = indexer.status().cursor!;
      expect(stopped.blockNumber).toBeLessThan(head - 64);
      expect(await readCursor(fresh.orm, chainId)).toMatchObject(stopped);
      proxy.slow(0);
      const done = await createTestIndexer(fresh, chain).syncToHead();
      expect(done?.blockNumber).toBe(head);
      expect(await projectionChecksums(fresh, chainId)).toEqual(await projectionChecksums(db, chainId));
    } finally {
      proxy.slow(0);
      await fresh.drop();
    }
  });

  it('a backfill whose database connections are killed again and again goes on, losing and duplicating nothing', async () => {
    await chain.mine(200);
    const head = Number(await chain.publicClient.getBlockNumber());
    const fresh = await createTestDb('postgres');
    const indexer = createTestIndexer(fresh, { rpcUrl: proxy.url, address: chain.address }, { maxBlockRange: 4 });
    const indexed = () => indexer.status().cursor?.blockNumber ?? -1;
    const stop = new AbortController();
    const admin = postgres(fresh.url!, { max: 1, onnotice: () => {} });
    proxy.slow(10);
    try {
      const loop = indexer.run(stop.signal);
      await waitFor(() => indexed() >= 20, 'the backfill to start');
      // Some kills land while a batch's transaction is outstanding on the writer's connection.
      // Only connections that have run a query of their own: one that has not yet read the
      // server's array types (its first query) would fail that query, and postgres.js (3.4)
      // leaves that failure unhandled, which ends the process. (Turning `fetch_types` off once
      // one connection has read them does not do: a `reserve()` that opens a connection then
      // never resolves.)
      for (let i = 0; i < 15; i++) {
        await admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND application_name = 'chama-indexer' AND query <> '' AND query NOT LIKE '%typarray%'`;
        await new Promise((resolve) => setTimeout(resolve, 40));
      }
      proxy.slow(0);
      await waitFor(() => indexed() >= head, 'the backfill to reach the head', 60_000);
      stop.abort();
      await loop;
      expect(await projectionChecksums(fresh, chainId)).toEqual(await projectionChecksums(db, chainId));
      const [stored] = await admin<{ n: number; distinct: number }[]>`SELECT count(*)::int AS n, count(DISTINCT (block_number, log_index))::int AS distinct FROM events`;
      const [reference] = await db.orm.execute<{ n: number }>(sql`SELECT count(*)::int AS n FROM events`) as unknown as { n: number }[];
      expect(stored).toEqual({ n: reference!.n, distinct: reference!.n });
    } finally {
      proxy.slow(0);
      await admin.end();
      await fresh.drop();
    }
  });
});

