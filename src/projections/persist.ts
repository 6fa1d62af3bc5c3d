import { sql } from 'drizzle-orm';
import type { Address } from 'viem';
import { createWorkingSet, type WorkingSet } from './fold.ts';
import type { ChamaRow, MemberRow } from './rows.ts';
import { appendRows, recordset, runBulk, upsertRows, type BulkWrite, type Column, type Value } from '../store/bulk.ts';
import { rows, type Executor } from '../store/db.ts';

/** Reading and writing projection rows in bulk: one statement per table, never one per row. */

const chamaColumns: readonly Column[] = [
  ['chain_id', 'int8'],
  ['address', 'hex'],
  ['chama_id', 'numeric'],
  ['creator', 'hex'],
  ['name', 'text'],
  ['contribution_amount', 'numeric'],
  ['max_members', 'numeric'],
  ['member_count', 'int8'],
  ['current_round', 'numeric'],
  ['total_contributed', 'numeric'],
  ['total_paid_out', 'numeric'],
  ['created_at_block', 'int8'],
  ['updated_at_block', 'int8'],
];
const memberColumns: readonly Column[] = [
  ['chain_id', 'int8'],
  ['address', 'hex'],
  ['chama_id', 'numeric'],
  ['member', 'hex'],
  ['position', 'int8'],
  ['joined_at_block', 'int8'],
  ['total_contributed', 'numeric'],
  ['total_received', 'numeric'],
  ['contributions', 'int8'],
  ['joins', 'int8'],
  ['updated_at_block', 'int8'],
];
const names = (columns: readonly Column[], alias: string) => sql.raw(columns.map(([n]) => `${alias}."${n}"`).join(', '));
type Raw = Record<string, unknown>;
const big = (v: unknown) => BigInt(v as string);
const bigOrNull = (v: unknown) => (v === null ? null : BigInt(v as string));
const num = (v: unknown) => Number(v);

function toChama(r: Raw): ChamaRow {
  return {
    chainId: num(r.chain_id),
    address: r.address as Address,
    chamaId: big(r.chama_id),
    creator: r.creator as Address | null,
    name: r.name as string | null,
    contributionAmount: bigOrNull(r.contribution_amount),
    maxMembers: bigOrNull(r.max_members),
    memberCount: num(r.member_count),
    currentRound: big(r.current_round),
    totalContributed: big(r.total_contributed),
    totalPaidOut: big(r.total_paid_out),
    createdAtBlock: r.created_at_block === null ? null : num(r.created_at_block),
    updatedAtBlock: num(r.updated_at_block),
  };
}
function toMember(r: Raw): MemberRow {
  return {
    chainId: num(r.chain_id),
    address: r.address as Address,
    chamaId: big(r.chama_id),
    member: r.member as Address,
    position: num(r.position),
    joinedAtBlock: num(r.joined_at_block),
    totalContributed: big(r.total_contributed),
    totalReceived: big(r.total_received),
    contributions: num(r.contributions),
    joins: num(r.joins),
    updatedAtBlock: num(r.updated_at_block),
  };
}

/** One row of each table, its values in the order of its columns above. */
const chamaValues = (c: ChamaRow) => [c.chainId, c.address, c.chamaId, c.creator, c.name, c.contributionAmount, c.maxMembers, c.memberCount, c.currentRound, c.totalContributed, c.totalPaidOut, c.createdAtBlock, c.updatedAtBlock];
const memberValues = (m: MemberRow) => [m.chainId, m.address, m.chamaId, m.member, m.position, m.joinedAtBlock, m.totalContributed, m.totalReceived, m.contributions, m.joins, m.updatedAtBlock];
export type EntityKeys = {
  chamas: readonly { address: string; chamaId: bigint }[];
  members: readonly { address: string; chamaId: bigint; member: string }[];
};

/** The stored rows of these entities, as a working set for a live fold. */
export async function loadWorkingSet(ex: Executor, chainId: number, keys: EntityKeys): Promise<WorkingSet> {
  const [chamas, members] = await Promise.all([
    keys.chamas.length === 0
      ? []
      : rows<Raw>(ex, sql`SELECT ${names(chamaColumns, 'c')} FROM chamas c JOIN ${recordset([['address', 'text'], ['chama_id', 'numeric']], keys.chamas.map((k) => ({ address: k.address, chama_id: k.chamaId })))} ON c.address = r.address AND c.chama_id = r.chama_id WHERE c.chain_id = ${chainId}`),
    keys.members.length === 0
      ? []
      : rows<Raw>(ex, sql`SELECT ${names(memberColumns, 'm')} FROM members m JOIN ${recordset([['address', 'text'], ['chama_id', 'numeric'], ['member', 'text']], keys.members.map((k) => ({ address: k.address, chama_id: k.chamaId, member: k.member })))} ON m.address = r.address AND m.chama_id = r.chama_id AND m.member = r.member WHERE m.chain_id = ${chainId}`),
  ]);
  return createWorkingSet({ chamas: chamas.map(toChama), members: members.map(toMember) });
}

