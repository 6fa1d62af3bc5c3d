import { Writable } from 'node:stream';
import { hc } from 'hono/client';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type AppType } from '../../src/api/app.ts';
import { openDb } from '../../src/store/db.ts';
import { chainId, runScenario, silent, startFixture, type Fixture, type Scenario } from './fixture.ts';

/** The operational and self-describing routes: health, ready, metrics, OpenAPI, docs, typed client, logs, CORS. */
let f: Fixture;
let s: Scenario;

beforeAll(async () => {
  f = await startFixture('pglite', { readyMaxLagBlocks: 5 });
  s = await runScenario(f.chain);
  await f.indexer.syncToHead();
});
afterAll(() => f?.stop());

const specRoutes = [
  ['get', '/chamas'],
  ['get', '/chamas/{id}'],
  ['get', '/chamas/{id}/members'],
  ['get', '/chamas/{id}/contributions'],
  ['get', '/chamas/{id}/payouts'],
  ['get', '/accounts/{address}'],
  ['get', '/events'],
  ['get', '/status'],
  ['get', '/health'],
  ['get', '/ready'],
  ['get', '/metrics'],
  ['get', '/openapi.json'],
  ['get', '/docs'],
  ['get', '/stream'],
] as const;

describe('self-description', () => {
  it('/openapi.json parses as OpenAPI 3 and lists every route of SPEC §4, each of which answers', async () => {
    const r = await f.get('/openapi.json');
    expect(r.status).toBe(200);
    const doc = r.body;
    expect(doc.openapi).toMatch(/^3\./);
    for (const [method, path] of specRoutes) expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined();
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(specRoutes.map(([, p]) => p)));
    expect(doc.components.schemas).toHaveProperty('Chama');
    expect(doc.components.schemas).toHaveProperty('Error');
    const limit = doc.paths['/events'].get.parameters.find((p: any) => p.name === 'limit');
    expect(limit).toMatchObject({ in: 'query', schema: { maximum: 1000 } });
    for (const [, path] of specRoutes) {
      if (path === '/stream') continue;
      const concrete = path.replace('{id}', '1').replace('{address}', f.chain.accounts[0]);
      expect((await f.app.request(concrete)).status, concrete).toBeLessThan(300);
    }
  });

  it('/docs renders the document offline (no script, no CDN), every route on the page', async () => {
    const r = await f.get('/docs');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    for (const [, path] of specRoutes) expect(r.text).toContain(path);
    expect(r.text).not.toMatch(/<script|https?:\/\//);
  });

  it('a typed hono/client call compiles and works', async () => {
    const client = hc<AppType>('http://api.test', { fetch: (input: RequestInfo | URL, init?: RequestInit) => f.app.request(input instanceof Request ? input : String(input), init) });
    const res = await client.chamas[':id'].$get({ param: { id: String(s.ids.alpha) }, query: { atBlock: String(s.blocks.afterCreate) } });
    expect(res.status).toBe(200);
    if (res.status !== 200) return;
    const body = await res.json();
    const name: string | null = body.data.name;
    const indexed: number | null = body.meta.indexedBlock;
    expect(name).toBe('Alpha Savers');
    expect(indexed).toBe(Number(s.blocks.end));
    expect(body.data.totalContributed).toBe('0');
    const list = await client.events.$get({ query: { event: 'PayoutProcessed', limit: '1' } });
    if (list.status !== 200) throw new Error(`status ${list.status}`);
    const page = await list.json();
    // /events also streams ndjson and csv, so its 200 is typed as any of the three until narrowed.
    if (typeof page !== 'object' || !('data' in page)) throw new Error('expected the JSON page');
    expect(page.data).toHaveLength(1);
    expect(page.nextCursor).toEqual(expect.any(String));
  });
});

