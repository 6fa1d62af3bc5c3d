import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitBatch, prepareBatch } from '../src/indexer/commit.ts';
import { rebuildProjections } from '../src/projections/engine.ts';
import { createLiveProjections } from '../src/projections/live.ts';
import { projectionTables } from '../src/projections/persist.ts';
import { rows } from '../src/store/db.ts';
import { createTestDb, type TestDb } from './helpers/db.ts';
import { projectionSnapshot } from './helpers/projections.ts';
import { blockHash, synthesize, type Choice } from './helpers/synthetic.ts';

/**
 * Rebuild writes fresh tables and swaps them in: afterwards the tables must have exactly the
 * indexes, constraints and grants they had, other chains' rows untouched, and the chain's
 * projections equal to what indexing made of the same events; a cancelled rebuild leaves all
 * as it was.
 */
const chains = [4001, 4002];
const plan: Choice[] = Array.from({ length: 60 }, (_, i) => ({ kind: (['create', 'join', 'join', 'contribute', 'contribute', 'mine'] as const)[i % 6]!, pick: (i * 7) % 11, size: (i * 5) % 9 }));

async function indexSynthetic(db: TestDb, chainId: number) {
  const { events, lastBlock } = synthesize(plan, { chainId, firstBlock: 1, fork: `c${chainId}`, chamas: new Map() });
  const headers = Array.from({ length: lastBlock }, (_, i) => ({ number: i + 1, hash: blockHash(`c${chainId}`, i + 1), parentHash: blockHash(`c${chainId}`, i), timestamp: i + 1 }));
  const writes = await prepareBatch(db, createLiveProjections(), chainId, events);
  await commitBatch(db, { chainId, eventCount: events.length, writes, headers, from: undefined, finalized: 0 });
  return events.length;
}

async function catalog(db: TestDb) {
  const out: Record<string, unknown> = {};
  for (const table of projectionTables) {
    out[`${table}:indexes`] = await rows(db.orm, sql`SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ${table} ORDER BY indexname`);
    out[`${table}:constraints`] = await rows(db.orm, sql`SELECT conname, contype, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = ${table}::regclass ORDER BY conname`);
    out[`${table}:columns`] = await rows(db.orm, sql`SELECT column_name, data_type, collation_name, is_nullable, column_default FROM information_schema.columns WHERE table_name = ${table} ORDER BY ordinal_position`);
    out[`${table}:options`] = await rows(db.orm, sql`SELECT reloptions FROM pg_class WHERE oid = ${table}::regclass`);
  }
  out.leftovers = await rows(db.orm, sql`SELECT tablename FROM pg_tables WHERE tablename LIKE '%fresh%'`);
  return out;
}

describe.each(['pglite', 'postgres'] as const)('rebuild on %s', (kind) => {
  let db: TestDb;
  const indexed: Record<number, Record<string, string[]>> = {};
  beforeAll(async () => {
    db = await createTestDb(kind);
    for (const chainId of chains) {
      expect(await indexSynthetic(db, chainId)).toBeGreaterThan(20);
      indexed[chainId] = await projectionSnapshot(db, chainId);
    }
  });
  afterAll(async () => db?.drop());

  it('repairs one chain from its events, leaves the other chain alone, and keeps the tables exactly as they were', async () => {
    const before = await catalog(db);
    const [target, other] = chains as [number, number];
    await db.orm.execute(sql`UPDATE chamas SET total_contributed = 0, name = 'corrupted' WHERE chain_id = ${target}`);
    await db.orm.execute(sql`UPDATE members SET joins = 0 WHERE chain_id = ${target} AND member < '0x8'`);
    await db.orm.execute(sql`DELETE FROM members WHERE chain_id = ${target} AND position = 1`);
    expect(await projectionSnapshot(db, target)).not.toEqual(indexed[target]);

    const { events } = await rebuildProjections(db, target);
    expect(events).toBeGreaterThan(20);
    expect(await projectionSnapshot(db, target)).toEqual(indexed[target]);
    expect(await projectionSnapshot(db, other)).toEqual(indexed[other]);
    expect(await catalog(db)).toEqual(before);
    // The keys still hold: a duplicate row is refused.
    await expect(db.orm.execute(sql`INSERT INTO members SELECT * FROM members WHERE chain_id = ${target} LIMIT 1`)).rejects.toThrow();
  });

  it('a cancelled rebuild changes nothing and leaves no table behind', async () => {
    const before = { catalog: await catalog(db), rows: await projectionSnapshot(db, chains[0]!) };
    await db.orm.execute(sql`UPDATE chamas SET name = 'still corrupted' WHERE chain_id = ${chains[0]!}`);
    const corrupted = await projectionSnapshot(db, chains[0]!);
    const controller = new AbortController();
    const running = rebuildProjections(db, chains[0]!, ({ done }) => {
      if (done > 0) controller.abort();
    }, controller.signal);
    await expect(running).rejects.toThrow();
    expect(await projectionSnapshot(db, chains[0]!)).toEqual(corrupted);
    expect(await catalog(db)).toEqual(before.catalog);
    await rebuildProjections(db, chains[0]!);
    expect(await projectionSnapshot(db, chains[0]!)).toEqual(before.rows);
  });

  it.runIf(kind === 'postgres')('keeps what other roles were granted on the tables', async () => {
    const role = `chama_reader_${process.pid}`;
    await db.orm.execute(sql.raw(`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${role}') THEN CREATE ROLE ${role}; END IF; END $$`));
    try {
      for (const table of projectionTables) await db.orm.execute(sql.raw(`GRANT SELECT ON "${table}" TO ${role}`));
      await rebuildProjections(db, chains[1]!);
      for (const table of projectionTables) {
        const [granted] = await rows<{ ok: boolean }>(db.orm, sql`SELECT has_table_privilege(${role}, ${table}, 'SELECT') AS ok`);
        expect(granted!.ok, table).toBe(true);
      }
    } finally {
      for (const table of projectionTables) await db.orm.execute(sql.raw(`REVOKE ALL ON "${table}" FROM ${role}`));
      await db.orm.execute(sql.raw(`DROP ROLE IF EXISTS ${role}`));
    }
  });
});
