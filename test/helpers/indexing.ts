import { pino } from 'pino';
import type { Address } from 'viem';
import { createIndexer, type Indexer, type IndexerOptions } from '../../src/indexer/index.ts';
import { readChama, readMemberRows, readMembers } from '../../src/projections/persist.ts';
import { accountsOf } from '../../src/projections/fold.ts';
import { createRpc } from '../../src/rpc/client.ts';
import { sql } from 'drizzle-orm';
import { rows, type Db } from '../../src/store/db.ts';
import type { TestChain } from './chain.ts';

export const chainId = 31337;
export const silent = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function createTestIndexer(db: Db, chain: Pick<TestChain, 'rpcUrl' | 'address'>, overrides: Partial<IndexerOptions> = {}): Indexer {
  return createIndexer({
    db,
    rpc: createRpc({ urls: [chain.rpcUrl], logger: silent, retries: 2 }),
    chainId,
    addresses: [chain.address],
    startBlock: 0,
    confirmations: 0,
    maxReorgDepth: 64,
    maxBlockRange: 10_000,
    pollIntervalMs: 50,
    logger: silent,
    ...overrides,
  });
}

/**
 * Every difference between the projections and the contract's views read at `block`:
 * per chama (getChama), per member (memberStats, in membersOf order), per account (the sum of
 * its memberships) and the contract's balance. An empty list means the index matches the chain.
 */
export async function differencesFromChain(db: Db, chain: TestChain, block: bigint): Promise<string[]> {
  const out: string[] = [];
  const diff = (what: string, ours: unknown, theirs: unknown) => {
    if (String(ours) !== String(theirs)) out.push(`${what}: index ${String(ours)} != chain ${String(theirs)}`);
  };
  const count = await chain.actions.chamaCount(block);
  const [stored] = await rows<{ n: number }>(db.orm, sql`SELECT count(*)::int8 AS n FROM chamas WHERE chain_id = ${chainId}`);
  diff('chama count', stored?.n, count);
  const accounts = new Map<string, { chamas: number; contributed: bigint; received: bigint }>();
  let balance = 0n;
  for (let id = 1n; id <= count; id++) {
    const view = await chain.actions.readChama(id, block);
    const row = await readChama(db.orm, chainId, chain.address.toLowerCase(), id);
    if (!row) {
      out.push(`chama ${id}: missing from the index`);
      continue;
    }
    diff(`chama ${id} creator`, row.creator, view.creator.toLowerCase());
    diff(`chama ${id} name`, row.name, view.name);
    diff(`chama ${id} contributionAmount`, row.contributionAmount, view.contributionAmount);
    diff(`chama ${id} maxMembers`, row.maxMembers, view.maxMembers);
    diff(`chama ${id} memberCount`, row.memberCount, view.memberCount);
    diff(`chama ${id} currentRound`, row.currentRound, view.currentRound);
    diff(`chama ${id} totalContributed`, row.totalContributed, view.totalContributed);
    diff(`chama ${id} totalPaidOut`, row.totalPaidOut, view.totalPaidOut);
    balance += view.totalContributed - view.totalPaidOut;
    const members = await readMembers(db.orm, chainId, chain.address.toLowerCase(), id);
    const onChain = await chain.actions.membersOf(id, block);
    diff(`chama ${id} members`, members.map((m) => m.member).join(','), onChain.map((a) => a.toLowerCase()).join(','));
    for (const address of onChain) {
      const stats = await chain.actions.readMember(id, address, block);
      const m = members.find((x) => x.member === address.toLowerCase());
      diff(`chama ${id} member ${address} position`, m?.position, stats.position);
      diff(`chama ${id} member ${address} contributed`, m?.totalContributed, stats.contributed);
      diff(`chama ${id} member ${address} received`, m?.totalReceived, stats.received);
      const a = accounts.get(address.toLowerCase()) ?? { chamas: 0, contributed: 0n, received: 0n };
      accounts.set(address.toLowerCase(), { chamas: a.chamas + 1, contributed: a.contributed + stats.contributed, received: a.received + stats.received });
    }
  }
  const storedAccounts = [...accountsOf(await readMemberRows(db.orm, chainId)).values()].sort((x, y) => (x.account < y.account ? -1 : 1));
  diff('account list', storedAccounts.map((a) => a.account).join(','), [...accounts.keys()].sort().join(','));
  for (const a of storedAccounts) {
    const expected = accounts.get(a.account);
    diff(`account ${a.account} chamas`, a.chamas, expected?.chamas);
    diff(`account ${a.account} contributed`, a.totalContributed, expected?.contributed);
    diff(`account ${a.account} received`, a.totalReceived, expected?.received);
  }
  diff('contract balance', balance, await chain.publicClient.getBalance({ address: chain.address, blockNumber: block }));
  return out;
}

/** Drives valid chama activity on the test chain: a scripted lifecycle, step by step. */
export async function fullRound(chain: TestChain, chamaId: bigint, members: readonly Address[]): Promise<void> {
  for (const m of members) await chain.actions.contribute(chamaId, m);
}

export async function group(chain: TestChain, name: string, amount: bigint, max: bigint, members: readonly Address[]): Promise<bigint> {
  const { chamaId } = await chain.actions.createChama(name, amount, max, members[0]!);
  for (const m of members.slice(1)) await chain.actions.join(chamaId, m);
  return chamaId;
}