describe('operations', () => {
  it('/health is up; /ready checks the database, the RPC and the lag', async () => {
    expect((await f.get('/health')).body).toEqual({ status: 'ok' });
    const ready = await f.get('/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, checks: { database: { ok: true }, rpc: { ok: true, configured: true }, lag: { ok: true, lagBlocks: 0, maxLagBlocks: 5 } } });

    await f.chain.mine(6);
    const lagging = await f.get('/ready');
    expect(lagging.status).toBe(503);
    expect(lagging.body.checks.lag).toMatchObject({ ok: false, lagBlocks: 6 });
    await f.indexer.syncToHead();
    expect((await f.get('/ready')).status).toBe(200);

    const noRpc = createApp({ db: f.db, chainId, logger: silent, headBlock: () => Promise.reject(new Error('connect ECONNREFUSED')) });
    const r = await noRpc.request('/ready');
    expect(r.status).toBe(503);
    expect((await r.json()).checks.rpc).toMatchObject({ ok: false, configured: true, error: expect.stringContaining('ECONNREFUSED') });

    // A PostgreSQL that is not there: nothing listens on port 1.
    const unreachable = await openDb({ databaseUrl: 'postgres://nobody@127.0.0.1:1/none', maxConnections: 1 });
    const noDb = createApp({ db: unreachable, chainId, logger: silent });
    const d = await noDb.request('/ready');
    expect(d.status).toBe(503);
    expect((await d.json()).checks.database.ok).toBe(false);
    await unreachable.close();
  });

  it('/metrics: chain gauges, events by type, RPC, batches and HTTP by route, in a registry of its own', async () => {
    await f.get(`/chamas/${s.ids.alpha}`);
    await f.get('/chamas/999');
    const r = await f.get('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const head = Number(await f.chain.publicClient.getBlockNumber());
    const value = (line: RegExp) => Number(r.text.split('\n').find((l) => line.test(l))?.split(' ').pop());
    expect(value(/^chama_indexed_block\{/)).toBe(head);
    expect(value(/^chama_head_block\{/)).toBe(head);
    expect(value(/^chama_lag_blocks\{/)).toBe(0);
    expect(value(/^chama_events_indexed_total\{.*event="ContributionMade"/)).toBe(8);
    expect(value(/^chama_events_indexed_total\{.*event="ChamaCreated"/)).toBe(3);
    expect(value(/^chama_events_stored\{/)).toBe(19);
    expect(value(/^chama_rpc_requests_total\{.*method="eth_getLogs"/)).toBeGreaterThan(0);
    expect(r.text).toMatch(/^chama_rpc_request_duration_seconds_bucket\{.*method="eth_blockNumber"/m);
    expect(r.text).toContain('# TYPE chama_rpc_errors_total counter');
    expect(r.text).toMatch(/^chama_batch_duration_seconds_count\{.*mode="/m);
    expect(r.text).toMatch(/^chama_reorgs_total\{[^}]*\} 0$/m);
    expect(r.text).toMatch(/^chama_reorg_depth_blocks_count\{[^}]*\} 0$/m);
    expect(value(/^http_requests_total\{.*route="\/chamas\/:id".*status="200"/)).toBeGreaterThanOrEqual(1);
    expect(value(/^http_requests_total\{.*route="\/chamas\/:id".*status="404"/)).toBeGreaterThanOrEqual(1);
    expect(r.text).toMatch(/^http_request_duration_seconds_bucket\{.*route="\/chamas\/:id"/m);
    expect(r.text).toMatch(/^process_resident_memory_bytes/m);

    const other = createApp({ db: f.db, chainId, logger: silent });
    const fresh = await (await other.request('/metrics')).text();
    expect(fresh).not.toMatch(/^http_requests_total\{/m);
    expect(fresh).not.toMatch(/^chama_events_indexed_total\{/m);
  });

  it('every log line of a request carries its request id, also from the error handler', async () => {
    const lines: any[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        for (const l of String(chunk).trim().split('\n')) lines.push(JSON.parse(l));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink);
    const broken = { ...f.db, orm: { transaction: () => Promise.reject(new Error('boom')) } } as never;
    const app = createApp({ db: broken, chainId, logger });
    const r = await app.request('/chamas/1', { headers: { 'X-Request-Id': 'req-abc-123' } });
    expect(r.status).toBe(500);
    expect(await r.json()).toEqual({ error: { code: 'internal', message: expect.any(String) } });
    expect(r.headers.get('x-request-id')).toBe('req-abc-123');
    await new Promise((done) => setImmediate(done));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    for (const l of lines) expect(l.request_id).toBe('req-abc-123');
    expect(lines.map((l) => l.msg)).toEqual(['request failed', 'request']);
  });

  it('CORS: preflight and simple requests allow any origin and expose X-Indexed-Block', async () => {
    const pre = await f.app.request('/chamas', { method: 'OPTIONS', headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    const r = await f.app.request('/chamas', { headers: { Origin: 'https://app.example' } });
    expect(r.headers.get('access-control-expose-headers')).toContain('X-Indexed-Block');
  });
});
