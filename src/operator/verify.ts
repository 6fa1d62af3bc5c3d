import { sql } from 'drizzle-orm';
import type { Address, Hex } from 'viem';
import { FatalError } from '../common/errors.ts';
import type { Logger } from '../common/logger.ts';
import { mapPool } from '../common/pool.ts';
import { accountsOf, createWorkingSet, foldEvents, type WorkingSet } from '../projections/fold.ts';
import { projectionTables, readChamaRows, readMemberRows } from '../projections/persist.ts';
import { chamaKey, memberKey, type AccountRow, type ChamaRow, type MemberRow } from '../projections/rows.ts';
import type { Rpc } from '../rpc/client.ts';
import { readCursor } from '../store/chain-state.ts';
import { insertMany } from '../store/bulk.ts';
import type { Db, Executor } from '../store/db.ts';
import { eventsOfChamas, streamFoldEvents } from '../store/events.ts';
import { lockAgainstSwap } from '../store/fresh-tables.ts';
import { createViews, type ChamaView, type MemberView } from './views.ts';

export type Priority = 'CRITICAL' | 'NORMAL';
export type Mismatch = { kind: string; priority: Priority; entity: string; dbValue: string | null; chainValue: string | null };
export type EntityError = { entity: string; message: string };
export type VerifyReport = {
  chainId: number;
  blockNumber: number;
  blockHash: Hex;
  scope: 'all' | `chama ${string}`;
  chamas: number;
  members: number;
  mismatches: Mismatch[];
  errors: EntityError[];
  durationMs: number;
};

export type VerifyArgs = {
  db: Db;
  rpc: Rpc;
  chainId: number;
  addresses: readonly Address[];
  chamaId?: bigint;
  concurrency?: number;
  logger: Logger;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** Record the findings in `mismatches` (resolving what this run no longer finds). */
  record?: boolean;
};

/** What the database says, read in one snapshot at the cursor. */
type Stored = {
  blockNumber: number;
  blockHash: Hex;
  chamas: Map<string, ChamaRow>;
  members: Map<string, MemberRow>;
  /** The projections as the stored events fold them: differs from `chamas` when a projection is corrupt. */
  folded: WorkingSet;
  accounts: AccountRow[];
};

const money = new Set(['totalContributed', 'totalPaidOut', 'contributionAmount', 'contributed', 'received', 'balance']);
const priorityOf = (field: string): Priority => (money.has(field) ? 'CRITICAL' : 'NORMAL');

/**
 * Compares the index with the contract's views read at the indexed block (`eth_call` at that
 * block number), three ways per entity: the projection row, the fold of the stored events, and
 * the chain. A projection that disagrees with the chain while its events agree is a corrupt
 * projection (a re-fold fixes it); events that disagree mean events are wrong or missing (a
 * resync fixes them). One entity failing (RPC error, revert) is recorded for that entity and
 * the run goes on.
 */
