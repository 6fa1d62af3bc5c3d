import { Writable } from 'node:stream';
import { sign } from 'hono/jwt';
import postgres from 'postgres';
import { pino } from 'pino';
import { sql } from 'drizzle-orm';
import { parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/api/app.ts';
import { createMutex } from '../src/common/mutex.ts';
import type { Indexer } from '../src/indexer/index.ts';
import { createJobRunner, type JobRunner } from '../src/jobs/index.ts';
import { createRpc } from '../src/rpc/client.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { runCli } from './helpers/cli.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { rows } from '../src/store/db.ts';
import { chainId, createTestIndexer, fullRound, group, silent } from './helpers/indexing.ts';
import { waitFor } from './helpers/wait.ts';

const secret = 'a-test-secret-of-32-characters!!';
let chain: TestChain;
let db: TestDb;
let indexer: Indexer;
let jobs: JobRunner;
let app: ReturnType<typeof createApp>;
const logLines: string[] = [];
const stop = new AbortController();
let loops: Promise<unknown>;

const token = async (role = 'admin', ttl = 3600, key = secret) => sign({ role, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + ttl }, key, 'HS256');
const auth = async (role?: string) => ({ authorization: `Bearer ${await token(role)}` });

beforeAll(async () => {
  chain = await startTestChain();
  const accounts = chain.accounts;
  for (let i = 0; i < 30; i++) {
    const members = [accounts[i % 10]!, accounts[(i + 1) % 10]!, accounts[(i + 5) % 10]!];
    const id = await group(chain, `admin ${i}`, parseEther('0.01'), 3n, members);
    await fullRound(chain, id, members);
  }
  db = await createTestDb('postgres');
  const writer = createMutex();
  indexer = createTestIndexer(db, chain, { writer });
  await indexer.syncToHead();
  const rpc = createRpc({ urls: [chain.rpcUrl], logger: silent, retries: 1 });
  jobs = createJobRunner({ db, chainId, rpc, addresses: [chain.address.toLowerCase() as `0x${string}`], startBlock: 0, maxBlockRange: 10_000, writer, logger: silent, retentionMs: 86_400_000, verifyIntervalMs: 0, pollMs: 10 });
  const sink = new Writable({ write: (chunk: Buffer, _e, done) => (logLines.push(chunk.toString('utf8')), done()) });
  app = createApp({ db, chainId, logger: pino({ level: 'debug' }, sink), indexer, adminSecret: secret, admin: { jobs, control: indexer, settings: { chainId } } });
  loops = Promise.all([indexer.run(stop.signal), jobs.run(stop.signal)]);
}, 120_000);
afterAll(async () => {
  stop.abort();
  await loops;
  await db?.drop();
  await chain?.stop();
});

async function json(path: string, init: RequestInit = {}) {
  const res = await app.request(path, init);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

describe('admin auth', () => {
  it('answers 404 on every admin route when no secret is configured', async () => {
    const off = createApp({ db, chainId, logger: silent, indexer, admin: { jobs, control: indexer, settings: {} } });
    for (const [method, path] of [['GET', '/admin/jobs'], ['POST', '/admin/jobs'], ['GET', '/admin/sync'], ['DELETE', '/admin/jobs/x']] as const) {
      const res = await off.request(path, { method, headers: await auth() });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
    }
  });

  it.each([
    ['no Authorization header', async () => ({})],
    ['a Basic scheme', async () => ({ authorization: 'Basic YWRtaW46YWRtaW4=' })],
    ['a malformed bearer token', async () => ({ authorization: 'Bearer not-a-jwt' })],
    ['a token signed with another secret', async () => ({ authorization: `Bearer ${await token('admin', 3600, 'another-secret-another-secret-xx')}` })],
    ['an expired token', async () => ({ authorization: `Bearer ${await token('admin', -10)}` })],
    ['an unsigned (alg none) token', async () => ({ authorization: `Bearer ${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${Buffer.from(JSON.stringify({ role: 'admin', exp: 9999999999 })).toString('base64url')}.x` })],
  ])('401 for %s', async (_what, headers) => {
    const { status, body } = await json('/admin/jobs', { headers: await headers() });
    expect(status).toBe(401);
    expect(body.error.code).toBe('unauthorized');
  });

  it('403 for a valid token with another role; 200 for admin', async () => {
    expect((await json('/admin/sync', { headers: await auth('viewer') })).status).toBe(403);
    const ok = await json('/admin/sync', { headers: await auth() });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ paused: false, config: { chainId } });
  });

  it('never logs a token or the secret', async () => {
    const headers = await auth();
    await app.request('/admin/jobs?limit=1', { headers });
    await app.request('/admin/jobs', { headers: { authorization: 'Bearer a.b.c' } });
    const logs = logLines.join('');
    expect(logs).toContain('/admin/jobs');
    expect(logs).not.toContain(headers.authorization.slice(7));
    expect(logs).not.toContain(secret);
  });

  it('`chama-indexer token` prints a token the API accepts; without a secret it exits 2', async () => {
    const cli = runCli(['token', '--role', 'admin', '--ttl', '10m'], { ADMIN_JWT_SECRET: secret });
    let out = '';
    cli.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    expect((await cli.exited).code).toBe(0);
    expect((await json('/admin/sync', { headers: { authorization: `Bearer ${out.trim()}` } })).status).toBe(200);
    expect((await runCli(['token', '--role', 'admin'], {}).exited).code).toBe(2);
  });
});

