import { sql } from 'drizzle-orm';
import { encodeFunctionData, parseEther } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repair } from '../src/operator/repair.ts';
import { verifyChain } from '../src/operator/verify.ts';
import { chamaViewsAbi } from '../src/operator/views.ts';
import { createRpc } from '../src/rpc/client.ts';
import { rows } from '../src/store/db.ts';
import { startTestChain, type TestChain } from './helpers/chain.ts';
import { runCli } from './helpers/cli.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { chainId, createTestIndexer, fullRound, group, silent } from './helpers/indexing.ts';
import { eventKeys, projectionChecksums } from './helpers/projections.ts';
import { startRpcProxy, type RpcProxy } from './helpers/rpc-proxy.ts';

/**
 * Corruption drills on a database indexed from anvil: each corruption is found by `verify`
 * and fixed by `--repair` (or `resync`) until `verify` finds nothing.
 */
let chain: TestChain;
let db: TestDb;
let proxy: RpcProxy;
let good: Record<string, string>;
let goodEvents: string[];

beforeAll(async () => {
  chain = await startTestChain();
  proxy = await startRpcProxy(chain.rpcUrl);
  const [a, b, c, d, e] = chain.accounts;
  const one = await group(chain, 'Umoja', parseEther('0.5'), 3n, [a, b, c]);
  const two = await group(chain, 'Harambee', parseEther('1'), 2n, [d, e]);
  const three = await group(chain, 'Jamii', parseEther('0.2'), 2n, [c, d]);
  await fullRound(chain, one, [a, b, c]);
  await fullRound(chain, two, [d, e]);
  await fullRound(chain, one, [c, b, a]);
  await chain.actions.contribute(three, c);
  await chain.mine(2);
  db = await createTestDb('postgres');
  await createTestIndexer(db, chain).syncToHead();
  good = await projectionChecksums(db, chainId);
  goodEvents = await eventKeys(db, chainId);
});
afterAll(async () => {
  await db?.drop();
  await proxy?.close();
  await chain?.stop();
});

const rpc = () => createRpc({ urls: [chain.rpcUrl], logger: silent, retries: 1 });
const verify = (extra: { chamaId?: bigint } = {}) => verifyChain({ db, rpc: rpc(), chainId, addresses: [chain.address.toLowerCase() as `0x${string}`], logger: silent, ...extra });
const fix = async () => {
  const report = await verify();
  return repair({ db, rpc: rpc(), chainId, addresses: [chain.address.toLowerCase() as `0x${string}`], startBlock: 0, maxBlockRange: 10_000, logger: silent, report });
};

async function expectHealthy() {
  const report = await verify();
  expect(report.mismatches).toEqual([]);
  expect(report.errors).toEqual([]);
  expect(await projectionChecksums(db, chainId)).toEqual(good);
  expect(await eventKeys(db, chainId)).toEqual(goodEvents);
}

