import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { parseEther, type Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { group } from '../helpers/indexing.ts';
import { createApp } from '../../src/api/app.ts';
import { chainId, silent, startFixture, type Fixture } from './fixture.ts';
import { openSse, type SseMessage } from './sse-client.ts';

/**
 * The API while the indexer runs live on a real anvil (PostgreSQL, the real node server on a
 * loopback port): SSE in order, reorg notices, resumption with Last-Event-ID (also across a
 * reorg made while disconnected), and keyset pages walked while rows are being inserted.
 */
let f: Fixture;
let server: ServerType;
let base: string;
const controller = new AbortController();
let running: Promise<void>;

beforeAll(async () => {
  f = await startFixture('postgres', { streamPollMs: 100, streamStatusMs: 300 });
  running = f.indexer.run(controller.signal);
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: f.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  controller.abort();
  await running?.catch(() => {});
  (server as unknown as { closeAllConnections?: () => void })?.closeAllConnections?.();
  await new Promise((r) => server?.close(r));
  await f?.stop();
});

async function caughtUp() {
  const head = await f.chain.publicClient.getBlock();
  await waitFor(() => f.indexer.status().cursor?.blockHash === head.hash, `the indexer to reach block ${head.number}`);
  return head;
}

const json = async (path: string) => (await fetch(`${base}${path}`)).json() as Promise<any>;
const eventsAfter = async (block: number) => (await json(`/events?fromBlock=${block + 1}&limit=1000`)).data;
const sseEvents = (ms: SseMessage[]) => ms.filter((m) => m.event === 'event').map((m) => m.data);

describe('GET /stream', () => {
  it('sends a status first, then every new event in chain order with position ids', async () => {
    const start = await caughtUp();
    const sse = await openSse(`${base}/stream`);
    expect(sse.status).toBe(200);
    const status = await sse.next((m) => m.event === 'status', 'a status');
    expect(status.data).toMatchObject({ chainId: 31337, indexedBlock: Number(start.number), headBlock: expect.any(Number) });
    expect(status.id).toMatch(new RegExp(`^${start.number}:\\*:\\d+$`));

    const [a0, a1, a2] = f.chain.accounts;
    const id = await group(f.chain, 'Stream', parseEther('0.1'), 3n, [a0, a1, a2]);
    for (const who of [a0, a1, a2]) await f.chain.actions.contribute(id, who);
    await caughtUp();
    const expected = await eventsAfter(Number(start.number));
    expect(expected.map((e: any) => e.event)).toEqual(['ChamaCreated', 'MemberJoined', 'MemberJoined', 'MemberJoined', 'ContributionMade', 'ContributionMade', 'ContributionMade', 'PayoutProcessed']);
    await sse.next((m) => m.event === 'event' && m.data.event === 'PayoutProcessed', 'the payout');
    expect(sseEvents(sse.messages)).toEqual(expected);
    const ids = sse.messages.filter((m) => m.event === 'event').map((m) => m.id);
    expect(ids).toEqual(expected.map((e: any) => `${e.blockNumber}:${e.logIndex}:0`));
    await sse.next((m) => m.event === 'status' && m.data.indexedBlock > Number(start.number), 'a later status');
    sse.close();
  });

  it('resumes after Last-Event-ID with nothing lost or repeated', async () => {
    const start = await caughtUp();
    const [, , , a3, a4] = f.chain.accounts;
    const first = await openSse(`${base}/stream`);
    const id = await group(f.chain, 'Resume', parseEther('0.2'), 2n, [a3, a4]);
    const created = await first.next((m) => m.event === 'event' && m.data.event === 'ChamaCreated', 'the creation');
    first.close();
    // Activity while the client is away.
    await f.chain.actions.contribute(id, a3);
    await f.chain.actions.contribute(id, a4);
    await caughtUp();

    const second = await openSse(`${base}/stream`, created.id);
    await second.next((m) => m.event === 'event' && m.data.event === 'PayoutProcessed', 'the payout after resuming');
    const expected = (await eventsAfter(Number(start.number))).filter((e: any) => e.blockNumber > created.data.blockNumber || (e.blockNumber === created.data.blockNumber && e.logIndex > created.data.logIndex));
    expect(expected.length).toBeGreaterThanOrEqual(4);
    expect(sseEvents(second.messages)).toEqual(expected);
    second.close();
  });

  it('tells a reorg as it happens, then streams the new fork; /metrics counts it', async () => {
    const [a0, a1, a2, a3] = f.chain.accounts;
    const fork = await caughtUp();
    const sse = await openSse(`${base}/stream`);
    await sse.next((m) => m.event === 'status', 'a status');
    const snap = await f.chain.snapshot();
    await group(f.chain, 'Doomed', parseEther('0.1'), 2n, [a0, a1]);
    const oldTip = await caughtUp();
    await sse.next((m) => m.event === 'event' && m.data.event === 'MemberJoined' && m.data.args.member === a1.toLowerCase(), 'the doomed join');

    await f.chain.revert(snap);
    await group(f.chain, 'Survivor', parseEther('0.3'), 2n, [a2, a3]);
    await f.chain.mine(2);
    await caughtUp();
    const reorg = await sse.next((m) => m.event === 'reorg', 'the reorg notice');
    expect(reorg.data).toMatchObject({ depth: Number(oldTip.number - fork.number), forkBlock: Number(fork.number), oldTip: Number(oldTip.number), oldHash: oldTip.hash, orphanedEvents: 3 });
    expect(reorg.id).toMatch(new RegExp(`^${fork.number}:\\*:\\d+$`));
    const at = sse.messages.indexOf(reorg);
    await sse.next((m) => m.event === 'event' && m.data.args.member === a3.toLowerCase(), 'the new fork', at);
    const afterReorg = sseEvents(sse.messages.slice(at));
    expect(afterReorg).toEqual(await eventsAfter(Number(fork.number)));
    expect(afterReorg.map((e: any) => e.args.name).filter(Boolean)).toEqual(['Survivor']);
    sse.close();

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^chama_reorgs_total\{[^}]*\} 1$/m);
    expect(metrics).toMatch(new RegExp(`^chama_reorg_depth_blocks_sum\\{[^}]*\\} ${Number(oldTip.number - fork.number)}$`, 'm'));
  });

  it('a client that was away during a reorg gets the reorg, then the new fork, on resuming', async () => {
    const [a0, a1, a2, a3] = f.chain.accounts;
    const fork = await caughtUp();
    const snap = await f.chain.snapshot();
    const sse = await openSse(`${base}/stream`);
    await group(f.chain, 'Ghost', parseEther('0.1'), 2n, [a1, a0]);
    const last = await sse.next((m) => m.event === 'event' && m.data.event === 'MemberJoined', 'the ghost join');
    sse.close();

    await f.chain.revert(snap);
    await group(f.chain, 'Real', parseEther('0.4'), 2n, [a3, a2]);
    await f.chain.mine(3);
    await caughtUp();

    const resumed = await openSse(`${base}/stream`, last.id);
    const reorg = await resumed.next((m) => m.event === 'reorg', 'the missed reorg');
    expect(reorg.data.forkBlock).toBe(Number(fork.number));
    await resumed.next((m) => m.event === 'event' && m.data.args.member === a2.toLowerCase(), 'the real join');
    expect(resumed.messages[0]!.event).toBe('reorg');
    expect(sseEvents(resumed.messages)).toEqual(await eventsAfter(Number(fork.number)));
    resumed.close();
  });
});