export async function verifyChain(args: VerifyArgs): Promise<VerifyReport> {
  const { db, rpc, chainId, addresses, chamaId, concurrency = 8, logger, signal, onProgress, record = true } = args;
  const started = performance.now();
  const stored = await readStored(db, chainId, addresses, chamaId);
  const B = stored.blockNumber;
  const mismatches: Mismatch[] = [];
  const errors: EntityError[] = [];
  const add = (kind: string, field: string, entity: string, dbValue: unknown, chainValue: unknown) => {
    const d = dbValue === undefined || dbValue === null ? null : String(dbValue);
    const c = chainValue === undefined || chainValue === null ? null : String(chainValue);
    if (d !== c) mismatches.push({ kind, priority: priorityOf(field), entity, dbValue: d, chainValue: c });
  };

  type Task = { address: Address; id: bigint };
  const tasks: Task[] = [];
  for (const address of addresses) {
    const views = createViews(rpc, address, B);
    const ids = new Set<bigint>();
    if (chamaId !== undefined) ids.add(chamaId);
    else {
      try {
        const count = await views.chamaCount();
        for (let id = 1n; id <= count; id++) ids.add(id);
      } catch (error) {
        errors.push({ entity: `contract:${address}`, message: `chamaCount failed: ${(error as Error).message}` });
      }
      for (const c of stored.chamas.values()) if (c.address === address) ids.add(c.chamaId);
      for (const c of stored.folded.chamas.values()) if (c.address === address) ids.add(c.chamaId);
    }
    for (const id of [...ids].sort((a, b) => (a < b ? -1 : 1))) tasks.push({ address, id });
  }

  const memberTotals = new Map<string, { chamas: number; contributed: bigint; received: bigint }>();
  const chainBalances = new Map<string, bigint>();
  let membersChecked = 0;
  let done = 0;
  await mapPool(
    tasks,
    concurrency,
    async ({ address, id }) => {
      const entity = `chama:${address}:${id}`;
      const key = chamaKey(address, id);
      try {
        const views = createViews(rpc, address, B);
        const chain = await views.getChama(id);
        const row = stored.chamas.get(key);
        const folded = stored.folded.chamas.get(key);
        if (chain.memberCount === 0n && !row && !folded) return; // no such chama on either side
        compareChama(add, entity, row, folded, chain);
        chainBalances.set(address, (chainBalances.get(address) ?? 0n) + (row ? row.totalContributed - row.totalPaidOut : 0n));

        const candidates = new Set<Address>();
        for (const m of [...stored.members.values(), ...stored.folded.members.values()]) if (m.address === address && m.chamaId === id) candidates.add(m.member);
        for (const member of candidates) {
          const mEntity = `member:${address}:${id}:${member}`;
          try {
            const stats = await views.memberStats(id, member);
            membersChecked++;
            compareMember(add, mEntity, stored.members.get(memberKey(address, id, member)), stored.folded.members.get(memberKey(address, id, member)), stats);
            if (stats.isMember) {
              const t = memberTotals.get(member) ?? { chamas: 0, contributed: 0n, received: 0n };
              memberTotals.set(member, { chamas: t.chamas + 1, contributed: t.contributed + stats.contributed, received: t.received + stats.received });
            }
          } catch (error) {
            errors.push({ entity: mEntity, message: (error as Error).message });
          }
        }
      } catch (error) {
        errors.push({ entity, message: (error as Error).message });
      } finally {
        onProgress?.(++done, tasks.length);
      }
    },
    signal,
  );

  if (chamaId === undefined) {
    for (const address of addresses) {
      try {
        add('contract.balance', 'balance', `contract:${address}`, chainBalances.get(address) ?? 0n, await rpc.balance(address, B));
      } catch (error) {
        errors.push({ entity: `contract:${address}`, message: `eth_getBalance failed: ${(error as Error).message}` });
      }
    }
    // Accounts are complete only when every chama was read without error.
    if (!errors.some((e) => e.entity.startsWith('chama:') || e.entity.startsWith('member:'))) {
      const stored_ = new Map(stored.accounts.map((a) => [a.account, a]));
      for (const account of new Set([...stored_.keys(), ...memberTotals.keys()])) {
        const row = stored_.get(account as Address);
        const chain = memberTotals.get(account);
        const entity = `account:${account}`;
        add('account.chamas', 'chamas', entity, row?.chamas, chain?.chamas);
        add('account.contributed', 'contributed', entity, row?.totalContributed, chain?.contributed);
        add('account.received', 'received', entity, row?.totalReceived, chain?.received);
      }
    }
  }

  const report: VerifyReport = {
    chainId,
    blockNumber: B,
    blockHash: stored.blockHash,
    scope: chamaId === undefined ? 'all' : `chama ${chamaId}`,
    chamas: tasks.length,
    members: membersChecked,
    mismatches,
    errors,
    durationMs: Math.round(performance.now() - started),
  };
  for (const m of mismatches) {
    logger[m.priority === 'CRITICAL' ? 'error' : 'warn']({ chain_id: chainId, block_number: B, kind: m.kind, priority: m.priority, entity: m.entity, db_value: m.dbValue, chain_value: m.chainValue }, 'verify: mismatch');
  }
  for (const e of errors) logger.warn({ chain_id: chainId, block_number: B, entity: e.entity, err: e.message }, 'verify: entity could not be checked');
  logger.info({ chain_id: chainId, block_number: B, scope: report.scope, chamas: report.chamas, members: report.members, mismatches: mismatches.length, critical: mismatches.filter((m) => m.priority === 'CRITICAL').length, errors: errors.length, duration_ms: report.durationMs }, 'verify finished');
  if (record) await recordFindings(db, report, addresses);
  return report;
}

type Add = (kind: string, field: string, entity: string, dbValue: unknown, chainValue: unknown) => void;

function compareChama(add: Add, entity: string, row: ChamaRow | undefined, folded: ChamaRow | undefined, chain: ChamaView) {
  const fields = ['creator', 'contributionAmount', 'maxMembers', 'memberCount', 'currentRound', 'totalContributed', 'totalPaidOut'] as const;
  if (!row) add('chama.missing', 'totalContributed', entity, null, 'exists');
  if (!folded) add('events.chama.missing', 'totalContributed', entity, null, 'exists');
  for (const f of fields) {
    if (row) add(`chama.${f}`, f, entity, row[f], chain[f]);
    if (folded) add(`events.chama.${f}`, f, entity, folded[f], chain[f]);
  }
}