describe('verify and repair', () => {
  it('a healthy index verifies clean', async () => {
    const report = await verify();
    expect(report).toMatchObject({ chainId, chamas: 3, mismatches: [], errors: [] });
    expect(report.members).toBe(7);
  });

  it('drill: a projection row edited', async () => {
    await db.orm.execute(sql`UPDATE chamas SET total_contributed = total_contributed + 1, member_count = 7 WHERE chama_id = 1`);
    const report = await verify();
    expect(report.mismatches).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'chama.totalContributed', priority: 'CRITICAL', dbValue: String(parseEther('3') + 1n), chainValue: String(parseEther('3')) }),
        expect.objectContaining({ kind: 'chama.memberCount', priority: 'NORMAL', dbValue: '7', chainValue: '3' }),
      ]),
    );
    const result = await fix();
    expect(result.refolded).toHaveLength(1);
    expect(result.resynced).toEqual([]);
    await expectHealthy();
  });

  it('drill: the members table truncated (accounts, summed from it, go too)', async () => {
    await db.orm.execute(sql`DELETE FROM members`);
    const report = await verify();
    const kinds = new Set(report.mismatches.map((m) => m.kind));
    expect([...kinds]).toEqual(expect.arrayContaining(['member.position', 'member.contributed', 'account.contributed']));
    await fix();
    await expectHealthy();
  });

  it("drill: an account's join count corrupted (no member field shows it): its chamas are re-folded", async () => {
    const [row] = await rows<{ member: string; n: number }>(db.orm, sql`SELECT member, count(*)::int8 AS n FROM members GROUP BY member ORDER BY count(*) DESC, member LIMIT 1`);
    await db.orm.execute(sql`UPDATE members SET joins = joins + 1 WHERE member = ${row!.member}`);
    const report = await verify();
    expect(report.mismatches).toEqual([expect.objectContaining({ kind: 'account.chamas', entity: `account:${row!.member}` })]);
    const result = await fix();
    expect(result.refolded).toHaveLength(Number(row!.n));
    expect(result.resynced).toEqual([]);
    await expectHealthy();
  });

  it('drill: an event row deleted (the projection still agrees; the events do not)', async () => {
    await db.orm.execute(sql`DELETE FROM events WHERE (block_number, log_index) = (SELECT block_number, log_index FROM events WHERE event = 'ContributionMade' AND chama_id = 2 ORDER BY block_number LIMIT 1)`);
    const report = await verify();
    expect(report.mismatches.every((m) => m.kind.startsWith('events.'))).toBe(true);
    expect(report.mismatches).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'events.chama.totalContributed', entity: `chama:${chain.address.toLowerCase()}:2` })]));
    const result = await fix();
    expect(result.resynced).toHaveLength(1);
    expect(result.resynced[0]).toMatchObject({ chamaId: '2', missing: 1, extra: 0, different: 0 });
    await expectHealthy();
  });

  it("drill: an event's data edited (its amount)", async () => {
    await db.orm.execute(sql`UPDATE events SET data = decode(lpad('1', 64, '0'), 'hex') || substr(data, 33) WHERE (block_number, log_index) = (SELECT block_number, log_index FROM events WHERE event = 'PayoutProcessed' AND chama_id = 1 ORDER BY block_number DESC LIMIT 1)`);
    const [{ n }] = (await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM orphaned_events`)) as [{ n: number }];
    const report = await verify();
    expect(report.mismatches).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'events.chama.totalPaidOut', priority: 'CRITICAL' })]));
    const result = await fix();
    expect(result.resynced[0]).toMatchObject({ chamaId: '1', missing: 0, extra: 0, different: 1 });
    // The edited row is not lost: it sits in the reorg log, marked as a resync.
    const [{ m }] = (await rows<{ m: number }>(db.orm, sql`SELECT count(*)::int8 AS m FROM orphaned_events o JOIN reorgs r ON r.id = o.reorg_id WHERE r.reason = 'resync'`)) as [{ m: number }];
    expect(m).toBeGreaterThan(n === 0 ? 0 : n - 1);
    await expectHealthy();
  });

  it('drill: a whole block of events deleted, found by the verify CLI (exit 1) and fixed by the resync CLI', async () => {
    const [block] = await rows<{ block_number: number; n: number }>(db.orm, sql`SELECT block_number, count(*)::int8 AS n FROM events GROUP BY block_number HAVING count(*) >= 2 ORDER BY block_number DESC LIMIT 1`);
    await db.orm.execute(sql`DELETE FROM events WHERE block_number = ${block!.block_number}`);
    const env = { RPC_URL: chain.rpcUrl, CHAMA_ADDRESS: chain.address, DATABASE_URL: db.url!, LOG_LEVEL: 'warn' };
    const found = runCli(['verify'], env);
    let out = '';
    found.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    expect((await found.exited).code).toBe(1);
    expect(out).toMatch(/CRITICAL +events\.chama\./);

    const resync = runCli(['resync', '--from', String(block!.block_number), '--to', String(block!.block_number)], env);
    let summary = '';
    resync.child.stdout!.on('data', (c: Buffer) => (summary += c.toString('utf8')));
    expect((await resync.exited).code).toBe(0);
    expect(summary).toContain(`missing ${block!.n}, extra 0, different 0`);

    const clean = runCli(['verify'], env);
    expect((await clean.exited).code).toBe(0);
    await expectHealthy();
  }, 60_000);

  it('verify --repair through the CLI exits 0 once repaired', async () => {
    await db.orm.execute(sql`UPDATE members SET total_received = 0`);
    const env = { RPC_URL: chain.rpcUrl, CHAMA_ADDRESS: chain.address, DATABASE_URL: db.url!, LOG_LEVEL: 'warn' };
    const run = runCli(['verify', '--repair'], env);
    let out = '';
    run.child.stdout!.on('data', (c: Buffer) => (out += c.toString('utf8')));
    expect((await run.exited).code).toBe(0);
    expect(out).toMatch(/after repair:\n.*0 mismatch\(es\)/s);
    await expectHealthy();
    const open = await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM mismatches WHERE resolved_at IS NULL`);
    expect(open[0]!.n).toBe(0);
  }, 60_000);

  it('one chama whose view call fails is reported and the rest are still checked', async () => {
    const getChama2 = encodeFunctionData({ abi: chamaViewsAbi, functionName: 'getChama', args: [2n] });
    proxy.failCalls((c) => c.method === 'eth_call' && (c.params?.[0] as { data?: string })?.data === getChama2);
    await db.orm.execute(sql`UPDATE chamas SET total_paid_out = 5 WHERE chama_id = 3`);
    try {
      const report = await verifyChain({ db, rpc: createRpc({ urls: [proxy.url], logger: silent, retries: 1 }), chainId, addresses: [chain.address.toLowerCase() as `0x${string}`], logger: silent });
      expect(report.errors).toEqual([expect.objectContaining({ entity: `chama:${chain.address.toLowerCase()}:2` })]);
      expect(report.chamas).toBe(3);
      expect(report.mismatches).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'chama.totalPaidOut', entity: `chama:${chain.address.toLowerCase()}:3` })]));
      const recorded = await rows<{ kind: string }>(db.orm, sql`SELECT kind FROM mismatches WHERE resolved_at IS NULL ORDER BY kind`);
      expect(recorded.map((r) => r.kind)).toEqual(expect.arrayContaining(['chama.totalPaidOut', 'verify.error']));
    } finally {
      proxy.failCalls(undefined);
    }
    await fix();
    await expectHealthy();
  });
});
