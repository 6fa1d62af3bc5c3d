import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, migrationsFolder, openDb, rows, type Db } from '../src/store/db.ts';
import { buildDeferredIndexes } from '../src/store/event-indexes.ts';
import { eventReadList, eventRecordsInRange } from '../src/store/events.ts';
import { createPostgresDatabase, dropPostgresDatabase } from './helpers/db.ts';
import { silent } from './helpers/indexing.ts';

type Journal = { entries: { idx: number; when: number; tag: string }[] };
const journal = JSON.parse(readFileSync(path.join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as Journal;

/** The migrations folder as it was when the journal ended at `last`. */
function folderUpTo(last: number): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'chama-migrations-'));
  cpSync(migrationsFolder, dir, { recursive: true });
  writeFileSync(path.join(dir, 'meta/_journal.json'), JSON.stringify({ ...journal, entries: journal.entries.filter((e) => e.idx <= last) }));
  return dir;
}

async function schemaOf(db: Db) {
  const columns = await rows(db.orm, sql`SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2`);
  const indexes = await rows(db.orm, sql`SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2`);
  return { columns, indexes };
}

describe('migrations', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  // drizzle's migrator applies only the migrations newer than the newest one a database has: a
  // migration dated before its predecessor is skipped on every database that has the predecessor.
  it('are dated in journal order', () => {
    for (const [i, entry] of journal.entries.entries()) {
      if (i > 0) expect(entry.when, `${entry.tag} must be dated after ${journal.entries[i - 1]!.tag}`).toBeGreaterThan(journal.entries[i - 1]!.when);
    }
  });

  it('bring a database of any earlier release to the same schema as a fresh one', async () => {
    const open = async () => {
      const url = await createPostgresDatabase();
      const db = await openDb({ databaseUrl: url });
      cleanups.push(async () => {
        await db.close();
        await dropPostgresDatabase(url);
      });
      return db;
    };
    const fresh = await open();
    await migrate(fresh);
    const expected = await schemaOf(fresh);
    for (const { idx, tag } of journal.entries.slice(0, -1)) {
      const db = await open();
      const older = folderUpTo(idx);
      try {
        const { migrate: migrateFrom } = await import('drizzle-orm/postgres-js/migrator');
        await migrateFrom(db.orm as never, { migrationsFolder: older });
      } finally {
        rmSync(older, { recursive: true, force: true });
      }
      await migrate(db);
      expect(await schemaOf(db), `upgraded from ${tag}`).toEqual(expected);
    }
  });

  /** A new database migrated up to the migration whose tag starts with `prefix`. */
  async function migratedTo(prefix: string): Promise<Db> {
    const url = await createPostgresDatabase();
    const db = await openDb({ databaseUrl: url });
    cleanups.push(async () => {
      await db.close();
      await dropPostgresDatabase(url);
    });
    const older = folderUpTo(journal.entries.find((e) => e.tag.startsWith(prefix))!.idx);
    try {
      const { migrate: migrateFrom } = await import('drizzle-orm/postgres-js/migrator');
      await migrateFrom(db.orm as never, { migrationsFolder: older });
    } finally {
      rmSync(older, { recursive: true, force: true });
    }
    return db;
  }

  it('0010 gives each stored member row its count of joins from the stored events', async () => {
    const db = await migratedTo('0009');
    const contract = `0x${'c'.repeat(40)}`;
    const [a, b] = [`0x${'a'.repeat(40)}`, `0x${'b'.repeat(40)}`];
    const event = (block: number, name: string, account: string) =>
      sql`INSERT INTO events (chain_id, block_number, block_hash, log_index, tx_hash, tx_index, address, event, chama_id, account, topics, data)
          VALUES (1, ${block}, ${`0x${'1'.repeat(64)}`}, 0, ${`0x${'2'.repeat(64)}`}, 0, ${contract}, ${name}, 7, ${account}, NULL, '0x')`;
    await db.orm.execute(event(1, 'MemberJoined', a));
    await db.orm.execute(event(2, 'MemberJoined', a));
    await db.orm.execute(event(3, 'ContributionMade', a));
    await db.orm.execute(event(4, 'ContributionMade', b));
    for (const member of [a, b]) {
      await db.orm.execute(sql`INSERT INTO members (chain_id, address, chama_id, member, position, joined_at_block, total_contributed, total_received, contributions, updated_at_block)
                               VALUES (1, ${contract}, 7, ${member}, ${member === a ? 1 : 0}, 1, 0, 0, 1, 4)`);
    }
    await migrate(db);
    expect(await rows(db.orm, sql`SELECT member, joins FROM members ORDER BY member`)).toEqual([
      { member: a, joins: 2 },
      { member: b, joins: 0 },
    ]);
  });

  it('0011 replaces the event indexes a writer stopped mid-backfill had deferred, and forgets the deferral', async () => {
    const db = await migratedTo('0010');
    await db.orm.execute(sql`INSERT INTO events (chain_id, block_number, block_hash, log_index, tx_hash, tx_index, address, event, chama_id, account, topics, data)
                             VALUES (1, 1, ${`0x${'1'.repeat(64)}`}, 0, ${`0x${'2'.repeat(64)}`}, 0, ${`0x${'c'.repeat(40)}`}, 'MemberJoined', 7, ${`0x${'a'.repeat(40)}`}, NULL, '0x')`);
    for (const name of ['events_account_key_idx', 'events_chama_id_idx']) {
      const [index] = await rows<{ definition: string }>(db.orm, sql`SELECT indexdef AS definition FROM pg_indexes WHERE indexname = ${name}`);
      await db.orm.execute(sql`INSERT INTO deferred_indexes (name, definition) VALUES (${name}, ${index!.definition})`);
      await db.orm.execute(sql.raw(`DROP INDEX "${name}"`));
    }
    await migrate(db);
    expect(await rows(db.orm, sql`SELECT name FROM deferred_indexes`)).toEqual([]);
    const indexes = await rows<{ indexname: string }>(db.orm, sql`SELECT indexname FROM pg_indexes WHERE tablename = 'events' ORDER BY indexname`);
    expect(indexes.map((i) => i.indexname)).toEqual(['events_account_hash_idx', 'events_chain_id_block_number_log_index_pk', 'events_chama_hash_idx']);
  });

  it('0012 turns deduplication off on the event indexes, and on the records of deferred ones, which then build with it', async () => {
    const db = await migratedTo('0011');
    const definitionOf = async (name: string) => (await rows<{ definition: string }>(db.orm, sql`SELECT indexdef AS definition FROM pg_indexes WHERE indexname = ${name}`))[0]?.definition;
    // A writer stopped mid-backfill deferred the chama index and kept the account index.
    await db.orm.execute(sql`INSERT INTO deferred_indexes (name, definition) VALUES ('events_chama_hash_idx', ${await definitionOf('events_chama_hash_idx')})`);
    await db.orm.execute(sql`DROP INDEX "events_chama_hash_idx"`);
    await migrate(db);
    expect(await definitionOf('events_account_hash_idx')).toMatch(/ WITH \(deduplicate_items=off\)$/);
    expect(await buildDeferredIndexes(db, silent)).toBe(1);
    expect(await definitionOf('events_chama_hash_idx')).toMatch(/ WITH \(deduplicate_items=off\)$/);
    expect(await rows(db.orm, sql`SELECT name FROM deferred_indexes`)).toEqual([]);
  });

  it('0013 stores the hashes and data of events and orphaned events as bytes, which read back as the same hex', async () => {
    const db = await migratedTo('0012');
    const [blockHash, txHash] = [`0x${'0f'.repeat(32)}`, `0x${'a1'.repeat(32)}`];
    const data = `0x${'00'.repeat(31)}2A${'ff'.repeat(32)}`;
    const columns = sql`chain_id, block_number, block_hash, log_index, tx_hash, tx_index, address, event, chama_id, account, topics, data`;
    const values = sql`1, 1, ${blockHash}, 0, ${txHash}, 0, ${`0x${'c'.repeat(40)}`}, 'ContributionMade', 7, ${`0x${'a'.repeat(40)}`}, NULL`;
    await db.orm.execute(sql`INSERT INTO events (${columns}) VALUES (${values}, ${data})`);
    await db.orm.execute(sql`INSERT INTO events (${columns}) VALUES (1, 2, ${blockHash}, 0, ${txHash}, 0, ${`0x${'c'.repeat(40)}`}, 'ChamaCreated', 7, ${`0x${'a'.repeat(40)}`}, NULL, '0x')`);
    await db.orm.execute(sql`INSERT INTO orphaned_events (reorg_id, ${columns}) VALUES (5, ${values}, ${data})`);
    await migrate(db);
    const types = await rows(db.orm, sql`SELECT table_name, column_name, data_type FROM information_schema.columns WHERE column_name IN ('block_hash', 'tx_hash', 'data') AND table_name LIKE '%events' ORDER BY 1, 2`);
    expect(new Set(types.map((t) => (t as { data_type: string }).data_type))).toEqual(new Set(['bytea']));
    const expected = { block_hash: blockHash, tx_hash: txHash, data: data.toLowerCase() };
    const stored = await eventRecordsInRange(db.orm, 1, 0, 10);
    expect(stored.map((r) => ({ block_hash: r.block_hash, tx_hash: r.tx_hash, data: r.data }))).toEqual([expected, { ...expected, data: '0x' }]);
    expect(await rows(db.orm, sql`SELECT ${eventReadList('', ['block_hash', 'tx_hash', 'data'])} FROM orphaned_events`)).toEqual([expected]);
  });
});
