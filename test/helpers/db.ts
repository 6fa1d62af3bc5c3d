import postgres from 'postgres';
import { migrate, openDb, type Db } from '../../src/store/db.ts';

export type DbKind = 'postgres' | 'pglite';

/** The server tests create their databases on; CI and this machine have PostgreSQL here. */
export const adminUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export type TestDb = Db & { url: string | undefined; drop(): Promise<void> };

/**
 * A fresh, migrated database for one test file: a new PostgreSQL database (dropped afterwards)
 * or an in-memory PGlite.
 */
export async function createTestDb(kind: DbKind): Promise<TestDb> {
  if (kind === 'pglite') {
    const db = await openDb({ memory: true });
    await migrate(db);
    return { ...db, url: undefined, drop: () => db.close() };
  }
  const url = await createPostgresDatabase();
  const db = await openDb({ databaseUrl: url });
  await migrate(db);
  return {
    ...db,
    url,
    drop: async () => {
      await db.close();
      await dropPostgresDatabase(url);
    },
  };
}

export async function createPostgresDatabase(): Promise<string> {
  const name = `chama_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export async function dropPostgresDatabase(url: string): Promise<void> {
  const name = new URL(url).pathname.slice(1);
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}
