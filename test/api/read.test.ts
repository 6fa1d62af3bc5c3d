import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainId, lower, runScenario, startFixture, type Fixture, type Scenario } from './fixture.ts';

/**
 * Every read route against a PostgreSQL database indexed from a real anvil scenario; values
 * are checked against the contract's views (now and at earlier blocks) and every filter.
 */
let f: Fixture;
let s: Scenario;

beforeAll(async () => {
  f = await startFixture('postgres');
  s = await runScenario(f.chain);
  await f.indexer.syncToHead();
});
afterAll(() => f?.stop());

const ids = () => [s.ids.alpha, s.ids.beta, s.ids.gamma];

async function expectChamaMatchesView(body: any, id: bigint, block?: bigint) {
  const view = await f.chain.actions.readChama(id, block);
  expect(body).toMatchObject({
    id: id.toString(),
    address: lower(f.chain.address),
    creator: lower(view.creator),
    name: view.name,
    contributionAmount: view.contributionAmount.toString(),
    maxMembers: view.maxMembers.toString(),
    memberCount: Number(view.memberCount),
    currentRound: Number(view.currentRound),
    totalContributed: view.totalContributed.toString(),
    totalPaidOut: view.totalPaidOut.toString(),
    balance: (view.totalContributed - view.totalPaidOut).toString(),
  });
}