export type ProjectionParts = { chamas?: boolean; members?: boolean };
const allParts: ProjectionParts = { chamas: true, members: true };

/** Writes each changed row of the working set once. */
export async function writeWorkingSet(ex: Executor, ws: WorkingSet, parts: ProjectionParts = allParts): Promise<void> {
  await runBulk(ex, projectionWrites(ws, parts));
}

/**
 * Where projection rows go: the live tables (rows may exist: upsert), or fresh empty ones being
 * built by a rebuild (`fresh` names them; no row exists and no key index yet: plain inserts).
 */
export type ProjectionTarget = { fresh?: (table: ProjectionTable) => string };

/**
 * The statements that write each changed row of the working set once, built now (rows
 * rendered to JSON or array text) so they can run later in another transaction's turn.
 */
export function projectionWrites(ws: WorkingSet, parts: ProjectionParts, target: ProjectionTarget = {}): BulkWrite[] {
  const changed = <T>(map: Map<string, T>, keys: Set<string>) => [...keys].map((k) => map.get(k)!);
  const name = (table: ProjectionTable) => target.fresh?.(table) ?? table;
  const write = <T>(table: ProjectionTable, columns: readonly Column[], key: readonly string[], items: readonly T[], values: (item: T) => Value[]) =>
    target.fresh ? appendRows(name(table), columns, items, values) : upsertRows(table, columns, key, items, values);
  const writes: (BulkWrite | undefined)[] = [];
  if (parts.chamas) writes.push(write('chamas', chamaColumns, ['chain_id', 'address', 'chama_id'], changed(ws.chamas, ws.changed.chamas), chamaValues));
  if (parts.members) writes.push(write('members', memberColumns, ['chain_id', 'address', 'chama_id', 'member'], changed(ws.members, ws.changed.members), memberValues));
  return writes.filter((w) => w !== undefined);
}

export async function deleteChamas(ex: Executor, chainId: number, keys: readonly { address: string; chamaId: bigint }[]): Promise<void> {
  if (keys.length === 0) return;
  const set = recordset([['address', 'text'], ['chama_id', 'numeric']], keys.map((k) => ({ address: k.address, chama_id: k.chamaId })));
  await ex.execute(sql`DELETE FROM chamas c USING ${set} WHERE c.chain_id = ${chainId} AND c.address = r.address AND c.chama_id = r.chama_id`);
  await ex.execute(sql`DELETE FROM members m USING ${set} WHERE m.chain_id = ${chainId} AND m.address = r.address AND m.chama_id = r.chama_id`);
}

export const projectionTables = ['chamas', 'members'] as const;
export type ProjectionTable = (typeof projectionTables)[number];

/** The chama row with this id (in the first contract that has one, unless `address` says which). */
export function selectChama(chainId: number, address: string | undefined, chamaId: bigint) {
  const byAddress = address ? sql`AND c.address = ${address}` : sql``;
  return sql`SELECT ${names(chamaColumns, 'c')} FROM chamas c WHERE c.chain_id = ${chainId} AND c.chama_id = ${chamaId.toString()} ${byAddress} ORDER BY c.address LIMIT 1`;
}

export async function readChama(ex: Executor, chainId: number, address: string | undefined, chamaId: bigint): Promise<ChamaRow | undefined> {
  const [row] = await rows<Raw>(ex, selectChama(chainId, address, chamaId));
  return row && toChama(row);
}

export async function readMembers(ex: Executor, chainId: number, address: string, chamaId: bigint): Promise<MemberRow[]> {
  const found = await rows<Raw>(ex, sql`SELECT ${names(memberColumns, 'm')} FROM members m WHERE m.chain_id = ${chainId} AND m.address = ${address} AND m.chama_id = ${chamaId.toString()} ORDER BY m.position, m.member`);
  return found.map(toMember);
}

export { toChama, toMember, chamaColumns, memberColumns };

/** Every chama row of a chain (or of one chama id), ordered by contract and id. */
export async function readChamaRows(ex: Executor, chainId: number, chamaId?: bigint): Promise<ChamaRow[]> {
  const only = chamaId === undefined ? sql`` : sql`AND c.chama_id = ${chamaId.toString()}`;
  return (await rows<Raw>(ex, sql`SELECT ${names(chamaColumns, 'c')} FROM chamas c WHERE c.chain_id = ${chainId} ${only} ORDER BY c.address, c.chama_id`)).map(toChama);
}

export async function readMemberRows(ex: Executor, chainId: number, chamaId?: bigint): Promise<MemberRow[]> {
  const only = chamaId === undefined ? sql`` : sql`AND m.chama_id = ${chamaId.toString()}`;
  return (await rows<Raw>(ex, sql`SELECT ${names(memberColumns, 'm')} FROM members m WHERE m.chain_id = ${chainId} ${only} ORDER BY m.address, m.chama_id, m.position`)).map(toMember);
}