describe('GET /stream on a read-only replica (no indexer in the process)', () => {
  it('finds new events by polling the database', async () => {
    const replica = createApp({ db: f.db, chainId, logger: silent, streamPollMs: 50, streamStatusMs: 60_000 });
    const s = await new Promise<ServerType>((resolve) => {
      const x = serve({ fetch: replica.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(x));
    });
    try {
      const start = await caughtUp();
      const sse = await openSse(`http://127.0.0.1:${(s.address() as AddressInfo).port}/stream`);
      const status = await sse.next((m) => m.event === 'status', 'a status');
      expect(status.data).toMatchObject({ state: 'unknown', indexedBlock: Number(start.number) });
      const [a0] = f.chain.accounts;
      await group(f.chain, 'Replica', parseEther('0.1'), 2n, [a0]);
      await caughtUp();
      await sse.next((m) => m.event === 'event' && m.data.event === 'MemberJoined', 'the join, found by polling');
      expect(sseEvents(sse.messages)).toEqual(await eventsAfter(Number(start.number)));
      sse.close();
    } finally {
      (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await new Promise((r) => s.close(r));
    }
  });
});

describe('keyset pagination while the indexer inserts', () => {
  it('walks /events and /chamas/:id/contributions with no duplicates or gaps', async () => {
    const [a0, a1, a2, a3, a4, a5] = f.chain.accounts;
    const members: Address[] = [a0, a1, a2, a3, a4, a5];
    const id = await group(f.chain, 'Busy', parseEther('0.01'), 6n, members);
    const from = Number((await caughtUp()).number) - 5;
    let done = false;
    const writer = (async () => {
      for (let round = 0; round < 4; round++) {
        for (const m of members) {
          await f.chain.actions.contribute(id, m);
          await new Promise((r) => setTimeout(r, 25));
        }
      }
      done = true;
    })();

    /** One full walk from the first page to nextCursor = null, while rows keep arriving. */
    const walk = async (path: string, limit: number) => {
      const seen: any[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10_000; pages++) {
        const page: any = await json(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...page.data);
        cursor = page.nextCursor;
        if (!cursor) return seen;
      }
      throw new Error('walk did not end');
    };
    const walks: { events: any[][]; contributions: any[][] } = { events: [], contributions: [] };
    let walksDuringInserts = 0;
    while (!done) {
      const [events, contributions] = await Promise.all([walk(`/events?fromBlock=${from}`, 2), walk(`/chamas/${id}/contributions`, 2)]);
      walks.events.push(events);
      walks.contributions.push(contributions);
      if (!done) walksDuringInserts++;
    }
    await writer;
    await caughtUp();
    walks.events.push(await walk(`/events?fromBlock=${from}`, 5));
    walks.contributions.push(await walk(`/chamas/${id}/contributions`, 5));

    const key = (e: any) => `${e.blockNumber}:${e.logIndex}`;
    const allEvents = (await json(`/events?fromBlock=${from}&limit=1000`)).data;
    const allContributions = (await json(`/chamas/${id}/contributions?limit=1000`)).data;
    expect(allContributions).toHaveLength(24);
    expect(walksDuringInserts).toBeGreaterThanOrEqual(1);
    // Each walk is exactly the list as it stood when the walk ended: a prefix of the final one.
    for (const w of walks.events) {
      expect(new Set(w.map(key)).size).toBe(w.length);
      expect(w).toEqual(allEvents.slice(0, w.length));
    }
    for (const w of walks.contributions) expect(w).toEqual(allContributions.slice(0, w.length));
    expect(walks.events.at(-1)).toEqual(allEvents);
    expect(walks.contributions.at(-1)).toEqual(allContributions);
    // Walks overlapped the inserts: they ended at different lengths.
    expect(new Set(walks.contributions.map((w) => w.length)).size).toBeGreaterThan(1);
  });
});