describe('admin jobs and sync control', () => {
  it('POST /admin/jobs answers 202 at once; the job runs to completion; list, filter, page and delete', async () => {
    const headers = { ...(await auth()), 'content-type': 'application/json' };
    const queued = await json('/admin/jobs', { method: 'POST', headers, body: JSON.stringify({ type: 'verify' }) });
    expect(queued.status).toBe(202);
    expect(queued.body.statusUrl).toBe(`/admin/jobs/${queued.body.jobId}`);
    const done = await waitFor(async () => {
      const { body } = await json(queued.body.statusUrl, { headers });
      return body.data.status === 'completed' ? body.data : undefined;
    }, 'the verify job');
    expect(done).toMatchObject({ type: 'verify', progress: 100, result: { chamas: 30, mismatches: 0, errors: 0 } });

    const second = await json('/admin/jobs', { method: 'POST', headers, body: JSON.stringify({ type: 'resync', from: 0 }) });
    await waitFor(async () => (await json(second.body.statusUrl, { headers })).body.data.status === 'completed', 'the resync job');
    const page1 = await json('/admin/jobs?limit=1&status=completed', { headers });
    expect(page1.body.data).toHaveLength(1);
    expect(page1.body.data[0].id).toBe(second.body.jobId);
    const page2 = await json(`/admin/jobs?limit=1&status=completed&cursor=${page1.body.nextCursor}`, { headers });
    expect(page2.body.data[0].id).toBe(queued.body.jobId);
    expect((await json(`/admin/jobs/${queued.body.jobId}`, { method: 'DELETE', headers })).body.data).toEqual({ id: queued.body.jobId, outcome: 'deleted' });
    expect((await json(`/admin/jobs/${queued.body.jobId}`, { headers })).status).toBe(404);
  });

  it.each([
    ['{"type":"explode"}'],
    ['{"type":"resync"}'],
    ['{"type":"resync","from":10,"to":5}'],
    ['{"type":"verify","chamaId":"-1"}'],
    ['{"type":"rebuild","extra":1}'],
    ['not json'],
  ])('400 for the body %s', async (body) => {
    const { status, body: answer } = await json('/admin/jobs', { method: 'POST', headers: { ...(await auth()), 'content-type': 'application/json' }, body });
    expect(status).toBe(400);
    expect(answer.error.code).toBe('bad_request');
  });

  it('pause, resume and force', async () => {
    const headers = { ...(await auth()), 'content-type': 'application/json' };
    await json('/admin/sync', { method: 'POST', headers, body: JSON.stringify({ action: 'pause' }) });
    await waitFor(async () => (await json('/admin/sync', { headers })).body.paused === true, 'the indexer to pause');
    const [a, b] = chain.accounts;
    await group(chain, 'while paused', parseEther('0.1'), 2n, [a, b]);
    const head = Number(await chain.publicClient.getBlockNumber());
    await new Promise((r) => setTimeout(r, 300));
    expect(indexer.status().cursor!.blockNumber).toBeLessThan(head);
    const resumed = await json('/admin/sync', { method: 'POST', headers, body: JSON.stringify({ action: 'resume' }) });
    expect(resumed.body.paused).toBe(false);
    await waitFor(() => indexer.status().cursor?.blockNumber === head, 'the indexer to resume');
    const forced = await json('/admin/sync', { method: 'POST', headers, body: JSON.stringify({ action: 'force' }) });
    expect(forced.status).toBe(200);
    expect((await json('/admin/sync', { method: 'POST', headers, body: JSON.stringify({ action: 'stop' }) })).status).toBe(400);
  });

  it('a verify job records a corruption in /mismatches; a verify with repair clears it', async () => {
    const headers = { ...(await auth()), 'content-type': 'application/json' };
    await db.orm.execute(sql`UPDATE members SET total_received = total_received + 5 WHERE chama_id = 3`);
    const run = async (body: object) => {
      const { body: queued } = await json('/admin/jobs', { method: 'POST', headers, body: JSON.stringify(body) });
      return waitFor(async () => {
        const { body: b } = await json(queued.statusUrl, { headers });
        return b.data.status === 'completed' ? b.data : undefined;
      }, 'the job');
    };
    expect((await run({ type: 'verify' })).result).toMatchObject({ mismatches: expect.any(Number), critical: expect.any(Number) });
    const open = await json('/mismatches');
    expect(open.status).toBe(200);
    expect(open.body.data).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'member.received', priority: 'CRITICAL' })]));
    expect((await json('/mismatches?priority=NORMAL')).body.data.every((m: { priority: string }) => m.priority === 'NORMAL')).toBe(true);
    expect((await json('/mismatches?priority=LOW')).status).toBe(400);
    const scraped = await (await app.request('/metrics')).text();
    expect(scraped).toMatch(/chama_mismatches_open\{[^}]*priority="CRITICAL"[^}]*\} [1-9]/);
    expect((await run({ type: 'verify', repair: true })).result).toMatchObject({ after: { mismatches: 0, errors: 0 } });
    expect((await json('/mismatches')).body.data).toEqual([]);
  });

  it('rebuild during API load: no request fails and none sees an empty projection', async () => {
    const headers = { ...(await auth()), 'content-type': 'application/json' };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push((await json('/admin/jobs', { method: 'POST', headers, body: JSON.stringify({ type: 'rebuild' }) })).body.jobId);
    const failures: string[] = [];
    let requests = 0;
    const finished = async () => {
      for (const id of ids) if ((await json(`/admin/jobs/${id}`, { headers })).body.data.status !== 'completed') return false;
      return true;
    };
    const load = async () => {
      while (!(await finished())) {
        for (const path of ['/chamas/7', '/chamas/7/members', '/chamas?limit=50', `/accounts/${chain.accounts[1].toLowerCase()}`]) {
          requests++;
          const res = await app.request(path);
          const body = (await res.json()) as { data: any };
          const empty = Array.isArray(body.data) ? body.data.length === 0 : !body.data || body.data.memberCount === 0;
          if (res.status !== 200 || empty) failures.push(`${path}: ${res.status} ${JSON.stringify(body).slice(0, 120)}`);
        }
      }
    };
    await Promise.all([load(), load(), load()]);
    expect(failures).toEqual([]);
    expect(requests).toBeGreaterThan(20);
  });

  it('a read that starts while a rebuild swaps the projection tables in waits for the swap and sees its rows', async () => {
    // The last statements of a rebuild (store/fresh-tables.ts), held open on a connection of its own.
    const other = postgres(db.url!, { max: 1, onnotice: () => {} });
    let swap!: () => void;
    const swapped = other.begin(async (tx) => {
      await tx`LOCK TABLE chamas, members IN ACCESS EXCLUSIVE MODE`;
      await new Promise<void>((resolve) => (swap = resolve));
      await tx`CREATE TABLE chamas__swapped (LIKE chamas INCLUDING ALL)`;
      await tx`INSERT INTO chamas__swapped SELECT * FROM chamas`;
      await tx`DROP TABLE chamas`;
      await tx`ALTER TABLE chamas__swapped RENAME TO chamas`;
    });
    try {
      await waitFor(async () => swap !== undefined || undefined, 'the swap to hold its locks');
      // A query string no earlier request used: the response cache cannot answer it.
      const reading = app.request('/chamas/7/members?limit=17');
      await waitFor(async () => {
        const [waiting] = await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%chamas%'`);
        return waiting!.n > 0 || undefined;
      }, 'the read to wait for the swap');
      swap();
      await swapped;
      const res = await reading;
      expect(res.status).toBe(200);
      expect(((await res.json()) as { data: unknown[] }).data).toHaveLength(3);
    } finally {
      swap?.();
      await swapped.catch(() => {});
      await other.end();
    }
  });

  it('reads are served from memory until a batch commits or a job rewrites projections', async () => {
    const first = await app.request('/chamas/2');
    const body = await first.text();
    await db.orm.execute(sql`UPDATE chamas SET name = 'changed behind its back' WHERE chama_id = 2`);
    const hit = await app.request('/chamas/2');
    expect(await hit.text()).toBe(body);
    expect(hit.headers.get('x-indexed-block')).toBe(first.headers.get('x-indexed-block'));
    expect(hit.headers.get('access-control-allow-origin')).toBe('*');

    const [a, b] = chain.accounts;
    await group(chain, 'moves the index', parseEther('0.1'), 2n, [a, b]);
    const head = Number(await chain.publicClient.getBlockNumber());
    await waitFor(() => indexer.status().cursor?.blockNumber === head, 'the next batch');
    await waitFor(async () => ((await json('/chamas/2')).body.data.name === 'changed behind its back' ? true : undefined), 'the cache to drop after the batch');

    const headers = { ...(await auth()), 'content-type': 'application/json' };
    const { body: queued } = await json('/admin/jobs', { method: 'POST', headers, body: JSON.stringify({ type: 'rebuild' }) });
    await waitFor(async () => (await json(queued.statusUrl, { headers })).body.data.status === 'completed', 'the rebuild');
    expect((await json('/chamas/2')).body.data.name).toBe('admin 1');
  });
});
