import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../../src/api/app.ts';
import { apiListener } from '../../src/api/server.ts';
import { group } from '../helpers/indexing.ts';
import { waitFor } from '../helpers/wait.ts';
import { chainId, silent, startFixture, type Fixture } from './fixture.ts';

/**
 * The response cache behind the real node server on a loopback port: a cached answer is the
 * app's answer with the request's own id; it follows commits in the indexing process, and the
 * cursor on a replica that has no indexer.
 */
let f: Fixture;
const servers: Server[] = [];

beforeAll(async () => {
  f = await startFixture('postgres');
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await f?.stop();
});

async function listen(api: ReturnType<typeof createApi>): Promise<string> {
  const server = createServer(apiListener(api));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const get = async (url: string, requestId?: string) => {
  const res = await fetch(url, requestId ? { headers: { 'X-Request-Id': requestId } } : {});
  return { status: res.status, headers: Object.fromEntries(res.headers), body: (await res.json()) as any };
};
const withoutVolatile = (headers: Record<string, string>) => {
  const { 'x-request-id': _id, date: _date, ...rest } = headers;
  return rest;
};

describe('cached reads', () => {
  it('a cached answer is the same status, headers and body, with the request id of its own request; counted under its route', async () => {
    const api = createApi({ db: f.db, chainId, logger: silent, indexer: f.indexer });
    const base = await listen(api);
    const [a0, a1] = f.chain.accounts;
    const id = await group(f.chain, 'Cached', parseEther('0.1'), 2n, [a0, a1]);
    await f.indexer.syncToHead();

    const first = await get(`${base}/chamas/${id}`, 'first-read');
    expect(first.status).toBe(200);
    // Read now: a hit checks the cursor in the background, and its first check drops everything.
    expect(api.cache.size).toBeGreaterThan(0);
    const second = await get(`${base}/chamas/${id}`, 'second-read');
    const third = await get(`${base}/chamas/${id}`, 'not a valid id!');
    expect(second).toEqual({ ...first, headers: { ...first.headers, 'x-request-id': 'second-read', date: second.headers.date } });
    expect(first.headers['x-request-id']).toBe('first-read');
    expect(third.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(withoutVolatile(third.headers)).toEqual(withoutVolatile(first.headers));

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^http_requests_total\{method="GET",route="\/chamas\/:id",status="200"[^}]*\} 3$/m);

    // A commit drops the cache: the next read has the new totals.
    await f.chain.actions.contribute(id, a0);
    const cursor = await f.indexer.syncToHead();
    const after = await get(`${base}/chamas/${id}`);
    expect(after.body.meta.indexedBlock).toBe(cursor!.blockNumber);
    expect(after.body.data.totalContributed).toBe(parseEther('0.1').toString());
  });

  it('a replica drops what it cached once the cursor moves, without any notice from an indexer', async () => {
    const replica = createApi({ db: f.db, chainId, logger: silent, cacheCheckMs: 50 });
    const base = await listen(replica);
    const [, , a2, a3] = f.chain.accounts;
    const id = await group(f.chain, 'Replica', parseEther('0.2'), 2n, [a2, a3]);
    await f.indexer.syncToHead();
    const before = await get(`${base}/chamas/${id}`);
    expect((await get(`${base}/chamas/${id}`)).body).toEqual(before.body);

    await f.chain.actions.contribute(id, a3);
    const cursor = await f.indexer.syncToHead();
    // Entries live 30 s or more: only the cursor check can drop this one within seconds.
    const after = await waitFor(async () => {
      const r = await get(`${base}/chamas/${id}`);
      return r.body.meta.indexedBlock === cursor!.blockNumber ? r : undefined;
    }, 'the replica to see the new cursor', 3000);
    expect(after.body.data.totalContributed).toBe(parseEther('0.2').toString());
  });

  it('requests that miss together all get the one answer', async () => {
    const api = createApi({ db: f.db, chainId, logger: silent, indexer: f.indexer });
    const base = await listen(api);
    const [a0, , , , a4] = f.chain.accounts;
    const answers = await Promise.all(Array.from({ length: 24 }, () => get(`${base}/accounts/${a4.toLowerCase()}`)));
    expect(new Set(answers.map((a) => JSON.stringify(a.body))).size).toBe(1);
    expect(answers[0]!.body.data).toMatchObject({ address: a4.toLowerCase(), chamas: 0, memberships: [] });
    const member = await get(`${base}/accounts/${a0.toLowerCase()}`);
    expect(member.body.data.memberships.length).toBeGreaterThan(0);
  });
});