async function allPages(path: string, limit: number): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < 1000; i++) {
    const sep = path.includes('?') ? '&' : '?';
    const r = await f.get(`${path}${sep}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(r.status).toBe(200);
    expect(r.body.data.length).toBeLessThanOrEqual(limit);
    out.push(...r.body.data);
    cursor = r.body.nextCursor;
    if (!cursor) return out;
  }
  throw new Error('pagination did not end');
}

describe('read routes against the contract views', () => {
  it('meta and X-Indexed-Block come with every read', async () => {
    const head = await f.chain.publicClient.getBlock();
    const r = await f.get('/chamas');
    expect(r.body.meta).toEqual({ chainId, indexedBlock: Number(head.number), indexedBlockHash: head.hash, finalizedBlock: expect.any(Number) });
    expect(r.headers.get('x-indexed-block')).toBe(String(head.number));
    expect(r.headers.get('access-control-allow-origin')).toBe('*');
    expect(r.headers.get('x-request-id')).toMatch(/.+/);
  });

  it('GET /chamas lists every chama, equal to getChama, and pages with no duplicates', async () => {
    const r = await f.get('/chamas');
    expect(r.status).toBe(200);
    expect(r.body.nextCursor).toBeNull();
    expect(r.body.data.map((c: any) => c.id)).toEqual(ids().map(String));
    expect(BigInt(r.body.data.length)).toBe(await f.chain.actions.chamaCount());
    for (const c of r.body.data) await expectChamaMatchesView(c, BigInt(c.id));
    expect(await allPages('/chamas', 1)).toEqual(r.body.data);
    expect(await allPages('/chamas', 2)).toEqual(r.body.data);
  });

  it('GET /chamas filters by creator, member and contract (any case)', async () => {
    const [a0, a1, a2, a3, a4] = f.chain.accounts;
    const list = async (q: string) => (await f.get(`/chamas?${q}`)).body.data.map((c: any) => c.id);
    expect(await list(`creator=${a0}`)).toEqual([s.ids.alpha, s.ids.gamma].map(String));
    expect(await list(`creator=${a0.toUpperCase().replace('0X', '0x')}`)).toEqual([s.ids.alpha, s.ids.gamma].map(String));
    expect(await list(`creator=${a1}`)).toEqual([String(s.ids.beta)]);
    expect(await list(`member=${a1}`)).toEqual([s.ids.alpha, s.ids.beta].map(String));
    expect(await list(`member=${a3}`)).toEqual([String(s.ids.beta)]);
    expect(await list(`member=${a2}&creator=${a0}`)).toEqual([String(s.ids.alpha)]);
    expect(await list(`member=${a4}`)).toEqual([]);
    expect(await list(`contract=${f.chain.address}`)).toEqual(ids().map(String));
    expect(await list(`contract=0x${'1'.repeat(40)}`)).toEqual([]);
  });

  it('GET /chamas/:id equals getChama; 404 for an unknown id or contract', async () => {
    for (const id of ids()) {
      const r = await f.get(`/chamas/${id}`);
      expect(r.status).toBe(200);
      await expectChamaMatchesView(r.body.data, id);
    }
    expect((await f.get('/chamas/99')).status).toBe(404);
    expect((await f.get(`/chamas/1?contract=0x${'2'.repeat(40)}`)).body.error.code).toBe('not_found');
  });

  it('GET /chamas/:id?atBlock=N equals getChama read at N', async () => {
    for (const block of [s.blocks.afterCreate, s.blocks.afterRound1, s.blocks.afterRound1 + 3n, s.blocks.end]) {
      for (const id of [s.ids.alpha, s.ids.beta]) {
        const r = await f.get(`/chamas/${id}?atBlock=${block}`);
        expect(r.status).toBe(200);
        await expectChamaMatchesView(r.body.data, id, block);
        expect(r.body.meta.indexedBlock).toBe(Number(s.blocks.end));
      }
    }
    // gamma did not exist yet at afterRound1
    expect((await f.get(`/chamas/${s.ids.gamma}?atBlock=${s.blocks.afterRound1}`)).status).toBe(404);
    expect((await f.get(`/chamas/1?atBlock=${s.blocks.end + 1n}`)).status).toBe(400);
  });

  it('GET /chamas/:id/members equals membersOf and memberStats, in join order, paged', async () => {
    for (const id of ids()) {
      const r = await f.get(`/chamas/${id}/members`);
      expect(r.status).toBe(200);
      const onChain = await f.chain.actions.membersOf(id);
      expect(r.body.data.map((m: any) => m.address)).toEqual(onChain.map(lower));
      for (const m of r.body.data) {
        const v = await f.chain.actions.readMember(id, m.address);
        expect(m).toMatchObject({ chamaId: id.toString(), position: Number(v.position), totalContributed: v.contributed.toString(), totalReceived: v.received.toString() });
      }
      expect(await allPages(`/chamas/${id}/members`, 1)).toEqual(r.body.data);
    }
    const alpha = (await f.get(`/chamas/${s.ids.alpha}/members`)).body.data;
    expect(alpha.map((m: any) => m.contributions)).toEqual([2, 1, 2]);
    expect((await f.get('/chamas/42/members')).status).toBe(404);
  });

  it('GET /chamas/:id/contributions with ?round and ?contributor', async () => {
    const [a0, a1, a2] = f.chain.accounts;
    const all = (await f.get(`/chamas/${s.ids.alpha}/contributions`)).body.data;
    expect(all.map((c: any) => [c.contributor, c.round])).toEqual([
      [lower(a0), 1],
      [lower(a1), 1],
      [lower(a2), 1],
      [lower(a2), 2],
      [lower(a0), 2],
    ]);
    const view = await f.chain.actions.readChama(s.ids.alpha);
    expect(all.reduce((sum: bigint, c: any) => sum + BigInt(c.amount), 0n)).toBe(view.totalContributed);
    for (const c of all) {
      expect(c).toMatchObject({ chamaId: s.ids.alpha.toString(), amount: view.contributionAmount.toString(), txHash: expect.stringMatching(/^0x[0-9a-f]{64}$/) });
      const block = await f.chain.publicClient.getBlock({ blockNumber: BigInt(c.blockNumber) });
      expect(c.timestamp).toBe(Number(block.timestamp));
    }
    expect((await f.get(`/chamas/${s.ids.alpha}/contributions?round=2`)).body.data).toEqual(all.slice(3));
    expect((await f.get(`/chamas/${s.ids.alpha}/contributions?contributor=${a2}`)).body.data).toEqual([all[2], all[3]]);
    expect((await f.get(`/chamas/${s.ids.alpha}/contributions?contributor=${a2}&round=1`)).body.data).toEqual([all[2]]);
    expect((await f.get(`/chamas/${s.ids.alpha}/contributions?round=3`)).body.data).toEqual([]);
    expect(await allPages(`/chamas/${s.ids.alpha}/contributions`, 2)).toEqual(all);
  });

  it('GET /chamas/:id/payouts with ?round', async () => {
    const [a0, a1] = f.chain.accounts;
    const alpha = (await f.get(`/chamas/${s.ids.alpha}/payouts`)).body.data;
    expect(alpha).toHaveLength(1);
    expect(alpha[0]).toMatchObject({ recipient: lower(a0), round: 1, amount: (3n * 10n ** 18n).toString() });
    const beta = (await f.get(`/chamas/${s.ids.beta}/payouts?round=1`)).body.data;
    expect(beta).toEqual([expect.objectContaining({ recipient: lower(a1), round: 1, amount: (10n ** 18n).toString() })]);
    expect((await f.get(`/chamas/${s.ids.beta}/payouts?round=2`)).body.data).toEqual([]);
    expect((await f.get(`/chamas/${s.ids.beta}/payouts`)).body.data.reduce((n: bigint, p: any) => n + BigInt(p.amount), 0n)).toBe((await f.chain.actions.readChama(s.ids.beta)).totalPaidOut);
  });

  async function expectAccountMatchesViews(body: any, who: `0x${string}`, block?: bigint) {
    let chamas = 0;
    let contributed = 0n;
    let received = 0n;
    const memberships: Record<string, unknown>[] = [];
    for (const id of ids()) {
      const v = await f.chain.actions.readMember(id, who, block).catch(() => undefined);
      if (!v?.isMember) continue;
      chamas++;
      contributed += v.contributed;
      received += v.received;
      memberships.push({ contract: lower(f.chain.address), chamaId: id.toString(), position: Number(v.position), totalContributed: v.contributed.toString(), totalReceived: v.received.toString() });
    }
    expect(body).toMatchObject({ address: lower(who), chamas, totalContributed: contributed.toString(), totalReceived: received.toString() });
    expect(body.memberships).toHaveLength(memberships.length);
    body.memberships.forEach((m: any, i: number) => expect(m).toMatchObject(memberships[i]!));
  }

  it('GET /accounts/:address equals memberStats summed over chamas (any case; unknown = zeros)', async () => {
    for (const who of f.chain.accounts.slice(0, 5)) {
      const r = await f.get(`/accounts/${who.toUpperCase().replace('0X', '0x')}`);
      expect(r.status).toBe(200);
      await expectAccountMatchesViews(r.body.data, who);
    }
    const nobody = (await f.get(`/accounts/0x${'9'.repeat(40)}`)).body.data;
    expect(nobody).toEqual({ address: `0x${'9'.repeat(40)}`, chamas: 0, totalContributed: '0', totalReceived: '0', memberships: [] });
  });

  it('GET /accounts/:address?atBlock=N equals the views read at N', async () => {
    for (const block of [s.blocks.afterCreate, s.blocks.afterRound1, s.blocks.end - 2n, s.blocks.end]) {
      for (const who of f.chain.accounts.slice(0, 4)) {
        const r = await f.get(`/accounts/${who}?atBlock=${block}`);
        expect(r.status).toBe(200);
        await expectAccountMatchesViews(r.body.data, who, block);
      }
    }
    expect((await f.get(`/accounts/${f.chain.accounts[0]}?atBlock=${s.blocks.end + 5n}`)).status).toBe(400);
  });

  it('GET /accounts/:address?contract= keeps the totals across every contract and lists only that contract\'s memberships', async () => {
    const who = f.chain.accounts[0];
    for (const at of ['', `&atBlock=${s.blocks.afterRound1}`]) {
      const all = (await f.get(`/accounts/${who}?${at.slice(1)}`)).body.data;
      expect(all.memberships.length).toBeGreaterThan(0);
      expect((await f.get(`/accounts/${who}?contract=${f.chain.address}${at}`)).body.data).toEqual(all);
      expect((await f.get(`/accounts/${who}?contract=0x${'1'.repeat(40)}${at}`)).body.data).toEqual({ ...all, memberships: [] });
    }
  });

  it('GET /events: chain order, every filter, pages, and the ndjson and csv streams', async () => {
    const all = (await f.get('/events?limit=1000')).body.data;
    expect(all).toHaveLength(19);
    const keys = all.map((e: any) => e.blockNumber * 1e6 + e.logIndex);
    expect(keys).toEqual([...keys].sort((a, b) => a - b));
    expect(all[0]).toMatchObject({ chainId, event: 'ChamaCreated', address: lower(f.chain.address), args: { chamaId: '1', name: 'Alpha Savers', creator: lower(f.chain.accounts[0]) } });
    const counts = Object.fromEntries(['ChamaCreated', 'MemberJoined', 'ContributionMade', 'PayoutProcessed'].map((n) => [n, all.filter((e: any) => e.event === n).length]));
    expect(counts).toEqual({ ChamaCreated: 3, MemberJoined: 6, ContributionMade: 8, PayoutProcessed: 2 });
    for (const [event, n] of Object.entries(counts)) expect((await f.get(`/events?event=${event}&limit=1000`)).body.data).toHaveLength(n);
    const beta = (await f.get(`/events?chamaId=${s.ids.beta}`)).body.data;
    expect(beta).toEqual(all.filter((e: any) => e.args.chamaId === String(s.ids.beta)));
    const from = Number(s.blocks.afterCreate) + 1;
    const to = Number(s.blocks.afterRound1);
    expect((await f.get(`/events?fromBlock=${from}&toBlock=${to}`)).body.data).toEqual(all.filter((e: any) => e.blockNumber >= from && e.blockNumber <= to));
    expect((await f.get(`/events?event=ContributionMade&chamaId=${s.ids.alpha}&fromBlock=${from}`)).body.data).toHaveLength(5);
    expect((await f.get(`/events?contract=${f.chain.address}&limit=1000`)).body.data).toEqual(all);
    expect(await allPages('/events', 3)).toEqual(all);

    const ndjson = await f.app.request('/events?format=ndjson');
    expect(ndjson.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    expect(ndjson.headers.get('x-indexed-block')).toBe(String(s.blocks.end));
    const lines = (await ndjson.text()).trimEnd().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual(all);
    const filtered = (await (await f.app.request(`/events?format=ndjson&event=PayoutProcessed`)).text()).trimEnd().split('\n');
    expect(filtered.map((l) => JSON.parse(l))).toEqual(all.filter((e: any) => e.event === 'PayoutProcessed'));

    const csv = await f.app.request('/events?format=csv');
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = (await csv.text()).trimEnd().split('\n');
    expect(rows[0]).toBe('chainId,blockNumber,blockHash,logIndex,txHash,address,event,args');
    expect(rows).toHaveLength(all.length + 1);
    expect(rows.find((r) => r.includes('Beta'))).toContain('""name"":""Beta \\""Circle\\"", <b>""');
  });
});
