import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario, startFixture, type Fixture, type Scenario } from './fixture.ts';

/**
 * Bad input never reaches the database unvalidated and never gets a 5xx: each request of the
 * table gets the documented 4xx in the error shape of SPEC §4. On PGlite.
 */
let f: Fixture;
let s: Scenario;

beforeAll(async () => {
  f = await startFixture('pglite');
  s = await runScenario(f.chain);
  await f.indexer.syncToHead();
});
afterAll(() => f?.stop());

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const addr = `0x${'ab'.repeat(20)}`;
const big = 2n ** 256n;

type Case = [name: string, path: string, status: number, init?: RequestInit];

const cases = (): Case[] => [
  ['chama id 0', '/chamas/0', 400],
  ['negative chama id', '/chamas/-1', 400],
  ['non-numeric chama id', '/chamas/abc', 400],
  ['fractional chama id', '/chamas/1.5', 400],
  ['exponent chama id', '/chamas/1e3', 400],
  ['hex chama id', '/chamas/0x10', 400],
  ['chama id 2^256', `/chamas/${big}`, 400],
  ['100-digit chama id', `/chamas/${'9'.repeat(100)}`, 400],
  ['NUL in chama id', '/chamas/%00', 400],
  ['injection in chama id', `/chamas/${encodeURIComponent("1' OR '1'='1")}`, 400],
  ['negative atBlock', '/chamas/1?atBlock=-1', 400],
  ['non-numeric atBlock', '/chamas/1?atBlock=abc', 400],
  ['huge atBlock', '/chamas/1?atBlock=99999999999999999999', 400],
  ['atBlock above the indexed block', `/chamas/1?atBlock=100000`, 400],
  ['empty atBlock', '/chamas/1?atBlock=', 400],
  ['unknown filter on a chama', '/chamas/1?foo=bar', 400],
  ['short contract address', '/chamas/1?contract=0x123', 400],
  ['unknown chama', '/chamas/999', 404],
  ['unknown chama in a known contract', `/chamas/1?contract=${addr}`, 404],
  ['bad creator', '/chamas?creator=0xzz', 400],
  ['creator not hex', '/chamas?creator=alice', 400],
  ['injection in member', `/chamas?member=${encodeURIComponent("' OR 1=1 --")}`, 400],
  ['10k-character creator', `/chamas?creator=0x${'a'.repeat(10_000)}`, 400],
  ['limit 0', '/chamas?limit=0', 400],
  ['limit 1001', '/chamas?limit=1001', 400],
  ['negative limit', '/chamas?limit=-5', 400],
  ['non-numeric limit', '/chamas?limit=ten', 400],
  ['repeated limit', '/chamas?limit=1&limit=2', 400],
  ['cursor with bad characters', '/chamas?cursor=!!!', 400],
  ['cursor not JSON', `/chamas?cursor=${Buffer.from('not json').toString('base64url')}`, 400],
  ['cursor of another route', `/chamas?cursor=${b64([12, 3])}`, 400],
  ['cursor with an injection', `/chamas?cursor=${b64([`${addr}'; DROP TABLE chamas; --`, '1'])}`, 400],
  ['2000-character cursor', `/events?cursor=${'A'.repeat(2000)}`, 400],
  ['unknown filter on the list', '/chamas?status=open', 400],
  ['members of an unknown chama', '/chamas/42/members', 404],
  ['members cursor of the wrong shape', `/chamas/1/members?cursor=${b64(['x', 1])}`, 400],
  ['round 0', '/chamas/1/contributions?round=0', 400],
  ['non-numeric round', '/chamas/1/contributions?round=x', 400],
  ['bad contributor', '/chamas/1/contributions?contributor=0x1', 400],
  ['contributions of an unknown chama', '/chamas/77/contributions', 404],
  ['negative payout round', '/chamas/1/payouts?round=-1', 400],
  ['contributor filter on payouts', `/chamas/1/payouts?contributor=${addr}`, 400],
  ['negative position cursor', `/chamas/1/payouts?cursor=${b64([-1, 0])}`, 400],
  ['short account address', '/accounts/0x123', 400],
  ['injection as an account', `/accounts/${encodeURIComponent("robert'); DROP TABLE events;--")}`, 400],
  ['exponent atBlock on an account', `/accounts/${addr}?atBlock=1e5`, 400],
  ['atBlock above the indexed block on an account', `/accounts/${addr}?atBlock=100000`, 400],
  ['unknown event', '/events?event=Foo', 400],
  ['event name in the wrong case', '/events?event=chamacreated', 400],
  ['negative chamaId', '/events?chamaId=-1', 400],
  ['injection in chamaId', `/events?chamaId=${encodeURIComponent('1;DROP TABLE events')}`, 400],
  ['chamaId above 2^256 - 1', `/events?chamaId=${big}`, 400],
  ['fromBlock after toBlock', '/events?fromBlock=10&toBlock=5', 400],
  ['non-numeric fromBlock', '/events?fromBlock=abc', 400],
  ['toBlock 1e400', '/events?toBlock=1e400', 400],
  ['unknown format', '/events?format=xml', 400],
  ['limit 100000 on events', '/events?limit=100000', 400],
  ['chamas cursor on events', `/events?cursor=${b64([addr, '1'])}`, 400],
  ['bad cursor on the ndjson stream', `/events?format=ndjson&cursor=${b64({})}`, 400],
  ['unknown route', '/nope', 404],
  ['unknown nested route', '/chamas/1/secrets', 404],
  ['POST to a read route', '/chamas', 404, { method: 'POST' }],
  ['oversized body', '/chamas', 413, { method: 'POST', body: 'x'.repeat(1024 * 1024), headers: { 'content-type': 'text/plain' } }],
  ['oversized JSON body to an unknown route', '/admin/x', 413, { method: 'PUT', body: JSON.stringify({ a: 'y'.repeat(200_000) }), headers: { 'content-type': 'application/json' } }],
  ['garbage Last-Event-ID', '/stream', 400, { headers: { 'last-event-id': "1; DROP TABLE reorgs" } }],
  ['Last-Event-ID naming a future reorg', '/stream', 400, { headers: { 'last-event-id': '5:*:99' } }],
  ['unknown filter on the stream', '/stream?x=1', 400],
];

describe('bad requests', () => {
  it('the table has at least 40 cases', () => {
    expect(cases().length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases().map((c) => [c[0], c] as const))('%s', async (_name, [, path, status, init]) => {
    const r = await f.get(path, init);
    expect(r.status, `${path} -> ${r.text.slice(0, 300)}`).toBe(status);
    expect(r.body).toEqual({ error: { code: expect.any(String), message: expect.any(String), ...(r.body?.error?.details !== undefined ? { details: r.body.error.details } : {}) } });
    expect(r.body.error.code).toBe(status === 400 ? 'bad_request' : status === 404 ? 'not_found' : 'payload_too_large');
    expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('after all of them, the data is intact and the API still answers', async () => {
    const r = await f.get('/events?limit=1000');
    expect(r.status).toBe(200);
    expect(r.body.data).toHaveLength(19);
    expect((await f.get(`/chamas/${s.ids.alpha}`)).status).toBe(200);
  });
});