function compareMember(add: Add, entity: string, row: MemberRow | undefined, folded: MemberRow | undefined, chain: MemberView) {
  if (!chain.isMember) {
    if (row?.position) add('member.not_on_chain', 'position', entity, row.position, null);
    if (folded?.position) add('events.member.not_on_chain', 'position', entity, folded.position, null);
    return;
  }
  const pairs = [
    ['position', 'position'],
    ['totalContributed', 'contributed'],
    ['totalReceived', 'received'],
  ] as const;
  for (const [ours, theirs] of pairs) {
    add(`member.${theirs}`, theirs, entity, row?.[ours], chain[theirs]);
    add(`events.member.${theirs}`, theirs, entity, folded?.[ours], chain[theirs]);
  }
}

async function readStored(db: Db, chainId: number, addresses: readonly Address[], chamaId: bigint | undefined): Promise<Stored> {
  return db.orm.transaction(
    async (tx) => {
      // A rebuild in another process may be swapping the projection tables in.
      await tx.execute(lockAgainstSwap(projectionTables));
      const cursor = await readCursor(tx, chainId);
      if (!cursor) throw new FatalError(`nothing is indexed yet for chain ${chainId}: run the indexer first`, { chain_id: chainId });
      const wanted = (a: string) => addresses.includes(a as Address);
      const chamas = (await readChamaRows(tx, chainId, chamaId)).filter((c) => wanted(c.address));
      const allMembers = await readMemberRows(tx, chainId, chamaId);
      const members = allMembers.filter((m) => wanted(m.address));
      return {
        blockNumber: cursor.blockNumber,
        blockHash: cursor.blockHash,
        chamas: new Map(chamas.map((c) => [chamaKey(c.address, c.chamaId), c])),
        members: new Map(members.map((m) => [memberKey(m.address, m.chamaId, m.member), m])),
        folded: await foldStored(tx, chainId, addresses, chamaId),
        // An account spans every contract: its sums take all of its member rows.
        accounts: chamaId === undefined ? [...accountsOf(allMembers).values()] : [],
      };
    },
    { isolationLevel: 'repeatable read', accessMode: 'read only' },
  );
}

async function foldStored(tx: Executor, chainId: number, addresses: readonly Address[], chamaId: bigint | undefined): Promise<WorkingSet> {
  const ws = createWorkingSet();
  if (chamaId !== undefined) return foldEvents(ws, await eventsOfChamas(tx, chainId, addresses.map((address) => ({ address, chamaId }))));
  for await (const page of streamFoldEvents(tx, chainId, { pageSize: 50_000 })) {
    foldEvents(
      ws,
      page.filter((e) => addresses.includes(e.address)),
    );
  }
  return ws;
}

/** Opens this run's findings and resolves the earlier open ones of the same scope. */
async function recordFindings(db: Db, report: VerifyReport, addresses: readonly Address[]): Promise<void> {
  await db.orm.transaction(async (tx) => {
    const scope =
      report.scope === 'all'
        ? sql``
        : sql`AND (${sql.join(
            addresses.flatMap((a) => [sql`entity = ${`chama:${a}:${report.scope.slice(6)}`}`, sql`entity LIKE ${`member:${a}:${report.scope.slice(6)}:%`}`]),
            sql` OR `,
          )})`;
    await tx.execute(sql`UPDATE mismatches SET resolved_at = now() WHERE chain_id = ${report.chainId} AND resolved_at IS NULL ${scope}`);
    const findings = [
      ...report.mismatches.map((m) => ({ ...m, chain_value: m.chainValue, db_value: m.dbValue })),
      ...report.errors.map((e) => ({ kind: 'verify.error', priority: 'NORMAL', entity: e.entity, db_value: null, chain_value: e.message.slice(0, 2000) })),
    ];
    if (findings.length === 0) return;
    await tx.execute(
      insertMany(
        'mismatches',
        [
          ['chain_id', 'int8'],
          ['kind', 'text'],
          ['priority', 'text'],
          ['entity', 'text'],
          ['db_value', 'text'],
          ['chain_value', 'text'],
          ['block_number', 'int8'],
        ],
        findings.map((f) => ({ chain_id: report.chainId, kind: f.kind, priority: f.priority, entity: f.entity, db_value: f.db_value, chain_value: f.chain_value, block_number: report.blockNumber })),
      ),
    );
  });
}
