import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate, migrationsFolder, openDb, rows, type Db } from '../src/store/db.ts';
import { createPostgresDatabase, dropPostgresDatabase } from './helpers/db.ts';

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
});
